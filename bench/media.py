"""Audio/video benchmark (issue 16), not a test: one publisher and N subscribers on a real Janus.

    python bench/media.py                      # N = 1, 5, 10; direct, then relay-only
    python bench/media.py --subscribers 1 5 --window 10 --paths relay

The publisher is the instructor in the demo LMS's iframe with Chromium's fake 720p camera and
microphone; each subscriber is a guest in a headless Chromium context of its own, joining through
the guest link (admission off, so "Join" leads straight into the room). The tool runs as in the
browser tests (gunicorn, 2 workers, SQLite) with a Janus started from the tool's own config.

Two paths in one run (issue 17): "direct" (no TURN configured; subscribers reach Janus's host
candidates) and "relay" (a real coturn with the config `lti-tool media turn-config` prints, the
tool hands out its credentials, and every subscriber's RTCPeerConnection is forced to
`iceTransportPolicy: "relay"`, as on a network that lets nothing but the TURN server through). The
relay rows also count the subscribers whose selected candidate pair really is a relay one.

Measured per round of N subscribers:
- time from the guest's Join (the form's submit, in the page's clock) to the first decoded video frame
  of the publisher's feed (`getStats()` inbound-rtp framesDecoded > 0, checked every 20 ms in the page);
- frames decoded by each subscriber ÷ frames the publisher sent, over the same `--window` seconds;
- CPU seconds of Janus and of the tool (gunicorn master + workers) over the window, per subscriber.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import Error as PlaywrightError  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402

from lti_tool.media.process import janus_binary, prepare  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, run_tool_server  # noqa: E402
from tests.browser.helpers import (  # noqa: E402
    allow_clipboard,
    create_link,
    open_guest_access,
    read_clipboard,
    start_session,
)

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

SUBSCRIBER_JS = """
((relayOnly) => {
  addEventListener("submit", () => sessionStorage.setItem("joinAt", String(Date.now())), true);
  const Native = window.RTCPeerConnection;
  if (!Native) return;
  window.__pcs = [];
  window.RTCPeerConnection = class extends Native {
    constructor(config = {}, ...rest) {
      super(relayOnly ? { ...config, iceTransportPolicy: "relay" } : config, ...rest);
      window.__pcs.push(this);
    }
  };
  const watch = setInterval(async () => {
    for (const pc of window.__pcs) {
      const stats = await pc.getStats();
      for (const r of stats.values()) {
        if (r.type === "inbound-rtp" && r.kind === "video" && r.framesDecoded > 0) {
          window.__firstFrameAt = Date.now();
          clearInterval(watch);
          return;
        }
      }
    }
  }, 20);
})(%s);
"""

SELECTED = """async () => {
  const types = [];
  for (const pc of window.__pcs || []) {
    if (pc.connectionState !== "connected") continue;
    const stats = await pc.getStats();
    stats.forEach((r) => {
      if (r.type === "transport" && r.selectedCandidatePairId) {
        types.push(stats.get(stats.get(r.selectedCandidatePairId).localCandidateId).candidateType);
      }
    });
  }
  return types;
}"""

PUBLISHER_JS = """
(() => {
  const Native = window.RTCPeerConnection;
  if (!Native) return;
  window.__pcs = [];
  window.RTCPeerConnection = class extends Native {
    constructor(...args) { super(...args); window.__pcs.push(this); }
  };
})();
"""

COUNT = """async (kind) => {
  let frames = 0, width = 0, height = 0;
  for (const pc of window.__pcs || []) {
    if (pc.connectionState === "closed") continue;
    (await pc.getStats()).forEach((r) => {
      if (r.type === kind && r.kind === "video") {
        frames += (kind === "outbound-rtp" ? r.framesSent : r.framesDecoded) || 0;
        width = r.frameWidth || width; height = r.frameHeight || height;
      }
    });
  }
  return {frames, width, height};
}"""


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / CLOCK_TICKS


def tool_pids(port: int) -> list[int]:
    """The gunicorn master and workers serving `port` (found by their environment)."""
    marker = f"LTI_TOOL_BASE_URL=http://localhost:{port}".encode()
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if b"gunicorn" in (proc / "cmdline").read_bytes() and marker in (proc / "environ").read_bytes():
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def first_frame_seen(page) -> bool:
    try:
        return bool(page.evaluate("window.__firstFrameAt || 0"))
    except PlaywrightError:  # the page is navigating (entry → room)
        return False


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def publisher(browser, server):
    page = browser.new_context(viewport=VIEWPORT, locale="en-US", timezone_id="UTC").new_page()
    page.context.add_init_script(PUBLISHER_JS)
    allow_clipboard(page, server)
    page.goto(server.course_url("instructor"))
    tool = page.frame_locator("#tool-frame")
    tool.locator("#more-actions").wait_for()
    start_session(tool)
    tool.get_by_role("button", name="More actions").click()
    tool.get_by_role("menuitem", name="Room settings").click()
    settings = tool.get_by_role("dialog", name="Room settings")
    settings.get_by_role("checkbox", name="Guests must be admitted by a moderator").click()
    settings.get_by_role("button", name="Save").click()  # every room setting waits for Save
    expect(settings.get_by_text("Guests now enter without waiting.")).to_be_visible()
    settings.get_by_role("button", name="Close").click()
    window = open_guest_access(tool)
    window.get_by_role("switch", name="Enable guest access").click()
    create_link(tool, window, "Benchmark")
    window.get_by_role("button", name="Copy link Benchmark").click()
    expect(window.get_by_role("status")).to_have_text("Link copied")
    url = read_clipboard(page)
    window.get_by_role("button", name="Close").click()
    tool.get_by_role("button", name="Turn on camera").click()
    tool.get_by_role("button", name="Unmute").click()
    frame = page.frame(name="tool-frame")
    wait_for(lambda: frame.evaluate(COUNT, "outbound-rtp")["frames"] > 20, 20, "the publisher sending")
    return page, frame, url


def one_round(browser, server, janus_pid: int, pub_frame, url: str, n: int, window: float, relay: bool) -> dict:
    contexts, pages = [], []
    for _ in range(n):
        context = browser.new_context(viewport={"width": 640, "height": 480})
        context.add_init_script(SUBSCRIBER_JS % ("true" if relay else "false"))
        contexts.append(context)
        pages.append(context.new_page())
    for page in pages:
        page.goto(url)
    for i, page in enumerate(pages):
        page.get_by_label("Name").fill(f"Subscriber {i + 1}")
        page.get_by_label("Email").fill(f"sub{i + 1}@example.org")
    for page in pages:
        page.get_by_role("button", name="Join").click(no_wait_after=True)
    latencies = []
    for page in pages:
        wait_for(lambda p=page: first_frame_seen(p), 30, "a first decoded frame")
        first, joined = page.evaluate("[window.__firstFrameAt, Number(sessionStorage.getItem('joinAt'))]")
        latencies.append((first - joined) / 1000)
    time.sleep(2)  # settle: every subscriber's decoder running
    pids = tool_pids(server.port)
    sent0 = pub_frame.evaluate(COUNT, "outbound-rtp")
    got0 = [p.evaluate(COUNT, "inbound-rtp")["frames"] for p in pages]
    janus0, tool0, t0 = cpu_seconds([janus_pid]), cpu_seconds(pids), time.monotonic()
    time.sleep(window)
    sent1 = pub_frame.evaluate(COUNT, "outbound-rtp")
    got1 = [p.evaluate(COUNT, "inbound-rtp") for p in pages]
    janus1, tool1, t1 = cpu_seconds([janus_pid]), cpu_seconds(pids), time.monotonic()
    sent = sent1["frames"] - sent0["frames"]
    ratios = [(g1["frames"] - g0) / sent for g0, g1 in zip(got0, got1, strict=True)]
    relayed = sum(1 for p in pages if set(p.evaluate(SELECTED)) == {"relay"})
    for context in contexts:
        context.close()
    elapsed = t1 - t0
    return {
        "n": n,
        "relayed": relayed,
        "first_frame_p50": statistics.median(latencies),
        "first_frame_p95": percentile(latencies, 95),
        "first_frame_max": max(latencies),
        "delivered_min": min(ratios),
        "delivered_median": statistics.median(ratios),
        "sent_fps": sent / elapsed,
        "sent_size": f"{sent1['width']}x{sent1['height']}",
        "janus_cpu": (janus1 - janus0) / elapsed,
        "tool_cpu": (tool1 - tool0) / elapsed,
    }


def run_path(browser_type, janus, tmp: Path, path: str, subscribers: list[int], window: float) -> None:
    turn = None
    if path == "relay":
        from tests.media.coturn import start_coturn

        turn = start_coturn(tmp / "coturn")
    (tmp / f"tool-{path}").mkdir()
    try:
        with run_tool_server(tmp / f"tool-{path}", janus.entry, turn.entry if turn else None) as server:
            browser = browser_type.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            _, pub_frame, url = publisher(browser, server)
            for n in subscribers:
                r = one_round(browser, server, janus.process.pid, pub_frame, url, n, window, path == "relay")
                print(
                    f"| {path} | {r['n']} | {r['relayed'] if path == 'relay' else '–'} | "
                    f"{r['first_frame_p50']:.2f} s | {r['first_frame_p95']:.2f} s | "
                    f"{r['first_frame_max']:.2f} s | {r['delivered_min']:.1%} / {r['delivered_median']:.1%} | "
                    f"{r['sent_size']} at {r['sent_fps']:.1f} fps | {r['janus_cpu']:.1%} | "
                    f"{r['janus_cpu'] / r['n']:.2%} | {r['tool_cpu']:.1%} | {r['tool_cpu'] / r['n']:.2%} |",
                    flush=True,
                )
            browser.close()
    finally:
        if turn:
            turn.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, nargs="+", default=[1, 5, 10])
    parser.add_argument("--window", type=float, default=10.0, help="seconds over which frames and CPU are counted")
    parser.add_argument("--paths", nargs="+", choices=["direct", "relay"], default=["direct", "relay"])
    args = parser.parse_args()
    binary = janus_binary()
    if binary is None:
        raise SystemExit("Janus is not installed (apt-get install janus)")
    if "relay" in args.paths and shutil.which("turnserver") is None:
        raise SystemExit("coturn is not installed (apt-get install coturn); or run with --paths direct")
    with tempfile.TemporaryDirectory() as tmp:
        janus = prepare(Path(tmp) / "janus", rtp_port_range="40000-60000").start(binary)
        try:
            with sync_playwright() as pw:
                print(
                    "| path | subscribers | relayed | first frame p50 | p95 | max | frames delivered (min / median) "
                    "| sent | Janus CPU | per subscriber | tool CPU | per subscriber |"
                )
                print("|---|---|---|---|---|---|---|---|---|---|---|---|")
                for path in args.paths:
                    run_path(pw.chromium, janus, Path(tmp), path, args.subscribers, args.window)
        finally:
            janus.stop()


if __name__ == "__main__":
    main()
