"""The schema is managed by migrations: `flask db upgrade` builds it on an empty database, and
the migrations describe exactly the models (no forgotten column, index or constraint)."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from lti_tool import create_app
from lti_tool.database import MIGRATIONS_DIR, upgrade_database
from lti_tool.extensions import db
from tests.conftest import TEST_DATABASE_URL, _reset_postgres, tool_config


def _type_of_utc_datetime(context, inspected, metadata_column, inspected_type, metadata_type):
    """Our UTCDateTime is stored as a plain DateTime: not a difference."""
    from lti_tool.extensions import UTCDateTime

    if isinstance(metadata_type, UTCDateTime):
        return type(inspected_type).__name__.upper() not in ("DATETIME", "TIMESTAMP")
    return None


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def migrated_app(request, tmp_path, platform, tool_keys_dir):
    if request.param == "postgres":
        if not TEST_DATABASE_URL:
            pytest.skip("PostgreSQL tests need TEST_DATABASE_URL (CI sets it)")
        _reset_postgres(TEST_DATABASE_URL)
        url = TEST_DATABASE_URL
    else:
        url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    app = create_app(
        {
            "TESTING": True,
            "config": tool_config(platform),
            "database_url": url,
            "secret_key": "t",
            "KEYS_DIR": str(tool_keys_dir),
        }
    )
    upgrade_database(app)
    yield app
    with app.app_context():
        db.engine.dispose()


def test_upgrade_on_an_empty_database_creates_every_table(migrated_app):
    with migrated_app.app_context():
        tables = set(inspect(db.engine).get_table_names())
    assert set(db.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_upgrade_reaches_the_single_head(migrated_app):
    heads = ScriptDirectory(MIGRATIONS_DIR).get_heads()
    assert len(heads) == 1, f"migrations must form one chain, found heads {heads}"
    with migrated_app.app_context(), db.engine.connect() as conn:
        assert set(MigrationContext.configure(conn).get_current_heads()) == set(heads)


def test_migrations_match_the_models(migrated_app):
    with migrated_app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": _type_of_utc_datetime, "compare_server_default": True}
        )
        diff = compare_metadata(context, db.metadata)
    assert diff == [], "models and migrations differ; run 'flask --app wsgi db migrate':\n" + "\n".join(map(str, diff))


def test_upgrade_twice_is_harmless(migrated_app):
    upgrade_database(migrated_app)


def test_readyz_reports_ready_after_upgrade(migrated_app):
    assert migrated_app.test_client().get("/readyz").json == {"status": "ready"}


def test_launch_works_on_the_migrated_schema(migrated_app, platform):
    from tests.conftest import do_launch

    result = do_launch(migrated_app.test_client(), platform)
    assert result.response.status_code == 200, result.html[:300]
