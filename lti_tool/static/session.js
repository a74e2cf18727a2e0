// The live session: polls GET <api>/state every 2 s (slower while the tab is hidden), renders the
// stage, people, chat and hands with textContent only, and sends the actions as JSON.
(function () {
  "use strict";
  const root = document.getElementById("live");
  if (!root) return;

  const VISIBLE_MS = 2000;
  const HIDDEN_MS = 10000;
  const MAX_MS = 20000;
  const api = root.dataset.api;
  const isGuestPage = root.dataset.viewerKind === "guest";
  const tokenMeta = document.querySelector('meta[name="launch-token"]');
  const headerMeta = document.querySelector('meta[name="launch-token-header"]');
  const localeMeta = document.querySelector('meta[name="user-locale"]');
  const locale = localeMeta ? localeMeta.content : undefined;
  const $ = (id) => document.getElementById(id);
  const STATE_LABELS = {
    not_started: "The session hasn't started yet",
    live: "The session is live",
    ended: "The session has ended",
  };

  let etag = null;
  let cursor = 0;
  let people = "";
  let runStartedAt = null;
  let timer = null;
  let failures = 0;
  let stopped = false;
  let last = null;
  let knownWaiting = null;
  let audio = null;
  let canRun = false;

  // --- requests ---------------------------------------------------------------------------------

  function headers(extra) {
    const h = Object.assign({ Accept: "application/json", "X-Requested-With": "fetch" }, extra || {});
    if (tokenMeta && !isGuestPage) h[headerMeta ? headerMeta.content : "X-Launch-Token"] = tokenMeta.content;
    return h;
  }

  async function send(method, path, body) {
    const response = await fetch(api + path, {
      method: method,
      headers: headers({ "Content-Type": "application/json" }),
      body: JSON.stringify(body || {}),
      credentials: "same-origin",
      cache: "no-store",
    });
    let data = {};
    try { data = await response.json(); } catch (e) { data = {}; }
    if (!response.ok) {
      const error = new Error(data.error || "That did not work. Please try again.");
      error.field = data.field;
      throw error;
    }
    schedule(0);
    return data;
  }

  function act(method, path, body) {
    hide($("live-error"));
    return send(method, path, body).catch((error) => showText($("live-error"), error.message));
  }

  // --- polling ----------------------------------------------------------------------------------

  function interval() {
    const base = document.visibilityState === "hidden" ? HIDDEN_MS : VISIBLE_MS;
    return Math.min(base * Math.pow(2, failures), MAX_MS);
  }

  function schedule(ms) {
    clearTimeout(timer);
    if (!stopped) timer = setTimeout(poll, ms);
  }

  async function poll() {
    const h = headers();
    if (etag) h["If-None-Match"] = etag;
    try {
      const response = await fetch(api + "/state?since=" + cursor + "&people=" + encodeURIComponent(people), { headers: h, cache: "no-store", credentials: "same-origin" });
      if (response.status === 304) {
        failures = 0;
      } else {
        const data = await response.json();
        if (!response.ok) return refused(response.status, data);
        failures = 0;
        etag = response.headers.get("ETag");
        if (data.closed) return showClosed(data.message);
        render(data);
      }
    } catch (e) {
      failures = Math.min(failures + 1, 4);
    }
    schedule(interval());
  }

  function refused(status, data) {
    if (status === 401 || status === 403) {
      stopped = true;
      showClosed(data.error || "You can no longer take part in this session.");
      return;
    }
    failures = Math.min(failures + 1, 4);
    schedule(interval());
  }

  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") schedule(0);
  });

  // --- rendering --------------------------------------------------------------------------------

  function hide(el) { if (el) el.hidden = true; }
  function showText(el, text) { if (el) { el.textContent = text; el.hidden = false; } }
  function announce(text) {
    const el = $("live-announcer");
    el.textContent = "";
    window.setTimeout(() => { el.textContent = text; }, 50);
  }
  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (className) node.className = className;
    return node;
  }
  function button(text, label, onClick, className) {
    const b = el("button", text, className || "link-button");
    b.type = "button";
    if (label) b.setAttribute("aria-label", label);
    b.addEventListener("click", onClick);
    return b;
  }
  function time(iso) {
    try { return new Date(iso).toLocaleTimeString(locale, { hour: "2-digit", minute: "2-digit" }); } catch (e) { return ""; }
  }
  function badge(text) { return el("span", text, "badge"); }

  function render(data) {
    const state = data.session.state;
    const previous = last ? last.session.state : root.dataset.state;
    const you = data.you;
    $("session-state").textContent = STATE_LABELS[state];
    if (last && previous !== state) announce(STATE_LABELS[state]);
    $("live-panels").hidden = state !== "live";
    // An invited moderator moderates but does not start or end the session (can_run_session false).
    canRun = Boolean(you.can_run_session);
    $("start-session").hidden = !canRun || state === "live";
    $("end-session").hidden = !canRun || state !== "live";
    if (runStartedAt !== data.session.started_at) {
      runStartedAt = data.session.started_at;
      $("chat-log").replaceChildren();
    }
    renderStage(data);
    if (data.participants) renderParticipants(data.participants, data.participants_unnamed || 0);
    people = data.people_cursor;
    renderHand(you);
    renderChat(data.chat, you);
    if (you.can_manage) {
      renderGuests(data.guests || []);
      renderHands(data.hands || [], Boolean(data.media && data.media.configured) && state === "live");
      syncSettings(data);
    }
    last = data;
    root.dispatchEvent(new CustomEvent("session-state", { detail: data })); // media.js follows

  }

  function renderStage(data) {
    const screen = $("stage-screen");
    const kind = data.stage.kind || "";
    const url = data.stage.url || "";
    if (screen.dataset.kind === kind && screen.dataset.url === url && screen.firstElementChild) return;
    screen.dataset.kind = kind;
    screen.dataset.url = url;
    let node;
    if (kind === "video") {
      node = el("video", "Your browser cannot play this video.");
      node.controls = true;
      node.setAttribute("playsinline", "");
      node.preload = "metadata";
      node.src = url;
    } else if (kind === "embed") {
      node = el("iframe");
      node.title = "Shared media";
      node.setAttribute("allow", "fullscreen; picture-in-picture");
      node.setAttribute("referrerpolicy", "no-referrer");
      node.setAttribute("sandbox", "allow-scripts allow-same-origin allow-presentation");
      node.src = url;
    } else {
      node = el("div", undefined, "stage-placeholder");
      node.append(el("p", data.room.title, "stage-room"));
    }
    screen.replaceChildren(node);
  }

  // Guests may get only some names (hosts, moderators, speakers) and a number for the others.
  function renderParticipants(list, unnamed) {
    $("participants-count").textContent = "(" + (list.length + unnamed) + ")";
    const items = list.map((person) => {
      const li = el("li", person.name);
      if (person.is_moderator) li.append(" ", badge(person.role === "host" ? "Host" : "Moderator"));
      return li;
    });
    if (unnamed) items.push(el("li", unnamedText(unnamed, list.length > 0), "muted"));
    $("participants-list").replaceChildren(...items);
  }

  function unnamedText(count, afterNames) {
    const noun = count === 1 ? " participant" : " participants";
    return count + (afterNames ? " other" : "") + noun;
  }

  function renderHand(you) {
    const b = $("hand-button");
    b.hidden = !(you.can_raise_hand || you.hand_raised);
    b.textContent = you.hand_raised ? "Lower hand" : "Raise hand";
    b.setAttribute("aria-pressed", you.hand_raised ? "true" : "false");
    if (last && last.you.hand_raised && !you.hand_raised) announce("Your hand was lowered.");
  }

  function renderChat(chat, you) {
    const log = $("chat-log");
    chat.deleted.forEach((id) => {
      const item = log.querySelector('[data-id="' + Number(id) + '"]');
      if (item) item.remove();
    });
    chat.messages.forEach((message) => {
      if (log.querySelector('[data-id="' + Number(message.id) + '"]')) return;
      const li = el("li", undefined, "chat-message");
      li.dataset.id = String(message.id);
      const head = el("p", undefined, "chat-head");
      head.append(el("strong", message.author));
      if (message.is_guest) head.append(" ", badge("Guest"));
      head.append(" ", el("time", time(message.at)));
      if (you.can_run_session) {
        head.append(" ", button("Delete", "Delete message from " + message.author, () => {
          act("DELETE", "/chat/" + message.id);
        }));
      }
      li.append(head, el("p", message.body, "chat-body"));
      log.append(li);
    });
    if (chat.messages.length) log.scrollTop = log.scrollHeight;
    cursor = Math.max(cursor, chat.cursor || 0);
    const form = $("chat-form");
    const off = you.is_guest && !you.can_chat && last !== null;
    form.hidden = !you.can_chat;
    $("chat-off").hidden = !(you.is_guest && !you.can_chat);
    if (off && last.you.can_chat) announce("The host has turned off chat for guests.");
  }

  function renderGuests(guests) {
    $("guests-panel").hidden = false;
    const waiting = guests.filter((g) => g.status === "waiting");
    $("guests-count").textContent = "(" + guests.length + ")";
    $("guests-empty").hidden = guests.length > 0;
    $("guests-table").hidden = guests.length === 0;
    $("admit-all").hidden = waiting.length === 0;
    $("guests-body").replaceChildren(...guests.map(guestRow));
    const ids = new Set(waiting.map((g) => g.id));
    if (knownWaiting !== null) {
      const fresh = waiting.filter((g) => !knownWaiting.has(g.id));
      if (fresh.length) notifyWaiting(fresh);
      // Someone was admitted or declined: the alert must not keep naming them.
      else if (waiting.length && waiting.length < knownWaiting.size) showText($("guest-alert"), waitingText(waiting.length));
    } else if (waiting.length) {
      showText($("guest-alert"), waitingText(waiting.length));
    }
    if (!waiting.length) hide($("guest-alert"));
    knownWaiting = ids;
  }

  function waitingText(count) {
    return count === 1 ? "1 guest is waiting to be admitted." : count + " guests are waiting to be admitted.";
  }

  function guestRow(guest) {
    const tr = el("tr");
    const status = guest.status === "waiting" ? "Waiting" : (guest.present ? "In the session" : "Not connected");
    [guest.name, guest.email || "—", guest.link_name, time(guest.joined_at), status].forEach((text) => tr.append(el("td", text)));
    const actions = el("td", undefined, "actions");
    if (guest.status === "waiting") {
      actions.append(
        button("Admit", "Admit " + guest.name, () => act("POST", "/guests/" + encodeURIComponent(guest.id) + "/admit"), "button small"),
        " ",
        button("Decline", "Decline " + guest.name, () => act("POST", "/guests/" + encodeURIComponent(guest.id) + "/decline"), "button small secondary"),
      );
    } else {
      actions.append(button("Remove", "Remove " + guest.name, () => {
        if (window.confirm("Remove " + guest.name + " from this session? They can't come back with this guest session.")) {
          act("POST", "/guests/" + encodeURIComponent(guest.id) + "/remove");
        }
      }, "button small secondary"));
    }
    // Privacy: a host can erase a guest's name and email at once, not only after the retention period.
    if (canRun) actions.append(" ", button("Delete record", "Delete record of " + guest.name, () => {
      if (window.confirm("Delete " + guest.name + "'s name and email now? This can't be undone, and they leave the session.")) {
        act("DELETE", "/guests/" + encodeURIComponent(guest.id));
      }
    }, "button small secondary"));
    tr.append(actions);
    return tr;
  }

  function notifyWaiting(fresh) {
    const text = fresh.length === 1
      ? fresh[0].name + " is waiting to be admitted."
      : fresh.length + " new guests are waiting to be admitted.";
    showText($("guest-alert"), text);
    beep();
  }

  function renderHands(hands, mediaOn) {
    $("hands-panel").hidden = false;
    $("hands-count").textContent = "(" + hands.length + ")";
    $("hands-empty").hidden = hands.length > 0;
    const before = last && last.hands ? new Set(last.hands.map((h) => h.id)) : null;
    $("hands-list").replaceChildren(...hands.map((hand) => {
      const li = el("li");
      const name = el("span", hand.name);
      name.id = "hand-" + Number(hand.id);
      li.append(name);
      if (hand.is_guest) li.append(" ", badge("Guest"));
      if (mediaOn && window.liveMediaAllowToSpeak) {
        // The name stays exactly "Allow to speak"; whose hand it is comes as its description.
        const allow = button("Allow to speak", undefined, () => window.liveMediaAllowToSpeak(hand.id), "button small");
        allow.setAttribute("aria-describedby", name.id);
        li.append(" ", allow);
      }
      li.append(" ", button("Lower", "Lower the hand of " + hand.name, () => act("DELETE", "/hands/" + hand.id)));
      return li;
    }));
    if (before) hands.filter((h) => !before.has(h.id)).forEach((h) => announce(h.name + " raised a hand."));
  }

  function admittedText(count) {
    if (!count) return "";
    return count === 1 ? " 1 waiting guest was let in." : " " + count + " waiting guests were let in.";
  }

  // Another moderator may change the settings: keep the closed dialog in step with the room.
  function syncSettings(data) {
    const dialog = $("room-settings-dialog");
    if (!dialog || dialog.open) return;
    $("setting-media-url").value = data.stage.url || "";
    $("setting-guest-chat").checked = data.guest_chat_enabled;
    $("setting-guest-names").checked = data.guest_names_visible;
    $("setting-admission").checked = data.admission_required;
  }

  function showClosed(message) {
    stopped = true;
    clearTimeout(timer);
    root.dispatchEvent(new CustomEvent("session-closed"));
    $("live-panels").hidden = true;
    ["start-session", "end-session", "hand-button"].forEach((id) => hide($(id)));
    $("stage-screen").replaceChildren();
    $("stage-screen").hidden = true;
    $("session-state").textContent = "";
    $("closed-message").textContent = message;
    $("closed-panel").hidden = false;
    $("closed-title").focus();
  }

  // --- the notification sound: a short WebAudio beep (browsers allow audio after a first gesture) ---

  function unlockAudio() {
    if (audio) return;
    const Context = window.AudioContext || window.webkitAudioContext;
    if (Context) audio = new Context();
  }
  document.addEventListener("pointerdown", unlockAudio, { once: true });
  document.addEventListener("keydown", unlockAudio, { once: true });

  function beep() {
    if (!audio) return;
    const t = audio.currentTime;
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.0001, t);
    gain.gain.exponentialRampToValueAtTime(0.2, t + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.35);
    osc.connect(gain).connect(audio.destination);
    osc.start(t);
    osc.stop(t + 0.4);
  }

  // --- actions ------------------------------------------------------------------------------------

  $("start-session").addEventListener("click", () => act("POST", "/session/start"));
  $("end-session").addEventListener("click", () => {
    if (window.confirm("End the session for everyone? Guests will be signed out.")) act("POST", "/session/end");
  });
  $("hand-button").addEventListener("click", () => {
    const raised = $("hand-button").getAttribute("aria-pressed") === "true";
    act(raised ? "DELETE" : "POST", "/hand").then(() => announce(raised ? "Hand lowered." : "Hand raised."));
  });
  $("admit-all").addEventListener("click", () => act("POST", "/guests/admit-all"));
  root.addEventListener("session-leave", () => showClosed("Reload the page to join again."));

  const chatForm = $("chat-form");
  const chatInput = $("chat-input");
  chatForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = chatInput.value.trim();
    hide($("chat-error"));
    if (!body) return showText($("chat-error"), "Write a message first.");
    if (body.length > 500) return showText($("chat-error"), "A message can be at most 500 characters.");
    send("POST", "/chat", { body: body })
      .then(() => { chatInput.value = ""; chatInput.focus(); })
      .catch((error) => showText($("chat-error"), error.message));
  });
  chatInput.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      chatForm.requestSubmit();
    }
  });

  // --- room settings dialog (hosts and moderators) ---------------------------------------------------

  const settingsForm = $("room-settings-form");
  if (settingsForm) {
    settingsForm.addEventListener("submit", (event) => {
      event.preventDefault();
      hide($("media-url-error"));
      $("settings-status").textContent = "";
      send("PATCH", "/settings", {
        media_url: $("setting-media-url").value,
        guest_chat_enabled: $("setting-guest-chat").checked,
        guest_names_visible: $("setting-guest-names").checked,
      })
        .then(() => { $("settings-status").textContent = "Saved."; })
        .catch((error) => {
          if (error.field === "media_url") {
            showText($("media-url-error"), error.message);
            $("setting-media-url").focus();
          } else {
            $("settings-status").textContent = error.message;
          }
        });
    });
    const admission = $("setting-admission");
    admission.addEventListener("change", () => {
      const wanted = admission.checked;
      $("admission-status").textContent = "";
      send("PATCH", "/admission", { required: wanted })
        .then((data) => {
          $("admission-status").textContent = wanted
            ? "Guests now wait until a moderator admits them."
            : "Guests now enter without waiting." + admittedText(data.admitted);
        })
        .catch((error) => {
          admission.checked = !wanted;
          $("admission-status").textContent = error.message;
        });
    });
  }

  schedule(0);
})();
