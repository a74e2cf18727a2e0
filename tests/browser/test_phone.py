"""Guests on a phone (390×844, touch): what the entry, waiting and session pages say, no sideways
scrolling (portrait and landscape), an empty stage as one short line, and a chat whose Enter is a new
line (Send sends) with its input in reach while messages arrive."""

from __future__ import annotations

import pytest

from .helpers import assert_accessible, flow_1, join_as_guest, save_screenshot, start_session, watch_problems
from .test_first_view import PHONE, instructor
from .test_flows import close_guest_access

expect = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed").expect


def no_sideways_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], (
        f"the page is {width}px wide on a {page.viewport_size['width']}px screen"
    )


def open_admission(tool, required: bool) -> None:
    tool.get_by_role("button", name="More actions", exact=True).click()
    tool.get_by_role("menuitem", name="Room settings").click()
    settings = tool.get_by_role("dialog", name="Room settings")
    box = settings.get_by_role("checkbox", name="Guests must be admitted by a moderator")
    box.set_checked(required)
    settings.get_by_role("button", name="Save").click()
    expect(settings.get_by_role("status")).to_contain_text("Saved.")
    settings.get_by_role("button", name="Close").click()


def test_a_guest_on_a_phone_is_told_what_happens_next(new_page, fresh_tool_server):
    page, tool, problems = instructor(new_page, fresh_tool_server)
    url = flow_1(page, fresh_tool_server)
    close_guest_access(tool)

    guest = new_page(**PHONE)
    guest_problems = watch_problems(guest)
    guest.goto(url)
    expect(guest.get_by_text("After you join, a host will let you in — keep this page open.")).to_be_visible()
    no_sideways_scroll(guest)
    save_screenshot(guest, "guest-entry")
    assert_accessible(guest)
    guest.get_by_label("Name").fill("Pat Phone")
    guest.get_by_label("Email").fill("pat@example.org")
    guest.get_by_role("button", name="Join").click()
    expect(guest.get_by_role("status")).to_have_text("Waiting for a moderator to let you in…")
    expect(guest.get_by_text("A host will let you in — keep this page open.", exact=False)).to_be_visible()
    no_sideways_scroll(guest)
    assert_accessible(guest)

    # Admitted before the start: they are in, and the empty stage is one short line.
    tool.get_by_role("button", name="Admit Pat Phone").click()
    state = guest.locator("#session-state")
    expect(state).to_have_text("You're in. The session starts when the host begins it — keep this page open.")
    stage = guest.locator("#stage-screen")
    expect(stage.get_by_text("Nothing is on the stage yet.")).to_be_visible()
    expect(stage.get_by_text("Weekly seminar room")).to_be_hidden()  # not the room's name again
    assert stage.bounding_box()["height"] < 80
    expect(guest.get_by_role("button", name="Leave")).to_be_visible()
    no_sideways_scroll(guest)
    save_screenshot(guest, "guest-admitted-phone")
    assert_accessible(guest)
    assert problems == [] and guest_problems == []


def test_phone_chat_enter_is_a_new_line_and_the_input_stays_in_reach(new_page, fresh_tool_server):
    page, tool, problems = instructor(new_page, fresh_tool_server)
    url = flow_1(page, fresh_tool_server)
    close_guest_access(tool)
    open_admission(tool, required=False)
    start_session(tool)

    guest = new_page(**PHONE)
    guest_problems = watch_problems(guest)
    join_as_guest(guest, url, "Pat Phone", "pat@example.org")
    expect(guest.locator("#session-state")).to_have_text("The session is live")
    expect(guest.locator("#guests-present")).to_have_text("· 1 guest in this session")
    box = guest.get_by_role("textbox", name="Message")
    expect(guest.locator("#chat-hint")).to_have_text("Press Send to send. Up to 500 characters.")

    box.tap()
    box.press_sequentially("First line")
    box.press("Enter")  # a touch keyboard's Enter: a new line, nothing sent
    box.press_sequentially("second line")
    expect(box).to_have_value("First line\nsecond line")
    expect(guest.get_by_role("log").get_by_role("listitem")).to_have_count(0)
    guest.get_by_role("button", name="Send").tap()
    message = tool.get_by_role("log").get_by_role("listitem").filter(has_text="Pat Phone")
    expect(message.locator(".chat-body")).to_have_text("First line\nsecond line")

    # Many messages arrive: they scroll in their own area, the input stays right below it.
    # (Four long ones: the chat allows 5 messages per person in 10 s.)
    for n in range(4):
        tool.get_by_role("textbox", name="Message").fill(f"Message {n}: " + "a longer message from the host " * 9)
        tool.get_by_role("textbox", name="Message").press("Enter")  # a desktop keyboard: Enter sends
        expect(tool.get_by_role("log").get_by_role("listitem")).to_have_count(n + 2)
    log = guest.get_by_role("log")
    expect(log.get_by_role("listitem")).to_have_count(5)
    assert log.evaluate("el => el.scrollHeight > el.clientHeight")  # its own scroll area
    assert log.evaluate("el => el.scrollTop + el.clientHeight >= el.scrollHeight - 2")  # at the newest
    box.scroll_into_view_if_needed()
    log_box, input_box = log.bounding_box(), box.bounding_box()
    assert 0 <= input_box["y"] - (log_box["y"] + log_box["height"]) < 80
    assert log_box["height"] < guest.viewport_size["height"]  # the log and the input fit on the screen together
    no_sideways_scroll(guest)
    save_screenshot(guest, "guest-phone-chat", full_page=True)
    assert_accessible(guest)

    guest.set_viewport_size({"width": 844, "height": 390})  # landscape
    no_sideways_scroll(guest)
    assert problems == [] and guest_problems == []


def test_desktop_enter_still_sends(new_page, fresh_tool_server):
    _page, tool, problems = instructor(new_page, fresh_tool_server)
    start_session(tool)
    expect(tool.locator("#chat-hint")).to_have_text("Enter to send, Shift+Enter for a new line. Up to 500 characters.")
    box = tool.get_by_role("textbox", name="Message")
    box.fill("Sent by Enter")
    box.press("Enter")
    expect(tool.get_by_role("log").get_by_role("listitem")).to_have_count(1)
    expect(box).to_have_value("")
    assert problems == []
