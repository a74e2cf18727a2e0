"""The load balancer's probes: /healthz (process up) and /readyz (database reachable, migrations at head)."""

from __future__ import annotations

import pytest

from lti_tool import create_app
from lti_tool.database import upgrade_database
from lti_tool.extensions import db
from tests.conftest import TEST_DATABASE_URL, _reset_postgres, tool_config


def bare_app(platform, tool_keys_dir, url: str):
    """An app on a database where nothing was created: what a fresh deployment starts from."""
    return create_app(
        {
            "TESTING": True,
            "config": tool_config(platform),
            "database_url": url,
            "secret_key": "test-secret",
            "KEYS_DIR": str(tool_keys_dir),
        }
    )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    if not TEST_DATABASE_URL:
        pytest.skip("PostgreSQL tests need TEST_DATABASE_URL (CI sets it)")
    _reset_postgres(TEST_DATABASE_URL)
    return TEST_DATABASE_URL


def test_healthz_answers_without_touching_the_database(platform, tool_keys_dir):
    app = bare_app(platform, tool_keys_dir, "postgresql+psycopg://nobody@127.0.0.1:1/none")
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_is_503_until_migrations_reach_head(platform, tool_keys_dir, empty_database_url):
    app = bare_app(platform, tool_keys_dir, empty_database_url)
    client = app.test_client()
    before = client.get("/readyz")
    assert before.status_code == 503
    assert before.get_json() == {"status": "migrations pending"}

    upgrade_database(app)

    after = client.get("/readyz")
    assert after.status_code == 200, after.get_json()
    assert after.get_json() == {"status": "ready"}
    with app.app_context():
        db.engine.dispose()


def test_readyz_is_503_when_the_database_is_unreachable(platform, tool_keys_dir):
    app = bare_app(platform, tool_keys_dir, "postgresql+psycopg://nobody@127.0.0.1:1/none")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "database unreachable"}


def test_database_outage_is_a_503_with_all_security_headers(platform, tool_keys_dir):
    app = bare_app(platform, tool_keys_dir, "postgresql+psycopg://nobody@127.0.0.1:1/none")
    response = app.test_client().get("/lti/login", query_string=platform.login_params())
    assert response.status_code == 503
    assert "cannot reach a service" in response.get_data(as_text=True)
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
