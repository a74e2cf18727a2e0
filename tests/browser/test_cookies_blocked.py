"""Flow 6: the launch inside the LMS iframe when the browser refuses the tool's cookies there.

Three browsers, from kind to strict:
- third-party cookies blocked (Chrome's setting): the partitioned (CHIPS) state cookie still binds the launch;
- every cookie of the tool refused inside the LMS page (Safari-like): the state travels through the
  LMS's postMessage storage (lti.put_data / lti.get_data) and the launch is bound by /lti/launch/bind;
  (also when the LMS page starts listening late: the tool asks again until answered);
- same, and the LMS does not answer postMessage storage: the tool offers "Open in a new window", which works.

Cookie settings are profile preferences, so each test starts Chromium with a fresh profile that holds them.
"""

from __future__ import annotations

import pytest

from .helpers import allow_clipboard, axe_violations, describe, flow_1, launch_from_course

expect = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed").expect

BLOCK_THIRD_PARTY_COOKIES = {"profile": {"cookie_controls_mode": 1}}

# Sets one ordinary and one partitioned cross-site cookie from the tool's frame; returns what stuck.
COOKIE_PROBE = """() => {
  document.cookie = "unpartitioned=1; SameSite=None; Secure; Path=/";
  document.cookie = "partitioned=1; SameSite=None; Secure; Path=/; Partitioned";
  return document.cookie;
}"""


def refuse_tool_cookies_inside_lms(server) -> dict:
    """Chromium's per-site cookie exception: block the tool's cookies when the LMS is the top-level site."""
    pattern = f"{server.tool_url},{server.lms_url}"
    return {"profile": {"content_settings": {"exceptions": {"cookies": {pattern: {"setting": 2}}}}}}


def record_tool_posts(page, server) -> list:
    posts = []
    page.on("request", lambda r: posts.append(r) if r.method == "POST" and r.url.startswith(server.tool_url) else None)
    return posts


def paths(requests) -> list[str]:
    return [r.url.split("?")[0].removeprefix(r.url.split("/lti/")[0]) for r in requests]


def test_third_party_cookies_blocked_launch_binds_with_the_partitioned_state_cookie(persistent_page, tool_server):
    page = persistent_page(BLOCK_THIRD_PARTY_COOKIES)
    posts = record_tool_posts(page, tool_server)

    frame = launch_from_course(page, tool_server, "instructor")

    assert frame.evaluate(COOKIE_PROBE) == "partitioned=1", "the browser should refuse unpartitioned cookies"
    assert paths(posts) == ["/lti/launch"]
    assert "lti1p3_" in posts[0].all_headers().get("cookie", "")
    tool = page.frame_locator("#tool-frame")
    tool.get_by_role("button", name="More actions").click()
    expect(tool.get_by_role("menuitem", name="Manage guest access")).to_be_visible()


def test_third_party_cookies_blocked_the_whole_flow_1_works_after_the_launch(persistent_page, fresh_tool_server):
    page = persistent_page(BLOCK_THIRD_PARTY_COOKIES, locale="en-US", timezone_id="UTC")
    allow_clipboard(page, fresh_tool_server)
    frame = launch_from_course(page, fresh_tool_server, "instructor")
    assert frame.evaluate(COOKIE_PROBE) == "partitioned=1", "the browser should refuse unpartitioned cookies"

    url = flow_1(page, fresh_tool_server)

    response = page.context.request.get(url)  # the link works: its entry page
    assert response.status == 200 and "Weekly seminar room" in response.text()


def test_all_tool_cookies_refused_launch_binds_through_lms_postmessage_storage(persistent_page, tool_server):
    page = persistent_page(refuse_tool_cookies_inside_lms(tool_server))
    posts = record_tool_posts(page, tool_server)

    frame = launch_from_course(page, tool_server, "instructor")

    assert frame.evaluate(COOKIE_PROBE) == "", "the browser should refuse every cookie of the tool"
    assert page.context.cookies(tool_server.tool_url) == []
    assert paths(posts) == ["/lti/launch", "/lti/launch/bind"]
    assert "cookie" not in posts[0].all_headers()
    assert posts[1].response().status == 200
    tool = page.frame_locator("#tool-frame")
    expect(tool.get_by_role("heading", level=1)).to_have_text("Weekly seminar room")
    tool.get_by_role("button", name="More actions").click()
    expect(tool.get_by_role("menuitem", name="Manage guest access")).to_be_visible()


