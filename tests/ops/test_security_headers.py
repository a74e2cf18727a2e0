"""Security headers on every route's answers, successes and refusals alike.

The routes are read from `app.url_map`, so routes that other packages add later are walked too.
Each route is requested for every method it accepts, once without credentials and once with a
valid launch token (header and form field) over https, so both 2xx and error pages are checked.
"""

from __future__ import annotations

import dataclasses
import re

import pytest
from sqlalchemy import delete

from lti_tool.extensions import db
from lti_tool.models import Platform
from lti_tool.security import frame_ancestors_for_platforms
from tests.conftest import do_launch, tool_config

OTHER_PLATFORM = "https://lms.other.example"
SAKAI_ORIGIN = "https://sakai.test"
IGNORED_METHODS = {"HEAD", "OPTIONS"}
BOTH = {SAKAI_ORIGIN, OTHER_PLATFORM}


def csp_directives(response) -> dict[str, str]:
    csp = response.headers.get("Content-Security-Policy", "")
    return {part.split(" ", 1)[0]: part.split(" ", 1)[1] for part in (p.strip() for p in csp.split(";")) if " " in part}


def url_for_rule(rule, room_id: str | None) -> str:
    def value(match: re.Match) -> str:
        name = match.group(1).split(":")[-1]
        return room_id if name == "room_id" and room_id else "probe-" + name

    return re.sub(r"<([^>]+)>", value, rule.rule)


def is_lti_page(app, endpoint: str) -> bool:
    blueprint = endpoint.rsplit(".", 1)[0] if "." in endpoint else None
    return frame_ancestors_for_platforms in app.before_request_funcs.get(blueprint, [])


def assert_secure_headers(response, *, hsts: bool, expect_frame: set[str] | None, label: str) -> None:
    csp = csp_directives(response)
    assert csp, f"{label}: no Content-Security-Policy"
    assert csp.get("object-src") == "'none'", label
    assert csp.get("base-uri") == "'none'", label
    assert csp.get("script-src") == "'self'", label
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"], label
    ancestors = set(csp.get("frame-ancestors", "").split())
    assert ancestors, f"{label}: no frame-ancestors"
    assert "*" not in ancestors and not any("*" in a for a in ancestors), label
    if expect_frame is not None:
        assert ancestors == expect_frame, f"{label}: frame-ancestors {ancestors}"
    # Browsers that predate CSP's frame-ancestors get the same answer from X-Frame-Options.
    assert (response.headers.get("X-Frame-Options") == "DENY") == (ancestors == {"'none'"}), label
    assert response.headers.get("X-Content-Type-Options") == "nosniff", label
    assert response.headers.get("Referrer-Policy"), label
    assert ("Strict-Transport-Security" in response.headers) == hsts, label


def walk(app, client, *, token: str | None, room_id: str | None, https: bool, platforms: set[str]) -> set[int]:
    base = "https://tool.test" if https else "http://tool.test"
    statuses = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        url = url_for_rule(rule, room_id)
        for method in sorted(rule.methods - IGNORED_METHODS):
            headers = {"X-Launch-Token": token} if token else {}
            data = {"launch_token": token} if token and method != "GET" else None
            response = client.open(url, method=method, base_url=base, headers=headers, data=data)
            statuses.add(response.status_code)
            if url.startswith("/g/") or rule.endpoint == "platforms.register":
                expect = {"'none'"}  # guests' pages; a registration refused (no valid invitation here)
            elif is_lti_page(app, rule.endpoint):
                expect = platforms
            elif rule.endpoint.startswith("demo."):
                expect = {"'self'"}
            else:
                expect = {"'none'"}
            assert_secure_headers(
                response,
                hsts=https or https_base(app),
                expect_frame=expect,
                label=f"{method} {url} → {response.status_code}",
            )
    return statuses


def https_base(app) -> bool:
    return app.config["TOOL"].base_url.startswith("https://")


def add_other_platform(app) -> None:
    """A platform registered at run time (database), beside the one in config.json."""
    with app.app_context():
        db.session.add(
            Platform(
                issuer=OTHER_PLATFORM,
                client_id="other",
                auth_login_url=OTHER_PLATFORM + "/auth",
                auth_token_url=OTHER_PLATFORM + "/token",
                key_set_url=OTHER_PLATFORM + "/jwks",
                deployment_ids=["1"],
            )
        )
        db.session.commit()


