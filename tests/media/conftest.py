"""A real Janus for the media tests (and tests/browser): the tool's own hardened config, free ports.

Without the `janus` binary the tests skip with the reason; with LTI_TOOL_REQUIRE_JANUS=1 (CI sets
it) a missing binary is an error. `webrtc` is a headless Chromium page that makes real offers and
answers (canvas video + oscillator audio), so Janus sees genuine WebRTC peers.
"""

from __future__ import annotations

import concurrent.futures
import os
import queue
import threading
import time

import pytest

from lti_tool.media.process import INSTALL_HINT, JanusProcess, janus_binary, prepare
from tests.conftest import tool_config
from tests.session.conftest import Room

CHROMIUM = os.environ.get("LTI_TOOL_CHROMIUM", "/usr/bin/chromium")


def _require_janus() -> str:
    binary = janus_binary()
    if binary is None:
        if os.environ.get("LTI_TOOL_REQUIRE_JANUS") == "1":
            pytest.fail(f"media tests are required here but cannot run: {INSTALL_HINT}")
        pytest.skip(INSTALL_HINT)
    return binary


def start_janus_for_test(directory) -> JanusProcess:
    return prepare(directory, rtp_port_range="40000-60000").start(_require_janus())


@pytest.fixture(scope="session")
def janus_server(tmp_path_factory):
    """One Janus for the whole test session (rooms are random, so tests don't meet)."""
    _require_janus()
    server = start_janus_for_test(tmp_path_factory.mktemp("janus"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def coturn_server(tmp_path_factory):
    """One real coturn for the test session, with the tool's hardened config (tests/media/coturn.py)."""
    from tests.media.coturn import start_coturn

    server = start_coturn(tmp_path_factory.mktemp("coturn"))
    yield server
    server.stop()


@pytest.fixture
def own_janus(tmp_path):
    """A Janus of this test only (for tests that kill and restart it)."""
    server = start_janus_for_test(tmp_path / "janus")
    yield server
    server.stop(kill=True)


def media_config(platform, entry: dict | None):
    return tool_config(platform, media={"janus": [entry] if entry else []})


@pytest.fixture
def media_app(make_app, platform, janus_server):
    return make_app(config=media_config(platform, janus_server.entry))


@pytest.fixture
def media_room(media_app, platform):
    from tests.conftest import do_launch

    client = media_app.test_client()
    return Room(media_app, client, lambda role="Instructor", **claims: do_launch(client, platform, role, **claims))


def wait_for(condition, timeout: float = 5.0, interval: float = 0.05, message: str = "condition"):
    """Poll `condition()` until it is truthy (and return it), or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {message}")
        time.sleep(interval)


PEER_JS = """
window.pcs = {};
let next = 0;
async function gathered(pc) {
  if (pc.iceGatheringState === 'complete') return;
  await new Promise(resolve => {
    const done = () => { if (pc.iceGatheringState === 'complete') resolve(); };
    pc.addEventListener('icegatheringstatechange', done);
    setTimeout(resolve, 3000);
  });
}
function tracks() {
  const canvas = document.createElement('canvas');
  canvas.width = 320; canvas.height = 240;
  const ctx = canvas.getContext('2d');
  let n = 0;
  setInterval(() => { ctx.fillStyle = `hsl(${(n += 7) % 360},80%,50%)`; ctx.fillRect(0, 0, 320, 240); }, 40);
  const video = canvas.captureStream(25).getVideoTracks()[0];
  const audio = new AudioContext();
  const osc = audio.createOscillator();
  const dest = audio.createMediaStreamDestination();
  osc.connect(dest); osc.start();
  return [dest.stream.getAudioTracks()[0], video];
}
window.makeOffer = async () => {
  const pc = new RTCPeerConnection();
  for (const track of tracks()) pc.addTransceiver(track, {direction: 'sendonly'});
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc);
  const id = 'pc' + (next++);
  window.pcs[id] = pc;
  return [id, pc.localDescription.sdp];
};
window.applyAnswer = async (id, sdp) => { await window.pcs[id].setRemoteDescription({type: 'answer', sdp}); };
window.acceptOffer = async (sdp) => {
  const pc = new RTCPeerConnection();
  await pc.setRemoteDescription({type: 'offer', sdp});
  await pc.setLocalDescription(await pc.createAnswer());
  await gathered(pc);
  const id = 'pc' + (next++);
  window.pcs[id] = pc;
  return [id, pc.localDescription.sdp];
};
window.pcStats = async (id) => {
  const pc = window.pcs[id];
  const out = {state: pc.connectionState, framesDecoded: 0, audioPackets: 0, framesSent: 0};
  (await pc.getStats()).forEach(r => {
    if (r.type === 'inbound-rtp' && r.kind === 'video') out.framesDecoded += r.framesDecoded || 0;
    if (r.type === 'inbound-rtp' && r.kind === 'audio') out.audioPackets += r.packetsReceived || 0;
    if (r.type === 'outbound-rtp' && r.kind === 'video') out.framesSent += r.framesEncoded || 0;
  });
  return out;
};
window.closePc = (id) => { window.pcs[id].close(); };
// Two peers in this page: `relayed` may only relay (through these ICE servers), the other is direct.
// A data channel between them echoes messages; `echoes()` is how many came back so far.
window.relayPair = async (iceServers) => {
  const relayed = new RTCPeerConnection({iceServers, iceTransportPolicy: 'relay'});
  const other = new RTCPeerConnection();
  const channel = relayed.createDataChannel('echo');
  window.echoCount = 0;
  channel.onmessage = () => { window.echoCount += 1; };
  other.ondatachannel = (e) => { e.channel.onmessage = (m) => e.channel.send(m.data); };
  await relayed.setLocalDescription(await relayed.createOffer());
  await gathered(relayed);
  await other.setRemoteDescription(relayed.localDescription);
  await other.setLocalDescription(await other.createAnswer());
  await gathered(other);
  await relayed.setRemoteDescription(other.localDescription);
  window.pcs.relayed = relayed; window.pcs.other = other; window.echoChannel = channel;
};
window.echoOnce = async () => {
  const before = window.echoCount;
  if (window.echoChannel.readyState !== 'open') return false;
  window.echoChannel.send('ping');
  for (let i = 0; i < 50 && window.echoCount === before; i++) await new Promise(r => setTimeout(r, 20));
  return window.echoCount > before;
};
// The candidate types a relay-only connection with these ICE servers gathers (relay, or none).
window.relayCandidates = async (iceServers) => {
  const pc = new RTCPeerConnection({iceServers, iceTransportPolicy: 'relay'});
  pc.createDataChannel('probe');
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc);
  const types = [...pc.localDescription.sdp.matchAll(/ typ ([a-z]+)/g)].map(m => m[1]);
  pc.close();
  return types;
};
"""


class _ChromiumThread:
    """Headless Chromium driven from a thread of its own: Playwright's sync API refuses to start in a
    thread where another Playwright (tests/browser's, session-wide) already runs its event loop."""

    def __init__(self):
        self._jobs: queue.Queue = queue.Queue()
        self._ready: concurrent.futures.Future = concurrent.futures.Future()
        self._thread = threading.Thread(target=self._run, name="media-chromium", daemon=True)
        self._thread.start()
        self._ready.result(timeout=60)

    def _run(self) -> None:
        from playwright.sync_api import sync_playwright

        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                self._ready.set_result(True)
                while (job := self._jobs.get()) is not None:
                    fn, future = job
                    try:
                        future.set_result(fn(browser))
                    except BaseException as exc:
                        future.set_exception(exc)
                browser.close()
        except BaseException as exc:
            if not self._ready.done():
                self._ready.set_exception(exc)

    def call(self, fn, timeout: float = 30):
        future: concurrent.futures.Future = concurrent.futures.Future()
        self._jobs.put((fn, future))
        return future.result(timeout=timeout)

    def stop(self) -> None:
        self._jobs.put(None)
        self._thread.join(30)


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--autoplay-policy=no-user-gesture-required",
    # Real host candidates, not mDNS names (a page granted camera access gets them anyway).
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]


