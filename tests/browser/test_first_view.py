"""What instructors and guests see first (issue 19), at 1280×800 in the demo LMS frame: the room's
controls and the waiting banner inside the first viewport without scrolling, first in Tab order;
the frame sized by lti.frameResize; the tool's own confirmations (any browser pop-up fails a flow,
see `watch_problems`); Remove and Remove and block; the guest's Leave and the words they see."""

from __future__ import annotations

import itertools
import re
import time

import pytest

from .helpers import (
    assert_accessible,
    confirm_in_tool,
    create_link,
    flow_1,
    join_as_guest,
    launch_from_course,
    open_guest_access,
    save_screenshot,
    start_session,
    waiting_banner,
    watch_problems,
)
from .test_flows import close_guest_access

expect = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed").expect

DESKTOP = {"viewport": {"width": 1280, "height": 800}, "locale": "en-US", "timezone_id": "UTC"}
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 1,
    "locale": "en-US",
    "timezone_id": "UTC",
}
# Test instrumentation on the LMS page: every lti.frameResize the tool's frame sends.
RECORD_RESIZES = """
window.__resizes = [];
window.addEventListener("message", (event) => {
  let data = event.data;
  if (typeof data === "string") { try { data = JSON.parse(data); } catch (e) { data = {}; } }
  if (data && data.subject === "lti.frameResize") window.__resizes.push(data.height);
});
"""


def in_first_viewport(page, locator) -> None:
    """`locator` (inside the tool's frame) lies wholly inside the LMS page's viewport, unscrolled."""
    assert page.evaluate("window.scrollY") == 0
    box = locator.bounding_box()  # relative to the top page's viewport
    assert box is not None, locator
    size = page.viewport_size
    assert box["x"] >= 0 and box["y"] >= 0, box
    assert box["x"] + box["width"] <= size["width"] and box["y"] + box["height"] <= size["height"], box


def instructor(new_page, server, as_="instructor"):
    page = new_page(**DESKTOP)
    page.add_init_script(RECORD_RESIZES)
    problems = watch_problems(page)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.tool_url)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.lms_url)
    launch_from_course(page, server, as_)
    return page, page.frame_locator("#tool-frame"), problems


def guest_page(new_page, url, name, email, **options):
    guest = new_page(**(options or DESKTOP))
    problems = watch_problems(guest)
    join_as_guest(guest, url, name, email)
    return guest, problems


def test_controls_come_first_in_view_and_in_tab_order(new_page, tool_server):
    page, tool, problems = instructor(new_page, tool_server)
    invite = tool.get_by_role("button", name="Invite guests")
    more = tool.get_by_role("button", name="More actions", exact=True)
    start = tool.get_by_role("button", name="Start session")
    for control in (invite, more, start):
        expect(control).to_be_visible()
        in_first_viewport(page, control)

    # Tab from the LMS's own controls into the frame: the room's controls are the first stops.
    page.get_by_role("button", name="Launch").focus()
    order = []
    for _ in range(3):
        page.keyboard.press("Tab")
        order.append(tool.locator(":focus").evaluate("el => el.getAttribute('aria-label') || el.textContent.trim()"))
    assert order == ["Invite guests", "More actions", "Start session"]

    # "Invite guests" opens Manage guest access; closing gives focus back to the shortcut.
    invite.click()
    window = tool.get_by_role("dialog", name="Manage guest access")
    expect(window).to_be_visible()
    in_first_viewport(page, window.get_by_role("heading", name="Manage guest access"))
    window.get_by_role("button", name="Close").click()
    expect(invite).to_be_focused()

    # The three-dots menu keeps its items (opening downwards now, inside the frame).
    more.click()
    for item in tool.get_by_role("menuitem").all():
        in_first_viewport(page, item)
    save_screenshot(page, "media-page-menu")
    page.keyboard.press("Escape")
    assert_accessible(page)
    assert problems == []


def test_students_see_no_invite_shortcut(new_page, tool_server):
    page, tool, problems = instructor(new_page, tool_server, "student")
    expect(tool.get_by_role("button", name="Invite guests")).to_have_count(0)
    in_first_viewport(page, tool.get_by_role("button", name="More actions", exact=True))
    assert problems == []


