"""Logs: a request id on every line, JSON when asked, reason codes on refusals, no secrets."""

from __future__ import annotations

import io
import json
import logging

import pytest

from lti_tool.logging_setup import REDACTED, build_handler, redact
from tests.sakai import auth_url_from


@pytest.fixture
def captured():
    """Every log line of the app, formatted by our handler (JSON), as a list of dicts."""
    stream = io.StringIO()
    handler = build_handler(stream, "json")
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)

    def lines() -> list[dict]:
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    lines.text = stream.getvalue  # type: ignore[attr-defined]
    yield lines
    root.removeHandler(handler)
    root.setLevel(old_level)


def test_refusal_is_logged_with_reason_and_the_request_id_it_answers_with(client, captured):
    response = client.get("/lti/login", headers={"X-Request-ID": "lb-7f3a.42"})
    assert response.status_code == 400
    assert response.headers["X-Request-ID"] == "lb-7f3a.42"
    refused = [line for line in captured() if line.get("reason") == "login_missing_params"]
    assert len(refused) == 1
    assert refused[0]["request_id"] == "lb-7f3a.42"
    assert refused[0]["status"] == 400


@pytest.mark.parametrize("given", ["", "has space", "x" * 65, "semi;colon", "ünï"])
def test_insane_request_id_is_replaced_by_a_fresh_one(client, given):
    response = client.get("/healthz", headers={"X-Request-ID": given})
    echoed = response.headers["X-Request-ID"]
    assert echoed != given
    assert len(echoed) == 32 and all(c in "0123456789abcdef" for c in echoed)


def test_every_request_gets_its_own_id(client):
    ids = {client.get("/healthz").headers["X-Request-ID"] for _ in range(3)}
    assert len(ids) == 3


def test_replayed_launch_logs_reason_but_no_token_state_or_email(client, platform, captured):
    login = client.get("/lti/login", query_string=platform.login_params())
    form = platform.authorize(auth_url_from(login))
    assert client.post("/lti/launch", data=form).status_code == 200
    assert client.post("/lti/launch", data=form).status_code == 400

    text = captured.text()
    assert any(line.get("reason") == "replay" for line in captured())
    assert form["id_token"] not in text
    assert form["state"] not in text
    assert "jsmith@example.edu" not in text


def test_unexpected_errors_are_logged_with_reason_and_redacted_traceback(make_app, captured):
    app = make_app()

    @app.get("/boom")
    def boom():
        raise RuntimeError("failed for guest ada@example.org with eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJlX2hlcmU")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    [line] = [line for line in captured() if line.get("reason") == "internal_error"]
    assert "ada@example.org" not in line["exc"]
    assert "eyJzdWIiOi" not in line["exc"]
    assert "RuntimeError" in line["exc"]


@pytest.mark.parametrize(
    "secret",
    [
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln",  # a JWT
        "ImFiYyI.ZxYzAb.mB0kZ2cL9aWQx8p7rT4uVw1yE3s",  # an itsdangerous launch token
        "Qx9v3kP0aZ_b-7LmN2oR5sT8uV1wY4zA6cD9eF2gH",  # secrets.token_urlsafe(32): state, nonce
        "jane.smith+tag@uni.example.edu",
    ],
)
def test_redact_blanks_things_that_look_like_secrets(secret):
    assert redact(f"got {secret} here") == f"got {REDACTED} here"


@pytest.mark.parametrize(
    "harmless", ["GET /lti/launch 200", "room Zx8Kq1 admitted 10 of 90", "/api/rooms/Zx8Kq1/state"]
)
def test_redact_keeps_ordinary_text(harmless):
    assert redact(harmless) == harmless


def test_text_format_is_one_readable_line_with_request_id_and_extras():
    stream = io.StringIO()
    handler = build_handler(stream, "text")
    record = logging.LogRecord("lti_tool.errors", logging.INFO, __file__, 1, "refused", (), None)
    record.reason = "not_moderator"
    handler.handle(record)
    line = stream.getvalue().strip()
    assert "INFO lti_tool.errors [-] refused" in line
    assert line.endswith("reason=not_moderator")


@pytest.mark.parametrize(
    ("method", "url", "reason"), [("GET", "/no/such/page", "http_404"), ("PUT", "/healthz", "http_405")]
)
def test_http_refusals_are_logged_with_a_reason_code(client, captured, method, url, reason):
    response = client.open(url, method=method)
    assert response.status_code == int(reason[-3:])
    assert [line["reason"] for line in captured() if line.get("reason")] == [reason]


@pytest.mark.parametrize("path", ["/g/Ab3dE", "/g/Ab3dE/wait", "POST /g/Ab3dE?x=1"])
def test_redact_blanks_guest_link_tokens_in_paths_however_short(path):
    assert "Ab3dE" not in redact(path)
    assert "/g/" + REDACTED in redact(path)


def test_running_migrations_does_not_silence_the_app_logs(platform, tool_keys_dir, tmp_path, captured):
    from lti_tool.database import upgrade_database
    from tests.ops.test_probes import bare_app

    app = bare_app(platform, tool_keys_dir, f"sqlite:///{tmp_path / 'migrated.sqlite3'}")
    upgrade_database(app)
    assert app.test_client().get("/lti/login").status_code == 400
    assert any(line.get("reason") == "login_missing_params" for line in captured())


def test_forked_workers_draw_different_request_ids(client):
    """Ids come from the per-process generator; gunicorn's workers are forks of one process, and
    Python reseeds that generator in every forked child."""
    import os

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: one request, its id to the parent
        os.write(write, client.get("/healthz").headers["X-Request-ID"].encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    child = os.read(read, 64).decode()
    os.close(read)
    assert len(child) == 32
    assert child != client.get("/healthz").headers["X-Request-ID"]
