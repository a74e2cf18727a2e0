"""Engine settings that keep many workers correct: SQLite WAL + busy timeout + BEGIN IMMEDIATE for
writes, queued on a lock file; PostgreSQL pre-ping, a bounded pool and a statement timeout."""

from __future__ import annotations

import fcntl
import os
import sqlite3

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from lti_tool.database import engine_options
from lti_tool.extensions import db


def pragma(name: str):
    return db.session.execute(text(f"PRAGMA {name}")).scalar()


def test_sqlite_runs_in_wal_with_busy_timeout_and_foreign_keys(app):
    with app.app_context():
        assert pragma("journal_mode") == "wal"
        assert pragma("busy_timeout") == 30000
        assert pragma("foreign_keys") == 1
        assert pragma("synchronous") == 1  # NORMAL: safe in WAL, no fsync per commit


def other_writer_is_locked_out(path: str) -> bool:
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError as exc:
        assert "locked" in str(exc)
        return True
    finally:
        other.close()


@pytest.mark.parametrize(("method", "holds_write_lock"), [("POST", True), ("DELETE", True), ("GET", False)])
def test_state_changing_requests_take_the_write_lock_at_their_first_statement(app, method, holds_write_lock):
    path = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database
    with app.test_request_context("/x", method=method):
        db.session.execute(text("SELECT 1"))  # a read: under BEGIN IMMEDIATE it already holds the lock
        assert other_writer_is_locked_out(path) is holds_write_lock
        db.session.rollback()
    assert other_writer_is_locked_out(path) is False


def queue_is_taken(path: str) -> bool:
    """Whether a writer holds `<database>.lock` (the queue writers wait in before BEGIN IMMEDIATE)."""
    fd = os.open(path + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


@pytest.mark.parametrize("end", ["commit", "rollback"])
def test_writers_queue_on_a_lock_file_held_until_their_transaction_ends(app, end):
    path = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database
    with app.test_request_context("/x", method="POST"):
        db.session.execute(text("SELECT 1"))
        assert queue_is_taken(path)
        getattr(db.session, end)()
        assert not queue_is_taken(path)
    with app.test_request_context("/x", method="GET"):
        db.session.execute(text("SELECT 1"))
        assert not queue_is_taken(path)  # readers never queue
        db.session.rollback()


def test_postgres_engine_options_are_bounded_and_pre_pinged():
    options = engine_options("postgresql+psycopg://u@h/db")
    assert options["pool_pre_ping"] is True
    assert options["pool_size"] + options["max_overflow"] <= 20
    assert options["connect_args"]["connect_timeout"] <= 5


@pytest.mark.postgres
def test_postgres_sessions_have_a_statement_timeout(make_app):
    app = make_app(database="postgres")
    with app.app_context():
        assert db.session.execute(text("SHOW statement_timeout")).scalar() == "5s"
        assert db.engine.pool._pre_ping is True


def test_a_connection_lost_at_the_end_of_a_request_does_not_escape_the_request(make_app, monkeypatch):
    """PostgreSQL restarting mid-request makes the final rollback fail; that must not reach gunicorn
    (it would kill the worker). The stack test with a PostgreSQL restart shows the real thing."""
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm import Session

    from lti_tool.extensions import db

    app = make_app()

    @app.get("/probe-db")
    def probe():
        db.session.execute(text("select 1"))
        return "ok"

    real_close, failures = Session.close, []

    def close_fails_once(self):
        if not failures:
            failures.append(self)
            raise OperationalError("ROLLBACK", {}, Exception("terminating connection due to administrator command"))
        return real_close(self)

    monkeypatch.setattr(Session, "close", close_fails_once)
    assert app.test_client().get("/probe-db").status_code == 200
    assert len(failures) == 1
    monkeypatch.undo()
    assert app.test_client().get("/probe-db").status_code == 200  # the pool serves on


def test_a_launch_frees_the_write_lock_before_its_page_templates_run(app, client, platform, monkeypatch):
    """Other launches wait for a launch's write transaction, not for its page to render."""
    from lti_tool.rooms import views

    from ..conftest import do_launch

    path = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database
    seen = []

    def kept_page(*args, **kwargs):
        seen.append((queue_is_taken(path), other_writer_is_locked_out(path)))
        return original(*args, **kwargs)

    original = views.kept_page
    monkeypatch.setattr(views, "kept_page", kept_page)
    launched = do_launch(client, platform)
    assert launched.token
    assert seen == [(False, False)]
