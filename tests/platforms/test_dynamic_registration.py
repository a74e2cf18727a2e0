"""LTI Dynamic Registration from Sakai, gated by a one-time invitation from `lti-tool platform invite`."""

from __future__ import annotations

import ipaddress
import re
import socket
import sqlite3
import threading
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from lti_tool.extensions import db
from lti_tool.http import Destinations
from lti_tool.models import Platform, RegistrationInvite
from lti_tool.platforms import registration, service
from lti_tool.platforms.registration import FETCH_FAILED
from tests.conftest import tool_config
from tests.loopback import FakeDNS, connections, listener
from tests.platforms.fake_registration import CLIENT_ID, REGISTRATION_TOKEN, FakeSakaiRegistration
from tests.sakai import TOOL_BASE


@pytest.fixture(scope="module")
def sakai_server():
    server = FakeSakaiRegistration()
    yield server
    server.close()


@pytest.fixture
def sakai(sakai_server):
    sakai_server.mode = "ok"
    sakai_server.received.clear()
    sakai_server.hits = 0
    sakai_server.release.clear()
    sakai_server.in_post.clear()
    sakai_server.gate = None
    yield sakai_server
    sakai_server.release.set()


@pytest.fixture
def reg_app(make_app):
    return make_app(REGISTRATION_HTTP_DEADLINE=0.5)


def invite(app) -> str:
    result = app.test_cli_runner().invoke(args=["lti", "platform", "invite"])
    assert result.exit_code == 0, result.output
    url = result.output.splitlines()[0]
    assert url.startswith(TOOL_BASE + "/lti/register?invite=")
    return parse_qs(urlsplit(url).query)["invite"][0]


def open_from_sakai(app, sakai, code: str | None):
    """What Sakai does with the pasted URL: open it with its two parameters appended."""
    query = {"openid_configuration": sakai.configuration_url, "registration_token": REGISTRATION_TOKEN}
    if code is not None:
        query["invite"] = code
    return app.test_client().get("/lti/register", query_string=query)


def platforms(app) -> list[Platform]:
    with app.app_context():
        rows = db.session.scalars(select(Platform)).all()
        db.session.expunge_all()
        return rows


def test_registration_stores_the_platform_and_closes_the_sakai_window(reg_app, sakai):
    response = open_from_sakai(reg_app, sakai, invite(reg_app))
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert "The tool is registered" in html and CLIENT_ID in html
    assert "registration_close.js" in html
    assert f'data-opener-origin="{sakai.base}"' in html
    assert f"frame-ancestors {sakai.base}" in response.headers["Content-Security-Policy"]

    [row] = platforms(reg_app)
    assert (row.issuer, row.client_id, row.deployment_ids) == (sakai.issuer, CLIENT_ID, ["1"])
    assert row.auth_login_url == sakai.base + "/imsoidc/lti13/oidc_auth"
    assert row.key_set_url == sakai.base + "/imsblis/lti13/keyset"

    [sent] = sakai.received
    assert sent["authorization"] == f"Bearer {REGISTRATION_TOKEN}"
    body = sent["body"]
    assert body["initiate_login_uri"] == TOOL_BASE + "/lti/login"
    assert body["redirect_uris"] == [TOOL_BASE + "/lti/launch"]
    assert body["jwks_uri"] == TOOL_BASE + "/lti/jwks"
    assert body["token_endpoint_auth_method"] == "private_key_jwt"
    assert body["client_name"] and "scope" in body
    tool_config = body["https://purl.imsglobal.org/spec/lti-tool-configuration"]
    assert tool_config["target_link_uri"] == TOOL_BASE + "/lti/launch"
    assert tool_config["domain"] == "tool.test"
    assert {m["type"] for m in tool_config["messages"]} == {"LtiResourceLinkRequest", "LtiDeepLinkingRequest"}
    assert {"iss", "sub", "name", "email"} <= set(tool_config["claims"])


