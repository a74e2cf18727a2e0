"""Key rotation as a platform sees it (through /lti/jwks), and `lti-tool info` kept true."""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

import jwt
import pytest

from lti_tool.lti.keys import generate_key, load_keys
from tests.sakai import TOOL_BASE


@pytest.fixture
def rotating_app(make_app, tmp_path, frozen_clock):
    keys = tmp_path / "rotating-keys"
    generate_key(keys)
    return make_app(KEYS_DIR=str(keys)), keys


def tool_signed(keys_dir) -> str:
    """A client assertion / deep-linking response as the tool signs it: newest key, its kid."""
    key = load_keys(keys_dir)[-1]
    now = int(time.time())
    return jwt.encode(
        {"iss": "tool", "aud": "platform", "iat": now, "exp": now + 300},
        key.private_pem,
        algorithm="RS256",
        headers={"kid": key.kid},
    )


def platform_verifies(client, token: str) -> bool:
    """What Sakai does: fetch the tool's key set, pick the key by kid, verify."""
    keyset = jwt.PyJWKSet.from_dict(client.get("/lti/jwks").get_json())
    kid = jwt.get_unverified_header(token)["kid"]
    matching = [k for k in keyset.keys if k.key_id == kid]
    if not matching:
        return False
    jwt.decode(token, matching[0].key, algorithms=["RS256"], audience="platform")
    return True


def test_rotation_keeps_both_keys_verifying_until_retired(rotating_app, frozen_clock):
    app, keys = rotating_app
    client, cli = app.test_client(), app.test_cli_runner()
    old_token = tool_signed(keys)

    frozen_clock.advance(days=30)
    rotated = cli.invoke(args=["lti", "keys", "rotate"])
    assert rotated.exit_code == 0, rotated.output
    new_token = tool_signed(keys)
    assert jwt.get_unverified_header(new_token)["kid"] != jwt.get_unverified_header(old_token)["kid"]
    assert len(client.get("/lti/jwks").get_json()["keys"]) == 2
    assert platform_verifies(client, old_token) and platform_verifies(client, new_token)
    listed = cli.invoke(args=["lti", "keys", "list"]).output.splitlines()
    assert [line.rsplit("  ", 1)[1] for line in listed] == ["published, no longer signs", "signs"]

    frozen_clock.advance(hours=23)
    early = cli.invoke(args=["lti", "keys", "retire"])
    assert early.exit_code == 1
    assert "Retire after" in early.output and "--force" in early.output
    assert platform_verifies(client, old_token)

    frozen_clock.advance(hours=1)
    retired = cli.invoke(args=["lti", "keys", "retire"])
    assert retired.exit_code == 0, retired.output
    assert platform_verifies(client, new_token)
    assert not platform_verifies(client, old_token)
    assert len(list((keys / "retired").glob("tool-*.pem"))) == 1


def test_retire_with_force_and_with_nothing_to_retire(rotating_app, frozen_clock):
    app, keys = rotating_app
    cli = app.test_cli_runner()
    nothing = cli.invoke(args=["lti", "keys", "retire"])
    assert nothing.exit_code == 1 and "Nothing to retire" in nothing.output
    frozen_clock.advance(seconds=1)
    cli.invoke(args=["lti", "keys", "rotate"])
    assert cli.invoke(args=["lti", "keys", "retire", "--force"]).exit_code == 0
    assert len(load_keys(keys)) == 1


def test_info_prints_the_sakai_form_values(app):
    output = app.test_cli_runner().invoke(args=["lti", "info"]).output
    assert "Launch URL / Target Link URI:" in output
    lines = dict(re.findall(r"^\s+([^:\n]+):\s+(\S+)$", output, flags=re.M))
    assert lines["Launch URL / Target Link URI"] == TOOL_BASE + "/lti/launch"
    assert lines["Tool OpenID Connect/Initialization Endpoint"] == TOOL_BASE + "/lti/login"
    assert lines["Tool Redirect Endpoint(s)"] == TOOL_BASE + "/lti/launch"
    assert lines["LTI 1.3 Tool Keyset URL"] == TOOL_BASE + "/lti/jwks"
    assert lines["Dynamic Registration URL"] == TOOL_BASE + "/lti/register?invite=<code>"
    assert lines["Custom parameters (media gallery placements only)"] == "room_type=mediagallery"


METHOD_FOR = {"/lti/launch": "POST", "/lti/login": "GET", "/lti/jwks": "GET", "/lti/register": "GET"}


def test_every_url_info_prints_is_served(app):
    output = app.test_cli_runner().invoke(args=["lti", "info"]).output
    paths = {urlsplit(url).path for url in re.findall(r"https?://[^\s?]+", output)}
    assert paths == set(METHOD_FOR)
    client = app.test_client()
    for path in paths:
        response = client.open(path, method=METHOD_FOR[path])
        assert response.status_code not in (404, 405), (path, response.status_code)
