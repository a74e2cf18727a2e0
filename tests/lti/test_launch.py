"""LTI 1.3 launches as Sakai sends them: who is launching, and every launch the tool refuses.

Each refusal must be a 4xx page in plain words (never a 500, never a traceback).
"""

from __future__ import annotations

import html as htmllib
import time

import jwt
import pytest

from lti_tool.extensions import db
from lti_tool.models import Launch
from tests.sakai import (
    DROP,
    MEMBERSHIP,
    TOOL_BASE,
    C,
    forge_hs256,
    new_key,
    public_jwk,
    public_pem,
    start_login,
    unsigned,
)

TA = MEMBERSHIP + "Instructor#TeachingAssistant"
LEARNER = MEMBERSHIP + "Learner"


def role_shown(html: str) -> str:
    return html.split("<dt>Your role</dt><dd>")[1].split("</dd>")[0]


def post_launch(client, platform, role="Instructor", *, sign=None, state=None, **claims):
    """Login as Sakai, then post an id_token built from `claims` (signed by `sign` if given)."""
    auth = start_login(client, platform)
    body = platform.claims(auth["nonce"], role, **claims)
    token = sign(body) if sign else platform.sign(body)
    return client.post(
        "/lti/launch",
        data={"id_token": token, "state": auth["state"] if state is None else state, "lti_storage_target": "_parent"},
    )


def assert_refused(response, status: int, words: str) -> None:
    html = htmllib.unescape(response.get_data(as_text=True))
    assert response.status_code == status, html[:600]
    assert words in html, html[:600]
    assert "Traceback" not in html
    assert 'name="launch-token"' not in html


# --- Who is launching ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("roles", "shown", "manages"),
    [
        ("Instructor", "Host", True),
        ("TeachingAssistant", "Moderator", True),
        (["Instructor#TeachingAssistant"], "Moderator", True),
        (["TeachingAssistant"], "Moderator", True),
        (["Instructor"], "Host", True),
        ("ContentDeveloper", "Moderator", True),
        ("Student", "Student", False),
        ("Mentor", "Student", False),
        ("Admin", "Host", True),
        ([LEARNER, TA], "Moderator", True),
        ([LEARNER, MEMBERSHIP + "Instructor"], "Host", True),
        (["http://example.edu/roles#Janitor"], "Student", False),
        ([], "Student", False),
    ],
)
def test_role_decides_menu(launch, roles, shown, manages):
    result = launch(roles)
    assert result.response.status_code == 200, result.html[:500]
    assert role_shown(result.html) == shown
    assert ("Manage guest access" in result.html) is manages
    assert 'aria-label="More actions"' in result.html


def test_admin_launch_is_recorded_as_admin_host(app, launch):
    launch("Admin")
    with app.app_context():
        row = db.session.execute(db.select(Launch)).scalar_one()
        assert (row.role, row.is_admin) == ("host", True)


def test_launch_without_name_or_email_shows_neutral_label(app, launch):
    result = launch("Instructor", given_name=DROP, family_name=DROP, name=DROP, email=DROP)
    assert result.response.status_code == 200, result.html[:500]
    assert "Signed in as Sakai user" in result.html
    with app.app_context():
        row = db.session.execute(db.select(Launch)).scalar_one()
        assert row.user_name is None and row.user_email is None


def test_name_is_shown_when_sakai_sends_it(launch):
    assert "Signed in as Jane Smith" in launch("Student").html


def test_java_style_locale_becomes_html_language(launch):
    html = launch("Student").html
    assert '<html lang="en">' in html
    assert '<meta name="user-locale" content="en-US">' in html


def test_id_token_may_be_posted_to_the_target_link_uri(launch):
    """Sakai posts to target_link_uri when the redirect URL is not registered: same endpoint."""
    result = launch("Student")
    assert result.response.status_code == 200
    assert result.token


# --- Signature and key refusals --------------------------------------------------------------


def test_bad_signature_is_refused(client, platform):
    def tamper(body):
        header, payload, sig = platform.sign(body).split(".")
        return f"{header}.{payload}.{sig[:-6]}AAAAAA"

    assert_refused(post_launch(client, platform, sign=tamper), 400, "signature could not be verified")


