// The demo LMS page answers LTI postMessage storage like Sakai's portal: only frames with an
// id, data kept in page memory, replies to the frame's own origin. Loaded in <head>, so the
// listener exists before the tool's frame starts loading and sends its first message.
(function () {
  "use strict";
  const store = new Map();
  window.addEventListener("message", (event) => {
    const frame = document.getElementById("tool-frame");
    if (!frame || event.origin !== frame.dataset.toolOrigin || event.source !== frame.contentWindow) return;
    const toolOrigin = frame.dataset.toolOrigin;
    const data = event.data || {};
    const subject = String(data.subject || "").replace(/^org\.imsglobal\./, "");
    let reply = null;
    if (subject === "lti.capabilities") {
      reply = { subject: "lti.capabilities.response", message_id: data.message_id,
                supported_messages: [{ subject: "lti.put_data" }, { subject: "lti.get_data" }] };
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
