"""Flows 1–4 of the issue, as an instructor and guests do them: the instructor inside the demo LMS's
cross-site iframe, each guest in a browser context of their own (no cookies, no launch). Along the
way axe-core audits each new page and dialog, and UPDATE_SCREENSHOTS=1 writes the README's pictures.

Each test gets a server with an empty database: the demo LMS has one meeting room, and the flows
change it (guest access, links, the session)."""

from __future__ import annotations

import re

import pytest

from .helpers import (
    LINK,
    allow_clipboard,
    assert_accessible,
    confirm_in_tool,
    create_link,
    flow_1,
    join_as_guest,
    launch_from_course,
    open_guest_access,
    read_clipboard,
    save_screenshot,
    start_session,
    waiting_banner,
    watch_problems,
)

expect = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed").expect

US_ENGLISH = {"locale": "en-US", "timezone_id": "UTC"}  # what the demo LMS's launch says (en_US)
WAITING = "Waiting for a moderator to let you in…"


def close_guest_access(tool) -> None:
    window = tool.get_by_role("dialog", name="Manage guest access")
    window.get_by_role("button", name="Close").click()
    expect(window).to_be_hidden()


def instructor(new_page, server):
    page = new_page(**US_ENGLISH)
    problems = watch_problems(page)
    allow_clipboard(page, server)
    launch_from_course(page, server, "instructor")
    return page, page.frame_locator("#tool-frame"), problems


def guest_waits(new_page, url: str, name: str):
    guest = new_page(**US_ENGLISH)
    problems = watch_problems(guest)
    join_as_guest(guest, url, name)
    expect(guest.get_by_role("status")).to_have_text(WAITING)
    assert "/g/room/" in guest.url and url.rsplit("/", 1)[1] not in guest.url
    return guest, problems


def admit(tool, guest, name: str) -> None:
    """The instructor is told a guest waits (the banner at the top; a beep once they touched the page), admits."""
    guests = tool.get_by_role("region", name=re.compile("^Guests"))
    expect(waiting_banner(tool).get_by_role("alert")).to_contain_text(name)
    guests.get_by_role("button", name=f"Admit {name}").click()
    # The waiting page notices by itself and loads the session: no reload by the guest.
    expect(guest.get_by_text(f"You are a guest: {name}")).to_be_visible()
    expect(guest.locator("#session-state")).to_have_text("The session is live")


def test_flow_1_instructor_creates_a_guest_link_and_copies_it(new_page, fresh_tool_server):
    page, tool, problems = instructor(new_page, fresh_tool_server)
    assert_accessible(page)

    url = flow_1(page, fresh_tool_server)

    assert_accessible(page)  # Manage guest access with a link in it (the README's picture: test_first_view)
    window = tool.get_by_role("dialog", name="Manage guest access")
    window.get_by_role("button", name="Create new link").click()
    form = tool.get_by_role("dialog", name="Create new link")
    form.get_by_label("Link Name").fill("Parents' evening")
    form.get_by_label("Max. number of guests who can join").fill("30")
    assert_accessible(page)
    form.get_by_role("button", name="Cancel").click()
    expect(window.get_by_role("button", name="Create new link")).to_be_focused()
    assert url.startswith(fresh_tool_server.tool_url)
    assert problems == []