def settled_height(page, tool, deadline_s: float = 5.0) -> int:
    """Poll until the last lti.frameResize names the tool page's height and the frame has that
    height inside its border; returns it."""
    deadline = time.monotonic() + deadline_s
    seen = None
    while time.monotonic() < deadline:
        sent = page.evaluate("window.__resizes.length ? window.__resizes[window.__resizes.length - 1] : null")
        body = tool.locator("body").evaluate("b => Math.ceil(b.getBoundingClientRect().height)")
        inner = page.evaluate("document.getElementById('tool-frame').clientHeight")
        seen = (sent, body, inner)
        if sent is not None and abs(sent - body) <= 1 and abs(inner - sent) <= 1:
            return sent
        time.sleep(0.05)
    raise AssertionError(f"frame never settled: (last message, page height, frame height) = {seen}")


def test_the_frame_grows_with_the_page_through_lti_frame_resize(new_page, fresh_tool_server):
    page, tool, problems = instructor(new_page, fresh_tool_server)
    first = settled_height(page, tool)

    start_session(tool)  # chat and participants appear: the page grows, and so does the frame
    page.wait_for_function(f"window.__resizes[window.__resizes.length - 1] > {first}")
    grown = settled_height(page, tool)
    assert grown > first
    # Nothing scrolls inside the frame: its document is no taller than the frame.
    assert tool.locator("html").evaluate("h => h.scrollHeight <= window.innerHeight + 1")
    assert problems == []


def test_waiting_guests_banner_admit_all_and_review(new_page, fresh_tool_server):
    page, tool, problems = instructor(new_page, fresh_tool_server)
    url = flow_1(page, fresh_tool_server)
    close_guest_access(tool)
    start_session(tool)
    tool.get_by_role("textbox", name="Message").fill("A long chat so the guests panel sits low")
    tool.get_by_role("button", name="Send").click()

    guests = []
    for name, email in (("Gina Guest", "gina@example.org"), ("Wes Waiting", "wes@example.org")):
        guests.append(guest_page(new_page, url, name, email))
    banner = waiting_banner(tool)
    expect(banner.get_by_role("alert")).to_have_text("2 guests waiting: Gina Guest, Wes Waiting")
    page.evaluate("window.scrollTo(0, 0)")  # the course page as it opens: is the banner in view?
    expect(tool.locator("#waiting-count")).to_have_text("2 waiting")  # the badge by the session's state
    in_first_viewport(page, banner)
    in_first_viewport(page, tool.locator("#waiting-count"))
    save_screenshot(page, "host-waiting-banner", height=520)
    assert_accessible(page)

    banner.get_by_role("button", name="Review").click()
    expect(tool.get_by_role("button", name="Admit Gina Guest")).to_be_focused()

    banner.get_by_role("button", name="Admit all").click()
    expect(banner).to_be_hidden()
    expect(tool.locator("#waiting-count")).to_be_hidden()
    for guest, _ in guests:
        expect(guest.locator("#session-state")).to_have_text("The session is live")
    # Everyone, students too, sees that guests are present (not who).
    student = new_page(**DESKTOP)
    launch_from_course(student, fresh_tool_server, "student")
    expect(student.frame_locator("#tool-frame").locator("#guests-present")).to_have_text("· 2 guests in this session")
    assert problems == [] and all(p == [] for _, p in guests)


def test_end_session_asks_in_the_tools_own_dialog(new_page, fresh_tool_server):
    page, tool, problems = instructor(new_page, fresh_tool_server)
    start_session(tool)
    end = tool.get_by_role("button", name="End session")
    end.click()
    confirm = tool.get_by_role("alertdialog", name="End the session for everyone?")
    in_first_viewport(page, confirm)
    assert_accessible(page)
    confirm.get_by_role("button", name="Cancel").click()
    expect(end).to_be_focused()  # focus back where it was
    expect(tool.locator("#session-state")).to_have_text("The session is live")
    end.click()
    confirm_in_tool(tool, "End the session for everyone?", "End session")
    expect(tool.locator("#session-state")).to_have_text("The session has ended")
    assert problems == []


