"""Issue 15, section 3, as the instructor and a guest see it: turning "Guests must be admitted" off
lets the waiting guest in at once (and says so), and guests see the instructor by name but the
students only as a number, until the instructor shows every name."""

from __future__ import annotations

import re

import pytest

from .helpers import assert_accessible, flow_1, join_as_guest, launch_from_course, start_session, watch_problems
from .test_flows import US_ENGLISH, WAITING, close_guest_access, instructor

expect = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed").expect


def open_settings(tool):
    tool.get_by_role("button", name="More actions").click()
    tool.get_by_role("menuitem", name="Room settings").click()
    return tool.get_by_role("dialog", name="Room settings")


def test_waiting_guest_let_in_by_the_switch_sees_the_instructor_and_a_count(new_page, fresh_tool_server):
    host, tool, host_problems = instructor(new_page, fresh_tool_server)
    url = flow_1(host, fresh_tool_server)
    close_guest_access(tool)
    start_session(tool)
    student = new_page(**US_ENGLISH)
    launch_from_course(student, fresh_tool_server, "student")
    participants = tool.get_by_role("region", name=re.compile("^Participants"))
    expect(participants).to_contain_text("Sam Student")

    guest = new_page(**US_ENGLISH)
    problems = watch_problems(guest)
    join_as_guest(guest, url, "Gina Guest")
    expect(guest.get_by_role("status")).to_have_text(WAITING)

    settings = open_settings(tool)
    settings.get_by_role("checkbox", name="Guests must be admitted by a moderator").click()
    settings.get_by_role("button", name="Save").click()  # every setting waits for Save (one rule)
    expect(settings.get_by_text("Guests now enter without waiting. 1 waiting guest was let in.")).to_be_visible()
    expect(guest.get_by_text("You are a guest: Gina Guest")).to_be_visible()  # by itself, no reload

    seen = guest.get_by_role("region", name=re.compile("^Participants"))
    expect(seen.get_by_role("listitem")).to_have_text([re.compile("^Ada Instructor"), "1 other participant"])
    expect(seen).not_to_contain_text("Sam Student")

    settings.get_by_role("checkbox", name="Show participant names to guests").check()
    settings.get_by_role("button", name="Save").click()
    expect(settings.get_by_text("Saved.")).to_be_visible()
    assert_accessible(host)
    expect(seen.get_by_role("listitem")).to_have_text([re.compile("^Ada Instructor"), "Sam Student"])
    assert host_problems == problems == []
