"""Fixed-window rate limits for the public guest entry.

Counters live in the `rate_counter` table (one atomic upsert per scope, inside the request's own
transaction, so every worker shares them), or in Redis when `REDIS_URL` is set. Keys are hashed
with the app secret: neither client addresses nor link tokens are stored in clear.

When Redis cannot be reached (connection refused, connect or read timeout) the counters fall back
to the database: guests still join and the limits still hold. The process then leaves Redis alone
for `REDIS_RETRY_SECONDS` (no connect attempt per request while it is down) and logs a warning
with the reason code `redis_unavailable` at most once every `REDIS_WARN_SECONDS`. During an outage
each store counts on its own, so in the window where the switch happens a client can get up to
one extra limit's worth of attempts.

Default thresholds (per minute, overridable with the `GUEST_RATE_LIMITS` app setting):
  - entry submissions (POST) per client address ........ 30
  - entry submissions (POST) per link .................. 120
  - unknown links opened (GET or POST) per address ..... 20
    ("unknown" is every token no guest can join with: never issued, deleted, expired or used up,
    counted and answered alike so the limit cannot tell their states apart)
Each scope counts on its own, so a flood from one address does not slow guests at other
addresses; a flood on one link does not touch other links.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, case, delete

from ..database import Prepared, dialect_insert
from ..extensions import db
from ..models import RateCounter

log = logging.getLogger(__name__)
WINDOW_SECONDS = 60
DEFAULT_LIMITS = {"post_per_ip": 30, "post_per_link": 120, "unknown_per_ip": 20}
REDIS_CONNECT_TIMEOUT = 0.25  # seconds: a dead Redis must not stall the request
REDIS_TIMEOUT = 0.5
REDIS_RETRY_SECONDS = 5.0  # after a failure, this process counts in the database this long
REDIS_WARN_SECONDS = 60.0


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
    return hit_all([(scope, subject)], now)[0]


def hit_all(counted: Sequence[tuple[str, str]], now: datetime) -> list[Hit]:
    """Count one request in each (scope, subject): one Redis round trip, or one upsert per scope
    that commits with the caller's transaction."""
    allowed = limits()
    keys = [f"{scope}:{_digest(subject)}" for scope, subject in counted]
    window = now.replace(microsecond=0) - timedelta(seconds=now.second % WINDOW_SECONDS)
    counts = _redis_counts(keys, window) if current_app.config["TOOL"].redis_url else None
    if counts is None:
        counts = _sql_counts(keys, window)
    return [Hit(count, allowed[scope]) for count, (scope, _) in zip(counts, counted, strict=True)]


def _digest(subject: str) -> str:
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, subject.encode(), hashlib.sha256).hexdigest()[:40]


def _sql_counts(keys: list[str], window: datetime) -> list[int]:
    # One upsert per key: a multi-row VALUES statement could not be prepared once for any number of keys.
    return [COUNT.first({"key": key, "window": window})[0] for key in keys]


def _count(dialect: str):
    """The counting statement (parameters `key`, `window`) for `dialect`."""
    table = RateCounter.__table__
    stmt = dialect_insert(table, dialect).values(key=bindparam("key"), window_start=bindparam("window"), count=1)
    # One statement: a new window restarts at 1, the current window adds 1. No read-then-write.
    return stmt.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={
            "count": case((table.c.window_start == stmt.excluded.window_start, table.c.count + 1), else_=1),
            "window_start": stmt.excluded.window_start,
        },
    ).returning(table.c.count)


# Every guest submission runs it: prepared once per dialect (database.Prepared).
COUNT = Prepared(_count)


# --- Redis, while it answers ---------------------------------------------------------------------


class RedisCounters:
    """One process's Redis client for the counters, and whether Redis is to be left alone for now."""

    def __init__(self, url: str, clock: Callable[[], float] = time.monotonic):
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        self.errors = (redis.ConnectionError, redis.TimeoutError)
        self.client = redis.Redis.from_url(
            url,
            socket_connect_timeout=REDIS_CONNECT_TIMEOUT,
            socket_timeout=REDIS_TIMEOUT,
            retry=Retry(NoBackoff(), 0),  # one attempt: the database is the fallback, not a retry
        )
        self.clock = clock
        self.retry_at = 0.0  # clock() before which Redis is not tried
        self.warned_at: float | None = None

    def counts(self, keys: list[str], window: datetime) -> list[int] | None:
        """The counts after this hit, or None when Redis is unavailable (count in the database)."""
        now = self.clock()
        if now < self.retry_at:
            return None
        stamp = int(window.timestamp())
        pipe = self.client.pipeline()
        for key in keys:
            name = f"lti_tool:rate:{key}:{stamp}"
            pipe.incr(name)
            pipe.expire(name, WINDOW_SECONDS * 2)
        try:
            replies = pipe.execute()
        except self.errors as exc:
            self._unavailable(now, exc)
            return None
        if self.retry_at:
            self.retry_at = 0.0
            log.info("rate-limit counters are back in Redis", extra={"reason": "redis_available"})
        return [int(count) for count in replies[::2]]

    def _unavailable(self, now: float, exc: Exception) -> None:
        self.retry_at = now + REDIS_RETRY_SECONDS
        if self.warned_at is None or now - self.warned_at >= REDIS_WARN_SECONDS:
            self.warned_at = now
            # The exception's class only: its text could name the host and the URL's password.
            log.warning(
                "Redis unavailable: rate-limit counters fall back to the database",
                extra={"reason": "redis_unavailable", "detail": type(exc).__name__},
            )


def _redis_counts(keys: list[str], window: datetime) -> list[int] | None:
    url = current_app.config["TOOL"].redis_url
    clients = current_app.extensions.setdefault("guest_redis", {})
    if url not in clients:
        clients[url] = RedisCounters(url)
    return clients[url].counts(keys, window)


def purge_counters(now: datetime) -> int:
    """Windows that ended long ago are dead weight."""
    cutoff = now - timedelta(seconds=WINDOW_SECONDS * 10)
    return db.session.execute(delete(RateCounter).where(RateCounter.window_start < cutoff)).rowcount