def test_a_refused_registration_page_is_framed_by_no_one_whatever_its_query_names(reg_app, sakai):
    """The origin in `openid_configuration` is the visitor's choice: a refusal must not let that
    origin frame the tool's page (a clickjacking frame for whoever crafts the link)."""
    evil = "https://evil.example/.well-known/openid-configuration"
    refusals = [
        reg_app.test_client().get("/lti/register", query_string={"openid_configuration": evil}),
        reg_app.test_client().get("/lti/register", query_string={"openid_configuration": evil, "invite": "nope"}),
        reg_app.test_client().get("/lti/register", query_string={"invite": invite(reg_app)}),
    ]
    sakai.mode = "config_404"
    refusals.append(open_from_sakai(reg_app, sakai, invite(reg_app)))  # a valid invitation, a failing platform
    assert [r.status_code for r in refusals] == [403, 403, 502, 502]
    for response in refusals:
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert "evil.example" not in response.headers["Content-Security-Policy"]
        assert response.headers["X-Frame-Options"] == "DENY"


def test_close_script_posts_the_lti_close_message():
    from lti_tool.config import PROJECT_ROOT

    script = (PROJECT_ROOT / "lti_tool/static/registration_close.js").read_text()
    assert 'subject: "org.imsglobal.lti.close"' in script
    assert "window.opener || window.parent" in script


def test_invitation_works_once(reg_app, sakai):
    code = invite(reg_app)
    assert open_from_sakai(reg_app, sakai, code).status_code == 200
    hits = sakai.hits
    again = open_from_sakai(reg_app, sakai, code)
    assert again.status_code == 403
    assert "already used" in again.get_data(as_text=True)
    assert sakai.hits == hits, "a spent invitation must not reach the platform"
    assert len(platforms(reg_app)) == 1


def test_expired_invitation_is_refused_before_contacting_the_platform(reg_app, sakai, frozen_clock):
    code = invite(reg_app)
    expiry = (frozen_clock.now + timedelta(hours=24)).strftime("%Y-%m-%d %H:%M UTC")
    frozen_clock.advance(hours=24, seconds=1)
    response = open_from_sakai(reg_app, sakai, code)
    assert response.status_code == 403
    assert f"expired at {expiry}" in response.get_data(as_text=True)
    assert sakai.hits == 0
    assert platforms(reg_app) == []


@pytest.mark.parametrize(
    ("code", "message"),
    [(None, "has no invitation code"), ("made-up-code", "is not valid")],
)
def test_missing_or_unknown_invitation_is_refused(reg_app, sakai, code, message):
    response = open_from_sakai(reg_app, sakai, code)
    assert response.status_code == 403
    assert message in response.get_data(as_text=True)
    assert sakai.hits == 0 and platforms(reg_app) == []


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("config_bad_json", "configuration_bad_json"),
        ("config_404", "configuration_http_404"),
        ("config_wrong_issuer", "issuer_host_mismatch"),
        ("register_bad_json", "registration_bad_json"),
        ("hang", "configuration_timeout"),
    ],
)
def test_platform_failures_read_the_same_store_nothing_and_log_the_reason(reg_app, sakai, caplog, mode, reason):
    """One text for every failed fetch: a 404, a page that is not a configuration and a closed port must
    not be told apart by whoever holds an invitation (they would probe the tool's network with it)."""
    sakai.mode = mode
    code = invite(reg_app)
    response = open_from_sakai(reg_app, sakai, code)
    assert response.status_code == 502
    assert FETCH_FAILED in re.sub(r"\s+", " ", response.get_data(as_text=True).replace("&#39;", "'"))
    assert [r.reason for r in caplog.records if r.getMessage() == "dynamic registration failed"] == [reason]
    assert platforms(reg_app) == []
    with reg_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(RegistrationInvite).where(
            RegistrationInvite.used_at.is_(None))) == 1, "the invitation stays usable for a retry"  # fmt: skip
    sakai.release.set()
    sakai.mode = "ok"
    assert open_from_sakai(reg_app, sakai, code).status_code == 200


def test_a_closed_port_reads_like_any_other_failure(reg_app, sakai):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    response = reg_app.test_client().get(
        "/lti/register",
        query_string={"invite": invite(reg_app), "openid_configuration": f"http://127.0.0.1:{port}/x"},
    )
    assert response.status_code == 502
    assert FETCH_FAILED in re.sub(r"\s+", " ", response.get_data(as_text=True).replace("&#39;", "'"))


