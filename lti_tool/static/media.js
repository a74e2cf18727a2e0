// Audio and video in the live session (issue 16). Plain WebRTC: one RTCPeerConnection per thing
// published (camera+mic, screen) and one per feed watched, all to the Janus media server, signalled
// through the tool's own /api/rooms/<room>/media endpoints (the browser never reaches Janus's API).
// Non-trickle: every SDP sent already holds all its ICE candidates. Contract: MEDIA_API.md.
// session.js tells this module the session's state ("session-state" events on #live); names are
// only ever put in the page with textContent.
(function () {
  "use strict";
  const root = document.getElementById("live");
  const area = document.getElementById("media");
  if (!root || !area) return;

  const $ = (id) => document.getElementById(id);
  const api = root.dataset.api + "/media";
  const isGuestPage = root.dataset.viewerKind === "guest";
  const presenting = root.dataset.present === "1";
  const tokenMeta = document.querySelector('meta[name="launch-token"]');
  const headerMeta = document.querySelector('meta[name="launch-token-header"]');
  const VISIBLE_MS = 2000;
  const HIDDEN_MS = 10000;
  const GATHER_CAP_MS = 3000;
  const TEXT = {
    reconnecting: "Audio and video are reconnecting…",
    notSetUp: "Audio and video are not set up on this server.",
    cameraDenied: "Your browser did not allow the camera. You can still see and hear the session.",
    micDenied: "Your browser did not allow the microphone. You can still see and hear the session.",
    noDevice: "No camera or microphone was found. You can still see and hear the session.",
    shareFailed: "Your screen could not be shared.",
    shareInFrame: "Screen sharing is not allowed inside this frame, so the room opens in a new window: share from there.",
    popupBlocked: "Your browser blocked the new window. Allow pop-ups for this site to share your screen.",
    noWebRTC: "This browser cannot take part in audio and video. You can still use the chat.",
    stopped: "A moderator stopped your speaking. Raise your hand to ask again.",
    mutedByHost: "A moderator muted your microphone.",
  };

  let session = null; // the last state poll
  let media = null; // the last media poll
  let timer = null;
  let polling = false;
  let left = false;
  let failures = 0;
  const local = { stream: new MediaStream(), audio: null, video: null, micOn: false, camOn: false };
  const publishers = {}; // source → {pc, peer, feed, stream}
  const watching = new Map(); // feed id → {pc, peer, tile, stream, frames, still}
  const pending = new Set(); // feed ids (or "pub:<source>") with a request under way
  let soundBlocked = false;

  // --- requests ---------------------------------------------------------------------------------

  function headers(json) {
    const h = { Accept: "application/json", "X-Requested-With": "fetch" };
    if (json) h["Content-Type"] = "application/json";
    if (tokenMeta && !isGuestPage) h[headerMeta ? headerMeta.content : "X-Launch-Token"] = tokenMeta.content;
    return h;
  }

  async function call(method, path, body, extra) {
    const options = Object.assign({
      method: method, headers: headers(body !== undefined), credentials: "same-origin", cache: "no-store",
    }, extra || {});
    if (body !== undefined) options.body = JSON.stringify(body);
    const response = await fetch(api + path, options);
    let data = {};
    try { data = await response.json(); } catch (e) { data = {}; }
    if (!response.ok) {
      const error = new Error(data.error || "That did not work. Please try again.");
      error.status = response.status;
      error.code = data.code;
      throw error;
    }
    return data;
  }

  // --- WebRTC helpers ---------------------------------------------------------------------------

  function gathered(pc) {
    if (pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => { pc.removeEventListener("icegatheringstatechange", check); clearTimeout(cap); resolve(); };
      const check = () => { if (pc.iceGatheringState === "complete") done(); };
      const cap = setTimeout(done, GATHER_CAP_MS); // send what we have: host candidates come first
      pc.addEventListener("icegatheringstatechange", check);
    });
  }

  function newPeerConnection(onDead) {
    // TURN credentials come with each "ready" poll (only then: live, and you are in the session);
    // a new connection always uses the latest, so none is used after it expired.
    const iceServers = (media && media.status === "ready" && media.ice_servers) || [];
    const pc = new RTCPeerConnection({ bundlePolicy: "max-bundle", iceServers });
    let lost = null;
    pc.addEventListener("connectionstatechange", () => {
      clearTimeout(lost);
      if (pc.connectionState === "failed") onDead();
      else if (pc.connectionState === "disconnected") lost = setTimeout(onDead, 5000);
    });
    return pc;
  }

  function closePc(pc) {
    try { pc.close(); } catch (e) { /* already closed */ }
  }

  function forget(peer) {
    if (!peer) return;
    call("DELETE", "/peers/" + encodeURIComponent(peer)).catch(() => {});
  }

  // --- publishing -------------------------------------------------------------------------------

  async function publish(source, tracks, stream) {
    const key = "pub:" + source;
    if (pending.has(key)) return;
    pending.add(key);
    const pc = newPeerConnection(() => { if (publishers[source] && publishers[source].pc === pc) dropPublisher(source, true); });
    try {
      tracks.forEach((t) => pc.addTransceiver(t.track || t.kind, { direction: "sendonly", streams: [stream] }));
      await pc.setLocalDescription(await pc.createOffer());
      await gathered(pc);
      const answer = await call("POST", "/publish", { sdp: pc.localDescription.sdp, source: source });
      await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
      const old = publishers[source];
      publishers[source] = { pc: pc, peer: answer.peer, feed: answer.feed, stream: stream };
      if (old && old.pc !== pc) closePc(old.pc); // the server dropped it when this one came
      pending.delete(key);
      if (source === "camera") await syncCamera(); // a track turned on or off while this was under way
    } catch (error) {
      closePc(pc);
      refused(error);
    } finally {
      pending.delete(key);
    }
  }

  function dropPublisher(source, tellServer) {
    const pub = publishers[source];
    if (!pub) return;
    delete publishers[source];
    closePc(pub.pc);
    if (tellServer) forget(pub.peer);
  }

  function senderOf(kind) {
    const pub = publishers.camera;
    const transceiver = pub && pub.pc.getTransceivers().find((t) => t.receiver.track.kind === kind);
    return transceiver ? transceiver.sender : null;
  }

  // The camera peer always carries one audio and one video transceiver; turning the camera or the
  // microphone on or off swaps the track in place (no new negotiation).
  async function syncCamera() {
    if (!canPublish()) return;
    if (!local.audio && !local.video) {
      dropPublisher("camera", true);
      return;
    }
    if (!publishers.camera) {
      await publish("camera", [{ kind: "audio", track: local.audio }, { kind: "video", track: local.video }], local.stream);
      return;
    }
    const audio = senderOf("audio");
    const video = senderOf("video");
    if (audio && audio.track !== local.audio) await audio.replaceTrack(local.audio);
    if (video && video.track !== local.video) await video.replaceTrack(local.video);
  }

  function deviceConstraint(select) {
    return select && select.value ? { deviceId: { exact: select.value } } : {};
  }

  async function getTrack(kind) {
    const wanted = kind === "video"
      ? { video: Object.assign({ width: { ideal: 1280 }, height: { ideal: 720 } }, deviceConstraint($("camera-select"))) }
      : { audio: Object.assign({ echoCancellation: true, noiseSuppression: true }, deviceConstraint($("mic-select"))) };
    const stream = await navigator.mediaDevices.getUserMedia(wanted);
    listDevices();
    return kind === "video" ? stream.getVideoTracks()[0] : stream.getAudioTracks()[0];
  }

  function deviceError(kind, error) {
    if (error && (error.name === "NotFoundError" || error.name === "OverconstrainedError")) return TEXT.noDevice;
    return kind === "video" ? TEXT.cameraDenied : TEXT.micDenied;
  }

  async function turnCamera(on) {
    clearError();
    if (on) {
      let track;
      try { track = await getTrack("video"); } catch (error) { return showError(deviceError("video", error)); }
      setLocalTrack("video", track);
    } else {
      setLocalTrack("video", null);
    }
    renderControls();
    renderOwnTile();
    await syncCamera();
  }

  async function turnMic(on) {
    clearError();
    if (on && media && media.you && media.you.audio_muted_by_host) {
      try { await call("POST", "/unmute", {}); } catch (error) { return showError(error.message); }
    }
    if (on && !local.audio) {
      let track;
      try { track = await getTrack("audio"); } catch (error) { return showError(deviceError("audio", error)); }
      setLocalTrack("audio", track);
    }
    if (local.audio) local.audio.enabled = on; // self-mute is local (MEDIA_API.md)
    local.micOn = on;
    renderControls();
    await syncCamera();
  }

  function setLocalTrack(kind, track) {
    const old = local[kind];
    if (old) { local.stream.removeTrack(old); old.stop(); }
    local[kind] = track;
    if (track) {
      local.stream.addTrack(track);
      track.addEventListener("ended", () => { if (local[kind] === track) turnOff(kind); });
    }
    if (kind === "video") local.camOn = Boolean(track);
    if (kind === "audio" && !track) local.micOn = false;
  }

  function turnOff(kind) {
    if (kind === "video") turnCamera(false); else { setLocalTrack("audio", null); renderControls(); syncCamera(); }
  }

  function stopPublishing() {
    setLocalTrack("video", null);
    setLocalTrack("audio", null);
    stopShare(false);
    dropPublisher("camera", false);
    renderControls();
    renderOwnTile();
  }

  // --- screen sharing ---------------------------------------------------------------------------

  function shareAllowedHere() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getDisplayMedia) return false;
    if (document.featurePolicy) return document.featurePolicy.allowsFeature("display-capture");
    return window.top === window.self;
  }

  async function share() {
    clearError();
    if (!shareAllowedHere()) return openPresentWindow();
    let stream;
    try {
      stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15 } }, audio: false });
    } catch (error) {
      if (error && error.name === "NotAllowedError" && window.top !== window.self) return openPresentWindow();
      if (error && error.name !== "NotAllowedError") showError(TEXT.shareFailed);
      return; // the person cancelled the browser's picker
    }
    const track = stream.getVideoTracks()[0];
    track.addEventListener("ended", () => stopShare(true));
    local.screen = stream;
    renderControls();
    renderScreenTile();
    await publish("screen", [{ kind: "video", track: track }], stream);
    if (!publishers.screen) stopShare(false);
  }

  function stopShare(tellServer) {
    if (local.screen) local.screen.getTracks().forEach((t) => t.stop());
    local.screen = null;
    dropPublisher("screen", tellServer);
    renderControls();
    renderScreenTile();
  }

  function openPresentWindow() {
    const form = $("present-form");
    if (!form || !tokenMeta) return showError(TEXT.shareFailed);
    $("present-token").value = tokenMeta.content;
    if (!window.open("", form.target)) return showError(TEXT.popupBlocked); // the form fills this window
    showNotice(TEXT.shareInFrame);
    form.submit();
  }

  // --- watching ---------------------------------------------------------------------------------

  async function watch(feed) {
    if (pending.has(feed.id) || watching.has(feed.id)) return;
    pending.add(feed.id);
    const entry = { feed: feed.id, pc: null, peer: null, stream: new MediaStream(), tile: tileFor(feed), frames: -1, still: 0 };
    entry.pc = newPeerConnection(() => { if (watching.get(feed.id) === entry) unwatch(feed.id, true); });
    const video = entry.tile.querySelector("video");
    // The first frame shows the video at once; the stats (each media poll) notice when it stops.
    video.addEventListener("resize", () => {
      if (video.videoWidth > 0) { entry.tile.dataset.video = "on"; entry.still = 0; }
    });
    entry.pc.addEventListener("track", (event) => {
      entry.stream.addTrack(event.track);
      play(video, entry.stream);
    });
    try {
      const offer = await call("POST", "/subscribe", { feed: feed.id });
      entry.peer = offer.peer;
      await entry.pc.setRemoteDescription({ type: "offer", sdp: offer.sdp });
      await entry.pc.setLocalDescription(await entry.pc.createAnswer());
      await gathered(entry.pc);
      await call("POST", "/peers/" + encodeURIComponent(offer.peer) + "/answer", { sdp: entry.pc.localDescription.sdp });
      watching.set(feed.id, entry);
      placeTile(entry.tile, feed);
    } catch (error) {
      closePc(entry.pc);
      forget(entry.peer);
      refused(error);
    } finally {
      pending.delete(feed.id);
    }
  }

  function unwatch(feedId, tellServer) {
    const entry = watching.get(feedId);
    if (!entry) return;
    watching.delete(feedId);
    closePc(entry.pc);
    entry.tile.remove();
    if (tellServer) forget(entry.peer);
    layout();
  }

  // Browsers may refuse to start sound without a click (Sakai's frame does not delegate autoplay):
  // then the video plays muted and "Turn on sound" appears.
  function play(video, stream) {
    if (video.srcObject !== stream) video.srcObject = stream;
    video.muted = soundBlocked;
    const started = video.play();
    if (!started || !started.catch) return;
    started.catch((error) => {
      if (!error || error.name !== "NotAllowedError") return;
      soundBlocked = true;
      video.muted = true;
      video.play().catch(() => {});
      $("sound-button").hidden = false;
    });
  }

  function turnOnSound() {
    soundBlocked = false;
    $("sound-button").hidden = true;
    watching.forEach((entry) => {
      const video = entry.tile.querySelector("video");
      video.muted = false;
      video.play().catch(() => {});
    });
  }

  // A tile whose video has stopped (camera off, or audio only) shows its name card instead.
  async function watchFrames() {
    for (const entry of watching.values()) {
      let frames = 0;
      try {
        (await entry.pc.getStats()).forEach((s) => {
          if (s.type === "inbound-rtp" && s.kind === "video") frames += s.framesDecoded || 0;
        });
      } catch (e) { continue; }
      entry.still = frames > entry.frames ? 0 : entry.still + 1;
      entry.frames = frames;
      entry.tile.dataset.video = entry.still >= 2 ? "off" : "on";
    }
  }

  // --- tiles ------------------------------------------------------------------------------------

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  function makeTile(name, isGuest, source) {
    const tile = el("li", undefined, "tile");
    tile.dataset.source = source;
    tile.dataset.video = "off";
    const video = el("video");
    video.autoplay = true;
    video.setAttribute("playsinline", "");
    const card = el("span", initials(name), "tile-card");
    card.setAttribute("aria-hidden", "true");
    const label = el("p", undefined, "tile-name");
    label.append(el("span", source === "screen" ? name + " — screen" : name, "tile-name-text"));
    if (isGuest) label.append(" ", el("span", "Guest", "badge"));
    tile.append(video, card, label);
    tile.setAttribute("aria-label", (source === "screen" ? "Screen shared by " : "Video of ") + name + (isGuest ? " (guest)" : ""));
    return tile;
  }

  function initials(name) {
    return String(name || "?").trim().split(/\s+/).slice(0, 2).map((w) => w.charAt(0)).join("").toUpperCase();
  }

  function tileFor(feed) {
    const tile = makeTile(feed.name, feed.is_guest, feed.source);
    tile.dataset.feed = feed.id;
    tile.querySelector("video").setAttribute("aria-hidden", "true");
    return tile;
  }

  function placeTile(tile, feed) {
    (feed.source === "screen" ? $("media-large") : $("media-grid")).append(tile);
    if (session && session.you.can_manage && feed.member && !feed.is_you) addMuteButton(tile, feed);
    layout();
  }

  function addMuteButton(tile, feed) {
    const b = el("button", "Mute", "button small secondary tile-action");
    b.type = "button";
    b.setAttribute("aria-label", "Mute " + feed.name);
    b.addEventListener("click", () => moderate("POST", "/members/" + encodeURIComponent(feed.member) + "/mute"));
    tile.append(b);
  }

  let ownTile = null;
  let screenTile = null;

  function renderOwnTile() {
    if (!local.camOn && !local.audio) {
      if (ownTile) { ownTile.remove(); ownTile = null; layout(); }
      return;
    }
    if (!ownTile) {
      const you = session ? session.you : { name: "You", is_guest: isGuestPage };
      ownTile = makeTile(you.name + " (you)", you.is_guest, "camera");
      ownTile.classList.add("own");
      const video = ownTile.querySelector("video");
      video.muted = true; // never play your own microphone back
      video.setAttribute("aria-hidden", "true");
      $("media-grid").prepend(ownTile);
    }
    const video = ownTile.querySelector("video");
    if (video.srcObject !== local.stream) video.srcObject = local.stream;
    video.play().catch(() => {});
    ownTile.dataset.video = local.camOn ? "on" : "off";
    layout();
  }

  function renderScreenTile() {
    if (!local.screen) {
      if (screenTile) { screenTile.remove(); screenTile = null; layout(); }
      return;
    }
    if (!screenTile) {
      const you = session ? session.you : { name: "You", is_guest: isGuestPage };
      screenTile = makeTile(you.name + " (you)", you.is_guest, "screen");
      const video = screenTile.querySelector("video");
      video.muted = true;
      video.setAttribute("aria-hidden", "true");
      $("media-large").append(screenTile);
    }
    const video = screenTile.querySelector("video");
    video.srcObject = local.screen;
    video.play().catch(() => {});
    screenTile.dataset.video = "on";
    layout();
  }

  // A shared screen takes the large tile; else the room's video or embed (if set) keeps the stage;
  // else the people's tiles fill it.
  function layout() {
    const large = $("media-large");
    const hasScreen = large.children.length > 0;
    const tiles = $("media-grid").children.length;
    const stage = $("stage-screen");
    const stageKind = stage.dataset.kind || "";
    large.hidden = !hasScreen;
    stage.hidden = hasScreen || (!stageKind && tiles > 0);
    $("media-grid").hidden = tiles === 0;
    area.dataset.layout = hasScreen || stageKind ? "strip" : "grid";
  }

  // --- the media poll ---------------------------------------------------------------------------

  function live() {
    return session && session.session.state === "live" && !left;
  }

  function configured() {
    return Boolean(session && session.media && session.media.configured);
  }

  function canPublish() {
    if (!live() || !configured()) return false;
    if (media && media.you) return Boolean(media.you.can_publish);
    return Boolean(session.you.can_publish);
  }

  function schedule(ms) {
    clearTimeout(timer);
    timer = null;
    if (live() && configured() && window.RTCPeerConnection) timer = setTimeout(poll, ms);
  }

  async function poll() {
    if (polling) return;
    polling = true;
    try {
      const data = await call("GET", "");
      failures = 0;
      media = data;
      await reconcile(data);
    } catch (error) {
      failures += 1;
      if (error.status === 401 || error.status === 403) {
        media = null; // and with it any TURN credential
        closeAll(false);
      } else if (failures >= 2) {
        showStatus(TEXT.reconnecting);
      }
    } finally {
      polling = false;
    }
    schedule(document.visibilityState === "hidden" ? HIDDEN_MS : VISIBLE_MS);
  }

  async function reconcile(data) {
    if (data.status !== "ready") {
      showStatus(data.status === "reconnecting" ? TEXT.reconnecting : (data.message || ""));
      if (data.status === "not_live" || data.status === "off") closeAll(false);
      return;
    }
    showStatus(data.you.audio_muted_by_host ? TEXT.mutedByHost : "");
    const mine = new Set((data.you.peers || []).map((p) => p.id));
    // A peer the server no longer knows (Janus restarted, or a moderator ended it) is dead: redo it.
    Object.keys(publishers).forEach((source) => {
      if (!mine.has(publishers[source].peer)) dropPublisher(source, false);
    });
    watching.forEach((entry, feedId) => { if (!mine.has(entry.peer)) unwatch(feedId, false); });

    if (!data.you.can_publish && (local.audio || local.video || local.screen)) {
      stopPublishing();
      showNotice(TEXT.stopped);
    }
    if (data.you.audio_muted_by_host && local.audio && local.micOn) {
      local.audio.enabled = false;
      local.micOn = false;
    }
    renderControls();
    if (data.you.can_publish) {
      if ((local.audio || local.video) && !publishers.camera) syncCamera();
      if (local.screen && !publishers.screen && local.screen.getVideoTracks()[0]) {
        publish("screen", [{ kind: "video", track: local.screen.getVideoTracks()[0] }], local.screen);
      }
    }

    const ownFeeds = new Set(Object.values(publishers).map((p) => p.feed));
    const listed = new Set();
    (data.feeds || []).forEach((feed) => {
      if (ownFeeds.has(feed.id) || (feed.is_you && feed.source === "camera")) return;
      listed.add(feed.id);
      if (!watching.has(feed.id)) watch(feed);
      else updateTile(watching.get(feed.id).tile, feed);
    });
    watching.forEach((entry, feedId) => { if (!listed.has(feedId)) unwatch(feedId, true); });
    renderSpeakers(data.speakers);
    await watchFrames();
  }

  function updateTile(tile, feed) {
    const mute = tile.querySelector(".tile-action");
    if (mute) mute.hidden = Boolean(feed.audio_muted_by_host);
  }

  function refused(error) {
    if (!error) return;
    if (error.code === "media_reconnecting" || error.status === undefined) showStatus(TEXT.reconnecting);
    else if (error.code === "not_speaker") stopPublishing();
    else if (error.code !== "not_live" && error.code !== "peer_not_found" && error.code !== "feed_not_found") {
      showError(error.message);
    }
  }

  function closeAll(tellServer) {
    Object.keys(publishers).forEach((source) => dropPublisher(source, tellServer));
    Array.from(watching.keys()).forEach((feedId) => unwatch(feedId, tellServer));
    setLocalTrack("video", null);
    setLocalTrack("audio", null);
    if (local.screen) local.screen.getTracks().forEach((t) => t.stop());
    local.screen = null;
    renderOwnTile();
    renderScreenTile();
    renderControls();
  }

  // --- moderators: who may speak ----------------------------------------------------------------

  function moderate(method, path, body) {
    clearError();
    return call(method, path, body)
      .then(() => schedule(0))
      .catch((error) => showError(error.message));
  }

  function renderSpeakers(speakers) {
    const panel = $("speakers-panel");
    if (!panel) return;
    const list = speakers || [];
    panel.hidden = !(session && session.you.can_manage);
    $("speakers-empty").hidden = list.length > 0;
    $("speakers-list").replaceChildren(...list.map((person) => {
      const li = el("li");
      const name = el("span", person.name);
      name.id = "speaker-" + person.member;
      li.append(name);
      if (person.is_guest) li.append(" ", el("span", "Guest", "badge"));
      const b = el("button", "Stop speaking", "button small secondary");
      b.type = "button";
      b.setAttribute("aria-describedby", name.id);
      b.addEventListener("click", () => moderate("DELETE", "/speakers/" + encodeURIComponent(person.member)));
      li.append(" ", b);
      return li;
    }));
  }

  // Called by session.js beside each raised hand.
  window.liveMediaAllowToSpeak = function (handId) {
    return moderate("POST", "/speakers", { hand_id: handId });
  };

  // --- the controls -----------------------------------------------------------------------------

  function showStatus(text) {
    const status = $("media-status");
    if (status.textContent !== text) status.textContent = text;
    status.hidden = !text;
  }
  function showNotice(text) { const n = $("media-notice"); n.textContent = text; n.hidden = !text; }
  function showError(text) { const e = $("media-error"); e.textContent = text; e.hidden = !text; }
  function clearError() { showError(""); showNotice(""); }

  function setButton(button, on, onText, offText) {
    button.textContent = on ? onText : offText;
    button.setAttribute("aria-pressed", on ? "true" : "false");
  }

  function renderControls() {
    const publishing = canPublish();
    $("media-publish").hidden = !publishing;
    setButton($("camera-button"), local.camOn, "Turn off camera", "Turn on camera");
    setButton($("mic-button"), Boolean(local.audio && local.micOn), "Mute", "Unmute");
    setButton($("share-button"), Boolean(local.screen), "Stop sharing", "Share screen");
    $("share-button").hidden = !navigator.mediaDevices || !navigator.mediaDevices.getDisplayMedia;
    $("devices").hidden = !publishing;
  }

  async function listDevices() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return;
    let devices = [];
    try { devices = await navigator.mediaDevices.enumerateDevices(); } catch (e) { return; }
    fillSelect($("camera-select"), devices.filter((d) => d.kind === "videoinput"), "Camera", local.video);
    fillSelect($("mic-select"), devices.filter((d) => d.kind === "audioinput"), "Microphone", local.audio);
  }

  function fillSelect(select, devices, noun, track) {
    const current = (track && track.getSettings().deviceId) || select.value;
    const options = devices.map((d, i) => {
      const option = el("option", d.label || noun + " " + (i + 1));
      option.value = d.deviceId;
      return option;
    });
    if (!options.length) options.push(Object.assign(el("option", "Default " + noun.toLowerCase()), { value: "" }));
    select.replaceChildren(...options);
    if (current && devices.some((d) => d.deviceId === current)) select.value = current;
  }

  async function switchDevice(kind) {
    if (!local[kind]) return;
    let track;
    try { track = await getTrack(kind); } catch (error) { return showError(deviceError(kind, error)); }
    const enabled = local.audio ? local.audio.enabled : true;
    setLocalTrack(kind, track);
    if (kind === "audio") track.enabled = enabled;
    renderOwnTile();
    await syncCamera();
  }

  function leave() {
    left = true;
    clearTimeout(timer);
    call("POST", "/leave", {}, { keepalive: true }).catch(() => {});
    closeAll(false);
    area.hidden = true;
    root.dispatchEvent(new CustomEvent("session-leave"));
  }

  // Only this window's peers: the same person's other window (the one sharing) keeps its own.
  window.addEventListener("pagehide", () => {
    Object.values(publishers).forEach((p) => call("DELETE", "/peers/" + encodeURIComponent(p.peer), undefined, { keepalive: true }).catch(() => {}));
    watching.forEach((w) => call("DELETE", "/peers/" + encodeURIComponent(w.peer), undefined, { keepalive: true }).catch(() => {}));
  });

  $("camera-button").addEventListener("click", () => turnCamera(!local.camOn));
  $("mic-button").addEventListener("click", () => turnMic(!(local.audio && local.micOn)));
  $("share-button").addEventListener("click", () => (local.screen ? stopShare(true) : share()));
  $("sound-button").addEventListener("click", turnOnSound);
  $("leave-button").addEventListener("click", leave);
  $("camera-select").addEventListener("change", () => switchDevice("video"));
  $("mic-select").addEventListener("change", () => switchDevice("audio"));
  if (navigator.mediaDevices && navigator.mediaDevices.addEventListener) {
    navigator.mediaDevices.addEventListener("devicechange", listDevices);
  }
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible" && timer) schedule(0); });

  // --- following the session -------------------------------------------------------------------

  root.addEventListener("session-state", (event) => {
    const wasLive = live();
    session = event.detail;
    const on = live();
    area.hidden = !on;
    if (!configured()) {
      showStatus(on && session.you.can_manage ? TEXT.notSetUp : "");
      $("media-controls").hidden = true;
      if (wasLive) closeAll(false);
      return;
    }
    $("media-controls").hidden = !on;
    if (!window.RTCPeerConnection) {
      showStatus(on ? TEXT.noWebRTC : "");
      return;
    }
    if (on && !wasLive) {
      renderControls();
      listDevices();
      schedule(0);
    } else if (!on && wasLive) {
      closeAll(false);
      clearTimeout(timer);
    } else if (on && media && Boolean(session.you.can_publish) !== Boolean(media.you && media.you.can_publish)) {
      schedule(0); // allowed to speak (or stopped): the media poll says what to do now
    }
    if (presenting && on && !wasLive) showNotice("This window shares your screen with the room. Press Share screen.");
  });

  root.addEventListener("session-closed", () => {
    left = true;
    clearTimeout(timer);
    closeAll(false);
    area.hidden = true;
  });
})();
