// The demo LMS page answers LTI postMessage storage like Sakai's portal: only frames with an
// id, data kept in page memory, replies to the frame's own origin. Like Sakai it also sizes the
// frame on lti.frameResize ({subject, height}, or the same as a JSON string). Loaded in <head>, so the
// listener exists before the tool's frame starts loading and sends its first message.
(function () {
  "use strict";
  const store = new Map();
  window.addEventListener("message", (event) => {
    const frame = document.getElementById("tool-frame");
    if (!frame || event.origin !== frame.dataset.toolOrigin || event.source !== frame.contentWindow) return;
    const toolOrigin = frame.dataset.toolOrigin;
    let data = event.data || {};
    if (typeof data === "string") {
      try { data = JSON.parse(data); } catch (e) { return; }
    }
    const subject = String(data.subject || "").replace(/^org\.imsglobal\./, "");
    let reply = null;
    if (subject === "lti.capabilities") {
      reply = { subject: "lti.capabilities.response", message_id: data.message_id,
                supported_messages: [{ subject: "lti.put_data" }, { subject: "lti.get_data" },
                                     { subject: "lti.frameResize" }] };
    } else if (subject === "lti.frameResize") {
      const height = Number(data.height);
      if (Number.isFinite(height) && height > 0) {
        const border = frame.offsetHeight - frame.clientHeight; // the height is the page's, inside the frame's border
        frame.style.height = Math.min(Math.round(height), 20000) + border + "px";
        frame.dataset.resizes = String(Number(frame.dataset.resizes || 0) + 1);
      }
    } else if (subject === "lti.put_data") {
      store.set(toolOrigin + "|" + data.key, data.value);
      reply = { subject: "lti.put_data.response", message_id: data.message_id, key: data.key, value: data.value };
    } else if (subject === "lti.get_data") {
      const key = toolOrigin + "|" + data.key;
      reply = store.has(key)
        ? { subject: "lti.get_data.response", message_id: data.message_id, key: data.key, value: store.get(key) }
        : { subject: "lti.get_data.response", message_id: data.message_id, key: data.key,
            error: { code: "bad_request", message: "no such key" } };
    }
    if (reply) event.source.postMessage(reply, event.origin);
  });
})();
