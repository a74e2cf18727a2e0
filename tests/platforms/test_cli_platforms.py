"""`lti-tool platform …` and `lti-tool modules …`: what an admin types, and what it leaves behind."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import func, select

from lti_tool.extensions import db
from lti_tool.models import AuditEvent, Platform
from tests.conftest import do_launch
from tests.sakai import ISSUER, TOOL_BASE

SAKAI = "https://sakai.example.edu"


def count(model):
    return lambda: db.session.scalar(select(func.count()).select_from(model))


def test_sakai_shortcut_fills_sakai_standard_paths(cli, in_app):
    result = cli("platform", "add", "--sakai", SAKAI + "/", "--client-id", "abc-123", "--tool-id", "7")
    assert result.exit_code == 0, result.output
    row = in_app(lambda: db.session.execute(select(Platform)).scalar_one())
    assert (row.issuer, row.client_id, row.deployment_ids) == (SAKAI, "abc-123", ["1"])
    assert row.auth_login_url == SAKAI + "/imsoidc/lti13/oidc_auth"
    assert row.auth_token_url == SAKAI + "/imsblis/lti13/token/7"
    assert row.key_set_url == SAKAI + "/imsblis/lti13/keyset"
    assert row.enabled
    assert in_app(lambda: db.session.scalar(select(AuditEvent.action))) == "platform.added"


def test_add_warns_when_the_key_set_is_on_a_private_address(cli):
    result = cli("platform", "add", "--sakai", "https://10.20.30.40", "--client-id", "c", "--tool-id", "7")
    assert result.exit_code == 0, result.output
    assert "Note: 10.20.30.40 resolves to a private address (10.20.30.40)" in result.output
    assert '"outbound": {"private_hosts": ["10.20.30.40"]}' in result.output
    public = cli("platform", "add", "--sakai", "https://93.184.215.14", "--client-id", "d", "--tool-id", "7")
    assert public.exit_code == 0, public.output
    assert "Note:" not in public.output


def test_add_with_every_url_and_two_deployments(cli, in_app):
    result = cli(
        "platform", "add", "--issuer", "https://lms.example.org", "--client-id", "x1",
        "--deployment-id", "1", "--deployment-id", "2",
        "--auth-login-url", "https://lms.example.org/auth", "--auth-token-url", "https://lms.example.org/token",
        "--key-set-url", "https://lms.example.org/jwks",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert in_app(lambda: db.session.execute(select(Platform)).scalar_one().deployment_ids) == ["1", "2"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sakai", SAKAI, "--client-id", "c"], "--sakai needs --tool-id"),
        (["--sakai", "ftp://sakai", "--client-id", "c", "--tool-id", "7"], "is not an http(s) URL"),
        (["--issuer", SAKAI, "--client-id", "c"], "Missing --auth-login-url, --auth-token-url, --key-set-url"),
        (["--sakai", SAKAI, "--tool-id", "7"], "Missing option '--client-id'"),
        (["--sakai", SAKAI, "--client-id", "  ", "--tool-id", "7"], "client id is missing"),
        (["--sakai", SAKAI, "--issuer", SAKAI, "--client-id", "c", "--tool-id", "7"], "not both"),
        ([*["--sakai", SAKAI, "--client-id", "c", "--tool-id", "7"], "--bogus"], "No such option"),
    ],
)
def test_bad_arguments_get_one_line_and_write_nothing(cli, in_app, args, message):
    result = cli("platform", "add", *args)
    assert result.exit_code != 0
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert in_app(count(Platform)) == 0
    assert in_app(count(AuditEvent)) == 0


def test_adding_the_same_platform_twice_is_refused(cli, in_app):
    args = ("platform", "add", "--sakai", SAKAI, "--client-id", "c", "--tool-id", "7")
    assert cli(*args).exit_code == 0
    again = cli(*args)
    assert again.exit_code == 1
    assert "already registered" in again.output
    assert in_app(count(Platform)) == 1


def test_config_json_platform_is_read_only(cli, in_app, platform):
    added = cli("platform", "add", "--issuer", ISSUER, "--client-id", platform.client_id,
                "--auth-login-url", ISSUER + "/a", "--auth-token-url", ISSUER + "/t", "--key-set-url", ISSUER + "/k",
                "--deployment-id", "1")  # fmt: skip
    assert added.exit_code == 1 and "config.json" in added.output
    for command in (["platform", "disable"], ["platform", "remove"], ["modules", "set"]):
        extra = ["--theming", "off"] if command[0] == "modules" else []
        result = cli(*command, platform.client_id, *extra)
        assert result.exit_code == 1, result.output
        assert "defined in config.json, which is read-only" in result.output
    assert in_app(count(Platform)) == 0


def test_list_shows_both_sources(cli, platform):
    cli("platform", "add", "--sakai", SAKAI, "--client-id", "db-client", "--tool-id", "7")
    cli("platform", "disable", "db-client")
    output = cli("platform", "list").output
    assert f"{ISSUER}  client id {platform.client_id}" in output
    assert "[config.json, enabled]" in output
    assert f"{SAKAI}  client id db-client  deployment 1  [database, disabled]" in output


def test_disable_enable_remove(cli, in_app):
    cli("platform", "add", "--sakai", SAKAI, "--client-id", "c", "--tool-id", "7")
    assert cli("platform", "disable", "c").exit_code == 0
    assert in_app(lambda: db.session.execute(select(Platform.enabled)).scalar_one()) is False
    assert cli("platform", "enable", "c").exit_code == 0
    assert in_app(lambda: db.session.execute(select(Platform.enabled)).scalar_one()) is True
    assert cli("platform", "remove", "c").exit_code == 0
    assert in_app(count(Platform)) == 0
    missing = cli("platform", "remove", "c")
    assert missing.exit_code == 1 and "No platform with client id 'c'" in missing.output
    actions = in_app(lambda: db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all())
    assert actions == ["platform.added", "platform.disabled", "platform.enabled", "platform.removed"]


def test_modules_set_and_show(cli, in_app):
    cli("platform", "add", "--sakai", SAKAI, "--client-id", "c", "--tool-id", "7")
    result = cli("modules", "set", "c", "--mediapage", "No")
    assert result.exit_code == 0, result.output
    assert "Invitetomedia on, Theming on, mediapage No" in result.output
    assert "Guest access: unavailable. Guest access requires the Theming module with 'mediapage' set to 'Yes'." in (
        result.output
    )
    assert in_app(lambda: db.session.execute(select(Platform.modules)).scalar_one()) == {"theming": {"mediapage": "No"}}
    cli("modules", "set", "c", "--invitetomedia", "off", "--mediapage", "yes")
    shown = cli("modules", "show", "c").output
    assert "Invitetomedia off, Theming on, mediapage Yes" in shown
    assert "Guest access requires the Invitetomedia module." in shown
    event = in_app(lambda: db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first())
    assert event.action == "platform.modules_changed"
    assert event.detail["after"]["invitetomedia"]["enabled"] is False


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["c", "--theming", "maybe"], "theming must be on/off, not 'maybe'"),
        (["c", "--mediapage", "on"], "mediapage must be Yes/No, not 'on'"),
        (["c"], "Nothing to change"),
        (["nope", "--theming", "off"], "No platform with client id 'nope'"),
    ],
)
def test_modules_set_refusals(cli, in_app, args, message):
    cli("platform", "add", "--sakai", SAKAI, "--client-id", "c", "--tool-id", "7")
    result = cli("modules", "set", *args)
    assert result.exit_code == 1
    assert message in result.output
    assert in_app(lambda: db.session.execute(select(Platform.modules)).scalar_one()) == {}


def _add_db_platform(app, platform, client_id):
    result = app.test_cli_runner().invoke(
        args=["lti", "platform", "add", "--issuer", platform.issuer, "--client-id", client_id,
              "--deployment-id", "1", "--auth-login-url", platform.issuer + "/imsoidc/lti13/oidc_auth",
              "--auth-token-url", platform.issuer + "/imsblis/lti13/token/7", "--key-set-url", platform.keyset.url]
    )  # fmt: skip
    assert result.exit_code == 0, result.output


def test_platform_added_on_the_command_line_launches_until_disabled(make_app, platform):
    app = make_app(config={"tool": {"base_url": TOOL_BASE}})
    _add_db_platform(app, platform, platform.client_id)
    client = app.test_client()
    assert "Weekly seminar" in do_launch(client, platform).html
    app.test_cli_runner().invoke(args=["lti", "platform", "disable", platform.client_id])
    refused = client.get("/lti/login", query_string=platform.login_params())
    assert refused.status_code == 400
    assert "not known to the tool" in refused.get_data(as_text=True)


def test_second_registration_of_a_config_json_issuer_comes_from_the_database(make_app, platform):
    app = make_app()
    _add_db_platform(app, platform, "second-client")
    second = replace(platform, client_id="second-client")
    assert "Weekly seminar" in do_launch(app.test_client(), second).html


def test_modules_show_for_a_config_json_platform_says_where_to_change_it(cli, platform):
    result = cli("modules", "show", platform.client_id)
    assert result.exit_code == 0
    assert "Guest access: available" in result.output
    assert "Defined in config.json: change its 'modules' there and restart the tool." in result.output