def test_a_refused_registration_token_is_explained(reg_app, sakai):
    sakai.mode = "refuse_401"
    response = open_from_sakai(reg_app, sakai, invite(reg_app))
    assert response.status_code == 502
    assert "refused the registration (HTTP 401)" in response.get_data(as_text=True)


def test_an_invitation_is_spent_by_its_third_failed_registration(reg_app, sakai):
    sakai.mode = "config_404"
    code = invite(reg_app)
    for _ in range(service.MAX_FAILED_REGISTRATIONS):
        assert open_from_sakai(reg_app, sakai, code).status_code == 502
    hits = sakai.hits
    sakai.mode = "ok"
    response = open_from_sakai(reg_app, sakai, code)
    assert response.status_code == 403
    assert "spent by 3 failed registrations" in response.get_data(as_text=True)
    assert sakai.hits == hits, "a spent invitation reaches no platform"
    assert platforms(reg_app) == []


def test_no_database_write_lock_is_held_while_the_platform_answers(reg_app, sakai):
    """SQLite: another worker can write while the registration POST is in flight; meanwhile the
    invitation is taken, so a second registration with it is refused at once."""
    sakai.mode = "hang_register"
    code = invite(reg_app)
    reg_app.config["REGISTRATION_HTTP_DEADLINE"] = 10
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(open_from_sakai(reg_app, sakai, code).status_code))
    thread.start()
    try:
        assert sakai.in_post.wait(10)
        with reg_app.app_context():
            path = db.engine.url.database
        other = sqlite3.connect(path, timeout=0.5, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # 'database is locked' before the fix
        other.execute("ROLLBACK")
        other.close()
        second = open_from_sakai(reg_app, sakai, code)
        assert second.status_code == 403 and "already used" in second.get_data(as_text=True)
    finally:
        sakai.release.set()
        thread.join(20)
    assert result == [200]
    assert len(platforms(reg_app)) == 1


def test_registered_platform_is_listed_by_the_cli(reg_app, sakai):
    open_from_sakai(reg_app, sakai, invite(reg_app))
    output = reg_app.test_cli_runner().invoke(args=["lti", "platform", "list"]).output
    assert f"{sakai.issuer}  client id {CLIENT_ID}  deployment 1  [database, enabled]" in output


def test_only_the_hash_of_the_invitation_is_stored(reg_app):
    code = invite(reg_app)
    with reg_app.app_context():
        stored = db.session.scalars(select(RegistrationInvite.code_hash)).all()
    assert code not in stored and len(stored) == 1 and len(stored[0]) == 64


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_two_registrations_racing_with_one_invitation_register_once(make_app, sakai, database):
    app = make_app(database=database, REGISTRATION_HTTP_DEADLINE=5)
    code = invite(app)
    # Both pass the read-only invitation check; one statement decides which takes the invitation.
    statuses: list[int] = []

    def register() -> None:
        statuses.append(open_from_sakai(app, sakai, code).status_code)

    threads = [threading.Thread(target=register) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert sorted(statuses) == [200, 403]
    assert len(sakai.received) == 1, "only one registration may reach the platform"
    assert len(platforms(app)) == 1


def test_configuration_over_plain_http_is_refused_unless_loopback(reg_app, sakai):
    response = reg_app.test_client().get(
        "/lti/register",
        query_string={
            "openid_configuration": "http://sakai.example.edu/imsblis/lti13/well_known?key=7",
            "registration_token": REGISTRATION_TOKEN,
            "invite": invite(reg_app),
        },
    )
    assert response.status_code == 502
    assert "must be fetched over https" in response.get_data(as_text=True)
    assert platforms(reg_app) == []


def test_outside_demo_and_test_mode_only_public_https_platforms_are_contacted(make_app, sakai):
    app = make_app(TESTING=False)
    plain_http = sakai.configuration_url
    for url, message in [
        (plain_http, "must be fetched over https"),
        (plain_http.replace("http://", "https://"), FETCH_FAILED),  # a loopback address
    ]:
        response = app.test_client().get(
            "/lti/register", query_string={"openid_configuration": url, "invite": invite(app)}
        )
        assert response.status_code == 502, url
        assert message in response.get_data(as_text=True).replace("&#39;", "'")
    assert sakai.hits == 0


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/x",
        "https://localhost/x",
        "https://10.1.2.3/x",
        "https://192.168.0.1/x",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/x",
        "https://[fd00::1]/x",
        "https://0.0.0.0/x",
    ],
)
def test_private_loopback_and_link_local_addresses_are_refused(url):
    with pytest.raises(registration.RegistrationFailed) as caught:
        registration.fetch_configuration(url, 0.5, destinations=Destinations())
    assert caught.value.message == FETCH_FAILED
    assert caught.value.reason == "configuration_not_public_address"


