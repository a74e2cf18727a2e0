"""Engine set-up: SQLite in WAL with a busy timeout and foreign keys; PostgreSQL with pre-ping and
a statement timeout. On SQLite every state-changing request opens its transaction with
BEGIN IMMEDIATE (as does a GET view marked `@writes_on_get`), so a read-then-write never fails
with "database is locked"; those writers first queue on a lock file (`QueuedWriterConnection`).
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, current_app, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from .extensions import db, migrate

log = logging.getLogger(__name__)
MIGRATIONS_DIR = str(Path(__file__).resolve().parent / "migrations")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
READ_ONLY = "lti_tool_read_only"


def engine_options(url: str) -> dict:
    if make_url(url).get_backend_name() == "sqlite":
        return {
            "connect_args": {"timeout": 30, "check_same_thread": False, "factory": QueuedWriterConnection},
            "hide_parameters": True,
        }
    return {
        "hide_parameters": True,  # SQL errors are logged; their parameters may be tokens or names
        "pool_pre_ping": True,
        "pool_size": 5,
        "max_overflow": 10,
        "pool_recycle": 1800,
        "connect_args": {"options": "-c statement_timeout=5000", "connect_timeout": 5},
    }


def init_database(app: Flask) -> None:
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if make_url(url).get_backend_name() == "sqlite" and make_url(url).database not in (
        None,
        "",
        ":memory:",
    ):
        Path(make_url(url).database).parent.mkdir(parents=True, exist_ok=True)
    db.init_app(app)
    # Registered after Flask-SQLAlchemy's own teardown, so it runs first (teardowns run in reverse).
    app.teardown_appcontext(_end_session)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            _tune_sqlite(db.engine)


def _end_session(_exc: BaseException | None) -> None:
    """End the request's session; a connection the database dropped meanwhile is thrown away.

    When PostgreSQL shuts down or restarts mid-request, the final rollback itself fails (psycopg
    first deallocates prepared statements on the dead connection). Raised from a teardown, that
    error would escape the WSGI call and take the gunicorn worker down with it. The answer already
    went out (a 503); here the connection is invalidated instead of being returned to the pool.
    """
    try:
        db.session.remove()
    except SQLAlchemyError as exc:
        log.warning(
            "database connection lost at the end of a request",
            extra={"reason": "database_unavailable", "detail": type(exc.orig or exc).__name__},
        )
        try:
            db.session.registry().invalidate()
        except SQLAlchemyError:
            pass
        finally:
            db.session.registry.clear()


class QueuedWriterConnection(sqlite3.Connection):
    """A sqlite3 connection whose write transactions first queue on an `flock` of `<database>.lock`.

    SQLite's own busy handler makes a blocked writer sleep in growing steps (up to 100 ms) and
    does not wake it when the lock is released: under many writers that is where the slowest
    requests' time went. The kernel wakes an `flock` waiter as soon as the holder lets go. The
    lock is taken just before BEGIN IMMEDIATE and released after COMMIT or ROLLBACK (or when the
    process dies); SQLite's lock stays the real guard, the file only orders the queue.
    """

    lock_path: str | None = None
    _lock_fd: int | None = None
    _locked = False

    def queue_for_write(self) -> None:
        if self.lock_path is None:
            return
        if self._lock_fd is None:
            self._lock_fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        self._locked = True

    def _unqueue(self) -> None:
        if self._locked:
            self._locked = False
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._unqueue()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._unqueue()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._unqueue()
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None


def _tune_sqlite(engine) -> None:
    database = engine.url.database
    lock_path = f"{database}.lock" if database and database != ":memory:" else None

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        dbapi_connection.lock_path = lock_path
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn):
        writes = (
            has_request_context()
            and (request.method not in SAFE_METHODS or _view_writes())
            and not conn.get_execution_options().get(READ_ONLY)
        )
        if writes:
            conn.connection.dbapi_connection.queue_for_write()
        driver_execute(conn, "BEGIN IMMEDIATE" if writes else "BEGIN")


def writes_on_get(view):
    """Mark a GET view that writes (e.g. the LTI login). On SQLite its transactions then start with
    BEGIN IMMEDIATE too: a deferred read transaction that later writes fails with "database is
    locked" (SQLITE_BUSY_SNAPSHOT) when another request committed in between."""
    view.db_writes = True
    return view


def _view_writes() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, "db_writes", False))


@contextmanager
def read_only_connection() -> Iterator:
    """A short read on its own connection that never takes SQLite's write lock, for polling
    inside a write request (a poller holding BEGIN IMMEDIATE would starve the writer it waits for)."""
    with db.engine.connect() as conn:
        conn.execution_options(**{READ_ONLY: True})
        yield conn