def test_attacker_key_under_platform_kid_is_refused(client, platform):
    attacker = new_key()
    sign = lambda body: platform.sign(body, key=attacker)  # noqa: E731
    assert_refused(post_launch(client, platform, sign=sign), 400, "signature could not be verified")


def test_alg_none_is_refused(client, platform):
    sign = lambda body: unsigned(body, platform.kid)  # noqa: E731
    assert_refused(post_launch(client, platform, sign=sign), 400, "RS256")


def test_hs256_signed_with_platform_public_key_is_refused(client, platform):
    sign = lambda body: forge_hs256(body, public_pem(platform.key), platform.kid)  # noqa: E731
    assert_refused(post_launch(client, platform, sign=sign), 400, "RS256")


@pytest.mark.parametrize(
    "header",
    [
        {"jku": "https://attacker.test/jwks.json"},
        {"x5u": "https://attacker.test/cert.pem"},
        {"jwk": "JWK"},
    ],
)
def test_key_carrying_headers_are_refused(client, platform, header):
    attacker = new_key()
    if "jwk" in header:
        header = {"jwk": public_jwk(attacker, platform.kid)}
    sign = lambda body: platform.sign(body, key=attacker, headers=header)  # noqa: E731
    assert_refused(post_launch(client, platform, sign=sign), 400, "named its own signing key")


def test_unknown_kid_is_refused(client, platform):
    sign = lambda body: platform.sign(body, headers={"kid": "-1460973341"})  # noqa: E731
    assert_refused(post_launch(client, platform, sign=sign), 400, "key that your Sakai server does not publish")


# --- Claim refusals --------------------------------------------------------------------------


def test_expired_token_is_refused(client, platform):
    now = int(time.time())
    assert_refused(post_launch(client, platform, iat=now - 7200, exp=now - 120), 400, "has expired")


def test_iat_in_the_future_beyond_leeway_is_refused(client, platform):
    now = int(time.time())
    assert_refused(post_launch(client, platform, iat=now + 120, exp=now + 3720), 400, "dated in the future")


def test_small_clock_skew_is_accepted(client, platform):
    now = int(time.time())
    response = post_launch(client, platform, iat=now + 50, exp=now + 3650)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    response = post_launch(client, platform, iat=now - 3650, exp=now - 50)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]


def test_wrong_issuer_is_refused(client, platform):
    assert_refused(post_launch(client, platform, iss="https://evil.test"), 400, "not known to the tool")


def test_wrong_audience_is_refused(client, platform):
    assert_refused(post_launch(client, platform, aud="another-tool"), 400, "not known to the tool")


def test_audience_list_without_azp_is_refused(client, platform):
    response = post_launch(client, platform, aud=[platform.client_id, "another-tool"])
    assert_refused(response, 400, "not known to the tool")


def test_audience_list_with_foreign_azp_is_refused(client, platform):
    response = post_launch(client, platform, aud=[platform.client_id, "another-tool"], azp="another-tool")
    assert_refused(response, 400, "not known to the tool")


def test_single_audience_with_foreign_azp_is_refused(client, platform):
    response = post_launch(client, platform, azp="another-tool")
    assert_refused(response, 400, "meant for a different tool")


def test_audience_list_with_our_azp_is_accepted(client, platform):
    response = post_launch(client, platform, aud=["another-tool", platform.client_id], azp=platform.client_id)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]


def test_audience_list_of_one_is_accepted(client, platform):
    response = post_launch(client, platform, aud=[platform.client_id])
    assert response.status_code == 200, response.get_data(as_text=True)[:500]


@pytest.mark.parametrize("claim", ["exp", "iat", "nonce", "sub"])
def test_missing_required_claim_is_refused(client, platform, claim):
    assert_refused(post_launch(client, platform, **{claim: DROP}), 400, f"missing the required '{claim}' claim")


def test_empty_sub_is_refused(client, platform):
    assert_refused(post_launch(client, platform, sub=""), 400, "missing the required 'sub' claim")