def test_plain_http_to_loopback_only_in_demo_or_test_mode():
    registration.require_https("http://127.0.0.1:8080/x", Destinations(loopback=True))
    with pytest.raises(registration.RegistrationFailed):
        registration.require_https("http://127.0.0.1:8080/x", Destinations())
    with pytest.raises(registration.RegistrationFailed):
        registration.require_https("http://sakai.example.edu/x", Destinations(loopback=True))


PUBLIC_ADDRESS = "192.0.0.9"  # never reached: the fake DNS routes it to 127.0.0.3 below


def test_a_platform_name_that_rebinds_to_loopback_after_the_check_is_not_connected_to(make_app, monkeypatch):
    """DNS rebinding: the name answers a public address when it is checked and 127.0.0.1 the next
    time. The tool must connect to the address it checked, never resolve the name again."""
    app = make_app(TESTING=False, REGISTRATION_HTTP_DEADLINE=0.5)
    inside = listener("127.0.0.1")  # a service on the tool's own machine
    port = inside.getsockname()[1]
    public = listener("127.0.0.3", port)  # plays the platform at PUBLIC_ADDRESS
    dns = FakeDNS({"sakai.rebind.test": [[PUBLIC_ADDRESS], ["127.0.0.1"]], PUBLIC_ADDRESS: [["127.0.0.3"]]})
    monkeypatch.setattr(socket, "getaddrinfo", dns.getaddrinfo)
    try:
        response = app.test_client().get(
            "/lti/register",
            query_string={
                "openid_configuration": f"https://sakai.rebind.test:{port}/imsblis/lti13/well_known",
                "invite": invite(app),
            },
        )
        assert response.status_code == 502  # the stand-in platform never answers
        assert connections(inside) == 0, "the request went to the rebound address"
        assert connections(public) == 1
    finally:
        inside.close()
        public.close()


def test_the_apps_destinations_take_the_allow_list_and_the_config_json_platforms(make_app, platform):
    config = tool_config(platform, outbound={"private_hosts": ["sakai.campus.test", "https://lms.campus.test:8443"]})
    app = make_app(config=config, TESTING=False)
    destinations = Destinations.of(app.config["TOOL"], testing=False)
    internal = ipaddress.ip_address("10.0.0.5")
    assert destinations.permits("https://sakai.campus.test/imsblis/lti13/well_known", internal)
    assert destinations.permits("https://lms.campus.test:8443/x", internal)
    assert not destinations.permits("https://lms.campus.test/x", internal)
    assert not destinations.permits("https://elsewhere.test/x", internal)
    # config.json's platform: its key set was always fetched wherever it is (here on 127.0.0.1).
    assert destinations.permits(platform.keyset.url, ipaddress.ip_address("127.0.0.1"))
    assert not destinations.loopback and Destinations.of(app.config["TOOL"], testing=True).loopback


def test_the_registration_endpoint_must_be_on_the_issuers_host(reg_app, sakai, monkeypatch):
    original = sakai.configuration

    def elsewhere():
        return {**original(), "registration_endpoint": "http://127.0.0.2:1/steal"}

    monkeypatch.setattr(sakai, "configuration", elsewhere)
    response = open_from_sakai(reg_app, sakai, invite(reg_app))
    assert response.status_code == 502
    assert sakai.received == []
