"""Flow 5: the media page inside the LMS's cross-site iframe, and who sees "Manage guest access"."""

from __future__ import annotations

import pytest

from .helpers import launch_from_course, origin, save_screenshot

expect = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed").expect


def csp_directives(header: str) -> dict[str, str]:
    return {part.strip().split(" ", 1)[0]: part.strip().partition(" ")[2] for part in header.split(";")}


def is_launch_post(response) -> bool:
    return response.request.method == "POST" and response.url.endswith("/lti/launch")


def test_student_launch_renders_in_the_cross_site_iframe_without_manage_guest_access(page, tool_server):
    with page.expect_response(is_launch_post) as launched:
        frame = launch_from_course(page, tool_server, "student")

    assert origin(page.url) == tool_server.lms_url
    assert origin(frame.url) == tool_server.tool_url
    assert launched.value.status == 200
    # Only the registered platform (the demo LMS's origin) may frame the tool; never '*'.
    assert csp_directives(launched.value.headers["content-security-policy"])["frame-ancestors"] == tool_server.lms_url
    tool = page.frame_locator("#tool-frame")
    expect(tool.get_by_role("heading", level=1)).to_have_text("Weekly seminar room")
    expect(tool.get_by_text("Signed in as Sam Student")).to_be_visible()

    tool.get_by_role("button", name="More actions").click()
    expect(tool.get_by_role("menu")).to_be_visible()
    expect(tool.get_by_role("menuitem")).to_have_text(["Room details"])
    expect(tool.get_by_role("menuitem", name="Manage guest access")).to_have_count(0)
    tool.get_by_role("menuitem", name="Room details").click()
    details = tool.get_by_role("dialog", name="Room details")
    expect(details.locator("dd").nth(2)).to_have_text("Student")  # the course's word, not "viewer"


def test_instructor_sees_manage_guest_access_in_the_three_dots_menu(page, tool_server):
    launch_from_course(page, tool_server, "instructor")
    tool = page.frame_locator("#tool-frame")

    tool.get_by_role("button", name="More actions").click()
    expect(tool.get_by_role("button", name="More actions")).to_have_attribute("aria-expanded", "true")
    expect(tool.get_by_role("menuitem")).to_have_text(
        ["Manage guest access", "Invite users", "Room settings", "Room details"]
    )
    for item in tool.get_by_role("menuitem").all():  # at the top of the tool: the frame cuts nothing off
        expect(item).to_be_in_viewport(ratio=1)

    tool.get_by_role("menuitem", name="Manage guest access").click()
    expect(tool.get_by_role("dialog", name="Manage guest access")).to_be_visible()


def test_room_details_dialog_names_the_room_course_and_role(page, tool_server):
    launch_from_course(page, tool_server, "ta")
    tool = page.frame_locator("#tool-frame")

    tool.get_by_role("button", name="More actions").click()
    tool.get_by_role("menuitem", name="Room details").click()
    dialog = tool.get_by_role("dialog", name="Room details")
    expect(dialog).to_be_visible()
    expect(dialog.locator("dd")).to_have_text(
        ["Weekly seminar room", "DEMO 101: Trying the guest-access tool", "Moderator"]
    )
    save_screenshot(page, "room-details")

    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()
    expect(tool.get_by_role("button", name="More actions")).to_be_focused()
