"""The live page in a real browser: a guest waiting for the start enters by itself when the host
starts, chats (shown as text), and sees the removed page when a moderator removes them.

Needs Playwright and a Chromium (`CHROMIUM_PATH`, default /usr/lib/chromium/chromium); skipped otherwise.
"""

from __future__ import annotations

import os
import shutil
import threading

import pytest
from flask import render_template_string
from werkzeug.serving import make_server

from lti_tool.extensions import db
from lti_tool.models import Room as RoomRow

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/lib/chromium/chromium")
GUEST_PAGE = (
    '{% extends "base.html" %}{% block content %}'
    '{% include "session/_live.html" ignore missing with context %}{% endblock %}'
)


@pytest.fixture
def app(make_app):
    app = make_app()
    pages: dict[str, str] = {}
    app.config["TEST_PAGES"] = pages
    # Stand-ins for the pages that open the live UI: the captured launch page, and a guest page
    # like the guest journey's (which includes session/_live.html with viewer_kind="guest").
    app.add_url_rule("/test-pages/<name>", "test_page", lambda name: pages[name])
    app.add_url_rule(
        "/test-guest/<room_id>",
        "test_guest_page",
        lambda room_id: render_template_string(GUEST_PAGE, room=db.session.get(RoomRow, room_id), viewer_kind="guest"),
    )
    return app


@pytest.fixture
def server(app):
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM}")
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()


def test_guest_enters_when_live_chats_as_text_and_sees_the_removed_page(room, server):
    room.app.config["TEST_PAGES"]["host"] = room.host.html
    guest = room.guest(name="Grace Guest")
    cookie = guest.client.get_cookie("guest_session").value
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            host = browser.new_page()
            host.on("dialog", lambda d: d.accept())
            host.goto(server + "/test-pages/host")
            guest_context = browser.new_context()
            guest_context.add_cookies([{"name": "guest_session", "value": cookie, "url": server}])
            page = guest_context.new_page()
            page.goto(f"{server}/test-guest/{room.id}")
            state = page.locator("#session-state")
            sync_api.expect(state).to_have_text("The session hasn't started yet")
            assert page.locator("#live-panels").is_hidden()

            host.locator("#start-session").click()
            sync_api.expect(state).to_have_text("The session is live", timeout=8000)  # no reload
            page.locator("#chat-input").fill("<script>alert(1)</script>")
            page.locator("#chat-input").press("Enter")
            message = host.locator(".chat-message").first
            sync_api.expect(message.locator(".chat-body")).to_have_text("<script>alert(1)</script>", timeout=8000)
            sync_api.expect(message.locator(".badge")).to_have_text("Guest")
            sync_api.expect(host.locator("#participants-list")).not_to_contain_text("Grace Guest")

            host.get_by_role("button", name="Remove Grace Guest").click()
            sync_api.expect(page.locator("#closed-message")).to_have_text(
                "A moderator removed you from this session.", timeout=8000
            )
            assert guest_context.cookies() == []
        finally:
            browser.close()
