// Media page: the three-dots menu (WAI-ARIA menu button pattern) and dialogs.
(function () {
  "use strict";
  const button = document.getElementById("more-actions");
  const menu = document.getElementById("room-menu");
  if (!button || !menu) return;
  const items = () => Array.from(menu.querySelectorAll('[role="menuitem"]'));

  function openMenu(focusLast) {
    menu.hidden = false;
    button.setAttribute("aria-expanded", "true");
    const list = items();
    (focusLast ? list[list.length - 1] : list[0]).focus();
  }
  function closeMenu(returnFocus) {
    menu.hidden = true;
    button.setAttribute("aria-expanded", "false");
    if (returnFocus) button.focus();
  }

  button.addEventListener("click", () => (menu.hidden ? openMenu(false) : closeMenu(true)));
  button.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown") { event.preventDefault(); openMenu(false); }
    if (event.key === "ArrowUp") { event.preventDefault(); openMenu(true); }
  });
  menu.addEventListener("keydown", (event) => {
    const list = items();
    const index = list.indexOf(document.activeElement);
    if (event.key === "ArrowDown") { event.preventDefault(); list[(index + 1) % list.length].focus(); }
    else if (event.key === "ArrowUp") { event.preventDefault(); list[(index - 1 + list.length) % list.length].focus(); }
    else if (event.key === "Home") { event.preventDefault(); list[0].focus(); }
    else if (event.key === "End") { event.preventDefault(); list[list.length - 1].focus(); }
    else if (event.key === "Escape" || event.key === "Tab") { closeMenu(event.key === "Escape"); }
  });
  document.addEventListener("click", (event) => {
    if (!menu.hidden && !menu.contains(event.target) && event.target !== button && !button.contains(event.target)) {
      closeMenu(false);
    }
  });

  // Dialogs open from menu items (and the "Invite guests" shortcut); closing returns focus to
  // whatever opened them. Other dialogs (confirmations, child steps) return focus themselves.
  let opener = null;
  document.addEventListener("click", (event) => {
    const item = event.target.closest("[data-open-dialog]");
    if (!item) return;
    const dialog = document.getElementById(item.dataset.openDialog);
    opener = menu.contains(item) ? button : item;
    closeMenu(false);
    dialog.showModal();
    dialog.dispatchEvent(new CustomEvent("dialog-opened"));
  });
  document.querySelectorAll("[data-open-dialog]").forEach((item) => {
    const dialog = document.getElementById(item.dataset.openDialog);
    if (!dialog || dialog.dataset.returnsFocus) return;
    dialog.dataset.returnsFocus = "1";
    dialog.addEventListener("close", () => { (opener || button).focus(); opener = null; });
  });
  document.querySelectorAll("dialog").forEach((dialog) => {
    dialog.querySelectorAll("[data-close-dialog]").forEach((close) =>
      close.addEventListener("click", () => dialog.close()));
  });
})();

// Inside Sakai's frame: ask the portal to size the frame to the page (lti.frameResize), whenever the
// page's height changes, so the tool grows instead of scrolling inside a fixed frame.
(function () {
  "use strict";
  if (window.parent === window || !window.ResizeObserver) return;
  let sent = 0;
  function height() {
    return Math.ceil(document.body.getBoundingClientRect().height);
  }
  function send() {
    const h = height();
    if (h === sent || h === 0) return;
    sent = h;
    window.parent.postMessage({ subject: "lti.frameResize", height: h }, "*");
  }
  new ResizeObserver(send).observe(document.body);
  send();
})();
