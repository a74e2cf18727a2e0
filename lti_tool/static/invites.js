// "Invite users": lists, sends, resends, retries and revokes personal invitations through the JSON
// API. Every request carries the launch token header (the CSRF protection). Names and emails are
// only ever put in the page with textContent. A link is shown by the server once (the answer that
// made it) and kept here in memory for "Copy invitation"; it is never stored.
(function () {
  "use strict";
  const dialog = document.getElementById("invite-dialog");
  if (!dialog) return;

  const $ = (id) => document.getElementById(id);
  const kit = window.DialogKit; // dialog_kit.js: request, status line, errors, dates, copy
  const { showError } = kit;
  const url = kit.meta("invitations-url");
  const api = (method, path, body) => kit.api(method, url + path, body);

  const form = $("invite-form");
  const submit = $("invite-submit");
  const count = $("invite-count");
  const reason = $("invite-disabled-reason");
  const formError = $("invite-form-error");
  const mainError = $("invite-error");
  const mailOff = $("invite-mail-off");
  const table = $("invite-table");
  const tbody = $("invite-body");
  const status = $("invite-status");
  const announce = (message) => kit.announce(status, message);
  const copySelected = (text) => kit.copySelected(dialog, text);
  const fallback = $("invite-copy-fallback");
  const fallbackInput = $("invite-copy-input");
  const fallbackLabel = $("invite-copy-label");
  const revokeDialog = $("revoke-invite-dialog");
  const fields = {
    name: { input: $("invite-name"), error: $("invite-name-error") },
    email: { input: $("invite-email"), error: $("invite-email-error") },
    role: { input: $("invite-role"), error: $("invite-role-error") },
    duration_days: { input: $("invite-duration"), error: $("invite-duration-error") },
  };
  const copies = {}; // invitation id → the invitation's text, from the answer that made its link
  const mailErrors = {}; // invitation id → why its email failed (this page's sends)
  let state = null;
  let busy = false;

  const STATUS_TEXT = { invited: "Invited", joined: "Joined", revoked: "Revoked", expired: "Expired" };

  function smallButton(text, label, onClick) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "button small secondary";
    button.textContent = text;
    button.setAttribute("aria-label", label);
    button.addEventListener("click", onClick);
    return button;
  }

  function cell(text) {
    const td = document.createElement("td");
    if (text !== undefined) td.textContent = text;
    return td;
  }

  function statusCell(invitation) {
    const td = cell(STATUS_TEXT[invitation.status] || invitation.status);
    if (invitation.mail_status === "failed" && invitation.status === "invited") {
      const failed = document.createElement("span");
      failed.className = "mail-failed";
      failed.textContent = mailErrors[invitation.id] || "Email not sent.";
      td.append(document.createElement("br"), failed);
    } else if (invitation.mail_status === "off" && invitation.status === "invited") {
      td.append(" (not emailed)");
    }
    return td;
  }

  function row(invitation) {
    const tr = document.createElement("tr");
    tr.dataset.invitationId = invitation.id;
    const actions = cell();
    actions.className = "link-actions";
    const open = invitation.status === "invited" || invitation.status === "joined";
    if (copies[invitation.id] && open) {
      actions.append(smallButton("Copy invitation", "Copy invitation for " + invitation.name,
        (event) => copy(invitation, event.currentTarget)));
    }
    if (invitation.mail_status === "failed" && invitation.status === "invited") {
      actions.append(smallButton("Retry", "Retry the email to " + invitation.name, () => retry(invitation)));
    }
    if (invitation.status !== "revoked") {
      actions.append(smallButton("Resend", "Resend the invitation to " + invitation.name, () => resend(invitation)));
    }
    if (open) {
      actions.append(smallButton("Revoke", "Revoke the invitation of " + invitation.name, () => confirmRevoke(invitation)));
    } else {
      // Privacy: the name and email can go now, not only after the retention period.
      actions.append(smallButton("Delete", "Delete the record of " + invitation.name, () => confirmErase(invitation)));
    }
    tr.append(cell(invitation.name), cell(invitation.email), cell(invitation.role_label), statusCell(invitation),
      kit.expiryCell(invitation.expires_at, "medium"), actions);
    return tr;
  }

  function render(next) {
    state = next;
    mailOff.hidden = state.mail_enabled;
    submit.textContent = state.mail_enabled ? "Send invitation" : "Create invitation";
    count.textContent = state.count_label;
    submit.disabled = !state.can_invite;
    showError(reason, state.invite_disabled_reason);
    tbody.replaceChildren(...state.invitations.map(row));
    table.hidden = state.invitations.length === 0;
  }

  async function load() {
    showError(mainError, "");
    fallback.hidden = true;
    try {
      render(await api("GET", ""));
    } catch (err) {
      count.textContent = "";
      showError(mainError, err.error);
    }
  }

  // ---- Invite ------------------------------------------------------------------------------------
  const clearFieldErrors = () => kit.clearFieldErrors(fields, formError);

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

  // After a send: the copy text (email off) or the email's outcome, said in words.
  function delivered(result, name, verb) {
    const id = result.invitation.id;
    if (result.copy) copies[id] = result.copy.text;
    if (result.mail_error) mailErrors[id] = result.mail_error;
    render(result);
    if (result.copy) announce("Invitation for " + name + " " + verb + ". Email is off: use Copy invitation.");
    else if (result.mail_error) announce("Invitation for " + name + " " + verb + ", but the email was not sent. " + result.mail_error);
    else announce("Invitation sent to " + name + ".");
    const button = tbody.querySelector('tr[data-invitation-id="' + CSS.escape(id) + '"] button');
    if (button && (result.copy || result.mail_error)) button.focus();
    else fields.name.input.focus(); // ready for the next person
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (busy) return;
    clearFieldErrors();
    const body = {
      name: fields.name.input.value,
      email: fields.email.input.value.trim(),
      role: fields.role.input.value,
      duration_days: fields.duration_days.input.value.trim(),
    };
    if (!body.name.trim()) return fieldError({ field: "name", error: "Enter the name of the person you invite." });
    if (!body.email) return fieldError({ field: "email", error: "Enter the email address of the person you invite." });
    busy = true;
    submit.setAttribute("aria-busy", "true");
    try {
      const result = await api("POST", "", body);
      form.reset();
      delivered(result, body.name.trim(), "created");
    } catch (err) {
      fieldError(err); // the form keeps the values as typed
    } finally {
      busy = false;
      submit.removeAttribute("aria-busy");
    }
  });

  async function resend(invitation) {
    showError(mainError, "");
    try {
      delivered(await api("POST", "/" + encodeURIComponent(invitation.id) + "/resend"), invitation.name, "made again (the old link no longer works)");
    } catch (err) {
      showError(mainError, err.error);
    }
  }

  async function retry(invitation) {
    showError(mainError, "");
    try {
      delivered(await api("POST", "/" + encodeURIComponent(invitation.id) + "/retry"), invitation.name, "tried again");
    } catch (err) {
      showError(mainError, err.error);
    }
  }

  function confirmErase(invitation) {
    ask(invitation, "erase", "Delete invitation record?", "Delete",
      "The invitation record of " + invitation.name + " (name and email) is deleted now. This can't be undone.");
  }

  async function erase(invitation) {
    showError(mainError, "");
    try {
      render(await api("DELETE", "/" + encodeURIComponent(invitation.id)));
      fields.name.input.focus();
      announce("Invitation record of " + invitation.name + " deleted.");
    } catch (err) {
      showError(mainError, err.error);
    }
  }

  // ---- Copy (the Clipboard API, else copying a selection: DialogKit.copySelected) ----------------
  async function copy(invitation, button) {
    const text = copies[invitation.id];
    fallback.hidden = true;
    try {
      if (!navigator.clipboard || !navigator.clipboard.writeText) throw new Error("no clipboard");
      await navigator.clipboard.writeText(text);
      announce("Invitation copied");
    } catch (err) {
      if (copySelected(text)) {
        button.focus();
        announce("Invitation copied");
        return;
      }
      fallbackLabel.textContent = "Invitation for " + invitation.name;
      fallbackInput.value = text;
      fallback.hidden = false;
      fallbackInput.focus();
      fallbackInput.select();
      announce("Copying is blocked here. The text is selected: press Ctrl+C to copy it.");
    }
  }
  fallbackInput.addEventListener("focus", () => fallbackInput.select());

  // ---- Revoke and Delete ask first, in the tool's own dialog -------------------------------------
  let pending = null;

  function ask(invitation, action, title, label, text) {
    pending = { invitation: invitation, action: action };
    $("revoke-invite-title").textContent = title;
    $("revoke-invite-confirm").textContent = label;
    $("revoke-invite-text").textContent = text;
    revokeDialog.returnValue = "";
    revokeDialog.showModal();
  }

  function confirmRevoke(invitation) {
    ask(invitation, "revoke", "Revoke invitation?", "Revoke",
      "The invitation of " + invitation.name + " will be revoked. The link stops working at once, and if the "
      + "person is in the session, they leave it now.");
  }

  revokeDialog.addEventListener("close", async () => {
    const asked = pending;
    pending = null;
    fields.name.input.focus();
    if (!asked || revokeDialog.returnValue !== "confirm") return;
    if (asked.action === "erase") {
      await erase(asked.invitation);
      return;
    }
    const invitation = asked.invitation;
    try {
      render(await api("POST", "/" + encodeURIComponent(invitation.id) + "/revoke"));
      announce("Invitation of " + invitation.name + " revoked.");
    } catch (err) {
      await load();
      showError(mainError, err.error);
    }
  });

  dialog.addEventListener("dialog-opened", () => {
    clearFieldErrors();
    load();
    fields.name.input.focus();
  });
})();