def dialect_insert(table, dialect: str):
    """`INSERT` for `dialect` (PostgreSQL or SQLite), which can take `ON CONFLICT` clauses."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def insert_or_ignore(table, dialect: str):
    """`INSERT … ON CONFLICT DO NOTHING` for `dialect`: a one-time claim in one statement, without a
    savepoint round trip. Add `.returning(...)`: a row back means ours (psycopg reports no rowcount
    for it)."""
    return dialect_insert(table, dialect).on_conflict_do_nothing()


def upgrade_database(app: Flask) -> None:
    """Apply pending migrations (Alembic head)."""
    from flask_migrate import upgrade

    with app.app_context():
        upgrade(directory=MIGRATIONS_DIR)


class Prepared:
    """A Core statement compiled once per dialect and run on the DBAPI cursor of the session's own
    connection, inside the session's transaction (BEGIN IMMEDIATE, the writers' queue, commit and
    rollback stay the session's).

    For the few statements every launch runs. Through the session, SQLAlchemy's work per execution
    (40–70 µs) costs several times what the database takes to run them (2–10 µs). Parameters and
    results pass through the columns' own type processors, so values are stored and read exactly as
    the ORM does. A database error is raised as SQLAlchemy's own exception, and a lost connection is
    invalidated, as `Session.execute` would do.
    """

    def __init__(self, build):
        """`build`: the statement, or a function of the dialect name that builds it."""
        self._build = build if callable(build) else (lambda _dialect: build)
        self._compiled: dict[str, _Compiled] = {}

    def _for(self, dialect) -> _Compiled:
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            statement = self._build(dialect.name)
            sql = statement.compile(dialect=dialect)
            binds = {name: bind for bind, name in sql.bind_names.items()}  # as named in the SQL
            if sql.escaped_bind_names or any(bind.expanding or bind.callable for bind in binds.values()):
                raise TypeError("Prepared: escaped, expanding or computed bind parameters are not supported")
            processors = {name: _processor(bind.type, dialect, "bind") for name, bind in binds.items()}
            # The statement's own literals (LIMIT 1, CASE labels) are converted once, here.
            fixed = {name: _apply(processors[name], bind.value) for name, bind in binds.items() if not bind.required}
            results = [_processor(column.type, dialect, "result") for column in statement.exported_columns]
            compiled = self._compiled[dialect.name] = _Compiled(
                string=sql.string,
                fixed=fixed,
                given={name: processors[name] for name in binds if name not in fixed},
                order=tuple(sql.positiontup) if sql.positional else None,
                results=results if any(results) else None,
            )
        return compiled

    def execute(self, params: dict) -> int:
        """Run in the session's transaction (a statement without rows); returns its row count."""
        cursor = self._run(params)[0]
        cursor.close()
        return cursor.rowcount

    def first(self, params: dict) -> tuple | None:
        """Run in the session's transaction; the first row, its values converted, or None."""
        cursor, results = self._run(params)
        row = cursor.fetchone()
        cursor.close()
        if row is None or results is None:
            return row
        return tuple(_apply(convert, value) for convert, value in zip(results, row, strict=True))

    def _run(self, params: dict):
        connection = db.session.connection()
        compiled = self._for(connection.dialect)
        values = dict(compiled.fixed)
        try:
            for name, processor in compiled.given.items():
                values[name] = _apply(processor, params[name])
        except KeyError as missing:
            raise TypeError(f"Prepared: no value given for {missing}") from None
        order = compiled.order
        cursor = driver_execute(connection, compiled.string, values if order is None else [values[n] for n in order])
        return cursor, compiled.results


@dataclass(frozen=True)
class _Compiled:
    string: str
    fixed: dict  # the statement's own literal values, converted
    given: dict  # name → bind processor (or None) of each value the caller gives
    order: tuple | None  # parameter order for positional drivers (SQLite); None: by name
    results: list | None  # result processor (or None) per column; None: no column needs one


def _apply(processor, value):
    return value if processor is None else processor(value)


def driver_execute(connection, string: str, params=()):
    """`string` straight on the DBAPI cursor of `connection` (a SQLAlchemy Connection); a database
    error is raised as SQLAlchemy's own exception and a lost connection is invalidated, as
    `Connection.exec_driver_sql` would do, for a fraction of its cost."""
    dialect = connection.dialect
    dbapi_connection = connection.connection.dbapi_connection
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(string, params)
    except dialect.loaded_dbapi.Error as exc:
        lost = dialect.is_disconnect(exc, dbapi_connection, cursor)
        if lost:
            connection.invalidate(exc)
        raise DBAPIError.instance(
            string, None, exc, dialect.loaded_dbapi.Error,
            hide_parameters=True, connection_invalidated=lost, dialect=dialect,
        ) from exc  # fmt: skip
    return cursor


def _processor(type_, dialect, kind: str):
    impl = type_.dialect_impl(dialect)
    return impl.bind_processor(dialect) if kind == "bind" else impl.result_processor(dialect, None)
