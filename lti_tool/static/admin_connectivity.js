// Admin page: which ICE candidates this browser gathers with the tool's STUN/TURN servers
// (host = its own addresses, srflx = its public address through STUN, relay = through TURN).
(function () {
  "use strict";
  const button = document.getElementById("connectivity-run");
  const result = document.getElementById("connectivity-result");
  if (!button || !result) return;
  const token = document.querySelector('meta[name="launch-token"]');
  const GATHER_MS = 8000;
  const KINDS = [
    ["host", "Direct (host) candidates"],
    ["srflx", "Server-reflexive candidates (public address through STUN)"],
    ["relay", "Relay candidates (through TURN)"],
  ];

  function line(text) {
    const li = document.createElement("li");
    li.textContent = text;
    result.appendChild(li);
  }

  function gather(iceServers) {
    return new Promise((resolve) => {
      const found = { host: 0, srflx: 0, relay: 0, prflx: 0 };
      const pc = new RTCPeerConnection({ iceServers });
      const finish = () => { clearTimeout(cap); try { pc.close(); } catch (e) { /* closed */ } resolve(found); };
      const cap = setTimeout(finish, GATHER_MS);
      pc.addEventListener("icecandidate", (event) => {
        if (!event.candidate) return finish();
        const type = / typ (\w+)/.exec(event.candidate.candidate);
        if (type && type[1] in found) found[type[1]] += 1;
      });
      pc.createDataChannel("connectivity-test");
      pc.createOffer().then((offer) => pc.setLocalDescription(offer)).catch(finish);
    });
  }

  button.addEventListener("click", async () => {
    button.disabled = true;
    result.replaceChildren();
    line("Testing…");
    try {
      if (!window.RTCPeerConnection) throw new Error("This browser has no WebRTC: it cannot take part in audio and video.");
      const response = await fetch(button.dataset.url, {
        method: "POST",
        credentials: "same-origin",
        cache: "no-store",
        headers: { Accept: "application/json", "X-Requested-With": "fetch", "X-Launch-Token": token ? token.content : "" },
      });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error(body.message || "The test could not start. Reload the page and try again.");
      const found = await gather(body.ice_servers || []);
      result.replaceChildren();
      KINDS.forEach(([kind, label]) => line(`${label}: ${found[kind] ? "work" : "none"}`));
      line(found.relay
        ? "Guests on a network like this one can get audio and video (through the relay if nothing else works)."
        : "No relay candidate: guests on a network like this one that blocks UDP will not get audio and video.");
    } catch (error) {
      result.replaceChildren();
      line(error.message);
    } finally {
      button.disabled = false;
    }
  });
})();
