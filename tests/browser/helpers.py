"""What the browser tests do over and over: launch from the demo course page, run axe-core, and
write the README's screenshots."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

from lti_tool.config import PROJECT_ROOT

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


def save_screenshot(page, name: str) -> None:
    """With UPDATE_SCREENSHOTS=1, write docs/screenshots/<name>.png (what the README shows)."""
    if not updating_screenshots():
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), animations="disabled", caret="hide")