def test_all_tool_cookies_refused_and_an_lms_that_listens_late_still_binds(persistent_page, tool_server):
    """A platform page whose storage listener starts after the tool's frame sent its first message."""
    page = persistent_page(refuse_tool_cookies_inside_lms(tool_server))
    posts = record_tool_posts(page, tool_server)

    def late_listener(route):
        original = route.fetch()
        route.fulfill(response=original, body=f"setTimeout(function () {{\n{original.text()}\n}}, 800);")

    page.context.route(f"{tool_server.lms_url}/static/demo_lms.js", late_listener)

    launch_from_course(page, tool_server, "instructor")

    assert paths(posts) == ["/lti/launch", "/lti/launch/bind"]


def test_all_tool_cookies_refused_and_no_lms_storage_offers_a_new_window_that_works(persistent_page, tool_server):
    page = persistent_page(refuse_tool_cookies_inside_lms(tool_server))
    # An LMS without postMessage storage: its page script never loads.
    page.context.route(f"{tool_server.lms_url}/static/demo_lms.js", lambda route: route.fulfill(body=""))

    page.goto(tool_server.course_url("instructor"))
    link = page.frame_locator("#tool-frame").get_by_role("link", name="Open in a new window")
    expect(link).to_be_visible(timeout=20_000)  # after the tool waited 2 s for each of put_data and get_data
    expect(link).to_have_attribute("target", "_blank")
    violations = axe_violations(page)
    assert not violations, describe(violations)
    # What the click does: a new top-level window at the link. (Clicking it for real works too, but a
    # popup opened from a cross-site iframe of a persistent-profile Chromium reaches Playwright ~30 s late.)
    window = page.context.new_page()
    window.goto(link.get_attribute("href"))

    expect(window.get_by_role("heading", level=1)).to_have_text("Weekly seminar room")
    window.get_by_role("button", name="More actions").click()
    expect(window.get_by_role("menuitem", name="Manage guest access")).to_be_visible()


# Abandoned logins from inside the tool's frame (same partition as a real launch): each sets a state
# cookie and goes no further, as when the tab is closed between login and launch.
ABANDON_LOGINS = """async ([url, count]) => {
  for (let i = 0; i < count; i++) {
    const response = await fetch(url, {credentials: "include"});
    if (!response.ok) return response.status;
  }
  return 200;
}"""


def state_cookies(header: str) -> list[str]:
    return [c.strip() for c in header.split(";") if c.strip().startswith("lti1p3_")]


def test_third_party_cookies_blocked_launches_and_abandoned_logins_keep_the_cookie_header_small(
    persistent_page, tool_server
):
    """Issue 15 §1: every launch used to leave its state cookie behind; the 16th answered 431."""
    from lti_tool.lti.views import MAX_STATE_COOKIES

    page = persistent_page(BLOCK_THIRD_PARTY_COOKIES)
    posts = record_tool_posts(page, tool_server)

    for n in range(1, 21):
        frame = launch_from_course(page, tool_server, "instructor")
        assert paths(posts[-1:]) == ["/lti/launch"], n  # bound by its cookie: no platform-storage bind
        sent = posts[-1].all_headers().get("cookie", "")
        assert len(state_cookies(sent)) == 1, (n, sent)  # its own; the earlier launches deleted theirs
    assert frame.evaluate(COOKIE_PROBE) == "partitioned=1", "the browser should refuse unpartitioned cookies"

    login_url = page.locator("#tool-frame").get_attribute("src")
    assert frame.evaluate(ABANDON_LOGINS, [login_url, 50]) == 200
    launch_from_course(page, tool_server, "instructor")
    assert paths(posts[-1:]) == ["/lti/launch"]
    sent = posts[-1].all_headers().get("cookie", "")
    assert 1 <= len(state_cookies(sent)) <= MAX_STATE_COOKIES, sent
    assert len(sent) < 2048, len(sent)
    tool = page.frame_locator("#tool-frame")
    expect(tool.get_by_role("heading", level=1)).to_have_text("Weekly seminar room")