@pytest.fixture
def walked_app(make_app, platform):
    app = make_app()
    add_other_platform(app)
    return app


def test_every_route_answers_with_security_headers_without_credentials(walked_app):
    statuses = walk(walked_app, walked_app.test_client(), token=None, room_id=None, https=False, platforms=BOTH)
    assert any(s >= 400 for s in statuses) and any(s < 400 for s in statuses), statuses


def test_every_route_answers_with_security_headers_with_a_valid_launch(walked_app, platform):
    client = walked_app.test_client()
    launched = do_launch(client, platform, "Instructor")
    assert launched.token and launched.room_id
    statuses = walk(walked_app, client, token=launched.token, room_id=launched.room_id, https=True, platforms=BOTH)
    assert any(s >= 400 for s in statuses) and any(s < 400 for s in statuses), statuses


def test_the_launch_page_may_be_framed_by_registered_platforms_only(walked_app, platform):
    launched = do_launch(walked_app.test_client(), platform, "Student")
    assert launched.response.status_code == 200
    assert_secure_headers(launched.response, hsts=True, expect_frame=BOTH, label="launch page")


def test_unknown_page_and_server_error_carry_the_headers(make_app):
    app = make_app()

    @app.get("/g/probe-boom")
    def boom():
        raise RuntimeError("boom")

    client = app.test_client()
    for url, status in (("/no/such/page", 404), ("/g/probe-boom", 500)):
        response = client.get(url)
        assert response.status_code == status
        assert_secure_headers(response, hsts=True, expect_frame={"'none'"}, label=url)


def test_no_platforms_means_no_one_may_frame(make_app, platform):
    app = make_app(config={**tool_config(platform), "platforms": {}})
    response = app.test_client().get("/lti/jwks")
    assert_secure_headers(response, hsts=True, expect_frame={"'none'"}, label="no platforms")


def test_demo_pages_are_walked_too(make_app, platform, tmp_path):
    config = tool_config(platform)
    config["tool"] = {"title": "Demo", "base_url": "http://localhost:8000"}
    app = make_app(config=config, demo=True, KEYS_DIR=str(tmp_path / "keys"))
    from lti_tool.lti.keys import ensure_key

    ensure_key(tmp_path / "keys")
    assert any(r.endpoint.startswith("demo.") for r in app.url_map.iter_rules())
    # The demo LMS is a registered platform (on the tool's own loopback origin) beside Sakai.
    walk(
        app, app.test_client(), token=None, room_id=None, https=False, platforms={SAKAI_ORIGIN, "http://localhost:8000"}
    )


def test_a_platform_registered_later_may_frame_at_once_and_a_removed_one_no_longer(make_app, platform):
    app = make_app()
    client = app.test_client()
    assert frame_ancestors(client.get("/lti/jwks")) == {SAKAI_ORIGIN}
    add_other_platform(app)
    assert frame_ancestors(client.get("/lti/jwks")) == BOTH
    with app.app_context():
        db.session.execute(delete(Platform).where(Platform.issuer == OTHER_PLATFORM))
        db.session.commit()
    assert frame_ancestors(client.get("/lti/jwks")) == {SAKAI_ORIGIN}


def frame_ancestors(response) -> set[str]:
    return set(csp_directives(response)["frame-ancestors"].split())


def test_guest_pages_with_a_real_link_and_a_guest_cookie_carry_the_headers(walked_app, platform):
    """The walk above only reaches /g/... with probe values; here a guest really joins first, so the
    entry page, the waiting page, the status poll and the form's refusals answer as they do for guests."""
    from lti_tool.guest.identity import COOKIE_NAME
    from tests.guest.conftest import add_link, form_token

    launched = do_launch(walked_app.test_client(), platform, "Instructor")
    token = add_link(walked_app, launched.room_id)
    guest = walked_app.test_client()
    page = guest.get(f"/g/{token}")
    data = {"name": "Ada Lovelace", "email": "ada@example.org", "form_token": form_token(page.get_data(as_text=True))}
    assert guest.post(f"/g/{token}", data=data).status_code == 303
    assert guest.get_cookie(COOKIE_NAME) is not None

    statuses = set()
    for rule in walked_app.url_map.iter_rules():
        if not rule.rule.startswith("/g/"):
            continue
        url = url_for_rule(rule, launched.room_id).replace("probe-token", token)
        for method in sorted(rule.methods - IGNORED_METHODS):
            response = guest.open(url, method=method, data={"name": "", "email": "x"} if method == "POST" else None)
            statuses.add(response.status_code)
            label = f"guest {method} {url} → {response.status_code}"
            assert_secure_headers(response, hsts=True, expect_frame={"'none'"}, label=label)
            assert response.headers["Referrer-Policy"] == "no-referrer", label
    assert 200 in statuses and any(s >= 400 for s in statuses), statuses


