"""Platforms registered at run time (database rows, beside config.json) launch like any other."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, event, text

from lti_tool.extensions import db
from lti_tool.lti import tool as tool_module
from lti_tool.models import Platform
from tests.conftest import do_launch, tool_config


@pytest.fixture
def db_platform_app(make_app, platform):
    app = make_app({**tool_config(platform), "platforms": {}})
    reg = platform.registration()
    reg.pop("default")
    with app.app_context():
        db.session.add(Platform(issuer=platform.issuer, **reg))
        db.session.commit()
    return app


def set_platform(app, **values):
    with app.app_context():
        row = db.session.execute(db.select(Platform)).scalar_one()
        for name, value in values.items():
            setattr(row, name, value)
        db.session.commit()


def test_database_platform_launches(db_platform_app, platform):
    result = do_launch(db_platform_app.test_client(), platform)
    assert result.response.status_code == 200, result.html[:300]
    assert "Manage guest access" in result.html


def test_database_platform_module_override_applies(db_platform_app, platform):
    set_platform(db_platform_app, modules={"invitetomedia": {"enabled": False}})
    result = do_launch(db_platform_app.test_client(), platform)
    assert "Manage guest access" not in result.html
    assert "Guest access requires the Invitetomedia module." in result.html


def test_disabled_database_platform_is_refused_at_once_in_this_process(db_platform_app, platform):
    set_platform(db_platform_app, enabled=False)
    response = db_platform_app.test_client().get("/lti/login", query_string=platform.login_params())
    assert response.status_code == 400
    assert "not known to the tool" in response.get_data(as_text=True)


def test_database_platform_unknown_deployment_is_refused(db_platform_app, platform):
    set_platform(db_platform_app, deployment_ids=["7"])
    result = do_launch(db_platform_app.test_client(), platform)
    assert result.response.status_code == 400
    assert "deployment of the tool is not registered" in result.html


def test_only_enabled_platforms_may_frame_the_tool(db_platform_app, platform):
    client = db_platform_app.test_client()
    assert "https://sakai.test" in client.get("/lti/login").headers["Content-Security-Policy"]
    set_platform(db_platform_app, enabled=False)
    assert "frame-ancestors 'none'" in client.get("/lti/login").headers["Content-Security-Policy"]


def test_change_made_by_another_process_takes_effect_within_the_ttl(db_platform_app, platform, monkeypatch):
    """Another worker or host disabling the platform: this process's registry is at most
    PLATFORMS_TTL seconds old, so launches stop within that time."""
    client = db_platform_app.test_client()
    assert client.get("/lti/login", query_string=platform.login_params(lti_storage_target=None)).status_code == 302
    other_process = create_engine(db_platform_app.config["SQLALCHEMY_DATABASE_URI"])
    with other_process.begin() as conn:
        conn.execute(text("UPDATE platform SET enabled = false"))
    other_process.dispose()
    assert client.get("/lti/login", query_string=platform.login_params(lti_storage_target=None)).status_code == 302
    later = tool_module.time.monotonic() + tool_module.PLATFORMS_TTL + 0.1
    monkeypatch.setattr(tool_module.time, "monotonic", lambda: later)
    refused = client.get("/lti/login", query_string=platform.login_params(lti_storage_target=None))
    assert refused.status_code == 400
    assert "not known to the tool" in refused.get_data(as_text=True)


def test_login_does_not_touch_the_database(db_platform_app, platform):
    """The registry is kept per process and the state travels in the `state` itself."""
    client = db_platform_app.test_client()
    # The first login builds this process's registry.
    client.get("/lti/login", query_string=platform.login_params(lti_storage_target=None))
    statements = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    with db_platform_app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        response = client.get("/lti/login", query_string=platform.login_params(lti_storage_target=None))
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert response.status_code == 302
    assert statements == []
