"""Security headers on every response, errors included.

LTI pages may be framed only by the registered platforms (never '*'); every other page by no one.
No inline script anywhere: scripts are files from 'self'.
"""

from __future__ import annotations

import time

from flask import Flask, current_app, g, request
from sqlalchemy import event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from werkzeug.middleware.proxy_fix import ProxyFix

from .errors import ValidationError

ORIGINS_TTL = 10.0


def frame_ancestors_for_platforms() -> None:
    """Mark this request's response as frameable by the registered platforms."""
    g.frame_ancestors = "platforms"


def init_security(app: Flask, settings) -> None:
    if settings.trusted_proxies:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app,
            x_for=settings.trusted_proxies,
            x_proto=settings.trusted_proxies,
            x_host=settings.trusted_proxies,
            x_port=settings.trusted_proxies,
        )
    app.before_request(_refuse_nul_bytes)
    app.after_request(_headers)
    if not _platform_changes.get("tracking"):
        _track_platform_changes()
        _platform_changes["tracking"] = True


def _refuse_nul_bytes() -> None:
    """A NUL byte is never meaningful here, and PostgreSQL cannot store one in text (it would be a 500)."""
    values = [request.path]
    for source in (request.args, request.form):
        for key, value in source.items(multi=True):
            values += (key, value)
    if any("\x00" in value for value in values):
        raise ValidationError(
            "The address or the form contains a character that is not allowed (a NUL byte).", code="nul_byte"
        )


def _frame_ancestors() -> str:
    if g.get("frame_ancestors") == "platforms":
        try:
            origins = _platform_origins()
        except SQLAlchemyError:
            # The database is down (this is its 503 page): no one may frame it, and the
            # response still gets every header.
            return "'none'"
        return " ".join(origins) if origins else "'none'"
    return g.get("frame_ancestors") or "'none'"


def _platform_origins() -> list[str]:
    """The registered platforms' origins, read at most every `ORIGINS_TTL` seconds per process.

    Without the cache every LTI response would open one more database transaction after the
    view committed (on SQLite, after a POST, one more write lock). A platform registered or
    removed in this process shows up at once (see `_track_platform_changes`); one registered
    through another process or host shows up within `ORIGINS_TTL`.
    """
    cache = current_app.extensions.setdefault("frame_origins", {})
    now = time.monotonic()
    if cache.get("until", 0.0) <= now or cache.get("generation") != _platform_changes["generation"]:
        cache["generation"] = _platform_changes["generation"]
        cache["origins"] = current_app.extensions["lti_tool"].registry().frame_origins()
        cache["until"] = now + ORIGINS_TTL
    return cache["origins"]


_platform_changes = {"generation": 0}


def _track_platform_changes() -> None:
    """Bump a process-wide generation when a transaction that touched `platform` commits."""
    from .models import Platform

    def flushed(session, _context) -> None:
        if any(isinstance(o, Platform) for o in (*session.new, *session.dirty, *session.deleted)):
            session.info["platforms_changed"] = True

    def executed(state) -> None:
        table = getattr(state.statement, "table", None)
        if (state.is_insert or state.is_update or state.is_delete) and getattr(
            table, "name", None
        ) == Platform.__tablename__:
            state.session.info["platforms_changed"] = True

    def committed(session) -> None:
        if session.info.pop("platforms_changed", False):
            _platform_changes["generation"] += 1

    def rolled_back(session) -> None:
        session.info.pop("platforms_changed", None)

    for name, listener in (
        ("after_flush", flushed),
        ("do_orm_execute", executed),
        ("after_commit", committed),
        ("after_rollback", rolled_back),
    ):
        event.listen(Session, name, listener)


def _headers(response):
    csp = [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        f"frame-ancestors {_frame_ancestors()}",
    ]
    if g.get("frame_src"):
        csp.append(f"frame-src {g.frame_src}")
    if g.get("media_src"):
        csp.append(f"media-src {g.media_src}")
    response.headers.setdefault("Content-Security-Policy", "; ".join(csp))
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response
