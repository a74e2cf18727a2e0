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
    not_started: isGuestPage
      ? "You're in. The session starts when the host begins it — keep this page open."
      : "The session hasn't started yet",
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

  // Resolves true when the server did it; a refusal shows in plain words and resolves false.
  function act(method, path, body) {
    hide($("live-error"));
    return send(method, path, body).then(() => true).catch((error) => {
      showText($("live-error"), error.message);
      return false;
    });
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
        if (data.closed) return showClosed(data.message, data.title);
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
    renderGuestsPresent(data.guests_present || 0);
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
      node.append(el("p", data.room.title, "stage-room"), el("p", "Nothing is on the stage yet.", "stage-empty"));
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
    if (chat.messages.length) $("chat-scroll").scrollTop = $("chat-scroll").scrollHeight;
    cursor = Math.max(cursor, chat.cursor || 0);
    const form = $("chat-form");
    const off = you.is_guest && !you.can_chat && last !== null;
    form.hidden = !you.can_chat;
    $("chat-off").hidden = !(you.is_guest && !you.can_chat);
    if (off && last.you.can_chat) announce("The host has turned off chat for guests.");
  }

  // Everyone sees that guests are there (guests are not listed by name in Participants).
  function renderGuestsPresent(count) {
    const line = $("guests-present");
    line.hidden = count === 0;
    line.textContent = count === 1 ? "· 1 guest in this session" : "· " + count + " guests in this session";
  }

  function renderGuests(guests) {
    // A room without guest access (a media gallery, a module off) shows no Guests panel, unless
    // guests are still listed from before.
    if (root.dataset.noGuests && !guests.length) return;
    $("guests-panel").hidden = false;
    const waiting = guests.filter((g) => g.status === "waiting");
    $("guests-count").textContent = "(" + guests.length + ")";
    $("guests-empty").hidden = guests.length > 0;
    $("guests-table").hidden = guests.length === 0;
    $("admit-all").hidden = waiting.length === 0;
    // Redrawing the rows must not lose the keyboard user's place (or an open row menu).
    const focusKey = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.key : null;
    $("guests-body").replaceChildren(...guests.map(guestRow));
    if (focusKey) {
      const again = $("guests-body").querySelector('[data-key="' + CSS.escape(focusKey) + '"]');
      if (again && !again.closest("[hidden]")) again.focus();
    }
    renderWaiting(waiting);
  }

  // The banner at the top of the tool names how many wait (and who); new arrivals flash it and,
  // once the page has been touched, beep. The count badge sits by the session's state.
  function renderWaiting(waiting) {
    const banner = $("waiting-banner");
    const badgeEl = $("waiting-count");
    const fresh = knownWaiting === null ? [] : waiting.filter((g) => !knownWaiting.has(g.id));
    knownWaiting = new Set(waiting.map((g) => g.id));
    banner.hidden = waiting.length === 0;
    badgeEl.hidden = waiting.length === 0;
    if (!waiting.length) return;
    badgeEl.textContent = waiting.length + " waiting";
    const text = waitingText(waiting);
    if ($("waiting-text").textContent !== text) $("waiting-text").textContent = text;
    if (fresh.length) {
      banner.classList.remove("flash");
      void banner.offsetWidth; // restart the animation
      banner.classList.add("flash");
      beep();
    }
  }

  function waitingText(waiting) {
    const count = waiting.length === 1 ? "1 guest waiting" : waiting.length + " guests waiting";
    const names = waiting.slice(0, 3).map((g) => g.name);
    const more = waiting.length > 3 ? " and " + (waiting.length - 3) + " more" : "";
    return count + ": " + names.join(", ") + more;
  }

  function guestRow(guest) {
    const tr = el("tr");
    tr.dataset.guestId = guest.id;
    const status = guest.status === "waiting" ? "Waiting" : (guest.present ? "In the session" : "Not connected");
    [guest.name, guest.email || "—", guest.link_name, time(guest.joined_at), status].forEach((text, i) => {
      const td = el("td", undefined, i < 3 ? "clip" : undefined);
      const span = el("span", text);
      if (i < 3) span.title = text; // cut short on screen; the full value in the tooltip and the cell's text
      td.append(span);
      tr.append(td);
    });
    const actions = el("td", undefined, "actions");
    const key = (what) => what + ":" + guest.id;
    if (guest.status === "waiting") {
      actions.append(
        keyed(button("Admit", "Admit " + guest.name, () => act("POST", guestPath(guest, "/admit")), "button small"), key("admit")),
        " ",
        keyed(button("Decline", "Decline " + guest.name, () => act("POST", guestPath(guest, "/decline")), "button small secondary"), key("decline")),
      );
    } else {
      actions.append(keyed(button("Remove", "Remove " + guest.name, (event) => confirmRemove(guest, event.currentTarget), "button small secondary"), key("remove")));
    }
    if (canRun) actions.append(" ", rowMenu(guest, key)); // erasing records stays with course staff
    tr.append(actions);
    return tr;
  }

  function keyed(node, key) { node.dataset.key = key; return node; }
  function guestPath(guest, tail) { return "/guests/" + encodeURIComponent(guest.id) + (tail || ""); }

  // The row's overflow: privacy actions that must not sit beside Admit/Remove with the same weight.
  let openRowMenu = null;
  function rowMenu(guest, key) {
    const wrap = el("span", undefined, "row-menu");
    const toggle = keyed(button("⋯", "Other actions for " + guest.name, () => {
      const opening = list.hidden;
      closeRowMenus();
      if (opening) { list.hidden = false; toggle.setAttribute("aria-expanded", "true"); openRowMenu = guest.id; erase.focus(); }
    }, "icon-button small"), key("more"));
    toggle.setAttribute("aria-expanded", "false");
    const list = el("div", undefined, "row-menu-list");
    list.hidden = openRowMenu !== guest.id;
    toggle.setAttribute("aria-expanded", list.hidden ? "false" : "true");
    const erase = keyed(button("Erase name and email", undefined, (event) => confirmErase(guest, event.currentTarget), "link-button"), key("erase"));
    list.append(erase);
    list.addEventListener("keydown", (event) => {
      if (event.key === "Escape") { closeRowMenus(); toggle.focus(); }
    });
    wrap.append(toggle, list);
    return wrap;
  }
  function closeRowMenus() {
    openRowMenu = null;
    document.querySelectorAll(".row-menu-list").forEach((list) => { list.hidden = true; });
    document.querySelectorAll(".row-menu > button").forEach((b) => b.setAttribute("aria-expanded", "false"));
  }
  document.addEventListener("click", (event) => {
    if (openRowMenu && !event.target.closest(".row-menu")) closeRowMenus();
  });

  function confirmRemove(guest, from) {
    const invited = Boolean(guest.invited_role); // removing an invitee revokes their invitation
    confirmAction({
      from: from,
      title: "Remove " + guest.name + "?",
      text: invited
        ? "Remove ends their place in this session and revokes their invitation: its link no longer lets them in."
        : "Remove ends their place in this session, but they can come back through the link. "
          + "Remove and block keeps them out of this room, through any link, until the session ends "
          + "(the same browser or the same email).",
      actions: invited
        ? [{ value: "remove", label: "Remove", danger: true }]
        : [{ value: "remove", label: "Remove" }, { value: "block", label: "Remove and block", danger: true }],
      returnTo: "remove:" + guest.id,
    }).then((choice) => {
      if (choice === "remove" || choice === "block") {
        act("POST", guestPath(guest, "/remove"), { block: choice === "block" })
          .then((ok) => ok && announce(guest.name + (choice === "block" ? " was removed and blocked." : " was removed.")));
      }
    });
  }

  function confirmErase(guest, from) {
    const asked = confirmAction({
      from: from,
      title: "Erase " + guest.name + "'s name and email?",
      text: "Their record is deleted now, not after the retention period. This can't be undone, and they leave the session.",
      actions: [{ value: "erase", label: "Erase", danger: true }],
      returnTo: "more:" + guest.id,
    });
    closeRowMenus(); // after the dialog took its place beside the pressed item
    asked.then((choice) => {
      if (choice === "erase") act("DELETE", guestPath(guest)).then((ok) => ok && announce("The guest's name and email were erased."));
    });
  }

  // --- the tool's own confirmation dialog (a browser's confirm() says "localhost says…" in the frame,
  // and may be suppressed) --------------------------------------------------------------------------

  function confirmAction(options) {
    const dialog = $("confirm-dialog");
    const opener = options.from || document.activeElement; // (Safari does not focus a clicked button)
    const top = (opener && opener.getBoundingClientRect ? opener.getBoundingClientRect().top : 0) + window.scrollY;
    $("confirm-title").textContent = options.title;
    $("confirm-text").textContent = options.text;
    const form = $("confirm-actions");
    form.querySelectorAll("[data-choice]").forEach((b) => b.remove());
    options.actions.forEach((action) => {
      const b = el("button", action.label, "button" + (action.danger ? " danger" : ""));
      b.value = action.value;
      b.dataset.choice = "1";
      form.append(b);
    });
    dialog.returnValue = "";
    // In a frame sized to the page (lti.frameResize) the portal shows only part of it: the dialog
    // scrolls with the page (session.css) and opens beside what the person just pressed.
    const bottom = document.documentElement.scrollHeight - 340;
    dialog.style.marginTop = Math.max(16 + window.scrollY, Math.min(top - 120, bottom)) + "px";
    dialog.showModal();
    $("confirm-cancel").focus();
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => {
        const target = (options.returnTo && document.querySelector('[data-key="' + CSS.escape(options.returnTo) + '"]'))
          || (opener && opener.isConnected ? opener : $("guests-title"));
        if (target) target.focus();
        resolve(dialog.returnValue === "cancel" ? null : dialog.returnValue || null);
      }, { once: true });
    });
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
  function syncSettings(data, force) {
    const dialog = $("room-settings-dialog");
    if (!dialog || (dialog.open && !force)) return;
    $("setting-media-url").value = data.stage.url || "";
    $("setting-guest-chat").checked = data.guest_chat_enabled;
    $("setting-guest-names").checked = data.guest_names_visible;
    $("setting-admission").checked = data.admission_required;
  }

  function showClosed(message, title) {
    stopped = true;
    clearTimeout(timer);
    root.dispatchEvent(new CustomEvent("session-closed"));
    $("live-panels").hidden = true;
    ["start-session", "end-session", "hand-button", "guest-leave"].forEach((id) => hide($(id)));
    $("stage-screen").replaceChildren();
    $("stage-screen").hidden = true;
    $("session-state").textContent = "";
    $("closed-title").textContent = title || "You have left the session";
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
  $("end-session").addEventListener("click", (event) => {
    confirmAction({
      from: event.currentTarget,
      title: "End the session for everyone?",
      text: "Guests will be signed out and the chat closes.",
      actions: [{ value: "end", label: "End session", danger: true }],
    }).then((choice) => { if (choice === "end") act("POST", "/session/end"); });
  });
  $("hand-button").addEventListener("click", () => {
    const raised = $("hand-button").getAttribute("aria-pressed") === "true";
    act(raised ? "DELETE" : "POST", "/hand").then((ok) => ok && announce(raised ? "Hand lowered." : "Hand raised."));
  });
  $("admit-all").addEventListener("click", () => act("POST", "/guests/admit-all"));
  if ($("waiting-banner")) {
    $("banner-admit-all").addEventListener("click", () => act("POST", "/guests/admit-all")
      .then((ok) => ok && announce("Waiting guests were let in.")));
    $("banner-review").addEventListener("click", () => {
      const first = $("guests-body").querySelector('[data-key^="admit:"]');
      (first || $("guests-title")).focus();
      $("guests-panel").scrollIntoView({ block: "start" });
    });
  }
  root.addEventListener("session-leave", () => showClosed("Reload the page to join again."));
  // A guest's Leave ends their place on the server (the host's list no longer shows them).
  if (isGuestPage) {
    $("guest-leave").hidden = false;
    $("guest-leave").addEventListener("click", () => {
      hide($("live-error"));
      send("POST", "/guest/leave", {})
        .then((data) => showClosed(data.message, data.title))
        .catch((error) => showText($("live-error"), error.message));
    });
  }

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
  // On touch screens Enter is the keyboard's new line and Send sends; the hint says which applies.
  const touch = window.matchMedia && window.matchMedia("(pointer: coarse)").matches;
  $("chat-hint").textContent = touch
    ? "Press Send to send. Up to 500 characters."
    : "Enter to send, Shift+Enter for a new line. Up to 500 characters.";
  chatInput.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && !touch) {
      event.preventDefault();
      chatForm.requestSubmit();
    }
  });

  // --- room settings dialog (hosts and moderators) ---------------------------------------------------

  const settingsForm = $("room-settings-form");
  if (settingsForm) {
    settingsForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      hide($("media-url-error"));
      const status = $("settings-status");
      status.textContent = "";
      const wanted = $("setting-admission").checked;
      const admissionChanged = last !== null && wanted !== last.admission_required;
      try {
        await send("PATCH", "/settings", {
          media_url: $("setting-media-url").value,
          guest_chat_enabled: $("setting-guest-chat").checked,
          guest_names_visible: $("setting-guest-names").checked,
        });
        let said = "Saved.";
        if (admissionChanged) {
          const data = await send("PATCH", "/admission", { required: wanted });
          said += wanted
            ? " Guests now wait until a moderator admits them."
            : " Guests now enter without waiting." + admittedText(data.admitted);
        }
        status.textContent = said;
      } catch (error) {
        if (error.field === "media_url") {
          showText($("media-url-error"), error.message);
          $("setting-media-url").focus();
        } else {
          status.textContent = error.message;
        }
      }
    });
    // Opening the dialog shows the room as it is now, not what was typed and never saved.
    $("room-settings-dialog").addEventListener("dialog-opened", () => {
      $("settings-status").textContent = "";
      hide($("media-url-error"));
      if (last) syncSettings(last, true);
    });
  }

  schedule(0);
})();
