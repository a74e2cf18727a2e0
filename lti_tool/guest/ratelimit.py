"""Fixed-window rate limits for the public guest entry.

Counters live in the `rate_counter` table (one atomic upsert per hit, so every worker shares
them), or in Redis when `REDIS_URL` is set. Keys are hashed with the app secret: neither client
addresses nor link tokens are stored in clear.

Default thresholds (per minute, overridable with the `GUEST_RATE_LIMITS` app setting):
  - entry submissions (POST) per client address ........ 30
  - entry submissions (POST) per link .................. 120
  - unknown links opened (GET or POST) per address ..... 20
Each scope counts on its own, so a flood from one address does not slow guests at other
addresses; a flood on one link does not touch other links.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import case, delete
from sqlalchemy.dialects import postgresql, sqlite

from ..extensions import db
from ..models import RateCounter

WINDOW_SECONDS = 60
DEFAULT_LIMITS = {"post_per_ip": 30, "post_per_link": 120, "unknown_per_ip": 20}


@dataclass(frozen=True)
class Hit:
    count: int
    limit: int

    @property
    def allowed(self) -> bool:
        return self.count <= self.limit


def limits() -> dict[str, int]:
    return {**DEFAULT_LIMITS, **(current_app.config.get("GUEST_RATE_LIMITS") or {})}


def hit(scope: str, subject: str, now: datetime) -> Hit:
    """Count one request of `subject` (an address or a token) in `scope`'s current window."""
    limit = limits()[scope]
    key = f"{scope}:{_digest(subject)}"
    window = now.replace(microsecond=0) - timedelta(seconds=now.second % WINDOW_SECONDS)
    redis_url = current_app.config["TOOL"].redis_url
    count = _redis_hit(redis_url, key, window) if redis_url else _sql_hit(key, window)
    return Hit(count, limit)


def _digest(subject: str) -> str:
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, subject.encode(), hashlib.sha256).hexdigest()[:40]


def _sql_hit(key: str, window: datetime) -> int:
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(RateCounter).values(key=key, window_start=window, count=1)
    # One statement: a new window restarts at 1, the current window adds 1. No read-then-write.
    stmt = stmt.on_conflict_do_update(
        index_elements=[RateCounter.key],
        set_={
            "count": case(
                (RateCounter.window_start == stmt.excluded.window_start, RateCounter.count + 1),
                else_=1,
            ),
            "window_start": stmt.excluded.window_start,
        },
    ).returning(RateCounter.count)
    return db.session.execute(stmt).scalar_one()


def _redis_hit(url: str, key: str, window: datetime) -> int:
    import redis

    client = current_app.extensions.setdefault("guest_redis", {}).get(url)
    if client is None:
        client = redis.Redis.from_url(url, socket_timeout=1)
        current_app.extensions["guest_redis"][url] = client
    name = f"lti_tool:rate:{key}:{int(window.timestamp())}"
    pipe = client.pipeline()
    pipe.incr(name)
    pipe.expire(name, WINDOW_SECONDS * 2)
    return int(pipe.execute()[0])


def purge_counters(now: datetime) -> int:
    """Windows that ended long ago are dead weight."""
    cutoff = now - timedelta(seconds=WINDOW_SECONDS * 10)
    return db.session.execute(delete(RateCounter).where(RateCounter.window_start < cutoff)).rowcount