def guest_link(app, platform) -> str:
    from tests.guest.conftest import add_link

    return add_link(app, do_launch(app.test_client(), platform, "Instructor").room_id)


def guest_cookies(app, token: str, base_url: str, headers: dict | None = None, hsts: bool = True) -> list[str]:
    """The Set-Cookie lines a guest's browser gets from the entry page and the join."""
    from tests.guest.conftest import form_token

    guest = app.test_client()
    page = guest.get(f"/g/{token}", base_url=base_url, headers=headers)
    data = {"name": "Ada Lovelace", "email": "ada@example.org", "form_token": form_token(page.get_data(as_text=True))}
    joined = guest.post(f"/g/{token}", data=data, base_url=base_url, headers=headers)
    assert joined.status_code == 303
    assert ("Strict-Transport-Security" in page.headers) == ("Strict-Transport-Security" in joined.headers) == hsts
    lines = page.headers.getlist("Set-Cookie") + joined.headers.getlist("Set-Cookie")
    assert len(lines) >= 2, lines  # the form's cookie and the guest's session
    return lines


@pytest.mark.parametrize("trusted_proxies", ["0", "1"])
def test_an_https_base_url_means_secure_cookies_and_hsts_whatever_the_proxy_settings(
    make_app, platform, monkeypatch, trusted_proxies
):
    """Behind a TLS proxy that TRUSTED_PROXIES does not name, the request reaches the tool as plain
    http; the deployment is still https (tool.base_url), so nothing may leave without `Secure`."""
    monkeypatch.setenv("TRUSTED_PROXIES", trusted_proxies)
    app = make_app()
    assert app.config["TOOL"].base_url.startswith("https://")
    forwarded = {"X-Forwarded-Proto": "http"}  # even a proxy that says http is not believed over the base URL
    for line in guest_cookies(app, guest_link(app, platform), "http://tool.test", forwarded):
        assert "; Secure" in line, line
    assert "Strict-Transport-Security" in app.test_client().get("/healthz", base_url="http://tool.test").headers


def test_a_plain_http_base_url_sends_no_hsts_and_marks_cookies_secure_only_over_https(make_app, platform):
    app = make_app()
    token = guest_link(app, platform)  # launched while the base URL matches the platform's
    app.config["TOOL"] = dataclasses.replace(app.config["TOOL"], base_url="http://localhost:8000")
    client = app.test_client()
    assert "Strict-Transport-Security" not in client.get("/healthz", base_url="http://localhost:8000").headers
    assert "Strict-Transport-Security" in client.get("/healthz", base_url="https://localhost:8000").headers
    assert not any("; Secure" in line for line in guest_cookies(app, token, "http://localhost:8000", hsts=False))
    assert all("; Secure" in line for line in guest_cookies(app, token, "https://localhost:8000"))


def test_guest_pages_cannot_be_framed_by_old_browsers_either(walked_app, platform):
    from tests.guest.conftest import add_link

    launched = do_launch(walked_app.test_client(), platform, "Instructor")
    token = add_link(walked_app, launched.room_id)
    for url in (f"/g/{token}", "/g/no-such-token", f"/g/room/{launched.room_id}"):
        response = walked_app.test_client().get(url)
        assert response.headers["X-Frame-Options"] == "DENY", url
        assert csp_directives(response)["frame-ancestors"] == "'none'", url
    # The launch page stays frameable by Sakai: no X-Frame-Options there.
    assert "X-Frame-Options" not in launched.response.headers
