"""In a real browser: fill the entry form, wait, and enter automatically when a moderator admits
(or see the declined page) — no reload by the guest, no CSP violation on the way."""

from __future__ import annotations

import shutil

import pytest

from tests.guest.conftest import add_link
from tests.guest.test_concurrency import Server

pytestmark = pytest.mark.browser


@pytest.fixture
def chromium():
    sync_api = pytest.importorskip("playwright.sync_api")
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if not executable:
        pytest.skip("needs Chromium")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def server(app):
    running = Server(app)
    yield running
    running.close()


def open_and_join(chromium, server, token, name):
    page = chromium.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if "Refused" in msg.text else None)
    page.goto(f"{server.url}/g/{token}")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Email").fill("guest@example.org")
    page.get_by_role("button", name="Join").click()
    page.get_by_role("status").filter(has_text="Waiting for a moderator to let you in").wait_for()
    assert "/g/room/" in page.url and token not in page.url
    return page, problems


def guest_id(app, host, name):
    listed = app.test_client().get(f"/api/rooms/{host.room_id}/guests/waiting", headers=host.headers).get_json()
    return next(g["id"] for g in listed["guests"] if g["name"] == name)


def test_guest_enters_by_themselves_when_admitted(app, host, chromium, server):
    token = add_link(app, host.room_id)
    page, problems = open_and_join(chromium, server, token, "Browser Guest")
    app.test_client().post(
        f"/api/rooms/{host.room_id}/guests/{guest_id(app, host, 'Browser Guest')}/admit", headers=host.headers
    )
    page.get_by_text("You are a guest").wait_for(timeout=6000)
    assert page.locator("#room-title").inner_text() == "Weekly seminar"
    assert problems == []


def test_guest_sees_the_declined_page_by_themselves(app, host, chromium, server):
    token = add_link(app, host.room_id)
    page, problems = open_and_join(chromium, server, token, "Declined Guest")
    app.test_client().post(
        f"/api/rooms/{host.room_id}/guests/{guest_id(app, host, 'Declined Guest')}/decline", headers=host.headers
    )
    page.get_by_role("heading", name="You were not admitted").wait_for(timeout=6000)
    assert problems == []