def test_wrong_version_is_refused(client, platform):
    assert_refused(post_launch(client, platform, **{C + "version": "1.1"}), 400, "not an LTI 1.3 launch")


def test_wrong_message_type_is_refused(client, platform):
    response = post_launch(client, platform, **{C + "message_type": "LtiSubmissionReviewRequest"})
    assert_refused(response, 400, "kind of LTI message is not supported")


def test_unknown_deployment_is_refused(client, platform):
    response = post_launch(client, platform, **{C + "deployment_id": "2"})
    assert_refused(response, 400, "deployment of the tool is not registered")


def test_missing_resource_link_is_refused(client, platform):
    response = post_launch(client, platform, **{C + "resource_link": DROP})
    assert_refused(response, 400, "missing required LTI information")


def test_foreign_target_link_uri_in_token_is_refused(client, platform):
    response = post_launch(client, platform, **{C + "target_link_uri": "https://evil.test/lti/launch"})
    assert_refused(response, 400, "not this tool")


def test_target_link_uri_with_our_prefix_but_other_host_is_refused(client, platform):
    response = post_launch(client, platform, **{C + "target_link_uri": TOOL_BASE + ".evil.test/lti/launch"})
    assert_refused(response, 400, "not this tool")


def test_garbage_id_token_is_refused(client, platform):
    auth = start_login(client, platform)
    response = client.post("/lti/launch", data={"id_token": "not-a-jwt", "state": auth["state"]})
    assert_refused(response, 400, "malformed")


def test_missing_id_token_is_refused(client):
    assert_refused(client.post("/lti/launch", data={"state": "x"}), 400, "did not include an id_token")


def test_token_signed_with_a_weaker_rsa_alg_is_refused(client, platform):
    sign = lambda body: jwt.encode(body, platform.key, algorithm="RS512", headers={"kid": platform.kid})  # noqa: E731
    assert_refused(post_launch(client, platform, sign=sign), 400, "RS256")


# --- Login refusals --------------------------------------------------------------------------


def test_login_from_unknown_issuer_is_refused(client, platform):
    response = client.get("/lti/login", query_string=platform.login_params(iss="https://evil.test"))
    assert_refused(response, 400, "not known to the tool")


def test_login_with_unknown_client_is_refused(client, platform):
    response = client.get("/lti/login", query_string=platform.login_params(client_id="nobody"))
    assert_refused(response, 400, "not known to the tool")


def test_login_without_login_hint_is_refused(client, platform):
    response = client.get("/lti/login", query_string=platform.login_params(login_hint=None))
    assert_refused(response, 400, "missing the issuer or login hint")


def test_login_with_foreign_target_link_uri_is_refused(client, platform):
    response = client.get("/lti/login", query_string=platform.login_params(target_link_uri="https://evil.test/"))
    assert_refused(response, 400, "not this tool")


def test_login_without_client_id_uses_the_default_registration(client, platform):
    auth = start_login(client, platform, client_id=None)
    assert auth["client_id"] == platform.client_id


def test_login_does_not_require_lti_message_hint(client, platform):
    auth = start_login(client, platform)
    assert "lti_message_hint" not in auth
    assert auth["redirect_uri"] == TOOL_BASE + "/lti/launch"


# --- State, nonce and replay -----------------------------------------------------------------


def test_missing_state_is_refused(client, platform):
    assert_refused(post_launch(client, platform, state=""), 400, "expired or was already used")


def test_unknown_state_is_refused(client, platform):
    assert_refused(post_launch(client, platform, state="made-up-state"), 400, "expired or was already used")


def test_state_of_another_login_is_refused(client, platform):
    other = start_login(client, platform)
    response = post_launch(client, platform, state=other["state"])
    assert_refused(response, 400, "does not match the login")


def test_expired_login_state_is_refused(client, platform, frozen_clock):
    auth = start_login(client, platform)
    frozen_clock.advance(minutes=11)
    form = {"id_token": platform.sign(platform.claims(auth["nonce"])), "state": auth["state"]}
    assert_refused(client.post("/lti/launch", data=form), 400, "expired or was already used")