def test_long_names_stay_inside_the_guests_panel(new_page, fresh_tool_server):
    page, tool, problems = instructor(new_page, fresh_tool_server)
    url = flow_1(page, fresh_tool_server)
    close_guest_access(tool)
    name = "Maximiliana Wolfeschlegelsteinhausenbergerdorff-Featherstonehaugh"[:80]
    email = "maximiliana.wolfeschlegelsteinhausenbergerdorff@department-of-visiting-scholars.example.org"
    guest_page(new_page, url, name, email)
    panel = tool.get_by_role("region", name=re.compile("^Guests"))
    row = panel.get_by_role("row", name=re.compile("Maximiliana"))
    expect(row).to_be_visible()
    panel_box, table_box = panel.bounding_box(), panel.locator("table").bounding_box()
    assert table_box["x"] + table_box["width"] <= panel_box["x"] + panel_box["width"] + 1
    actions = row.get_by_role("button", name=f"Decline {name}")
    box = actions.bounding_box()
    assert box["x"] + box["width"] <= panel_box["x"] + panel_box["width"], "the Actions column spills out"
    headers = panel.get_by_role("columnheader").all()
    for left, right in itertools.pairwise(headers):  # no column collapses under its neighbour
        a, b = left.bounding_box(), right.bounding_box()
        assert a["width"] >= 60 and a["x"] + a["width"] <= b["x"] + 1, (left.inner_text(), right.inner_text())
    expect(row.get_by_role("cell").nth(2)).to_be_visible()  # the link the guest joined with
    assert row.get_by_role("cell").nth(2).locator("span").bounding_box()["width"] >= 40
    email_cell = row.get_by_role("cell").nth(1)
    expect(email_cell).to_have_text(email)  # the whole value is the cell's text (its accessible name)
    expect(email_cell.locator("span")).to_have_attribute("title", email)  # and its tooltip
    assert problems == []


def test_remove_or_remove_and_block(new_page, fresh_tool_server):
    page, tool, problems = instructor(new_page, fresh_tool_server)
    first = flow_1(page, fresh_tool_server)
    window = tool.get_by_role("dialog", name="Manage guest access")
    create_link(tool, window, "Second link")
    window.get_by_role("button", name="Copy link Second link").click()
    second = page.evaluate("navigator.clipboard.readText()")
    close_guest_access(tool)
    tool.get_by_role("button", name="More actions", exact=True).click()
    tool.get_by_role("menuitem", name="Room settings").click()
    settings = tool.get_by_role("dialog", name="Room settings")
    settings.get_by_role("checkbox", name="Guests must be admitted by a moderator").click()
    settings.get_by_role("button", name="Save").click()  # every setting waits for Save (one rule)
    expect(settings.get_by_text("Guests now enter without waiting.")).to_be_visible()
    settings.get_by_role("button", name="Close").click()
    start_session(tool)

    # Plain Remove: the host is told the person can come back, and they can.
    guest, guest_problems = guest_page(new_page, first, "Rita Return", "rita@example.org")
    expect(guest.locator("#session-state")).to_have_text("The session is live")
    tool.get_by_role("button", name="Remove Rita Return").click()
    confirm = tool.get_by_role("alertdialog", name="Remove Rita Return?")
    expect(confirm).to_contain_text("they can come back through the link")
    assert_accessible(page)
    confirm_in_tool(tool, "Remove Rita Return?", "Remove")
    expect(guest.get_by_role("heading", name="The host removed you from this session")).to_be_visible()
    join_as_guest(guest, first, "Rita Return", "rita@example.org")
    expect(guest.locator("#session-state")).to_have_text("The session is live")

    # Remove and block: not through the other link, not with the same email from another browser.
    tool.get_by_role("button", name="Remove Rita Return").click()
    confirm_in_tool(tool, "Remove Rita Return?", "Remove and block")
    expect(guest.get_by_role("heading", name="The host removed you from this session")).to_be_visible()
    expect(guest.locator("#closed-message")).to_have_text("You can't rejoin it until it ends.")
    other = new_page(**DESKTOP)
    join_as_guest(other, second, "R. Return", "RITA@example.org")
    expect(other.get_by_role("heading", level=1)).to_have_text("You can't rejoin this session")
    assert_accessible(other)
    join_as_guest(guest, second, "Rita", "another@example.org")  # the same browser, another email
    expect(guest.get_by_role("heading", level=1)).to_have_text("You can't rejoin this session")
    expect(tool.get_by_role("row", name=re.compile("Rita"))).to_have_count(0)
    assert problems == [] and guest_problems == []


