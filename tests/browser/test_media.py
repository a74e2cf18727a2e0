"""Live audio and video in the room (issue 16), on a real Janus, as the people do it: the instructor
inside the demo LMS's iframe (framed as Sakai frames it: `allow="camera; microphone"`), each guest
in a browser context of their own. Chromium's fake devices give a moving test pattern and a beep.

What a person perceives is measured in their own page: decoded video frames of a tile's <video>
(`getVideoPlaybackQuality`) and, for sound, the audio packets their peer connections receive
(`getStats()`, read through a list of the page's RTCPeerConnections kept by an init script).
Every wait polls a condition with a deadline."""

from __future__ import annotations

import re
import time

import pytest

from .conftest import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, run_tool_server, start_janus
from .helpers import (
    assert_accessible,
    confirm_in_tool,
    create_link,
    join_as_guest,
    open_guest_access,
    read_clipboard,
    save_screenshot,
    start_session,
)
from .test_flows import US_ENGLISH, admit, close_guest_access, instructor, watch_problems

expect = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed").expect

# Test instrumentation, not product code: remember every peer connection a page makes.
KEEP_PEER_CONNECTIONS = """
(() => {
  const Native = window.RTCPeerConnection;
  if (!Native) return;
  window.__pcs = [];
  window.RTCPeerConnection = class extends Native {
    constructor(...args) { super(...args); window.__pcs.push(this); }
  };
})();
"""

RECEIVED = """async () => {
  const out = {frames: 0, audioPackets: 0};
  for (const pc of window.__pcs || []) {
    if (pc.connectionState === "closed") continue;
    (await pc.getStats()).forEach((r) => {
      if (r.type === "inbound-rtp" && r.kind === "video") out.frames += r.framesDecoded || 0;
      if (r.type === "inbound-rtp" && r.kind === "audio") out.audioPackets += r.packetsReceived || 0;
    });
  }
  return out;
}"""

# Chromium lets a MediaStream play with sound without a click; Safari and Firefox refuse (as Chrome
# does for other media). This makes play() refuse sound before a click in the page, as they do.
REFUSE_SOUND_WITHOUT_A_CLICK = """
(() => {
  let clicked = false;
  for (const type of ["pointerdown", "keydown"]) addEventListener(type, () => { clicked = true; }, true);
  const play = HTMLMediaElement.prototype.play;
  HTMLMediaElement.prototype.play = function () {
    if (!this.muted && !clicked) {
      this.pause();
      return Promise.reject(new DOMException("play() needs a click first", "NotAllowedError"));
    }
    return play.call(this);
  };
})();
"""

TILE_FRAMES = "video => video.getVideoPlaybackQuality().totalVideoFrames"
RECONNECTING = "Audio and video are reconnecting…"


def wait_for(condition, timeout: float, message: str):
    """Poll `condition()` until truthy (returned), or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {message}")
        time.sleep(0.1)


def received(frame) -> dict:
    """What this page (or the tool's frame) receives now, over all its open peer connections."""
    return frame.evaluate(RECEIVED)


def receives_video_and_audio(frame, timeout: float, frames: int = 30) -> dict:
    """More than `frames` new video frames decoded and audio packets arriving, within `timeout`.
    Counted from the lowest total seen: peer connections that close (and are redone) drop out."""
    deadline = time.monotonic() + timeout
    low = last_audio = None
    while True:
        now = received(frame)
        low = now["frames"] if low is None else min(low, now["frames"])
        audio_arrives = last_audio is not None and now["audioPackets"] > last_audio
        if now["frames"] - low > frames and audio_arrives:
            return now
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {frames} new video frames and audio arriving: {now}")
        last_audio = now["audioPackets"]
        time.sleep(0.1)


def tile(scope, name: str):
    """The video tile of `name` (an <li> whose accessible name says whose video it is)."""
    return scope.get_by_role("listitem", name=re.compile(re.escape(name)))


def tile_plays(video, timeout: float, more_than: int = 10) -> None:
    """A tile's <video> presents new frames: more than `more_than` within `timeout`."""
    start = video.evaluate(TILE_FRAMES)
    wait_for(lambda: video.evaluate(TILE_FRAMES) > start + more_than, timeout, "new frames in the tile")


def stops_receiving(frame, timeout: float) -> None:
    """No new video frame for half a second, within `timeout` (counting from now)."""
    deadline = time.monotonic() + timeout
    before = received(frame)["frames"]
    while True:
        time.sleep(0.5)
        now = received(frame)["frames"]
        if now == before:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"still receiving video after {timeout} s")
        before = now


