from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text

from lti_tool import clock, create_app
from lti_tool.extensions import db
from lti_tool.lti.keyset import key_sets
from tests import sakai

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")


@pytest.fixture(scope="session")
def platform_key():
    return sakai.new_key()


@pytest.fixture(scope="session")
def keyset_server():
    server = sakai.KeySetServer()
    yield server
    server.close()


@pytest.fixture
def platform(platform_key, keyset_server):
    keyset_server.mode = "ok"
    keyset_server.release.clear()
    return sakai.SakaiPlatform(key=platform_key, keyset=keyset_server)


@pytest.fixture(scope="session")
def tool_keys_dir(tmp_path_factory):
    from lti_tool.lti.keys import generate_key

    path = tmp_path_factory.mktemp("keys")
    generate_key(path)
    return path


def tool_config(platform: sakai.SakaiPlatform, **sections) -> dict:
    config = {
        "tool": {"title": "Guest access for rooms", "base_url": sakai.TOOL_BASE},
        "platforms": {platform.issuer: [platform.registration()]},
    }
    config.update(sections)
    return config


def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture
def make_app(tmp_path, platform, tool_keys_dir):
    """Build an app: `make_app(config=..., database="sqlite"|"postgres")`."""
    created = []

    def factory(config: dict | None = None, database: str = "sqlite", **overrides):
        if database == "postgres":
            if not TEST_DATABASE_URL:
                pytest.skip("PostgreSQL tests need TEST_DATABASE_URL (CI sets it)")
            _reset_postgres(TEST_DATABASE_URL)
            url = TEST_DATABASE_URL
        else:
            url = f"sqlite:///{tmp_path / f'test{len(created)}.sqlite3'}"
        app = create_app(
            {
                "TESTING": True,
                "config": config or tool_config(platform),
                "database_url": url,
                "secret_key": "test-secret",
                "KEYS_DIR": str(tool_keys_dir),
                **overrides,
            }
        )
        with app.app_context():
            db.create_all()
        created.append(app)
        return app

    yield factory
    for app in created:
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture(autouse=True)
def _fresh_key_cache():
    key_sets._memo.clear()
    yield
    key_sets._memo.clear()


@pytest.fixture
def client(app):
    return app.test_client()


class FrozenClock:
    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def frozen_clock():
    # Frozen at the real "now", so tokens signed before the freeze (real time) stay valid.
    fake = FrozenClock(datetime.now(UTC).replace(microsecond=0))
    clock.set_clock(fake)
    yield fake
    clock.set_clock(None)


@dataclass
class Launched:
    response: object
    html: str
    token: str | None
    room_id: str | None

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Launch-Token": self.token}


def do_launch(client, platform: sakai.SakaiPlatform, role="Instructor", *, login=None, **claims) -> Launched:
    """The whole Sakai flow: login initiation (GET) → auth redirect → id_token POST."""
    login_response = client.get("/lti/login", query_string=platform.login_params(**(login or {})))
    assert login_response.status_code in (200, 302), login_response.get_data(as_text=True)[:300]
    form = platform.authorize(sakai.auth_url_from(login_response), role, **claims)
    response = client.post("/lti/launch", data=form)
    html = response.get_data(as_text=True)
    return Launched(response, html, sakai.token_from(html), sakai.room_id_from(html))


@pytest.fixture
def launch(client, platform):
    def run(role="Instructor", **claims) -> Launched:
        return do_launch(client, platform, role, **claims)

    return run
