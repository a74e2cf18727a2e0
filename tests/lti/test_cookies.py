"""Inside Sakai's iframe every tool cookie is third-party: the state cookie is
`Secure; SameSite=None; Partitioned`, a dropped cookie falls back to Sakai's postMessage storage
(bind) or to an "Open in a new window" page, and after the launch only the signed launch token
in the page counts — no Flask session cookie anywhere."""

from __future__ import annotations

import html as htmllib
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import g, jsonify

from lti_tool.lti.context import require_launch
from lti_tool.lti.views import state_cookie_name
from tests.sakai import TOOL_BASE, auth_url_from, start_login, token_from


def cookieless_launch(app, platform, **form_extra):
    """Login in one browser context, id_token POST from another that has no cookies (the iframe
    lost it). Returns the POST response and the login's state."""
    auth = start_login(app.test_client(), platform)
    form = {"id_token": platform.sign(platform.claims(auth["nonce"])), "state": auth["state"], **form_extra}
    return app.test_client().post("/lti/launch", data=form), auth["state"]


def launch_id_from(html: str) -> str:
    return re.search(r'name="launch_id" value="([^"]+)"', html).group(1)


def test_state_cookie_is_iframe_safe(client, platform):
    response = client.get("/lti/login", query_string=platform.login_params())
    [cookie] = response.headers.getlist("Set-Cookie")
    attributes = {part.strip().split("=")[0] for part in cookie.split(";")}
    assert {"Secure", "SameSite", "Partitioned", "HttpOnly"} <= attributes
    assert "SameSite=None" in cookie


def test_sakai_login_stores_state_in_platform_storage_then_continues(client, platform):
    response = client.get("/lti/login", query_string=platform.login_params())
    html = response.get_data(as_text=True)
    state = parse_qs(urlsplit(auth_url_from(response)).query)["state"][0]
    assert 'data-mode="put"' in html
    assert f'data-key="lti_state_{state}"' in html
    assert f'data-value="{state}"' in html
    assert 'data-origin="https://sakai.test"' in html


def test_login_without_storage_target_redirects(client, platform):
    response = client.get("/lti/login", query_string=platform.login_params(lti_storage_target=None))
    assert response.status_code == 302
    assert response.headers["Location"].startswith(platform.issuer + "/imsoidc/lti13/oidc_auth?")


def test_launch_without_cookie_reads_state_back_from_platform_storage(app, platform):
    response, state = cookieless_launch(app, platform, lti_storage_target="_parent")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'data-mode="get"' in html
    assert f'data-key="lti_state_{state}"' in html
    assert token_from(html) is None  # nothing usable until the browser proves it holds the state

    bound = app.test_client().post("/lti/launch/bind", data={"launch_id": launch_id_from(html), "state": state})
    assert bound.status_code == 200
    assert token_from(bound.get_data(as_text=True))
    assert "Weekly seminar" in bound.get_data(as_text=True)


def test_bind_with_wrong_state_is_refused(app, platform):
    response, _ = cookieless_launch(app, platform, lti_storage_target="_parent")
    launch_id = launch_id_from(response.get_data(as_text=True))
    refused = app.test_client().post("/lti/launch/bind", data={"launch_id": launch_id, "state": "guessed"})
    assert refused.status_code == 400
    assert "could not be confirmed" in refused.get_data(as_text=True)


def test_bind_twice_is_refused(app, platform):
    response, state = cookieless_launch(app, platform, lti_storage_target="_parent")
    form = {"launch_id": launch_id_from(response.get_data(as_text=True)), "state": state}
    assert app.test_client().post("/lti/launch/bind", data=form).status_code == 200
    again = app.test_client().post("/lti/launch/bind", data=form)
    assert again.status_code == 400
    assert token_from(again.get_data(as_text=True)) is None


def test_bind_after_the_launch_expired_is_refused(app, platform, frozen_clock):
    response, state = cookieless_launch(app, platform, lti_storage_target="_parent")
    form = {"launch_id": launch_id_from(response.get_data(as_text=True)), "state": state}
    frozen_clock.advance(hours=2, seconds=1)
    assert app.test_client().post("/lti/launch/bind", data=form).status_code == 400


def test_bind_without_fields_is_refused(client):
    assert client.post("/lti/launch/bind", data={}).status_code == 400


def test_launch_without_cookie_or_storage_offers_a_new_window(app, platform):
    response, _ = cookieless_launch(app, platform)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Open in a new window" in html
    assert token_from(html) is None
    link = htmllib.unescape(re.search(r'href="([^"]+)" target="_blank"', html).group(1))
    assert link.startswith(TOOL_BASE + "/lti/login?")

    # The link re-initiates login with Sakai's parameters, now first-party (no storage target).
    parts = urlsplit(link)
    again = app.test_client().get(parts.path + "?" + parts.query)
    assert again.status_code == 302
    auth = parse_qs(urlsplit(again.headers["Location"]).query)
    login = platform.login_params()
    assert auth["login_hint"] == [login["login_hint"]]
    assert auth["client_id"] == [login["client_id"]]
    assert parse_qs(parts.query)["target_link_uri"] == [login["target_link_uri"]]


