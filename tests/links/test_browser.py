"""The "Manage guest access" window in a real browser: the demo LMS launches the tool in an iframe,
and the host turns guest access on, creates, copies and deletes links with the keyboard and mouse.

Needs Playwright and a Chromium (`CHROMIUM` or /usr/bin/chromium); skipped otherwise.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading

import pytest
from werkzeug.serving import make_server

from lti_tool.extensions import db

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.browser

XSS = "<img src=x onerror=alert(1)>"


def chromium_path() -> str | None:
    for candidate in (os.environ.get("CHROMIUM"), "/usr/lib/chromium/chromium", shutil.which("chromium")):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def demo_server(tmp_path, tool_keys_dir):
    from lti_tool import create_app

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = create_app(
        {
            "TESTING": True,
            "config": {"tool": {"title": "Guest access for rooms", "base_url": base}},
            "database_url": f"sqlite:///{tmp_path / 'browser.sqlite3'}",
            "demo": True,
            "KEYS_DIR": str(tool_keys_dir),
        }
    )
    with app.app_context():
        db.create_all()
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield base
    server.shutdown()
    server.server_close()


@pytest.fixture
def browser():
    path = chromium_path()
    if not path:
        pytest.skip("no Chromium found")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=["--no-sandbox"])
        yield browser
        browser.close()


def open_window(browser, base, *, clipboard: bool):
    context = browser.new_context(locale="en-US")
    if clipboard:
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda dialog: errors.append("alert: " + dialog.message) or dialog.dismiss())
    page.goto(base + "/demo/?as=instructor")
    frame = page.frame_locator("#tool-frame")
    frame.get_by_role("button", name="More actions").click()
    frame.get_by_role("menuitem", name="Manage guest access").click()
    window = frame.get_by_role("dialog", name="Manage guest access")
    sync_api.expect(window.get_by_text("No links added")).to_be_visible()
    return page, frame, window, errors


def create(frame, window, name, clicks="", days=""):
    window.get_by_role("button", name="Create new link").click()
    form = frame.get_by_role("dialog", name="Create new link")
    form.get_by_label("Link Name").fill(name)
    form.get_by_label("# of clicks").fill(clicks)
    form.get_by_label("Duration").fill(days)
    form.get_by_role("button", name="Create", exact=True).click()
    return form


def test_host_manages_links_in_the_browser(browser, demo_server):
    page, frame, window, errors = open_window(browser, demo_server, clipboard=True)
    expect = sync_api.expect
    create_button = window.get_by_role("button", name="Create new link")
    expect(create_button).to_be_disabled()
    expect(window.get_by_text("Turn on Enable guest access to create a link.")).to_be_visible()

    window.get_by_role("switch", name="Enable guest access").check()
    expect(create_button).to_be_enabled()

    # A server-side refusal shows beside the field and keeps what was typed.
    form = create(frame, window, "Guest speakers", clicks="0", days="7")
    expect(form.get_by_text("# of clicks must be a whole number from 1 to 10,000")).to_be_visible()
    expect(form.get_by_label("Link Name")).to_have_value("Guest speakers")
    expect(form.get_by_label("# of clicks")).to_have_attribute("aria-invalid", "true")
    form.get_by_label("# of clicks").fill("10")
    form.get_by_role("button", name="Create", exact=True).click()
    expect(form).to_be_hidden()

    expect(window.get_by_text("1 link", exact=True)).to_be_visible()
    row = window.get_by_role("row", name="Guest speakers")
    expect(row.get_by_role("cell").nth(2)).to_have_text("0 of 10")
    expect(row.locator("time")).to_have_text(re.compile(r"^[A-Z][a-z]+ \d{1,2}, \d{4}$"))  # en-US, long date
    expect(row.locator("time")).to_have_attribute("title", re.compile(r"\d{1,2}:\d{2}:\d{2}"))
    expect(window.get_by_role("status")).to_have_text("Link “Guest speakers” created.")

    # Keyboard: the create window opens on the name field; Escape returns to "Create new link".
    create_button.click()
    expect(frame.get_by_label("Link Name")).to_be_focused()
    page.keyboard.press("Escape")
    expect(create_button).to_be_focused()

    create(frame, window, XSS)
    expect(window.get_by_text("2 links", exact=True)).to_be_visible()
    xss_row = window.get_by_role("row", name=XSS)
    expect(xss_row.get_by_role("cell").first).to_have_text(XSS)
    expect(xss_row.get_by_role("cell").nth(1)).to_have_text("Never")
    expect(xss_row.get_by_role("cell").nth(2)).to_have_text("unlimited")

    window.get_by_role("button", name="Copy link Guest speakers").click()
    expect(window.get_by_role("status")).to_have_text("Link copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith(demo_server + "/g/") and len(copied) > len(demo_server) + 40

    window.get_by_role("button", name="Delete link " + XSS).click()
    confirm = frame.get_by_role("alertdialog", name="Delete link?")
    expect(confirm).to_contain_text("Deleted links can't be restored.")
    confirm.get_by_role("button", name="Delete").click()
    expect(window.get_by_text("1 link", exact=True)).to_be_visible()
    expect(window.get_by_role("row", name=XSS)).to_have_count(0)

    window.get_by_role("switch", name="Enable guest access").click()
    off = frame.get_by_role("alertdialog", name="Turn off guest access?")
    expect(off).to_contain_text("Guests already inside stay until they refresh or leave.")
    off.get_by_role("button", name="Turn off").click()
    expect(window.get_by_role("switch", name="Enable guest access")).not_to_be_checked()
    expect(row).to_contain_text("inactive")
    expect(create_button).to_be_disabled()
    if os.environ.get("SCREENSHOT"):
        page.screenshot(path=os.environ["SCREENSHOT"], full_page=True)
    assert errors == []


def test_copy_falls_back_to_a_selected_field_without_the_clipboard(browser, demo_server):
    _page, frame, window, errors = open_window(browser, demo_server, clipboard=False)
    window.get_by_role("switch", name="Enable guest access").check()
    create(frame, window, "Parents")
    # Take the clipboard away, as some iframes do.
    frame.locator("body").evaluate("() => Object.defineProperty(navigator, 'clipboard', {value: undefined})")
    window.get_by_role("button", name="Copy link Parents").click()
    field = window.get_by_role("textbox", name="Link for Parents")
    sync_api.expect(field).to_be_visible()
    sync_api.expect(field).to_be_focused()
    value = field.input_value()
    assert value.startswith(demo_server + "/g/")
    selected = field.evaluate("el => el.value.substring(el.selectionStart, el.selectionEnd)")
    assert selected == value
    assert errors == []
