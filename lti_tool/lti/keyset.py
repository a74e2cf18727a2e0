"""Platform key sets: fetched with a hard deadline, shared by all workers through the database.

- A known `kid` is served from a per-process copy, refreshed from the shared cache after `TTL`.
- An unknown `kid` (a platform that rotated its key) fetches the key set again at once, unless a
  fetch of that URL finished less than `REFETCH_THROTTLE` (5 s) ago. One caller across all workers
  fetches (claimed with one atomic UPDATE); those that come while it runs wait for its result and
  use it. Inside the window, one launch across all workers claims the next fetch in advance and
  waits for the window to open (the platform may have rotated just after that fetch); the others
  get a "try again in a few seconds" page (503) until then, without waiting. A flood of random
  kids therefore costs the platform one fetch per window per URL and holds one thread.
- When the platform is slow or down, cached keys keep working and uncached launches fail closed
  within `FETCH_DEADLINE` seconds, connect included (3 s; the issue asks for 5).

The shared row's `refetch_after` says both when the next fetch may start and whether one is in
flight: a claim sets it to `claimed + LEASE + REFETCH_THROTTLE`, the finished fetch (success or
failure) to `finished + REFETCH_THROTTLE`, a launch that claims the next window in advance to
`window opens + LEASE + REFETCH_THROTTLE`. So, ahead of now: up to one window, closed; up to one
window and a lease, a fetch running; more, a fetch scheduled. A fetcher that died looks running
for at most `LEASE`. A value further ahead than any of these (the old 60 s throttle, a clock that
jumped back) is claimable.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from threading import Lock
from typing import Any

from flask import current_app
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..clock import utcnow
from ..database import read_only_connection
from ..errors import LaunchError, Unavailable
from ..extensions import db
from ..http import Destinations, FetchError, fetch_limited
from ..models import KeySetCache

log = logging.getLogger(__name__)

# An uncached launch must fail closed well within 5 s: the fetch ends within FETCH_DEADLINE (connect
# included, lti_tool/http.py); those waiting for another worker's fetch give it CONNECT_TIMEOUT more.
FETCH_DEADLINE = 3.0
CONNECT_TIMEOUT = 1.0
LEASE = timedelta(seconds=CONNECT_TIMEOUT + FETCH_DEADLINE)  # how long a claimed fetch may run
MAX_BYTES = 512 * 1024
REFETCH_THROTTLE = timedelta(seconds=5)
POLL_INTERVAL = 0.05
TTL = timedelta(hours=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class KeySetError(Exception):
    """The key set could not be fetched or is not a usable JWKS."""


def fetch_jwks(url: str, deadline: float | None = None, destinations: Destinations | None = None) -> dict[str, Any]:
    """GET a JWKS with a total deadline (not just per-read), a size cap and shape checks, from an
    address the app's `Destinations` permit (by default: those of the current app)."""
    if destinations is None:
        destinations = Destinations.of(current_app.config["TOOL"], testing=current_app.testing)
    try:
        resp = fetch_limited(url, deadline=deadline or FETCH_DEADLINE, max_bytes=MAX_BYTES, destinations=destinations)
    except FetchError as exc:
        raise KeySetError(exc.reason) from None
    if resp.status != 200:  # a redirect too: the key set must be at the registered address
        raise KeySetError(f"HTTP {resp.status}")
    body = resp.body
    try:
        data = json.loads(body)
    except ValueError:
        raise KeySetError("not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise KeySetError("no 'keys' list")
    return data


def parse_keys(data: dict[str, Any]) -> dict[str, Any]:
    """kid → RSA public key; anything that is not an RSA signing key is ignored."""
    keys = {}
    for jwk in data.get("keys", []):
        if not isinstance(jwk, dict) or jwk.get("kty") != "RSA" or not isinstance(jwk.get("kid"), str):
            continue
        if jwk.get("use", "sig") != "sig" or jwk.get("alg", "RS256") != "RS256":
            continue
        try:
            keys[jwk["kid"]] = RSAAlgorithm.from_jwk(jwk)
        except (ValueError, TypeError, KeyError):
            continue
    return keys


class KeySetStore:
    """Per-process view over the shared `key_set_cache` table."""

    def __init__(self) -> None:
        self._lock = Lock()
        self._memo: dict[str, tuple[float, dict[str, Any]]] = {}

    def public_key(self, url: str, kid: str, inline: dict[str, Any] | None = None) -> Any:
        if inline is not None:
            key = parse_keys(inline).get(kid)
            if key is None:
                raise LaunchError(code="unknown_kid")
            return key
        memo = self._memo.get(url)
        if memo and kid in memo[1] and time.monotonic() - memo[0] < TTL.total_seconds():
            return memo[1][kid]
        keys, stale, refetch_after = self._from_shared_cache(url)
        if kid in keys and not stale:
            return keys[kid]
        fresh = self._fetch_or_wait(url, kid, keys, refetch_after)
        if fresh is not None:
            keys = fresh
        if kid in keys:
            return keys[kid]
        if fresh is None and not keys:
            raise Unavailable(
                "The tool cannot reach your Sakai server's key set to verify this launch. "
                "Please try again in a minute.",
                code="keyset_unavailable",
            )
        raise LaunchError(
            "This launch was signed with a key that your Sakai server does not publish.",
            code="unknown_kid",
        )

    def _fetch_or_wait(
        self, url: str, kid: str, cached: dict[str, Any], refetch_after: datetime | None
    ) -> dict[str, Any] | None:
        """The key set as a fetch now finds it, or None when none could be had in time.

        `cached` and `refetch_after`: the shared row as this launch read it (None: no row). Stale
        keys still verify when no fetch can be claimed."""
        if refetch_after is None or _claimable(refetch_after, utcnow()):
            lost = self._claim_refetch(url)
            if lost is None:
                return self._refetch(url)
            cached, refetch_after = lost
        if kid in cached:
            return cached
        ahead = refetch_after - utcnow()
        if ahead > REFETCH_THROTTLE + LEASE:
            raise _refetch_pending()  # a launch already waits to fetch when the window reopens
        if ahead > REFETCH_THROTTLE:
            return self._await_fetch_in_flight(url, kid, refetch_after)
        if not cached:
            return None  # the last fetch failed moments ago: the platform is down, fail closed now
        # A fetch finished moments ago, maybe just before the platform published this kid: claim
        # the next window now (one launch across all workers), wait for it to open, then fetch.
        if not self._schedule_refetch(url, refetch_after):
            raise _refetch_pending()
        time.sleep(max(0.0, min((refetch_after - utcnow()).total_seconds(), REFETCH_THROTTLE.total_seconds())))
        return self._refetch(url)

    def _remember(self, url: str, keys: dict[str, Any]) -> None:
        with self._lock:
            self._memo[url] = (time.monotonic(), keys)

    def _from_shared_cache(self, url: str) -> tuple[dict[str, Any], bool, datetime | None]:
        """The shared row: its keys, whether they are stale, its `refetch_after` (None: no row)."""
        row = db.session.execute(select(KeySetCache).where(KeySetCache.url == url)).scalar_one_or_none()
        keys = parse_keys(json.loads(row.jwks)) if row else {}
        stale = row is None or utcnow() - row.fetched_at > TTL
        refetch_after = row.refetch_after if row else None
        # End the read transaction: a slow fetch must never hold a database lock.
        db.session.commit()
        if not stale:
            self._remember(url, keys)
        return keys, stale, refetch_after

    def _claim_refetch(self, url: str) -> tuple[dict[str, Any], datetime] | None:
        """None for exactly one caller per throttle window across all workers (it fetches now);
        for the others, the row as it is now: its keys and `refetch_after` (see the module's
        docstring). A launch only tries when the row it read was claimable: a flood of random kids
        inside a window writes nothing.

        Committed at once (nothing else of the launch has been written yet): the throttle must
        hold even when this launch is then refused.
        """
        now = utcnow()
        claim = now + LEASE + REFETCH_THROTTLE
        claimable = or_(KeySetCache.refetch_after <= now, KeySetCache.refetch_after > claim + REFETCH_THROTTLE)
        claimed = db.session.execute(
            update(KeySetCache).where(KeySetCache.url == url, claimable).values(refetch_after=claim)
        ).rowcount
        lost = None
        if not claimed:
            lost = self._row(url)
            if lost is None:
                try:
                    with db.session.begin_nested():
                        db.session.execute(
                            insert(KeySetCache).values(
                                url=url, jwks='{"keys": []}', fetched_at=EPOCH, refetch_after=claim
                            )
                        )
                except IntegrityError:
                    lost = self._row(url)
        db.session.commit()
        return lost

    def _row(self, url: str) -> tuple[dict[str, Any], datetime] | None:
        row = db.session.execute(
            select(KeySetCache.jwks, KeySetCache.refetch_after).where(KeySetCache.url == url)
        ).one_or_none()
        return (parse_keys(json.loads(row.jwks)), row.refetch_after) if row else None

    def _schedule_refetch(self, url: str, window_opens: datetime) -> bool:
        """Claim the fetch that may start at `window_opens`; True for one caller across all workers."""
        scheduled = db.session.execute(
            update(KeySetCache)
            .where(KeySetCache.url == url, KeySetCache.refetch_after == window_opens)
            .values(refetch_after=window_opens + LEASE + REFETCH_THROTTLE)
        ).rowcount
        db.session.commit()
        return bool(scheduled)

    def _poll(self, url: str, kid: str, until: Callable[[datetime], bool]) -> dict[str, Any] | None:
        """Read the shared row every `POLL_INTERVAL` until it holds `kid` (its keys are returned) or
        `until(refetch_after)`; None when the row is gone or `until` ends the poll."""
        while True:
            with read_only_connection() as conn:
                row = conn.execute(
                    select(KeySetCache.jwks, KeySetCache.refetch_after).where(KeySetCache.url == url)
                ).one_or_none()
            if row is None:
                return None
            keys = parse_keys(json.loads(row.jwks))
            if kid in keys:
                self._remember(url, keys)
                return keys
            if until(row.refetch_after):
                return None
            time.sleep(POLL_INTERVAL)

    def _await_fetch_in_flight(self, url: str, kid: str, claimed: datetime) -> dict[str, Any] | None:
        """Wait until the fetch claimed as `claimed` (the row's `refetch_after` as this launch read it)
        is over, at most its lease (so this launch, too, fails closed within the fetch's budget);
        then its keys, or None when it found none.

        Any change of the row's `refetch_after` ends that fetch's claim. The next claim may follow
        within a millisecond (in a flood of random kids, the next launch schedules the next window
        at once), so whether a fetch is still in flight says nothing about this one."""
        give_up = time.monotonic() + LEASE.total_seconds()
        self._poll(url, kid, lambda after: after != claimed or time.monotonic() > give_up)
        with read_only_connection() as conn:
            jwks = conn.execute(select(KeySetCache.jwks).where(KeySetCache.url == url)).scalar_one_or_none()
        keys = parse_keys(json.loads(jwks)) if jwks else {}
        if keys:
            self._remember(url, keys)
        return keys or None

    def _refetch(self, url: str) -> dict[str, Any] | None:
        """Fetch and store the key set; only the caller that won `_claim_refetch` does this.
        Success or failure, the window closes from the moment the fetch ended."""
        try:
            data = fetch_jwks(url)
        except KeySetError as exc:
            log.warning(
                "platform key set fetch failed",
                extra={"reason": "keyset_fetch_failed", "detail": str(exc)},
            )
            data = None
        now = utcnow()
        done = {"refetch_after": now + REFETCH_THROTTLE}
        if data is not None:
            done |= {"jwks": json.dumps(data), "fetched_at": now}
        db.session.execute(update(KeySetCache).where(KeySetCache.url == url).values(**done))
        db.session.commit()
        if data is None:
            return None
        keys = parse_keys(data)
        self._remember(url, keys)
        return keys


def _claimable(refetch_after: datetime, now: datetime) -> bool:
    """Matches `_claim_refetch`'s condition: the window is open, or the value is from no rule of ours."""
    return refetch_after <= now or refetch_after - now > LEASE + 2 * REFETCH_THROTTLE


def _refetch_pending() -> Unavailable:
    return Unavailable(
        "The tool is fetching your Sakai server's new signing key. Please try again in a few seconds.",
        code="keyset_refetch_pending",
    )


key_sets = KeySetStore()