def test_sequential_replay_is_refused(client, platform):
    auth = start_login(client, platform)
    form = {"id_token": platform.sign(platform.claims(auth["nonce"])), "state": auth["state"]}
    assert client.post("/lti/launch", data=form).status_code == 200
    assert_refused(client.post("/lti/launch", data=form), 400, "already used")


def test_refusals_are_logged_with_a_reason_code_and_no_token(client, platform, caplog):
    caplog.set_level("INFO")
    post_launch(client, platform, **{C + "deployment_id": "2"})
    reasons = [getattr(r, "reason", None) for r in caplog.records]
    assert "unknown_deployment" in reasons
    assert "eyJ" not in caplog.text


@pytest.mark.parametrize(
    "claims",
    [
        {C + "custom": ["room_type", "mediagallery"]},
        {C + "custom": "room_type=mediagallery"},
        {C + "context": "site-1"},
        {C + "context": {"id": {"nested": 1}, "title": ["x"]}},
        {C + "resource_link": "content:12"},
        {C + "resource_link": {"id": 12, "title": {"t": 1}}},
        {C + "roles": MEMBERSHIP + "Instructor"},
        {C + "roles": [1, None]},
        {C + "roles": None},
        {"name": 42, "given_name": ["Ada"], "email": {"x": 1}},
        {"locale": 7},
        {C + "deployment_id": 1},
        {"sub": 123},
        {C + "target_link_uri": ["https://tool.test/lti/launch"]},
    ],
    ids=lambda c: "-".join(k.rsplit("/", 1)[-1] for k in c),
)
def test_malformed_claim_types_never_crash(client, platform, claims):
    response = post_launch(client, platform, **claims)
    assert response.status_code in (200, 400), response.get_data(as_text=True)[:500]
    assert "Traceback" not in response.get_data(as_text=True)


def test_login_by_post_works_too(client, platform):
    response = client.post("/lti/login", data=platform.login_params(lti_storage_target=None))
    assert response.status_code == 302
    assert "state=" in response.headers["Location"]


def test_lti_message_hint_is_passed_back_when_sent(client, platform):
    assert start_login(client, platform, lti_message_hint="hint-42")["lti_message_hint"] == "hint-42"


def test_media_page_may_be_framed_only_by_registered_platforms(launch):
    csp = launch("Student").response.headers["Content-Security-Policy"]
    assert "frame-ancestors https://sakai.test" in csp
    assert "*" not in csp
    assert "script-src 'self'" in csp


def test_error_pages_are_not_frameable_by_strangers(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def _b64(data: str) -> str:
    import base64

    return base64.urlsafe_b64encode(data.encode()).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "token",
    [
        "a.b.c",
        "...",
        "only-two.parts",
        _b64("{}") + "." + _b64("[]") + ".sig",
        _b64("[]") + "." + _b64("{}") + ".sig",
        _b64('"x"') + "." + _b64("null") + ".sig",
        _b64('{"alg":"RS256","kid":"605831764"}') + "." + _b64('{"iss":1,"aud":{}}') + ".sig",
        _b64('{"alg":"RS256","kid":605831764}') + "." + _b64('{"iss":"https://sakai.test","aud":"x"}') + ".sig",
        _b64('{"alg":"RS256","kid":"605831764"}') + "." + _b64("not json") + ".sig",
        "é.é.é",
    ],
)
def test_garbage_tokens_are_refused_not_crashed(client, token):
    response = client.post("/lti/launch", data={"id_token": token, "state": "s"})
    assert response.status_code == 400, response.get_data(as_text=True)[:400]


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "https://sakai.test/user/" + "x" * 300},
        {C + "context": {"id": "s" * 300, "title": "T" * 400}},
        {C + "resource_link": {"id": "content:" + "9" * 300, "title": "R" * 400}},
        {"name": "N" * 400, "email": "e" * 400 + "@x.edu", "locale": "en_US" * 10},
    ],
    ids=["sub", "context", "resource_link", "personal"],
)
def test_over_long_claims_are_refused_or_trimmed_never_crash(make_app, platform, database, claims):
    """Identifiers (keys of rooms and users) are refused; names and titles are trimmed."""
    client = make_app(database=database).test_client()
    response = post_launch(client, platform, **claims)
    if "name" in claims:
        assert response.status_code == 200, response.get_data(as_text=True)[:400]
    else:
        assert_refused(response, 400, "identifier that is too long")