def tool_frame(page):
    frame = page.frame(name="tool-frame")
    assert frame is not None
    return frame


def host_on_camera(new_page, server):
    """The instructor launches from the demo LMS, starts the session, turns on camera and microphone."""
    host, tool, problems = instructor(new_page, server)
    host.context.add_init_script(KEEP_PEER_CONNECTIONS)
    host.reload()  # the init script is in place for the tool's frame too
    tool.locator("#more-actions").wait_for()
    start_session(tool)
    tool.get_by_role("button", name="Turn on camera").click()
    expect(tool.get_by_role("button", name="Turn off camera")).to_be_visible()
    tool.get_by_role("button", name="Unmute").click()
    expect(tool.get_by_role("button", name="Mute", exact=True)).to_be_visible()
    own = tile(tool.get_by_role("list", name="Video"), "Ada Instructor")
    tile_plays(own.locator("video"), 10)
    # The device pickers list the camera and microphone in use (labels are known once allowed).
    for picker in (tool.get_by_label("Camera", exact=True), tool.get_by_label("Microphone", exact=True)):
        expect(picker.locator("option").first).not_to_have_text(re.compile("^(Default .*)?$"))
    return host, tool, problems


def guest_link(host, tool, *, guests_can_speak: bool = False) -> str:
    """Manage guest access → on → a link → Copy; returns the copied URL."""
    window = open_guest_access(tool)
    window.get_by_role("switch", name="Enable guest access").click()
    row = create_link(tool, window, "Guest speakers", guests_can_speak=guests_can_speak)
    expect(row.get_by_role("cell").nth(3)).to_have_text("Yes" if guests_can_speak else "No")
    window.get_by_role("button", name="Copy link Guest speakers").click()
    expect(window.get_by_role("status")).to_have_text("Link copied")
    url = read_clipboard(host)
    close_guest_access(tool)
    return url


def admitted_guest(new_page, tool, url: str, name: str):
    guest = new_page(**US_ENGLISH)
    guest.context.add_init_script(KEEP_PEER_CONNECTIONS)
    problems = watch_problems(guest)
    join_as_guest(guest, url, name)
    admit(tool, guest, name)
    return guest, problems


def sound_on(page_or_frame) -> None:
    """Where the browser blocked autoplay with sound, the page offers a button: press it."""
    button = page_or_frame.get_by_role("button", name="Turn on sound")
    if button.is_visible():
        button.click()
        expect(button).to_be_hidden()


