// Waiting page: poll the guest's status; when it changes, load the page again so the server shows
// the session (admitted) or the page that explains why not (declined, link or room gone).
(function () {
  "use strict";
  const status = document.getElementById("waiting-status");
  if (!status) return;
  const url = status.dataset.statusUrl;
  const interval = Number(status.dataset.pollMs) || 2000;
  const lost = document.getElementById("waiting-connection");
  let failures = 0;

  function schedule() {
    const slower = document.hidden ? 2 : 1;
    const backoff = Math.min(failures, 5);
    window.setTimeout(poll, interval * slower * (1 + backoff));
  }

  async function poll() {
    try {
      const response = await fetch(url, {
        credentials: "same-origin",
        cache: "no-store",
        headers: { Accept: "application/json" },
      });
      if (response.status === 429 || response.status >= 500) throw new Error("retry");
      const body = await response.json().catch(() => ({}));
      failures = 0;
      if (lost) lost.hidden = true;
      if (response.ok && body.status === "waiting") return schedule();
      window.location.reload();
    } catch (error) {
      failures += 1;
      if (lost) lost.hidden = false;
      schedule();
    }
  }

  schedule();
})();