def test_token_without_kid_is_refused(client, platform):
    def sign(body):
        token = platform.sign(body)
        header = _b64('{"alg":"RS256","typ":"JWT"}')
        return header + token[token.index(".") :]

    assert_refused(post_launch(client, platform, sign=sign), 400, "does not say which key signed it")


def test_token_for_another_registration_of_the_same_sakai_is_refused(make_app, platform):
    """Two tool registrations on one Sakai: a login for one cannot be finished with a token for the other."""
    from tests.conftest import tool_config

    config = tool_config(platform)
    second = {**platform.registration(), "client_id": "second-client", "default": False}
    config["platforms"][platform.issuer].append(second)
    client = make_app(config).test_client()
    response = post_launch(client, platform, aud="second-client")
    assert_refused(response, 400, "does not match the login")


@pytest.mark.parametrize(
    ("claim", "shown"),
    [(MEMBERSHIP + "Instructor", "Host"), ({"role": "Instructor"}, "Student"), (7, "Student")],
)
def test_roles_claim_that_is_not_a_list(client, platform, claim, shown):
    response = post_launch(client, platform, **{C + "roles": claim})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert role_shown(response.get_data(as_text=True)) == shown


def _b64_json(value) -> str:
    import base64
    import json

    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


_RS = {"alg": "RS256", "kid": "1"}
MALFORMED_TOKENS = {
    "header_string": lambda iss, aud: f"{_b64_json('x')}.{_b64_json({'iss': iss, 'aud': aud})}.c2ln",
    "header_list": lambda iss, aud: f"{_b64_json([1])}.{_b64_json({'iss': iss, 'aud': aud})}.c2ln",
    "body_list": lambda iss, aud: f"{_b64_json(_RS)}.{_b64_json([iss])}.c2ln",
    "body_string": lambda iss, aud: f"{_b64_json(_RS)}.{_b64_json('s')}.c2ln",
    "iss_list": lambda iss, aud: f"{_b64_json(_RS)}.{_b64_json({'iss': [iss], 'aud': aud})}.c2ln",
    "iss_missing": lambda iss, aud: f"{_b64_json(_RS)}.{_b64_json({'aud': aud})}.c2ln",
    "aud_dict": lambda iss, aud: f"{_b64_json(_RS)}.{_b64_json({'iss': iss, 'aud': {'a': 1}})}.c2ln",
    "aud_list_of_list": lambda iss, aud: f"{_b64_json(_RS)}.{_b64_json({'iss': iss, 'aud': [[aud]]})}.c2ln",
    "azp_list": lambda iss, aud: f"{_b64_json(_RS)}.{_b64_json({'iss': iss, 'aud': [aud, 'x'], 'azp': [aud]})}.c2ln",
    "kid_int": lambda iss, aud: f"{_b64_json({'alg': 'RS256', 'kid': 1})}.{_b64_json({'iss': iss, 'aud': aud})}.c2ln",
    "not_b64": lambda iss, aud: "%%%.%%%.%%%",
    "two_parts": lambda iss, aud: "a.b",
    "bad_utf8": lambda iss, aud: _b64_json(b"\xff\xfe") + "." + _b64_json(b"\xff") + ".c2ln",
}


@pytest.mark.parametrize("name", list(MALFORMED_TOKENS))
def test_malformed_id_tokens_are_refused_before_any_lookup(client, platform, name):
    """The reviewer's fuzz cases: every one is a 400 (an `iss` list used to be a 500)."""
    token = MALFORMED_TOKENS[name](platform.issuer, platform.client_id)
    response = client.post("/lti/launch", data={"id_token": token, "state": "x"})
    assert response.status_code == 400, (name, response.get_data(as_text=True)[:300])
    assert "Traceback" not in response.get_data(as_text=True)