def test_guest_sees_and_hears_the_host_speaks_when_allowed_and_stops_when_removed(new_page, media_tool_server):
    server = media_tool_server
    host, tool, host_problems = host_on_camera(new_page, server)
    url = guest_link(host, tool)
    assert_accessible(host)

    # (1) The guest is admitted and receives the host's video and audio within 10 s.
    guest, guest_problems = admitted_guest(new_page, tool, url, "Gus Guest")
    admitted_at = time.monotonic()
    receives_video_and_audio(guest, 10)
    assert time.monotonic() - admitted_at < 10
    host_tile = tile(guest.get_by_role("list", name="Video"), "Ada Instructor")
    expect(host_tile).to_be_visible()
    tile_plays(host_tile.locator("video"), 5)
    sound_on(guest)
    # A viewer-guest cannot publish: no camera or microphone controls, only what everyone has.
    expect(guest.get_by_role("button", name="Turn on camera")).to_be_hidden()
    expect(guest.get_by_role("button", name="Leave")).to_be_visible()
    save_screenshot(guest, "guest-sees-host")
    assert_accessible(guest)

    # (2) Raised hand → Allow to speak → the host receives the guest's video.
    guest.get_by_role("button", name="Raise hand").click()
    hands = tool.get_by_role("region", name=re.compile("^Raised hands"))
    hand = hands.get_by_role("listitem").filter(has_text="Gus Guest")
    expect(hand.locator(".badge")).to_have_text("Guest")
    hand.get_by_role("button", name="Allow to speak").click()
    guest.get_by_role("button", name="Turn on camera").click()
    expect(guest.get_by_role("button", name="Turn off camera")).to_be_visible()
    guest_tile = tile(tool.get_by_role("list", name="Video"), "Gus Guest")
    expect(guest_tile.locator(".badge")).to_have_text("Guest")
    tile_plays(guest_tile.locator("video"), 10)
    tool_frame(host).evaluate("window.scrollTo(0, 0)")
    save_screenshot(host, "host-camera-on")
    assert_accessible(host)

    # Stop speaking → the guest's tile is gone at the host within 2 s; the guest's camera is off.
    speakers = tool.get_by_role("region", name="Allowed to speak")
    speakers.get_by_role("listitem").filter(has_text="Gus Guest").get_by_role("button", name="Stop speaking").click()
    expect(guest_tile).to_have_count(0, timeout=2000)
    expect(guest.get_by_role("button", name="Turn on camera")).to_be_hidden()

    # (5) The host shares a screen. Inside the frame the browser forbids it (Sakai does not delegate
    # display-capture), so the room opens in a window of its own: same person, no second login.
    with host.context.expect_page() as opened:
        tool.get_by_role("button", name="Share screen").click()
    expect(tool.get_by_text("Screen sharing is not allowed inside this frame")).to_be_visible()
    window = opened.value
    expect(window).to_have_title(re.compile("^Share your screen — Weekly seminar room"))
    window.get_by_role("button", name="Share screen").click()
    expect(window.get_by_role("button", name="Stop sharing")).to_be_visible()
    shared = guest.get_by_role("list", name="Shared screen").get_by_role("listitem")
    expect(shared).to_have_accessible_name(re.compile("^Screen shared by Ada Instructor"))
    tile_plays(shared.locator("video"), 10)
    window.get_by_role("button", name="Stop sharing").click()
    expect(shared).to_have_count(0, timeout=4000)

    # (3) Remove → the guest's media stops within 2 s.
    tile_plays(host_tile.locator("video"), 5)
    tool.get_by_role("button", name="Remove Gus Guest").click()
    confirm_in_tool(tool, "Remove Gus Guest?", "Remove")
    stops_receiving(guest, 2)
    expect(guest.get_by_role("heading", name="The host removed you from this session")).to_be_visible()

    # Leave: the host's camera is off and the page says how to come back.
    tool.get_by_role("button", name="Leave").click()
    expect(tool.get_by_role("heading", name="You have left the session")).to_be_focused()
    expect(tool.get_by_text("Reload the page to join again.")).to_be_visible()
    wait_for(
        lambda: tool_frame(host).evaluate("(window.__pcs || []).every(pc => pc.connectionState === 'closed')"),
        2,
        "every peer connection closed",
    )

    # (7) Nothing answered 5xx. The server runs two workers, but which one accepts a connection is
    # the kernel's choice (all requests went to one of them in loaded runs); that signaling works
    # whichever worker answers each request is tests/media/test_two_workers.py's deterministic test.
    log = server.log_path.read_text()
    assert not re.search(r'" 5\d\d ', log), server.log_tail()
    assert host_problems == guest_problems == []


def test_media_comes_back_by_itself_after_janus_restarts(new_page, browser_available, tmp_path):
    """(6) Janus dies mid-session: the page says so, chat keeps working; Janus is back → media back ≤ 10 s."""
    janus = start_janus(tmp_path / "janus")
    (tmp_path / "tool-server").mkdir()
    try:
        with run_tool_server(tmp_path / "tool-server", janus.entry) as server:
            host, tool, _ = host_on_camera(new_page, server)
            url = guest_link(host, tool, guests_can_speak=True)
            guest, _ = admitted_guest(new_page, tool, url, "Gus Guest")
            receives_video_and_audio(guest, 10)
            # A guest of a "Guests can speak" link turns the camera on without being allowed first.
            guest.get_by_role("button", name="Turn on camera").click()
            guest_video = tile(tool.get_by_role("list", name="Video"), "Gus Guest").locator("video")
            tile_plays(guest_video, 10)

            janus.stop(kill=True)
            expect(guest.get_by_text(RECONNECTING)).to_be_visible()
            expect(tool.get_by_text(RECONNECTING)).to_be_visible()
            guest.get_by_role("textbox", name="Message").fill("Still here while the video is away")
            guest.get_by_role("button", name="Send").click()
            chat = tool.get_by_role("log").get_by_role("listitem").filter(has_text="Gus Guest")
            expect(chat.locator(".chat-body")).to_have_text("Still here while the video is away")

            janus.start(janus_binary_path())
            back_at = time.monotonic()
            receives_video_and_audio(guest, 10)
            tile_plays(guest_video, max(0.5, 10 - (time.monotonic() - back_at)))  # the guest publishes again
            assert time.monotonic() - back_at <= 10
            expect(guest.get_by_text(RECONNECTING)).to_be_hidden()

            log = server.log_path.read_text()
            assert not re.search(r'" 5\d\d ', log), server.log_tail()
    finally:
        janus.stop(kill=True)


