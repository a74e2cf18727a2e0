"""What the browser tests do over and over: launch from the demo course page, run axe-core, and
write the README's screenshots."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

from lti_tool.config import PROJECT_ROOT

try:
    from playwright.sync_api import expect
except ImportError:  # the tests skip (or fail under LTI_TOOL_REQUIRE_BROWSER=1) in conftest
    expect = None

AXE_JS = Path(__file__).parent / "vendor" / "axe.min.js"
SCREENSHOTS = PROJECT_ROOT / "docs" / "screenshots"
BLOCKING_IMPACTS = ("serious", "critical")


def launch_from_course(page, server, as_: str = "instructor", room: str = "room"):
    """Open the demo course page as `as_` and wait for the tool's media page inside the iframe.

    Returns the iframe's Frame (for evaluate) — use `page.frame_locator("#tool-frame")` to act."""
    page.goto(server.course_url(as_, room))
    page.frame_locator("#tool-frame").locator("#more-actions").wait_for()
    frame = page.frame(name="tool-frame")
    assert frame is not None and frame.parent_frame == page.main_frame
    frame.wait_for_load_state("domcontentloaded")  # deferred scripts (room.js) have run: the menu works
    return frame


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


# --- axe-core ---------------------------------------------------------------------------------


@cache
def _axe_source() -> str:
    return AXE_JS.read_text(encoding="utf-8")


def axe_violations(page) -> list[dict]:
    """Run axe-core on the page and every frame in it; serious and critical violations only.

    axe is evaluated over the DevTools protocol, which the page's CSP does not govern, so the
    tool's strict script-src stays in force. Frames are on another origin; axe only talks to
    frames of its own origin unless told otherwise."""
    for frame in page.frames:
        frame.evaluate(_axe_source())
        frame.evaluate("axe.configure({allowedOrigins: ['<unsafe_all_origins>']})")
    result = page.evaluate(
        """async () => {
          const r = await axe.run(document, {resultTypes: ['violations']});
          const nodes = (list) => list.flatMap((rule) => rule.nodes.map((n) => n.target));
          return {
            violations: r.violations.map((v) => ({
              id: v.id, impact: v.impact, help: v.help,
              nodes: v.nodes.map((n) => ({target: n.target, summary: n.failureSummary})),
            })),
            framed: [...nodes(r.passes), ...nodes(r.violations)].filter((t) => t.length > 1).map((t) => t[0]),
          };
        }"""
    )
    child_frames = [f for f in page.frames if f != page.main_frame]
    if child_frames:
        # Proof that the frames were really audited, not silently skipped (axe's "frame-tested").
        assert result["framed"], "axe-core did not reach the iframe"
    return [v for v in result["violations"] if v["impact"] in BLOCKING_IMPACTS]


def describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']}")
        lines += [f"    {node['target']}: {node['summary']}" for node in v["nodes"]]
    return "\n".join(lines)


# --- README screenshots -----------------------------------------------------------------------


def updating_screenshots() -> bool:
    return os.environ.get("UPDATE_SCREENSHOTS") == "1"


def save_screenshot(page, name: str, *, height: int | None = None, full_page: bool = False) -> None:
    """With UPDATE_SCREENSHOTS=1, write docs/screenshots/<name>.png (what the README shows): the
    viewport, its top `height` pixels (short pages), or the whole page."""
    if not updating_screenshots():
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    clip = {"x": 0, "y": 0, "width": page.viewport_size["width"], "height": height} if height else None
    page.screenshot(
        path=str(SCREENSHOTS / f"{name}.png"), animations="disabled", caret="hide", clip=clip, full_page=full_page
    )


# --- the flows' steps -------------------------------------------------------------------------


def watch_problems(page) -> list[str]:
    """Collect script errors, CSP refusals and any browser pop-up (alert, confirm, prompt: the tool
    uses its own dialogs) on `page`; a flow ends asserting none. A pop-up is dismissed, so an action
    behind a confirm() does not happen."""
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"error: {exc}"))
    page.on("console", lambda msg: problems.append(msg.text) if "Refused" in msg.text else None)

    def pop_up(dialog) -> None:
        problems.append(f"browser {dialog.type}(): {dialog.message}")
        dialog.dismiss()

    page.on("dialog", pop_up)
    return problems


