"""The demo LMS at /demo: a course page that launches the tool in an iframe through the real
OIDC flow (login → /demo/oidc_auth → auto-post → /lti/launch), loopback only."""

from __future__ import annotations

import html as htmllib
import re
from urllib.parse import urlsplit

import pytest

from lti_tool.config import ConfigError
from tests.sakai import auth_url_from

BASE = "http://localhost:5000"


@pytest.fixture
def demo_app(make_app):
    return make_app(demo=True, base_url=BASE)


def path_of(url: str) -> str:
    parts = urlsplit(htmllib.unescape(url))
    assert f"{parts.scheme}://{parts.netloc}" == BASE, url
    return parts.path + ("?" + parts.query if parts.query else "")


def demo_launch(client, user: str, room: str = "room") -> str:
    """What the browser does inside the demo course page's iframe."""
    course = client.get("/demo/", query_string={"as": user, "room": room})
    assert course.status_code == 200
    iframe_src = re.search(r'<iframe id="tool-frame"[^>]* src="([^"]+)"', course.get_data(as_text=True)).group(1)
    login = client.get(path_of(iframe_src))
    auth = client.get(path_of(auth_url_from(login)))
    assert auth.status_code == 200, auth.get_data(as_text=True)[:300]
    page = auth.get_data(as_text=True)
    action = re.search(r'<form id="autopost" method="post" action="([^"]+)"', page).group(1)
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page))
    launched = client.post(path_of(action), data=fields)
    assert launched.status_code == 200, launched.get_data(as_text=True)[:500]
    return launched.get_data(as_text=True)


def test_course_page_frames_the_tool_login(demo_app):
    response = demo_app.test_client().get("/demo/")
    html = response.get_data(as_text=True)
    assert '<iframe id="tool-frame"' in html
    assert f'src="{BASE}/lti/login?iss=' in html
    assert f"frame-src 'self' {BASE}" in response.headers["Content-Security-Policy"]


def test_course_page_delegates_what_sakai_delegates_and_nothing_more(demo_app):
    """Sakai's portal frame: `allow="camera; microphone"` (no display-capture, autoplay, clipboard)."""
    html = demo_app.test_client().get("/demo/").get_data(as_text=True)
    frame = re.search(r'<iframe id="tool-frame"[^>]*>', html).group(0)
    assert re.findall(r'\ballow="([^"]*)"', frame) == ["camera; microphone"]


@pytest.mark.parametrize(
    ("user", "role", "manages"),
    [("instructor", "Host", True), ("ta", "Moderator", True), ("student", "Student", False)],
)
def test_demo_launch_reaches_the_media_page(demo_app, user, role, manages):
    html = demo_launch(demo_app.test_client(), user)
    assert "Weekly seminar room" in html
    assert f"<dt>Your role</dt><dd>{role}</dd>" in html
    assert ("Manage guest access" in html) is manages


def test_demo_gallery_placement_has_no_guest_access(demo_app):
    html = demo_launch(demo_app.test_client(), "instructor", room="gallery")
    assert "Course media gallery" in html
    assert "Manage guest access" not in html
    assert "not available for media gallery rooms" in html


def test_demo_pages_may_frame_the_tool(demo_app):
    client = demo_app.test_client()
    login = client.get(
        "/lti/login",
        query_string={"iss": BASE + "/demo", "login_hint": "x", "client_id": "demo-client"},
    )
    assert BASE in login.headers["Content-Security-Policy"].split("frame-ancestors")[1]


def test_demo_keyset_is_public(demo_app):
    body = demo_app.test_client().get("/demo/keyset").json
    assert [k["kid"] for k in body["keys"]] == ["605831764"]
    assert "d" not in body["keys"][0]


def test_demo_oidc_auth_requires_state_nonce_and_login_hint(demo_app):
    response = demo_app.test_client().get("/demo/oidc_auth", query_string={"state": "s"})
    assert response.status_code == 400
    assert response.json["error"] == "invalid_request"


def test_demo_refuses_a_non_loopback_base_url(make_app):
    with pytest.raises(ConfigError, match="demo mode only runs on a loopback address"):
        make_app(demo=True, base_url="https://tool.example.edu")


def test_demo_is_not_mounted_without_the_flag(client):
    assert client.get("/demo/").status_code == 404