def test_guest_leaves_and_is_told_what_happened_on_refusals(new_page, fresh_tool_server):
    page, tool, problems = instructor(new_page, fresh_tool_server)
    url = flow_1(page, fresh_tool_server)
    close_guest_access(tool)
    start_session(tool)

    leaver, leaver_problems = guest_page(new_page, url, "Lee Leaver", "lee@example.org", **PHONE)
    tool.get_by_role("button", name="Admit Lee Leaver").click()
    expect(leaver.locator("#session-state")).to_have_text("The session is live")
    leaver.get_by_role("button", name="Leave").click()
    expect(leaver.get_by_role("heading", name="You left the session")).to_be_focused()
    assert_accessible(leaver)
    expect(tool.get_by_role("row", name=re.compile("Lee Leaver"))).to_have_count(0)  # gone from the host's list

    stayer, stayer_problems = guest_page(new_page, url, "Sue Stayer", "sue@example.org", **PHONE)
    tool.get_by_role("button", name="Admit Sue Stayer").click()
    expect(stayer.locator("#session-state")).to_have_text("The session is live")
    window = open_guest_access(tool)
    window.get_by_role("switch", name="Enable guest access").click()
    tool.get_by_role("alertdialog", name="Turn off guest access?").get_by_role("button", name="Turn off").click()
    expect(window.get_by_role("switch", name="Enable guest access")).not_to_be_checked()
    close_guest_access(tool)
    stayer.reload()
    expect(stayer.get_by_role("heading", level=1)).to_have_text("Guest access is turned off")
    expect(stayer.get_by_text("The host turned off guest access, so you can't rejoin.")).to_be_visible()
    assert_accessible(stayer)
    expect(tool.get_by_role("row", name=re.compile("Sue Stayer"))).to_have_count(0)
    assert problems == [] and leaver_problems == [] and stayer_problems == []


