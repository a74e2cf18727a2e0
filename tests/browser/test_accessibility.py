"""axe-core on what exists now: the demo course page with the tool inside, the media page for host and
viewer, its menu and Room details dialog, and the error pages. No serious or critical violation."""

from __future__ import annotations

import pytest

from .helpers import assert_accessible, launch_from_course

expect = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed").expect


@pytest.mark.parametrize("as_", ["instructor", "student"])
def test_course_page_with_the_media_page_inside(page, tool_server, as_):
    launch_from_course(page, tool_server, as_)
    assert_accessible(page)


def test_menu_open_and_room_details_dialog(page, tool_server):
    launch_from_course(page, tool_server, "instructor")
    tool = page.frame_locator("#tool-frame")

    tool.get_by_role("button", name="More actions").click()
    expect(tool.get_by_role("menu")).to_be_visible()
    assert_accessible(page)

    tool.get_by_role("menuitem", name="Room details").click()
    expect(tool.get_by_role("dialog", name="Room details")).to_be_visible()
    assert_accessible(page)


def test_manage_guest_access_dialog(page, tool_server):
    launch_from_course(page, tool_server, "instructor")
    tool = page.frame_locator("#tool-frame")
    tool.get_by_role("button", name="More actions").click()
    tool.get_by_role("menuitem", name="Manage guest access").click()
    expect(tool.get_by_role("dialog", name="Manage guest access")).to_be_visible()
    assert_accessible(page)


def test_launch_error_page(page, tool_server):
    """A launch with a forged id_token: the tool refuses with a page in plain words."""
    page.goto(tool_server.tool_url + "/healthz")
    with page.expect_navigation() as navigation:
        page.evaluate(
            """(action) => {
              const form = Object.assign(document.createElement("form"), {method: "post", action});
              for (const [name, value] of [["id_token", "not.a.token"], ["state", "nope"]]) {
                form.append(Object.assign(document.createElement("input"), {type: "hidden", name, value}));
              }
              document.body.append(form);
              form.submit();
            }""",
            tool_server.tool_url + "/lti/launch",
        )
    assert navigation.value.status == 400
    expect(page.get_by_role("heading", level=1)).to_have_text("This tool could not be opened")
    assert_accessible(page)


@pytest.mark.parametrize("path", ["/lti/login", "/no-such-page"])
def test_message_pages(page, tool_server, path):
    response = page.goto(tool_server.tool_url + path)
    assert response.status in (400, 404)
    assert_accessible(page)
