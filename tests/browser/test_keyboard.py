"""Flow 7 (the part that exists now): the media page inside the LMS iframe, by keyboard only.

WAI-ARIA menu button pattern: Enter, Space or ArrowDown open the menu on its first item, ArrowUp on
its last; arrows move and wrap; Escape closes and gives focus back to the button; a dialog opened
from the menu gives focus back to the button when it closes.
"""

from __future__ import annotations

import pytest

from .helpers import launch_from_course

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
    details = tool.get_by_role("menuitem", name="Room details")

    tab_to(page, button)  # from the LMS page into the cross-site iframe
    expect(menu).to_be_hidden()

    page.keyboard.press("Enter")
    expect(menu).to_be_visible()
    expect(button).to_have_attribute("aria-expanded", "true")
    expect(manage).to_be_focused()
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
