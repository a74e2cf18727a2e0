// "Manage guest access": loads, creates, copies and deletes guest links through the JSON API.
// Every request carries the launch token header (the CSRF protection). Data is only ever put in
// the page with textContent / attributes, never as HTML.
(function () {
  "use strict";
  const dialog = document.getElementById("guest-access-dialog");
  if (!dialog) return;

  const $ = (id) => document.getElementById(id);
  const kit = window.DialogKit; // dialog_kit.js: request, status line, errors, dates, copy
  const { api, showError, formatDate } = kit;
  const linksUrl = kit.meta("guest-links-url");
  const accessUrl = kit.meta("guest-access-url");

  const toggle = $("guest-access-toggle");
  const count = $("guest-links-count");
  const createButton = $("create-link-button");
  const createReason = $("create-link-reason");
  const mainError = $("guest-access-error");
  const table = $("guest-links-table");
  const tbody = $("guest-links-body");
  const status = $("guest-links-status");
  const announce = (message) => kit.announce(status, message);
  const copySelected = (text) => kit.copySelected(dialog, text);
  const groupLine = $("guest-group-line");
  const fallback = $("copy-fallback");
  const fallbackInput = $("copy-fallback-input");
  const fallbackLabel = $("copy-fallback-label");
  const createDialog = $("create-link-dialog");
  const form = $("create-link-form");
  const formError = $("create-link-error");
  const deleteDialog = $("delete-link-dialog");
  const disableDialog = $("disable-access-dialog");
  const fields = {
    name: { input: $("link-name"), error: $("link-name-error") },
    max_clicks: { input: $("link-max-clicks"), error: $("link-max-clicks-error") },
    duration_days: { input: $("link-duration"), error: $("link-duration-error") },
  };
  let state = null;
  let busy = false;

  // ---- Rendering ---------------------------------------------------------------------------------
  const STATUS_TEXT = { inactive: "inactive", expired: "expired", used_up: "used up" };

  function icon(id) {
    return document.getElementById(id).content.firstElementChild.cloneNode(true);
  }

  // An icon with a short visible word ("Copy", "Delete"); the rest of the accessible name (which
  // link) is visually hidden, so the name always holds the visible word ("Copied" included).
  function iconButton(iconId, text, rest, onClick) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "icon-button labelled";
    button.title = text + rest;
    const word = document.createElement("span");
    word.className = "icon-label";
    word.textContent = text;
    const hidden = document.createElement("span");
    hidden.className = "visually-hidden";
    hidden.textContent = rest;
    button.append(icon(iconId), word, hidden);
    button.addEventListener("click", onClick);
    return button;
  }

  // The link itself, shortened on screen but whole when selected or copied by hand.
  function urlLine(link) {
    const url = document.createElement("span");
    url.className = "link-url";
    url.textContent = link.url;
    url.title = link.url;
    return url;
  }

  function linkRow(link) {
    const row = document.createElement("tr");
    row.dataset.linkId = link.id;
    const name = document.createElement("td");
    const title = document.createElement("span");
    title.className = "link-name";
    title.textContent = link.name;
    name.append(title);
    if (link.status !== "active") {
      const badge = document.createElement("span");
      badge.className = "link-status";
      badge.textContent = STATUS_TEXT[link.status] || link.status;
      name.append(" ", badge);
    }
    name.append(urlLine(link));
    const clicks = document.createElement("td");
    clicks.textContent = link.clicks_label;
    const speak = document.createElement("td");
    speak.textContent = link.guests_can_speak ? "Yes" : "No";
    const actions = document.createElement("td");
    actions.className = "link-actions";
    actions.append(
      iconButton("icon-copy", "Copy", " link " + link.name, (event) => copyLink(link, event.currentTarget)),
      iconButton("icon-trash", "Delete", " link " + link.name, (event) => confirmDelete(link, event.currentTarget)),
    );
    row.append(name, kit.expiryCell(link.expires_at, "long"), clicks, speak, actions);
    return row;
  }

  function render(next) {
    state = next;
    toggle.checked = state.guest_access_enabled;
    toggle.disabled = false;
    count.textContent = state.count_label;
    // aria-disabled, not disabled: the button keeps focus (after Create or Cancel) and says why not.
    createButton.setAttribute("aria-disabled", state.can_create ? "false" : "true");
    showError(createReason, state.create_disabled_reason);
    tbody.replaceChildren(...state.links.map(linkRow));
    table.hidden = state.links.length === 0;
    if (state.group) {
      groupLine.textContent = "Guests join the system group “" + state.group.name + "”. It can't be deleted.";
    }
    groupLine.hidden = !state.group;
  }

  async function load() {
    showError(mainError, "");
    fallback.hidden = true;
    try {
      render(await api("GET", linksUrl));
    } catch (err) {
      count.textContent = "";
      showError(mainError, err.error);
    }
  }

  // ---- Guest access switch -----------------------------------------------------------------------
  // The switch stays enabled while its request runs (disabling it would drop keyboard focus);
  // presses meanwhile are undone.
  let switching = false;

  async function setAccess(enabled) {
    switching = true;
    toggle.setAttribute("aria-busy", "true");
    showError(mainError, "");
    try {
      render(await api("POST", accessUrl, { enabled: enabled }));
      const valid = state.links.some((link) => link.status === "active");
      announce(enabled
        ? (valid ? "Guest access is on. Links that are still valid work again." : "Guest access is on.")
        : "Guest access is off. All guest links are inactive.");
    } catch (err) {
      toggle.checked = !enabled;
      showError(mainError, err.error);
    } finally {
      switching = false;
      toggle.removeAttribute("aria-busy");
    }
  }

  toggle.addEventListener("change", () => {
    if (switching) {
      toggle.checked = !toggle.checked;
      return;
    }
    if (toggle.checked) {
      setAccess(true);
      return;
    }
    toggle.checked = true; // stays on until the host confirms
    disableDialog.returnValue = "";
    disableDialog.showModal();
  });
  disableDialog.addEventListener("close", () => {
    toggle.focus();
    if (disableDialog.returnValue === "confirm") setAccess(false);
  });

  // ---- Create ------------------------------------------------------------------------------------
  const clearFieldErrors = () => kit.clearFieldErrors(fields, formError);

  createButton.addEventListener("click", () => {
    if (createButton.getAttribute("aria-disabled") === "true") return;
    form.reset();
    clearFieldErrors();
    preview();
    createDialog.showModal();
    fields.name.input.focus();
  });
  createDialog.addEventListener("close", () => createButton.focus()); // the control that opened the step

  // "Expires after": the exact date and time the link would stop working, as the host types.
  const previewLine = $("link-duration-preview");
  function preview() {
    const raw = fields.duration_days.input.value.trim();
    const days = /^[0-9]+$/.test(raw) ? Number(raw) : NaN;
    if (!raw) previewLine.textContent = "The link never expires.";
    else if (days >= 1 && days <= 365) {
      const at = new Date(Date.now() + days * 86400000).toISOString();
      previewLine.textContent = "Expires " + formatDate(at, { weekday: "long", year: "numeric", month: "long",
        day: "numeric", hour: "numeric", minute: "2-digit", timeZoneName: "short" }) + ".";
    } else previewLine.textContent = "";
  }
  fields.duration_days.input.addEventListener("input", preview);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (busy) return;
    clearFieldErrors();
    const body = {
      name: fields.name.input.value,
      max_clicks: fields.max_clicks.input.value.trim(),
      duration_days: fields.duration_days.input.value.trim(),
      guests_can_speak: $("link-guests-can-speak").checked,
    };
    busy = true;
    try {
      const result = await api("POST", linksUrl, body);
      createDialog.close();
      render(result);
      announce("Link “" + result.link.name + "” created.");
    } catch (err) {
      fieldError(err); // the dialog stays open with the values as typed
    } finally {
      busy = false;
    }
  });

  // Every wrong field at once, each beside its field; focus on the first.
  function fieldError(err) {
    const problems = err.errors && err.errors.length ? err.errors : [{ field: err.field, error: err.error }];
    let first = null;
    problems.forEach((problem) => {
      const field = fields[problem.field];
      if (!field) {
        showError(formError, problem.error);
        return;
      }
      showError(field.error, problem.error);
      field.input.setAttribute("aria-invalid", "true");
      if (!first) first = field.input;
    });
    if (first) first.focus();
  }

  // ---- Copy (the Clipboard API, else copying a selection: DialogKit.copySelected) ----------------
  // "Copied ✓" on the button itself for a moment; the status line announces it.
  function showCopied(button) {
    const word = button.querySelector(".icon-label");
    const tick = document.createElement("span");
    tick.setAttribute("aria-hidden", "true");
    tick.textContent = " ✓";
    word.replaceChildren("Copied", tick);
    button.classList.add("copied");
    window.setTimeout(() => { word.textContent = "Copy"; button.classList.remove("copied"); }, 2500);
  }

  async function copyLink(link, button) {
    fallback.hidden = true;
    try {
      if (!navigator.clipboard || !navigator.clipboard.writeText) throw new Error("no clipboard");
      await navigator.clipboard.writeText(link.url);
      showCopied(button);
      announce("Link copied");
    } catch (err) {
      if (copySelected(link.url)) {
        button.focus();
        showCopied(button);
        announce("Link copied");
        return;
      }
      // Inside some iframes the clipboard API is missing or refused: offer the URL selected.
      fallbackLabel.textContent = "Link for " + link.name;
      fallbackInput.value = link.url;
      fallback.hidden = false;
      fallbackInput.focus(); // the field's description says how to copy it (said once, not twice)
      fallbackInput.select();
      announce("");
    }
  }
  fallbackInput.addEventListener("focus", () => fallbackInput.select());

  // ---- Delete ------------------------------------------------------------------------------------
  let pendingDelete = null;
  let deleteOpener = null;

  function confirmDelete(link, opener) {
    pendingDelete = link;
    deleteOpener = opener;
    $("delete-link-name").textContent = "“" + link.name + "” stops working at once.";
    deleteDialog.returnValue = "";
    deleteDialog.showModal();
  }

  deleteDialog.addEventListener("close", async () => {
    const link = pendingDelete;
    pendingDelete = null;
    if (!link || deleteDialog.returnValue !== "confirm") {
      (deleteOpener && deleteOpener.isConnected ? deleteOpener : createButton).focus();
      return;
    }
    // The row goes at once; the server's answer then redraws the window.
    const row = tbody.querySelector('tr[data-link-id="' + CSS.escape(link.id) + '"]');
    if (row) row.remove();
    if (!tbody.children.length) table.hidden = true;
    fallback.hidden = true;
    createButton.focus(); // the row (and its button) is gone: the next step is usually a new link
    try {
      render(await api("DELETE", linksUrl + "/" + encodeURIComponent(link.id)));
      announce("Link “" + link.name + "” deleted.");
    } catch (err) {
      await load();
      showError(mainError, err.error);
    }
  });

  dialog.addEventListener("dialog-opened", load);
})();
