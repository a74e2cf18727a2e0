"""Real concurrency: the app in a threaded server, 20 requests released at once by a barrier.

A replayed id_token must be accepted exactly once (atomic nonce insert, not check-then-insert),
on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import threading
from collections import Counter
from contextlib import contextmanager

import pytest
import requests
from werkzeug.serving import make_server

from lti_tool.lti.views import state_cookie_name
from tests.sakai import start_login

PARALLEL = 20


@contextmanager
def running(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


def fire(url: str, requests_: list[dict]) -> list[int]:
    """POST every request at the same moment; returns the status codes."""
    barrier = threading.Barrier(len(requests_))
    statuses: list[int] = []

    def one(kwargs):
        with requests.Session() as http:
            barrier.wait(10)
            statuses.append(http.post(url, timeout=30, **kwargs).status_code)

    threads = [threading.Thread(target=one, args=(kw,)) for kw in requests_]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return statuses


def signed_launch(app, platform, user: str = "5b1f7c2e") -> dict:
    """A complete login done by one browser: the id_token form and the state cookie."""
    client = app.test_client()
    auth = start_login(client, platform)
    token = platform.sign(platform.claims(auth["nonce"], user=user))
    return {
        "data": {"id_token": token, "state": auth["state"]},
        "headers": {"Cookie": f"{state_cookie_name(auth['state'])}={auth['state']}"},
    }


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_parallel_replays_of_one_id_token_are_accepted_once(make_app, platform, database):
    app = make_app(database=database)
    one = signed_launch(app, platform)
    with running(app) as base:
        statuses = fire(base + "/lti/launch", [one] * PARALLEL)
    assert Counter(statuses) == {200: 1, 400: PARALLEL - 1}


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_parallel_first_launches_all_succeed_before_keys_are_cached(make_app, platform, database):
    """A class opening the tool at once on a fresh install: one key-set fetch serves everyone."""
    app = make_app(database=database)
    launches = [signed_launch(app, platform, user=f"u{i}") for i in range(PARALLEL)]
    with running(app) as base:
        statuses = fire(base + "/lti/launch", launches)
    assert Counter(statuses) == {200: PARALLEL}


def fire_get(url: str, params: list[dict]) -> list[int]:
    barrier = threading.Barrier(len(params))
    statuses: list[int] = []

    def one(query):
        with requests.Session() as http:
            barrier.wait(10)
            statuses.append(http.get(url, params=query, timeout=30, allow_redirects=False).status_code)

    threads = [threading.Thread(target=one, args=(q,)) for q in params]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return statuses


@pytest.mark.parametrize("source", ["config", "database"])
@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_parallel_logins_all_start(make_app, platform, database, source):
    """Login is a GET that writes (the login state): a class arriving at once must all get in,
    whether the platform is in config.json or registered in the database."""
    from lti_tool.extensions import db
    from lti_tool.models import Platform
    from tests.conftest import tool_config

    config = tool_config(platform) if source == "config" else {**tool_config(platform), "platforms": {}}
    app = make_app(config, database=database)
    if source == "database":
        reg = platform.registration()
        reg.pop("default")
        with app.app_context():
            db.session.add(Platform(issuer=platform.issuer, **reg))
            db.session.commit()
    params = [platform.login_params(lti_storage_target=None, login_hint=f"u{i}") for i in range(PARALLEL)]
    with running(app) as base:
        statuses = fire_get(base + "/lti/login", params)
    assert Counter(statuses) == {302: PARALLEL}