class WebRTC:
    """Real WebRTC peers in one Chromium page: offers to publish, answers to subscribe, stats."""

    def __init__(self, chromium: _ChromiumThread, context, page):
        self._chromium = chromium
        self.context = context
        self.page = page

    def _eval(self, expression: str, arg=None):
        return self._chromium.call(lambda _browser: self.page.evaluate(expression, arg))

    def offer(self) -> tuple[str, str]:
        return tuple(self._eval("() => makeOffer()"))

    def apply_answer(self, pc: str, sdp: str) -> None:
        self._eval("([id, sdp]) => applyAnswer(id, sdp)", [pc, sdp])

    def accept(self, offer_sdp: str) -> tuple[str, str]:
        return tuple(self._eval("sdp => acceptOffer(sdp)", offer_sdp))

    def stats(self, pc: str) -> dict:
        return self._eval("id => pcStats(id)", pc)

    def relay_pair(self, ice_servers: list[dict]) -> None:
        self._eval("servers => relayPair(servers)", ice_servers)

    def echo(self) -> bool:
        return self._eval("() => echoOnce()")

    def relay_candidates(self, ice_servers: list[dict]) -> list[str]:
        return self._eval("servers => relayCandidates(servers)", ice_servers)

    def close(self, pc: str) -> None:
        self._eval("id => closePc(id)", pc)


@pytest.fixture(scope="session")
def _chromium():
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("Playwright is not installed (pip install -e '.[test]')")
    if not os.path.exists(CHROMIUM):
        if os.environ.get("LTI_TOOL_REQUIRE_BROWSER") == "1":
            pytest.fail(f"Chromium not found at {CHROMIUM}")
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    chromium = _ChromiumThread()
    yield chromium
    chromium.stop()


@pytest.fixture
def webrtc(_chromium):
    def open_page(browser):
        context = browser.new_context()
        page = context.new_page()
        page.goto("about:blank")
        page.add_script_tag(content=PEER_JS)
        return context, page

    context, page = _chromium.call(open_page)
    yield WebRTC(_chromium, context, page)
    _chromium.call(lambda _browser: context.close())
