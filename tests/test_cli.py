"""The CLI (`lti-tool …` / `flask lti …`): key generation, migrations; and the public JWKS."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from lti_tool.config import PROJECT_ROOT
from lti_tool.lti.keys import load_keys

PRIVATE_PARTS = {"d", "p", "q", "dp", "dq", "qi"}


@pytest.fixture
def empty_keys_app(make_app, tmp_path):
    keys_dir = tmp_path / "fresh-keys"
    return make_app(KEYS_DIR=str(keys_dir)), keys_dir


def test_keys_generate_creates_a_private_key_readable_only_by_its_owner(empty_keys_app):
    app, keys_dir = empty_keys_app
    result = app.test_cli_runner().invoke(args=["lti", "keys", "generate"])
    assert result.exit_code == 0, result.output
    [key] = list(keys_dir.glob("tool-*.pem"))
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert str(key) in result.output


def test_keys_generate_keeps_an_existing_key(empty_keys_app):
    app, keys_dir = empty_keys_app
    runner = app.test_cli_runner()
    runner.invoke(args=["lti", "keys", "generate"])
    again = runner.invoke(args=["lti", "keys", "generate"])
    assert again.exit_code == 0
    assert "already exists" in again.output
    assert len(list(keys_dir.glob("tool-*.pem"))) == 1


def test_private_keys_are_git_ignored():
    ignored = (PROJECT_ROOT / ".gitignore").read_text().splitlines()
    assert "keys/*.pem" in ignored


@pytest.mark.parametrize("path", ["/lti/jwks", "/.well-known/jwks.json"])
def test_jwks_lists_public_keys_only(client, tool_keys_dir, path):
    response = client.get(path)
    assert response.status_code == 200
    body = response.json
    assert list(body) == ["keys"]
    [key] = body["keys"]
    assert key["kid"] == load_keys(Path(tool_keys_dir))[0].kid
    assert {key["kty"], key["alg"], key["use"]} == {"RSA", "RS256", "sig"}
    assert not PRIVATE_PARTS & set(key)


def test_jwks_without_a_key_is_a_clear_error_not_a_crash(empty_keys_app):
    app, _ = empty_keys_app
    response = app.test_client().get("/lti/jwks", headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert "lti-tool keys generate" in response.json["error"]


def test_launch_works_before_the_tool_has_a_key(empty_keys_app, platform):
    """Launches verify the platform's signature; the tool's own key is only for signing."""
    from tests.conftest import do_launch

    app, _ = empty_keys_app
    assert do_launch(app.test_client(), platform).response.status_code == 200


def test_db_upgrade_command(tmp_path, platform, tool_keys_dir):
    from lti_tool import create_app
    from tests.conftest import tool_config

    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    app = create_app({"TESTING": True, "config": tool_config(platform), "database_url": url, "secret_key": "s"})
    result = app.test_cli_runner().invoke(args=["lti", "db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output


def test_console_script_with_broken_config_prints_one_error_line(tmp_path):
    config = tmp_path / "broken.json"
    config.write_text(json.dumps({"tool": {"base_url": "nope"}}))
    env = {**os.environ, "LTI_TOOL_CONFIG": str(config), "SECRET_KEY": "s"}
    script = Path(sys.executable).with_name("lti-tool")
    done = subprocess.run(  # noqa: S603 - our own console script
        [str(script), "keys", "generate"], env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip() == "error: broken.json: tool.base_url: 'nope' is not an http(s) URL"


def test_db_purge_removes_only_expired_nonces(app, platform, frozen_clock):
    from lti_tool.extensions import db
    from lti_tool.models import UsedNonce
    from tests.conftest import do_launch

    client = app.test_client()
    do_launch(client, platform)  # one used nonce, soon expired
    frozen_clock.advance(hours=3)
    do_launch(client, platform)  # a fresh one
    result = app.test_cli_runner().invoke(args=["lti", "purge"])
    assert result.exit_code == 0, result.output
    assert "1 expired nonce row(s)" in result.output
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(UsedNonce)) == 1