def test_flow_2_guest_waits_is_admitted_enters_by_itself_and_chats(new_page, fresh_tool_server):
    host, tool, host_problems = instructor(new_page, fresh_tool_server)
    url = flow_1(host, fresh_tool_server)
    close_guest_access(tool)

    # Guests can wait before the session starts; the host sees and handles them already.
    guest = new_page(**US_ENGLISH)
    problems = watch_problems(guest)
    guest.goto(url)
    expect(guest.get_by_role("heading", level=1)).to_have_text("Weekly seminar room")
    # (The README's picture of this page is taken at phone size: test_phone.)
    assert_accessible(guest)
    guest.get_by_label("Name").fill("Gina Guest")
    guest.get_by_label("Email").fill("gina@example.org")
    guest.get_by_role("button", name="Join").click()
    expect(guest.get_by_role("status")).to_have_text(WAITING)
    save_screenshot(guest, "guest-waiting", height=260)
    assert_accessible(guest)
    guests = tool.get_by_role("region", name=re.compile("^Guests"))
    banner = waiting_banner(tool).get_by_role("alert")
    expect(banner).to_have_text("1 guest waiting: Gina Guest")

    # A second guest is declined: their waiting page shows it by itself.
    declined, declined_problems = guest_waits(new_page, url, "Dan Declined")
    expect(banner).to_have_text("2 guests waiting: Gina Guest, Dan Declined")  # both named, not only the newest
    guests.get_by_role("button", name="Decline Dan Declined").click()
    expect(declined.get_by_role("heading", level=1)).to_have_text("You were not admitted")
    assert_accessible(declined)
    expect(banner).to_have_text("1 guest waiting: Gina Guest")

    start_session(tool)
    admit(tool, guest, "Gina Guest")
    expect(guests.get_by_role("row", name=re.compile("Gina Guest"))).to_contain_text("In the session")
    assert_accessible(guest)

    guest.get_by_role("textbox", name="Message").fill("Hello everyone, thanks for having me!")
    guest.get_by_role("textbox", name="Message").press("Enter")
    chat = tool.get_by_role("log")
    message = chat.get_by_role("listitem").filter(has_text="Gina Guest")
    expect(message.locator(".chat-body")).to_have_text("Hello everyone, thanks for having me!")
    expect(message.locator(".badge")).to_have_text("Guest")
    tool.get_by_role("textbox", name="Message").fill("Welcome, Gina!")
    tool.get_by_role("button", name="Send").click()
    expect(guest.get_by_role("log").get_by_role("listitem")).to_have_count(2)
    save_screenshot(guest, "guest-session-chat", full_page=True)

    participants = tool.get_by_role("region", name=re.compile("^Participants"))
    expect(participants.get_by_role("listitem")).to_have_text([re.compile("^Ada Instructor")])
    expect(participants).not_to_contain_text("Gina Guest")
    participants.scroll_into_view_if_needed()
    save_screenshot(host, "host-session-guests")

    # The host erases the guest's record at once (from the row's overflow, after the tool's own
    # confirmation): the row is gone.
    guests.get_by_role("button", name="Other actions for Gina Guest").click()
    guests.get_by_role("button", name="Erase name and email").click()
    confirm_in_tool(tool, "Erase Gina Guest's name and email?", "Erase")
    expect(guests.get_by_role("row", name=re.compile("Gina Guest"))).to_have_count(0)
    assert host_problems == problems == declined_problems == []


def test_flow_3_guest_access_off_keeps_the_guest_until_reload(new_page, fresh_tool_server):
    host, tool, host_problems = instructor(new_page, fresh_tool_server)
    url = flow_1(host, fresh_tool_server)
    close_guest_access(tool)
    start_session(tool)
    guest, problems = guest_waits(new_page, url, "Gina Guest")
    admit(tool, guest, "Gina Guest")

    window = open_guest_access(tool)
    window.get_by_role("switch", name="Enable guest access").click()
    confirm = tool.get_by_role("alertdialog", name="Turn off guest access?")
    expect(confirm).to_contain_text("Guests already inside stay until they refresh or leave.")
    assert_accessible(host)
    confirm.get_by_role("button", name="Turn off").click()
    expect(window.get_by_role("switch", name="Enable guest access")).not_to_be_checked()
    expect(window.get_by_role("row", name=re.compile(LINK))).to_contain_text("inactive")
    expect(window.get_by_role("button", name="Create new link")).to_be_disabled()
    close_guest_access(tool)

    # The guest is still inside: a message from the host reaches them after the switch-off.
    tool.get_by_role("textbox", name="Message").fill("Guest access is off now")
    tool.get_by_role("button", name="Send").click()
    expect(guest.get_by_role("log")).to_contain_text("Guest access is off now")
    expect(guest.locator("#session-state")).to_have_text("The session is live")

    guest.reload()
    expect(guest.get_by_role("heading", level=1)).to_have_text("Guest access is turned off")
    save_screenshot(guest, "guest-access-off", height=260)
    assert_accessible(guest)

    newcomer = new_page(**US_ENGLISH)
    newcomer.goto(url)
    expect(newcomer.get_by_role("heading", level=1)).to_have_text("Guest access is turned off")
    assert host_problems == problems == []


