"""Flow 7: the media page inside the LMS iframe, and flow 1 in it, by keyboard only.

WAI-ARIA menu button pattern: Enter, Space or ArrowDown open the menu on its first item, ArrowUp on
its last; arrows move and wrap; Escape closes and gives focus back to the button; a dialog opened
from the menu gives focus back to the button when it closes.
"""

from __future__ import annotations

import pytest

from .helpers import LINK, allow_clipboard, launch_from_course, read_clipboard

expect = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed").expect

MAX_TABS = 12


def tab_to(page, target) -> None:
    """Press Tab from the top of the LMS page until `target` has focus (bounded)."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if target.evaluate("el => el === document.activeElement && document.hasFocus()"):
            return
    raise AssertionError(f"{target} never got focus in {MAX_TABS} presses of Tab")


def test_menu_and_room_details_by_keyboard_only(page, tool_server):
    launch_from_course(page, tool_server, "instructor")
    tool = page.frame_locator("#tool-frame")
    button = tool.get_by_role("button", name="More actions")
    menu = tool.get_by_role("menu")
    manage = tool.get_by_role("menuitem", name="Manage guest access")
    invite = tool.get_by_role("menuitem", name="Invite users")
    settings = tool.get_by_role("menuitem", name="Room settings")
    details = tool.get_by_role("menuitem", name="Room details")

    tab_to(page, button)  # from the LMS page into the cross-site iframe
    expect(menu).to_be_hidden()

    page.keyboard.press("Enter")
    expect(menu).to_be_visible()
    expect(button).to_have_attribute("aria-expanded", "true")
    expect(manage).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(invite).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(settings).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(details).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(manage).to_be_focused()  # wraps
    page.keyboard.press("ArrowUp")
    expect(details).to_be_focused()
    page.keyboard.press("Home")
    expect(manage).to_be_focused()
    page.keyboard.press("End")
    expect(details).to_be_focused()
    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(button).to_be_focused()

    page.keyboard.press("Space")
    expect(manage).to_be_focused()
    page.keyboard.press("Escape")
    expect(button).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(manage).to_be_focused()
    page.keyboard.press("Escape")
    page.keyboard.press("ArrowUp")
    expect(details).to_be_focused()

    page.keyboard.press("Enter")
    dialog = tool.get_by_role("dialog", name="Room details")
    expect(dialog).to_be_visible()
    expect(menu).to_be_hidden()
    expect(dialog.get_by_role("button", name="Close")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(button).to_be_focused()


def test_tab_out_of_the_open_menu_closes_it(page, tool_server):
    launch_from_course(page, tool_server, "student")
    tool = page.frame_locator("#tool-frame")
    button = tool.get_by_role("button", name="More actions")

    tab_to(page, button)
    page.keyboard.press("Enter")
    expect(tool.get_by_role("menuitem", name="Room details")).to_be_focused()
    page.keyboard.press("Tab")
    expect(tool.get_by_role("menu")).to_be_hidden()
    expect(button).to_have_attribute("aria-expanded", "false")


def test_flow_1_by_keyboard_only(new_page, fresh_tool_server):
    """Manage guest access → switch on → Create new link (name, 5 clicks, 2 days) → copy → close,
    with Tab, Enter, Space and Escape; focus lands where the user expects at every step."""
    page = new_page(locale="en-US", timezone_id="UTC")
    allow_clipboard(page, fresh_tool_server)
    launch_from_course(page, fresh_tool_server, "instructor")
    tool = page.frame_locator("#tool-frame")
    button = tool.get_by_role("button", name="More actions")
    window = tool.get_by_role("dialog", name="Manage guest access")
    switch = window.get_by_role("switch", name="Enable guest access")
    create_button = window.get_by_role("button", name="Create new link")
    form = tool.get_by_role("dialog", name="Create new link")

    tab_to(page, button)
    page.keyboard.press("Enter")
    expect(tool.get_by_role("menuitem", name="Manage guest access")).to_be_focused()
    page.keyboard.press("Enter")
    expect(window).to_be_visible()
    expect(window.get_by_role("button", name="Close")).to_be_focused()
    expect(switch).to_be_enabled()  # the links have loaded

    page.keyboard.press("Tab")
    expect(switch).to_be_focused()
    page.keyboard.press("Space")
    expect(switch).to_be_checked()
    expect(create_button).to_be_enabled()
    expect(switch).to_be_focused()

    page.keyboard.press("Tab")
    expect(create_button).to_be_focused()
    page.keyboard.press("Enter")
    expect(form.get_by_label("Link Name")).to_be_focused()
    page.keyboard.type(LINK)
    page.keyboard.press("Tab")
    expect(form.get_by_label("Max. number of guests who can join")).to_be_focused()
    page.keyboard.type("5")
    page.keyboard.press("Tab")
    expect(form.get_by_label("Expires after")).to_be_focused()
    page.keyboard.type("2")
    page.keyboard.press("Enter")
    expect(form).to_be_hidden()
    row = window.get_by_role("row", name=LINK)
    expect(row.get_by_role("cell").nth(2)).to_have_text("0 of 5")
    expect(create_button).to_be_focused()

    page.keyboard.press("Tab")
    copy = row.get_by_role("button", name=f"Copy link {LINK}")
    expect(copy).to_be_focused()
    page.keyboard.press("Enter")
    expect(window.get_by_role("status")).to_have_text("Link copied")
    assert read_clipboard(page).startswith(fresh_tool_server.tool_url + "/g/")

    page.keyboard.press("Escape")
    expect(window).to_be_hidden()
    expect(button).to_be_focused()