def test_no_flask_session_cookie_is_ever_set(app, platform):
    cookies = []
    client = app.test_client()
    login = client.get("/lti/login", query_string=platform.login_params())
    cookies += login.headers.getlist("Set-Cookie")
    form = platform.authorize(auth_url_from(login))
    cookies += client.post("/lti/launch", data=form).headers.getlist("Set-Cookie")
    response, state = cookieless_launch(app, platform, lti_storage_target="_parent")
    cookies += response.headers.getlist("Set-Cookie")
    bind = {"launch_id": launch_id_from(response.get_data(as_text=True)), "state": state}
    cookies += app.test_client().post("/lti/launch/bind", data=bind).headers.getlist("Set-Cookie")
    assert cookies
    assert all(c.startswith("lti1p3_") for c in cookies), cookies


def test_state_cookie_name_does_not_reveal_the_state(client, platform):
    auth = start_login(client, platform)
    assert auth["state"] not in state_cookie_name(auth["state"])


# --- After the launch: the signed launch token -----------------------------------------------


@pytest.fixture
def guarded(make_app):
    """An app with one page behind `require_launch`, as later features use it."""
    app = make_app()

    @app.get("/test/whoami")
    @require_launch()
    def whoami():
        return jsonify(role=g.launch.role.value, name=g.launch.display_name)

    @app.post("/test/manage")
    @require_launch(manage=True)
    def manage():
        return jsonify(ok=True)

    return app


@pytest.fixture
def guarded_launch(guarded, platform):
    from tests.conftest import do_launch

    return lambda role="Instructor", **claims: do_launch(guarded.test_client(), platform, role, **claims)


def test_launch_token_works_without_any_cookie(guarded, guarded_launch):
    result = guarded_launch("Student")
    response = guarded.test_client().get("/test/whoami", headers=result.headers)
    assert response.json == {"role": "viewer", "name": "Jane Smith"}


def test_launch_token_in_form_field_works(guarded, guarded_launch):
    result = guarded_launch("Instructor")
    response = guarded.test_client().post("/test/manage", data={"launch_token": result.token})
    assert response.status_code == 200


def test_viewer_may_not_manage(guarded, guarded_launch):
    result = guarded_launch("Student")
    response = guarded.test_client().post("/test/manage", headers=result.headers)
    assert response.status_code == 403
    assert "Only hosts and moderators" in response.get_data(as_text=True)


def test_expired_launch_token_is_refused(guarded, guarded_launch, frozen_clock):
    result = guarded_launch("Instructor")
    frozen_clock.advance(hours=2, seconds=1)
    response = guarded.test_client().get("/test/whoami", headers=result.headers)
    assert response.status_code == 401
    assert "Your session has expired" in response.get_data(as_text=True)


def test_tampered_launch_token_is_refused(guarded, guarded_launch):
    result = guarded_launch("Instructor")
    response = guarded.test_client().get("/test/whoami", headers={"X-Launch-Token": result.token[:-2] + "xx"})
    assert response.status_code == 401
    assert "Your session has expired" in response.get_data(as_text=True)


def test_missing_launch_token_is_refused(guarded):
    response = guarded.test_client().get("/test/whoami")
    assert response.status_code == 401
    assert "Open the tool from your Sakai site" in response.get_data(as_text=True)


def test_token_of_an_unbound_launch_is_refused(guarded, platform):
    """A launch waiting for its bind must not be usable, even with a validly signed token."""
    from lti_tool.lti.context import issue_token

    response, _ = cookieless_launch(guarded, platform, lti_storage_target="_parent")
    launch_id = launch_id_from(response.get_data(as_text=True))
    with guarded.test_request_context():
        token = issue_token(launch_id)
    assert guarded.test_client().get("/test/whoami", headers={"X-Launch-Token": token}).status_code == 401


# --- State cookies do not pile up (issue 15 §1: the 16th launch answered 431) ----------------


def state_cookie_headers(response, name: str) -> list[str]:
    return [c for c in response.headers.getlist("Set-Cookie") if c.startswith(name + "=")]


def attributes(set_cookie: str) -> dict[str, str]:
    parts = [p.strip() for p in set_cookie.split(";")[1:]]
    return {p.split("=")[0].lower(): (p.split("=", 1)[1] if "=" in p else "") for p in parts}


def cookie_sent(response) -> str:
    """The Cookie header the tool received for this response's request."""
    return response.request.environ.get("HTTP_COOKIE", "")


def state_cookies_in(header: str) -> list[str]:
    return [c.split("=")[0].strip() for c in header.split(";") if c.strip().startswith("lti1p3_")]


