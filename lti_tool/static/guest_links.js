// "Manage guest access": loads, creates, copies and deletes guest links through the JSON API.
// Every request carries the launch token header (the CSRF protection). Data is only ever put in
// the page with textContent / attributes, never as HTML.
(function () {
  "use strict";
  const dialog = document.getElementById("guest-access-dialog");
  if (!dialog) return;

  const $ = (id) => document.getElementById(id);
  const meta = (name) => (document.querySelector('meta[name="' + name + '"]') || {}).content || "";
  const token = meta("launch-token");
  const tokenHeader = meta("launch-token-header") || "X-Launch-Token";
  const locale = meta("user-locale") || undefined;
  const linksUrl = meta("guest-links-url");
  const accessUrl = meta("guest-access-url");

  const toggle = $("guest-access-toggle");
  const count = $("guest-links-count");
  const createButton = $("create-link-button");
  const createReason = $("create-link-reason");
  const mainError = $("guest-access-error");
  const table = $("guest-links-table");
  const tbody = $("guest-links-body");
  const status = $("guest-links-status");
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

  // ---- API --------------------------------------------------------------------------------------
  async function api(method, url, body) {
    const headers = { Accept: "application/json" };
    headers[tokenHeader] = token;
    const options = { method: method, headers: headers, cache: "no-store", credentials: "same-origin" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(url, options);
    } catch (err) {
      throw { error: "The tool can't be reached. Check your connection and try again." };
    }
    let data = {};
    try { data = await response.json(); } catch (err) { data = {}; }
    if (!response.ok) {
      throw { error: data.error || "Something went wrong. Please try again.", field: data.field, status: response.status };
    }
    return data;
  }

  // ---- Rendering ---------------------------------------------------------------------------------
  function announce(message) {
    status.textContent = "";
    // A fresh text node after a tick makes screen readers announce a repeated message again.
    window.setTimeout(() => { status.textContent = message; }, 50);
  }

  function showError(element, message) {
    element.textContent = message || "";
    element.hidden = !message;
  }

  function formatDate(iso, options) {
    const date = new Date(iso);
    try {
      return new Intl.DateTimeFormat(locale, options).format(date);
    } catch (err) {
      return new Intl.DateTimeFormat(undefined, options).format(date);
    }
  }

  const STATUS_TEXT = { inactive: "inactive", expired: "expired", used_up: "used up" };

  function icon(id) {
    return document.getElementById(id).content.firstElementChild.cloneNode(true);
  }

  function iconButton(iconId, label, onClick) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "icon-button";
    button.setAttribute("aria-label", label);
    button.title = label;
    button.appendChild(icon(iconId));
    button.addEventListener("click", onClick);
    return button;
  }

  function expirationCell(link) {
    const cell = document.createElement("td");
    if (!link.expires_at) {
      cell.textContent = "Never";
      return cell;
    }
    const time = document.createElement("time");
    time.dateTime = link.expires_at;
    time.textContent = formatDate(link.expires_at, { dateStyle: "long" });
    time.title = formatDate(link.expires_at, { dateStyle: "full", timeStyle: "long" });
    cell.appendChild(time);
    return cell;
  }

  function linkRow(link) {
    const row = document.createElement("tr");
    row.dataset.linkId = link.id;
    const name = document.createElement("td");
    name.textContent = link.name;
    if (link.status !== "active") {
      const badge = document.createElement("span");
      badge.className = "link-status";
      badge.textContent = STATUS_TEXT[link.status] || link.status;
      name.append(" ", badge);
    }
    const clicks = document.createElement("td");
    clicks.textContent = link.clicks_label;
    const speak = document.createElement("td");
    speak.textContent = link.guests_can_speak ? "Yes" : "No";
    const actions = document.createElement("td");
    actions.className = "link-actions";
    actions.append(
      iconButton("icon-copy", "Copy link " + link.name, (event) => copyLink(link, event.currentTarget)),
      iconButton("icon-trash", "Delete link " + link.name, () => confirmDelete(link)),
    );
    row.append(name, expirationCell(link), clicks, speak, actions);
    return row;
  }

  function render(next) {
    state = next;
    toggle.checked = state.guest_access_enabled;
    toggle.disabled = false;
    count.textContent = state.count_label;
    createButton.disabled = !state.can_create;
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
      announce(enabled
        ? "Guest access is on. Links that are still valid work again."
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
  function clearFieldErrors() {
    Object.values(fields).forEach((f) => {
      showError(f.error, "");
      f.input.removeAttribute("aria-invalid");
    });
    showError(formError, "");
  }

  createButton.addEventListener("click", () => {
    form.reset();
    clearFieldErrors();
    createDialog.showModal();
    fields.name.input.focus();
  });
  createDialog.addEventListener("close", () => createButton.disabled ? toggle.focus() : createButton.focus());

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
    if (!body.name.trim()) {
      fieldError({ field: "name", error: "Enter a link name." });
      return;
    }
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

  function fieldError(err) {
    const field = fields[err.field];
    if (!field) {
      showError(formError, err.error);
      return;
    }
    showError(field.error, err.error);
    field.input.setAttribute("aria-invalid", "true");
    field.input.focus();
  }

  // ---- Copy --------------------------------------------------------------------------------------
  // Sakai's frame does not delegate `clipboard-write`, so the Clipboard API refuses there; copying a
  // selection (execCommand) still works on the click.
  function copySelected(text) {
    const area = document.createElement("textarea");
    area.value = text;
    area.readOnly = true;
    area.className = "offscreen";
    dialog.append(area); // inside the modal dialog: outside it the page is inert
    area.select();
    let copied = false;
    try { copied = document.execCommand("copy"); } catch (err) { copied = false; }
    area.remove();
    return copied;
  }

  async function copyLink(link, button) {
    fallback.hidden = true;
    try {
      if (!navigator.clipboard || !navigator.clipboard.writeText) throw new Error("no clipboard");
      await navigator.clipboard.writeText(link.url);
      announce("Link copied");
    } catch (err) {
      if (copySelected(link.url)) {
        button.focus();
        announce("Link copied");
        return;
      }
      // Inside some iframes the clipboard API is missing or refused: offer the URL selected.
      fallbackLabel.textContent = "Link for " + link.name;
      fallbackInput.value = link.url;
      fallback.hidden = false;
      fallbackInput.focus();
      fallbackInput.select();
      announce("Copying is blocked here. The link is selected: press Ctrl+C to copy it.");
    }
  }
  fallbackInput.addEventListener("focus", () => fallbackInput.select());

  // ---- Delete ------------------------------------------------------------------------------------
  let pendingDelete = null;

  function confirmDelete(link) {
    pendingDelete = link;
    $("delete-link-name").textContent = "“" + link.name + "” stops working at once.";
    deleteDialog.returnValue = "";
    deleteDialog.showModal();
  }

  deleteDialog.addEventListener("close", async () => {
    const link = pendingDelete;
    pendingDelete = null;
    if (!link || deleteDialog.returnValue !== "confirm") {
      (createButton.disabled ? toggle : createButton).focus();
      return;
    }
    // The row goes at once; the server's answer then redraws the window.
    const row = tbody.querySelector('tr[data-link-id="' + CSS.escape(link.id) + '"]');
    if (row) row.remove();
    if (!tbody.children.length) table.hidden = true;
    fallback.hidden = true;
    toggle.focus();
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
