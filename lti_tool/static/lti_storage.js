// LTI client-side postMessage storage (Sakai's lti.put_data / lti.get_data), used when the
// browser drops the tool's cookie inside the Sakai iframe.
(function () {
  "use strict";
  const el = document.getElementById("lti-storage");
  if (!el) return;
  const { mode, target, origin, key, value, next } = el.dataset;
  const frame = target === "_parent" ? window.parent : (window.parent.frames[target] || window.parent);
  const messageId = Math.random().toString(36).slice(2);
  let done = false;

  function finish(result) {
    if (done) return;
    done = true;
    if (mode === "put") { window.location.replace(next); return; }
    if (result) {
      const form = document.getElementById("bind-form");
      form.elements.state.value = result;
      form.submit();
    } else {
      document.getElementById("storage-status").hidden = true;
      document.getElementById("storage-fallback").hidden = false;
    }
  }

  window.addEventListener("message", (event) => {
    if (event.origin !== origin || !event.data || event.data.message_id !== messageId) return;
    const subject = event.data.subject || "";
    if (subject.endsWith("put_data.response")) finish(true);
    if (subject.endsWith("get_data.response")) finish(event.data.error ? null : event.data.value);
  });
  const message = mode === "put"
    ? { subject: "lti.put_data", message_id: messageId, key: key, value: value }
    : { subject: "lti.get_data", message_id: messageId, key: key };
  // Ask again until answered: a platform page may add its listener after our frame has loaded,
  // and a message sent before that is lost. put_data and get_data are idempotent.
  function send() {
    if (done) return;
    try { frame.postMessage(message, origin); } catch (e) { finish(null); return; }
    setTimeout(send, 250);
  }
  send();
  // A platform that does not answer: continue with the cookie (put) or offer a new window (get).
  setTimeout(() => finish(null), 2000);
})();
