// What the room's management dialogs (Manage guest access, Invite users) share: the launch-token
// JSON request (the token header is the CSRF protection), the status line that screen readers
// announce, field errors, dates in the user's locale and expiry cells, and copying a selection where the Clipboard
// API is refused. Loaded (deferred) before guest_links.js and invites.js.
window.DialogKit = (function () {
  "use strict";
  const meta = (name) => (document.querySelector('meta[name="' + name + '"]') || {}).content || "";
  const token = meta("launch-token");
  const tokenHeader = meta("launch-token-header") || "X-Launch-Token";
  const locale = meta("user-locale") || undefined;

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
      throw { error: data.error || "Something went wrong. Please try again.", field: data.field,
              errors: data.errors, status: response.status };
    }
    return data;
  }

  function announce(status, message) {
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

  // A table cell with an expiry date (`dateStyle` on screen, the full date and time as its tooltip),
  // or "Never".
  function expiryCell(iso, dateStyle) {
    const cell = document.createElement("td");
    if (!iso) {
      cell.textContent = "Never";
      return cell;
    }
    const time = document.createElement("time");
    time.dateTime = iso;
    time.textContent = formatDate(iso, { dateStyle: dateStyle });
    time.title = formatDate(iso, { dateStyle: "full", timeStyle: "long" });
    cell.appendChild(time);
    return cell;
  }

  // `fields`: name → {input, error}; clears each field's error and the form's own.
  function clearFieldErrors(fields, formError) {
    Object.values(fields).forEach((f) => {
      showError(f.error, "");
      f.input.removeAttribute("aria-invalid");
    });
    showError(formError, "");
  }

  // Sakai's frame does not delegate `clipboard-write`, so the Clipboard API refuses there; copying a
  // selection (execCommand) still works on the click. The field goes inside the modal `dialog`:
  // outside it the page is inert.
  function copySelected(dialog, text) {
    const area = document.createElement("textarea");
    area.value = text;
    area.readOnly = true;
    area.className = "offscreen";
    dialog.append(area);
    area.select();
    let copied = false;
    try { copied = document.execCommand("copy"); } catch (err) { copied = false; }
    area.remove();
    return copied;
  }

  return { meta: meta, api: api, announce: announce, showError: showError, formatDate: formatDate,
           expiryCell: expiryCell, clearFieldErrors: clearFieldErrors, copySelected: copySelected };
})();
