"""Load-balancer probes."""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from .extensions import db

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from .database import MIGRATIONS_DIR

    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            current = set(MigrationContext.configure(conn).get_current_heads())
    except Exception:  # any database failure means "not ready"
        return jsonify(status="database unreachable"), 503
    heads = set(ScriptDirectory(MIGRATIONS_DIR).get_heads())
    if current != heads:
        return jsonify(status="migrations pending"), 503
    return jsonify(status="ready")