def assert_deletes(response, name: str) -> None:
    [deletion] = state_cookie_headers(response, name)
    assert deletion.startswith(name + "=;") or deletion.startswith(name + '=""'), deletion
    attrs = attributes(deletion)
    assert attrs["max-age"] == "0"
    assert attrs["path"] == "/"
    assert {"secure", "httponly", "partitioned"} <= attrs.keys()
    assert attrs["samesite"] == "None"


def test_state_cookie_lives_as_long_as_the_login(client, platform):
    response = client.get("/lti/login", query_string=platform.login_params())
    [cookie] = response.headers.getlist("Set-Cookie")
    assert attributes(cookie)["max-age"] == "600"
    assert attributes(cookie)["path"] == "/"


def test_a_completed_launch_deletes_its_state_cookie(client, platform):
    login = client.get("/lti/login", query_string=platform.login_params())
    form = platform.authorize(auth_url_from(login))
    response = client.post("/lti/launch", data=form)
    assert response.status_code == 200 and token_from(response.get_data(as_text=True))
    assert_deletes(response, state_cookie_name(form["state"]))
    assert client.get_cookie(state_cookie_name(form["state"])) is None


def test_a_launch_bound_through_platform_storage_deletes_its_state_cookie(app, platform):
    response, state = cookieless_launch(app, platform, lti_storage_target="_parent")
    assert_deletes(response, state_cookie_name(state))
    bind = {"launch_id": launch_id_from(response.get_data(as_text=True)), "state": state}
    bound = app.test_client().post("/lti/launch/bind", data=bind)
    assert bound.status_code == 200
    assert_deletes(bound, state_cookie_name(state))


def test_a_hundred_launches_in_one_browser_all_work_and_the_cookie_header_stays_small(client, platform):
    from lti_tool.lti.views import MAX_STATE_COOKIES

    sent = []
    for i in range(100):
        login = client.get("/lti/login", query_string=platform.login_params(content=i, site=f"site-{i % 7}"))
        form = platform.authorize(auth_url_from(login))
        response = client.post("/lti/launch", data=form)
        assert response.status_code == 200, (i, response.get_data(as_text=True)[:300])
        assert token_from(response.get_data(as_text=True)), i  # bound by its cookie, not the fallback
        sent += [cookie_sent(login), cookie_sent(response)]
    # Each launch arrives with its own state cookie only; a login sees none left over.
    assert max(len(state_cookies_in(h)) for h in sent) == 1 < MAX_STATE_COOKIES
    assert max(len(h) for h in sent) < 600, max(len(h) for h in sent)


def test_fifty_abandoned_logins_then_a_launch_works(client, platform):
    from lti_tool.lti.views import MAX_STATE_COOKIES

    sizes = []
    for i in range(50):  # the tab closed between login and launch, fifty times
        login = client.get("/lti/login", query_string=platform.login_params(content=i))
        assert login.status_code == 200
        sizes.append(len(cookie_sent(login)))
        assert len(state_cookies_in(cookie_sent(login))) <= MAX_STATE_COOKIES
    login = client.get("/lti/login", query_string=platform.login_params())
    form = platform.authorize(auth_url_from(login))
    response = client.post("/lti/launch", data=form)
    assert response.status_code == 200
    assert token_from(response.get_data(as_text=True))
    assert len(state_cookies_in(cookie_sent(response))) == MAX_STATE_COOKIES
    assert max([*sizes, len(cookie_sent(response))]) < 2048


def test_a_login_removes_the_oldest_state_cookies_and_keeps_the_newer_ones(client, platform, frozen_clock):
    from lti_tool.lti.views import MAX_STATE_COOKIES

    states = []
    for i in range(MAX_STATE_COOKIES + 2):
        states.append(start_login(client, platform, content=i)["state"])
        frozen_clock.advance(seconds=2)  # login states are dated to the second
    kept = [s for s in states if client.get_cookie(state_cookie_name(s))]
    assert kept == states[-MAX_STATE_COOKIES:]


def test_a_login_in_another_tab_still_completes_after_a_few_newer_logins(client, platform, frozen_clock):
    from lti_tool.lti.views import MAX_STATE_COOKIES

    login = client.get("/lti/login", query_string=platform.login_params())
    first = platform.authorize(auth_url_from(login))
    for i in range(MAX_STATE_COOKIES - 1):
        frozen_clock.advance(seconds=1)
        start_login(client, platform, content=100 + i)
    response = client.post("/lti/launch", data=first)
    assert response.status_code == 200
    assert token_from(response.get_data(as_text=True))  # still bound by its cookie


def test_expired_and_foreign_state_cookies_are_removed_at_the_next_login(client, platform, frozen_clock):
    stale = start_login(client, platform)["state"]
    client.set_cookie("lti1p3_0123456789abcdef", "not-a-state", secure=True, samesite="None")
    frozen_clock.advance(minutes=10, seconds=1)  # the browser would drop it now; the test jar does not
    response = client.get("/lti/login", query_string=platform.login_params())
    assert_deletes(response, state_cookie_name(stale))
    assert_deletes(response, "lti1p3_0123456789abcdef")
