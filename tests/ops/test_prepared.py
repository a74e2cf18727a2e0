"""database.Prepared: the launch's statements run on the session's DBAPI cursor, yet store and read
values exactly as the ORM does, stay inside the session's transaction, and fail as SQLAlchemy does."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from lti_tool.clock import utcnow
from lti_tool.database import Prepared
from lti_tool.extensions import db
from lti_tool.models import Launch, Room, new_id

DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
INSERT_LAUNCH = Prepared(insert(Launch.__table__))
ROOM_FACTS = Prepared(
    select(Room.title, Room.guest_chat_enabled, Room.deleted_at, Room.created_at).where(Room.id == text(":id"))
)


def launch_row(**changes) -> dict:
    now = utcnow()
    row = {
        "id": new_id(), "room_id": None, "issuer": "https://sakai.test", "client_id": "c", "deployment_id": "d",
        "message_type": "LtiResourceLinkRequest", "user_sub": "u", "user_name": "Ann", "user_email": None,
        "role": "host", "is_admin": True, "locale": "en_US", "extra": {"deep_linking_settings": {"a": [1]}},
        "bound": False, "state": "s" * 64, "created_at": now, "expires_at": now + timedelta(hours=1),
    }  # fmt: skip
    return row | changes


@pytest.mark.parametrize("database", DATABASES)
def test_values_are_stored_as_the_orm_stores_them(make_app, database):
    app = make_app(database=database)
    prepared, orm = launch_row(), launch_row()
    with app.test_request_context("/x", method="POST"):
        INSERT_LAUNCH.execute(prepared)
        db.session.execute(insert(Launch.__table__), orm)
        db.session.commit()
        stored = {row.id: row for row in db.session.scalars(select(Launch))}
        # The same comparisons work on both rows: dates, booleans and JSON came back alike.
        for row, sent in ((stored[prepared["id"]], prepared), (stored[orm["id"]], orm)):
            assert (row.is_admin, row.bound, row.extra) == (True, False, {"deep_linking_settings": {"a": [1]}})
            assert row.expires_at == sent["expires_at"]
        raw = db.session.execute(text("SELECT expires_at FROM launch ORDER BY expires_at")).scalars().all()
        assert len({type(value) for value in raw}) == 1
        found = db.session.scalars(select(Launch.id).where(Launch.expires_at > utcnow())).all()
        assert sorted(found) == sorted([prepared["id"], orm["id"]])


@pytest.mark.parametrize("database", DATABASES)
def test_results_are_converted_by_the_column_types(make_app, database):
    app = make_app(database=database)
    with app.test_request_context("/x", method="POST"):
        db.session.add(Room(id="r1", issuer="i", client_id="c", deployment_id="d", context_id="x",
                            resource_link_id="l", title="Biology", guest_chat_enabled=False))  # fmt: skip
        db.session.flush()
        title, chat, deleted_at, created_at = ROOM_FACTS.first({"id": "r1"})
        assert (title, chat, deleted_at) == ("Biology", False, None)
        assert chat is False  # not SQLite's 0
        assert created_at.tzinfo is not None and abs(created_at - utcnow()) < timedelta(minutes=1)
        assert ROOM_FACTS.first({"id": "gone"}) is None


@pytest.mark.parametrize("database", DATABASES)
def test_runs_inside_the_session_transaction(make_app, database):
    app = make_app(database=database)
    row = launch_row()
    with app.test_request_context("/x", method="POST"):
        INSERT_LAUNCH.execute(row)
        db.session.rollback()
        assert db.session.get(Launch, row["id"]) is None
        INSERT_LAUNCH.execute(row)
        db.session.commit()
        assert db.session.get(Launch, row["id"]) is not None


@pytest.mark.parametrize("database", DATABASES)
def test_a_database_error_is_sqlalchemys_and_the_session_recovers(make_app, database):
    app = make_app(database=database)
    row = launch_row()
    with app.test_request_context("/x", method="POST"):
        INSERT_LAUNCH.execute(row)
        db.session.commit()
        with pytest.raises(IntegrityError) as raised:
            INSERT_LAUNCH.execute(row)
        assert row["state"] not in str(raised.value)  # parameters are never shown
        db.session.rollback()
        INSERT_LAUNCH.execute(launch_row())
        db.session.commit()
        assert db.session.query(Launch).count() == 2


@pytest.mark.postgres
def test_a_lost_connection_is_invalidated_and_the_next_request_reconnects(make_app):
    app = make_app(database="postgres")
    with app.test_request_context("/x", method="POST"):
        pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar()
        with db.engine.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(OperationalError) as raised:
            INSERT_LAUNCH.execute(launch_row())
        assert raised.value.connection_invalidated
        db.session.rollback()
    with app.test_request_context("/x", method="POST"):
        INSERT_LAUNCH.execute(launch_row())
        db.session.commit()


def test_a_missing_value_is_named_and_nothing_runs(app):
    with app.test_request_context("/x", method="POST"), pytest.raises(TypeError, match="'id'"):
        ROOM_FACTS.first({})