def test_flow_4_and_the_links_window_in_detail(new_page, fresh_tool_server):
    """Flow 4 (delete with confirmation → the link is no longer valid), with the links window's
    other rules: errors beside the field, names shown as text, the copy fallback."""
    host, tool, problems = instructor(new_page, fresh_tool_server)
    window = open_guest_access(tool)
    create_button = window.get_by_role("button", name="Create new link")
    expect(window.get_by_text("Turn on Enable guest access to create a link.")).to_be_visible()
    window.get_by_role("switch", name="Enable guest access").click()

    # A refusal by the server shows beside its field and keeps what was typed.
    create_button.click()
    form = tool.get_by_role("dialog", name="Create new link")
    form.get_by_label("Link Name").fill("Open day")
    form.get_by_label("Max. number of guests who can join").fill("0")
    form.get_by_role("button", name="Create", exact=True).click()
    clicks = form.get_by_label("Max. number of guests who can join")
    expect(form.get_by_text("Max. number of guests must be a whole number from 1 to 10,000")).to_be_visible()
    expect(clicks).to_have_attribute("aria-invalid", "true")
    expect(clicks).to_be_focused()
    expect(form.get_by_label("Link Name")).to_have_value("Open day")
    assert_accessible(host)
    clicks.fill("10")
    form.get_by_role("button", name="Create", exact=True).click()
    expect(form).to_be_hidden()
    open_day = window.get_by_role("row", name="Open day")
    expect(open_day.get_by_role("cell").nth(1)).to_have_text("Never")
    expect(open_day.get_by_role("cell").nth(2)).to_have_text("0 of 10")
    expect(window.get_by_role("status")).to_have_text("Link “Open day” created.")

    xss = "<img src=x onerror=alert(1)>"
    row = create_link(tool, window, xss, days="7")
    expect(row.locator(".link-name")).to_have_text(xss)
    expect(row.get_by_role("cell").nth(2)).to_have_text("unlimited")
    expect(row.locator("time")).to_have_attribute("title", re.compile(r"\d{1,2}:\d{2}:\d{2}"))
    expect(window.get_by_text("2 links", exact=True)).to_be_visible()

    allow_clipboard(host, fresh_tool_server)
    window.get_by_role("button", name=f"Copy link {xss}").click()
    expect(window.get_by_role("status")).to_have_text("Link copied")
    url = read_clipboard(host)

    window.get_by_role("button", name=f"Delete link {xss}").click()
    confirm = tool.get_by_role("alertdialog", name="Delete link?")
    expect(confirm).to_contain_text("Deleted links can't be restored.")
    expect(confirm.get_by_role("button", name="Cancel")).to_be_focused()
    assert_accessible(host)
    confirm.get_by_role("button", name="Delete").click()
    expect(row).to_have_count(0)
    expect(window.get_by_text("1 link", exact=True)).to_be_visible()

    guest = new_page(**US_ENGLISH)
    guest.goto(url)
    expect(guest.get_by_role("heading", level=1)).to_have_text("This link is no longer valid")
    save_screenshot(guest, "link-no-longer-valid", height=260)
    assert_accessible(guest)

    # Where copying is blocked altogether, the link is offered selected in a field instead.
    tool.locator("body").evaluate(
        "() => { Object.defineProperty(navigator, 'clipboard', {value: undefined});"
        " document.execCommand = () => false; }"
    )
    window.get_by_role("button", name="Copy link Open day").click()
    field = window.get_by_role("textbox", name="Link for Open day")
    expect(field).to_be_focused()
    expect(window.get_by_text("Copying is blocked here")).to_have_count(1)  # its help, said once
    value = field.input_value()
    assert value.startswith(fresh_tool_server.tool_url + "/g/")
    assert field.evaluate("el => el.value.substring(el.selectionStart, el.selectionEnd)") == value
    assert problems == []


def test_guest_admitted_before_the_start_enters_when_live_and_can_be_removed(new_page, fresh_tool_server):
    host, tool, host_problems = instructor(new_page, fresh_tool_server)
    url = flow_1(host, fresh_tool_server)
    close_guest_access(tool)

    tool.get_by_role("button", name="More actions").click()
    tool.get_by_role("menuitem", name="Room settings").click()
    settings = tool.get_by_role("dialog", name="Room settings")
    assert_accessible(host)
    settings.get_by_role("checkbox", name="Guests must be admitted by a moderator").click()
    settings.get_by_role("button", name="Save").click()  # every setting waits for Save (one rule)
    expect(settings.get_by_text("Guests now enter without waiting.")).to_be_visible()
    settings.get_by_role("button", name="Close").click()

    guest = new_page(**US_ENGLISH)
    problems = watch_problems(guest)
    join_as_guest(guest, url, "Grace Guest")
    state = guest.locator("#session-state")
    expect(state).to_have_text("You're in. The session starts when the host begins it — keep this page open.")
    expect(guest.get_by_role("log")).to_be_hidden()

    start_session(tool)
    expect(state).to_have_text("The session is live")  # by itself, no reload
    guest.get_by_role("textbox", name="Message").fill("Made it <b>in time</b>")
    guest.get_by_role("button", name="Send").click()
    message = tool.get_by_role("log").get_by_role("listitem").filter(has_text="Grace Guest")
    expect(message.locator(".chat-body")).to_have_text("Made it <b>in time</b>")  # as text, not markup

    tool.get_by_role("button", name="Remove Grace Guest").click()
    confirm_in_tool(tool, "Remove Grace Guest?", "Remove")
    expect(guest.get_by_role("heading", name="The host removed you from this session")).to_be_focused()
    expect(guest.locator("#closed-message")).to_have_text("You can come back through the link you were given.")
    assert_accessible(guest)
    assert host_problems == problems == []