def test_the_links_dialog_says_what_it_does(new_page, fresh_tool_server):
    page, tool, problems = instructor(new_page, fresh_tool_server)
    window = open_guest_access(tool)
    switch = window.get_by_role("switch", name="Enable guest access")
    switch.click()
    # No link yet: turning access on promises nothing about links.
    expect(window.get_by_role("status")).to_have_text("Guest access is on.")
    create = window.get_by_role("button", name="Create new link")

    create.click()
    form = tool.get_by_role("dialog", name="Create new link")
    expect(form).to_contain_text("Allow anyone with this link to join this room without signing in.")
    expect(form.get_by_text("1–10,000; empty = no limit.")).to_be_visible()
    expect(form.get_by_text("1–365; empty = never.")).to_be_visible()
    expect(form.get_by_text("days", exact=True)).to_be_visible()
    expires = form.get_by_label("Expires after")
    expect(form.locator("#link-duration-preview")).to_have_text("The link never expires.")
    expires.fill("2")
    # The exact moment, in the launch's locale and time zone (UTC here).
    expect(form.locator("#link-duration-preview")).to_have_text(
        re.compile(r"^Expires \w+day, \w+ \d{1,2}, \d{4} at \d{1,2}:\d{2}\s(AM|PM) UTC\.$")
    )

    # Every wrong field at once, each beside its field; focus on the first.
    form.get_by_label("Link Name").fill("   ")
    form.get_by_label("Max. number of guests who can join").fill("0")
    expires.fill("400")
    form.get_by_role("button", name="Create", exact=True).click()
    expect(form.get_by_text("Enter a link name.")).to_be_visible()
    expect(form.get_by_text("Max. number of guests must be a whole number from 1 to 10,000")).to_be_visible()
    expect(form.get_by_text("Expires after must be a whole number of days from 1 to 365")).to_be_visible()
    for label in ("Link Name", "Max. number of guests who can join", "Expires after"):
        expect(form.get_by_label(label)).to_have_attribute("aria-invalid", "true")
    expect(form.get_by_label("Link Name")).to_be_focused()
    save_screenshot(page, "create-link")
    assert_accessible(page)
    form.get_by_role("button", name="Cancel").click()
    expect(create).to_be_focused()  # back to what opened the step, not the switch

    # Each row shows its link (shortened, whole when selected) and copy says "Copied ✓" on itself.
    for name in ("One", "Two", "Three"):
        create_link(tool, window, name)
        expect(create).to_be_focused()  # after Create too, also once the third link disables it
    expect(create).to_be_disabled()
    row = window.get_by_role("row", name=re.compile("^One"))
    url = row.locator(".link-url")
    expect(url).to_have_text(re.compile(re.escape(fresh_tool_server.tool_url) + r"/g/[A-Za-z0-9_-]{20,}$"))
    assert url.evaluate("el => el.scrollWidth > el.clientWidth")  # cut short on screen
    copy = row.get_by_role("button", name="Copy link One")
    expect(copy.locator(".icon-label")).to_have_text("Copy")
    copy.click()
    copied = row.get_by_role("button", name="Copied link One")  # the name follows what it shows
    expect(copied.locator(".icon-label")).to_have_text("Copied ✓")
    expect(window.get_by_role("status")).to_have_text("Link copied")
    assert page.evaluate("navigator.clipboard.readText()") == url.text_content()
    expect(row.get_by_role("button", name="Delete link One").locator(".icon-label")).to_have_text("Delete")
    save_screenshot(page, "manage-guest-access")
    assert_accessible(page)

    # Off and on again with links: now the status says the valid ones work again.
    switch.click()
    tool.get_by_role("alertdialog", name="Turn off guest access?").get_by_role("button", name="Turn off").click()
    expect(switch).not_to_be_checked()
    switch.click()
    expect(window.get_by_role("status")).to_have_text("Guest access is on. Links that are still valid work again.")
    assert problems == []


def test_a_media_gallery_room_says_in_one_line_that_guests_cannot_come(new_page, tool_server):
    page = new_page(**DESKTOP)
    problems = watch_problems(page)
    launch_from_course(page, tool_server, "instructor", room="gallery")
    tool = page.frame_locator("#tool-frame")
    expect(tool.locator("#session-state")).to_be_visible()
    expect(tool.get_by_text("Guest access is not available for media gallery rooms.")).to_have_count(1)
    expect(tool.get_by_role("region", name=re.compile("^Guests"))).to_be_hidden()  # no empty Guests panel
    expect(tool.get_by_role("button", name="Invite guests")).to_have_count(0)
    assert_accessible(page)
    assert problems == []


def test_room_settings_all_wait_for_save(new_page, fresh_tool_server):
    page, tool, problems = instructor(new_page, fresh_tool_server)
    more = tool.get_by_role("button", name="More actions", exact=True)
    more.click()
    tool.get_by_role("menuitem", name="Room settings").click()
    settings = tool.get_by_role("dialog", name="Room settings")
    admission = settings.get_by_role("checkbox", name="Guests must be admitted by a moderator")
    chat = settings.get_by_role("checkbox", name="Guests can chat")
    expect(admission).to_be_checked()
    admission.uncheck()
    chat.uncheck()
    settings.get_by_role("button", name="Close").click()  # closed without Save: nothing changed
    more.click()
    tool.get_by_role("menuitem", name="Room settings").click()
    expect(admission).to_be_checked()
    expect(chat).to_be_checked()
    admission.uncheck()
    chat.uncheck()
    settings.get_by_role("button", name="Save").click()
    expect(settings.get_by_role("status")).to_have_text("Saved. Guests now enter without waiting.")
    settings.get_by_role("button", name="Close").click()
    page.reload()
    tool.locator("#more-actions").wait_for()
    more.click()
    tool.get_by_role("menuitem", name="Room settings").click()
    expect(admission).not_to_be_checked()
    expect(chat).not_to_be_checked()
    assert problems == []