def waiting_banner(tool):
    """The banner pinned to the top of the tool for hosts and moderators while guests wait."""
    return tool.locator("#waiting-banner")


def confirm_in_tool(tool, title: str, button: str):
    """The tool's own confirmation dialog (never the browser's confirm()): check it, press `button`."""
    confirm = tool.get_by_role("alertdialog", name=title)
    expect(confirm).to_be_visible()
    expect(confirm.get_by_role("button", name="Cancel")).to_be_focused()
    confirm.get_by_role("button", name=button, exact=True).click()
    expect(confirm).to_be_hidden()


def allow_clipboard(page, server) -> None:
    """The clipboard permission for the tool (writing, inside the iframe) and the LMS page (reading it back)."""
    for site in (server.tool_url, server.lms_url):
        page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site)


def read_clipboard(page) -> str:
    return page.evaluate("navigator.clipboard.readText()")


def open_guest_access(tool):
    """Three dots → Manage guest access; returns the dialog once its links have loaded."""
    tool.get_by_role("button", name="More actions").click()
    tool.get_by_role("menuitem", name="Manage guest access").click()
    window = tool.get_by_role("dialog", name="Manage guest access")
    expect(window.get_by_role("switch", name="Enable guest access")).to_be_enabled()  # loaded
    return window


def create_link(tool, window, name: str, clicks: str = "", days: str = "", *, guests_can_speak: bool = False):
    """Create new link → fill the form → Create; returns the new row."""
    window.get_by_role("button", name="Create new link").click()
    form = tool.get_by_role("dialog", name="Create new link")
    form.get_by_label("Link Name").fill(name)
    form.get_by_label("Max. number of guests who can join").fill(clicks)
    form.get_by_label("Expires after").fill(days)
    speak = form.get_by_role("checkbox", name="Guests can speak")
    expect(speak).not_to_be_checked()  # off unless asked for
    if guests_can_speak:
        speak.check()
    form.get_by_role("button", name="Create", exact=True).click()
    expect(form).to_be_hidden()
    return window.get_by_role("row", name=name)


def join_as_guest(page, link_url: str, name: str, email: str = "guest@example.org") -> None:
    """Open the guest link in `page` (a context of its own), fill the entry form and join."""
    page.goto(link_url)
    page.get_by_label("Name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Join").click()


def start_session(tool) -> None:
    tool.get_by_role("button", name="Start session").click()
    expect(tool.locator("#session-state")).to_have_text("The session is live")


LINK = "Guest speakers"


def long_date(moment: datetime) -> str:
    return f"{moment:%B} {moment.day}, {moment.year}"


def flow_1(page, server) -> str:
    """Flow 1 from the launch on: Manage guest access → on → a link (5 clicks, 2 days) → copy.
    Returns the copied link."""
    tool = page.frame_locator("#tool-frame")
    window = open_guest_access(tool)
    switch = window.get_by_role("switch", name="Enable guest access")
    create_button = window.get_by_role("button", name="Create new link")
    expect(window.get_by_text("No links added")).to_be_visible()
    expect(switch).not_to_be_checked()
    expect(create_button).to_be_disabled()

    switch.click()
    expect(switch).to_be_checked()
    expect(create_button).to_be_enabled()

    before = datetime.now(UTC)
    row = create_link(tool, window, LINK, clicks="5", days="2")
    after = datetime.now(UTC)
    expect(row.locator(".link-name")).to_have_text(LINK)  # the name; the link's URL sits below it
    dates = {long_date(before + timedelta(days=2)), long_date(after + timedelta(days=2))}
    expect(row.get_by_role("cell").nth(1)).to_have_text(re.compile("^(" + "|".join(dates) + ")$"))
    expect(row.get_by_role("cell").nth(2)).to_have_text("0 of 5")
    expect(row.get_by_role("cell").nth(3)).to_have_text("No")  # guests can speak
    expect(window.get_by_text("1 link", exact=True)).to_be_visible()

    window.get_by_role("button", name=f"Copy link {LINK}").click()
    expect(window.get_by_role("status")).to_have_text("Link copied")
    url = read_clipboard(page)
    assert re.fullmatch(re.escape(server.tool_url) + r"/g/[A-Za-z0-9_-]{20,}", url), url
    expect(row.locator(".link-url")).to_have_text(url)
    return url


def assert_accessible(page) -> None:
    violations = axe_violations(page)
    assert not violations, describe(violations)