def janus_binary_path() -> str:
    from lti_tool.media.process import janus_binary

    binary = janus_binary()
    assert binary
    return binary


@pytest.fixture
def strict_browser(playwright_instance):
    """A Chromium whose camera and microphone requests are not granted (headless dismisses the prompt)."""
    args = [a for a in CHROMIUM_ARGS if a != "--use-fake-ui-for-media-stream"]
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
    yield browser
    browser.close()


def test_denied_camera_and_blocked_sound_still_see_and_hear(new_page, strict_browser, media_tool_server):
    host, tool, _ = host_on_camera(new_page, media_tool_server)
    url = guest_link(host, tool)
    context = strict_browser.new_context(viewport=VIEWPORT, **US_ENGLISH)
    try:
        context.add_init_script(KEEP_PEER_CONNECTIONS)
        context.add_init_script(REFUSE_SOUND_WITHOUT_A_CLICK)
        guest = context.new_page()
        problems = watch_problems(guest)
        join_as_guest(guest, url, "Cass Cautious")
        admit(tool, guest, "Cass Cautious")
        receives_video_and_audio(guest, 10)
        host_video = tile(guest.get_by_role("list", name="Video"), "Ada Instructor").locator("video")
        # The page could not start the sound by itself: it plays muted and offers the button.
        sound = guest.get_by_role("button", name="Turn on sound")
        expect(sound).to_be_visible()
        assert host_video.evaluate("v => v.muted")
        sound.press("Enter")  # by keyboard
        expect(sound).to_be_hidden()
        assert not host_video.evaluate("v => v.muted")
        assert_accessible(guest)

        guest.get_by_role("button", name="Raise hand").click()
        tool.get_by_role("region", name=re.compile("^Raised hands")).get_by_role(
            "button", name="Allow to speak"
        ).click()
        guest.get_by_role("button", name="Turn on camera").click()
        expect(guest.get_by_role("alert")).to_have_text(
            "Your browser did not allow the camera. You can still see and hear the session."
        )
        expect(guest.get_by_role("button", name="Turn on camera")).to_be_visible()  # still off
        tile_plays(host_video, 5)  # and still watching
        assert problems == []
    finally:
        context.close()


def test_hosts_are_told_when_audio_and_video_are_not_set_up(new_page, fresh_tool_server):
    _, tool, problems = instructor(new_page, fresh_tool_server)
    start_session(tool)
    expect(tool.get_by_text("Audio and video are not set up on this server.")).to_be_visible()
    expect(tool.get_by_role("button", name="Turn on camera")).to_be_hidden()
    assert problems == []


def test_on_a_phone_the_video_and_its_controls_fit_portrait_and_landscape(new_page, media_tool_server):
    """A guest allowed to speak on a 390×844 touch screen: the host's tile, their own tile and the
    controls fit the width in portrait and in landscape (no sideways scrolling)."""
    server = media_tool_server
    host, tool, host_problems = host_on_camera(new_page, server)
    url = guest_link(host, tool, guests_can_speak=True)
    guest = new_page(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="en-US", timezone_id="UTC"
    )
    guest.context.add_init_script(KEEP_PEER_CONNECTIONS)
    problems = watch_problems(guest)
    join_as_guest(guest, url, "Pia Phone")
    admit(tool, guest, "Pia Phone")
    receives_video_and_audio(guest, 10)
    sound_on(guest)
    guest.get_by_role("button", name="Turn on camera").click()
    expect(guest.get_by_role("button", name="Turn off camera")).to_be_visible()
    grid = guest.get_by_role("list", name="Video")
    expect(grid.get_by_role("listitem")).to_have_count(2)
    for size in ({"width": 390, "height": 844}, {"width": 844, "height": 390}):
        guest.set_viewport_size(size)
        width = guest.evaluate("document.documentElement.scrollWidth")
        assert width <= size["width"], f"{width}px wide on a {size['width']}px screen"
        for control in (
            guest.get_by_role("button", name="Turn off camera"),
            guest.get_by_role("button", name="Unmute"),
            guest.get_by_role("button", name="Leave"),
            tile(grid, "Ada Instructor"),
        ):
            box = control.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= size["width"], (size, box)
    tile_plays(tile(grid, "Ada Instructor").locator("video"), 5)
    assert_accessible(guest)
    assert host_problems == problems == []
