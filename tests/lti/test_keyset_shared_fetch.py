"""Cold start: while one worker fetches a platform's key set, the others wait for its result
instead of refusing the launch (they would otherwise be throttled for a minute)."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import update

from lti_tool.clock import utcnow
from lti_tool.extensions import db
from lti_tool.lti import keyset
from lti_tool.lti.keyset import EPOCH, key_sets
from lti_tool.models import KeySetCache

URL = "https://sakai.test/imsblis/lti13/keyset"


def claim_held_by_another_worker():
    """What `_claim_refetch` leaves for a fetch in flight on a fresh install."""
    claim = utcnow() + keyset.LEASE + keyset.REFETCH_THROTTLE
    db.session.add(KeySetCache(url=URL, jwks='{"keys": []}', fetched_at=EPOCH, refetch_after=claim))
    db.session.commit()


def test_a_worker_waits_for_the_fetch_another_worker_is_doing(app, platform):
    with app.app_context():
        claim_held_by_another_worker()

    def other_worker_finishes_fetch():
        time.sleep(0.3)
        with app.app_context():
            db.session.execute(
                update(KeySetCache)
                .where(KeySetCache.url == URL)
                .values(jwks=json.dumps(platform.keyset.jwks), fetched_at=utcnow())
            )
            db.session.commit()

    fetcher = threading.Thread(target=other_worker_finishes_fetch)
    fetcher.start()
    with app.app_context():
        assert key_sets.public_key(URL, platform.kid) is not None
    fetcher.join()


def test_the_wait_ends_with_a_refusal_when_the_other_fetch_fails(app, platform, monkeypatch):
    monkeypatch.setattr(keyset, "LEASE", timedelta(seconds=0.4))
    with app.app_context():
        claim_held_by_another_worker()
        started = time.monotonic()
        with pytest.raises(keyset.Unavailable):
            key_sets.public_key(URL, platform.kid)
        assert 0.35 <= time.monotonic() - started < 2


def test_after_a_rotation_a_worker_waits_for_the_refetch_in_flight_and_uses_the_new_key(app, platform):
    """The key set is cached (old key only) and another worker is refetching it after a rotation."""
    from tests.sakai import new_key, public_jwk

    old = {"keys": [public_jwk(platform.key, platform.kid)]}
    rotated = {"keys": [*old["keys"], public_jwk(new_key(), "rotated-1")]}
    with app.app_context():
        claim = utcnow() + keyset.LEASE + keyset.REFETCH_THROTTLE
        db.session.add(KeySetCache(url=URL, jwks=json.dumps(old), fetched_at=utcnow(), refetch_after=claim))
        db.session.commit()

    def other_worker_finishes_fetch():
        time.sleep(0.3)
        with app.app_context():
            db.session.execute(
                update(KeySetCache)
                .where(KeySetCache.url == URL)
                .values(jwks=json.dumps(rotated), fetched_at=utcnow(), refetch_after=utcnow() + keyset.REFETCH_THROTTLE)
            )
            db.session.commit()

    fetcher = threading.Thread(target=other_worker_finishes_fetch)
    fetcher.start()
    with app.app_context():
        started = time.monotonic()
        assert key_sets.public_key(URL, "rotated-1") is not None
        assert 0.25 < time.monotonic() - started < 2
    fetcher.join()


def test_a_waiter_stops_when_its_fetch_ends_even_if_the_next_is_claimed_at_once(app, platform, monkeypatch):
    """In a flood of random kids the fetch a launch waits for ends without its kid and the next
    launch claims the next window within a millisecond. The waiter must see that its fetch is over
    at its next poll, not take the new claim for the same fetch and hold its thread for a lease."""
    from tests.sakai import public_jwk

    monkeypatch.setattr(keyset, "LEASE", timedelta(seconds=1))
    cached = json.dumps({"keys": [public_jwk(platform.key, platform.kid)]})
    with app.app_context():
        claim = utcnow() + keyset.LEASE + keyset.REFETCH_THROTTLE
        db.session.add(KeySetCache(url=URL, jwks=cached, fetched_at=utcnow(), refetch_after=claim))
        db.session.commit()

    def fetch_ends_and_next_window_is_claimed():
        with app.app_context():
            done = utcnow() + keyset.REFETCH_THROTTLE
            for after in (done, done + keyset.LEASE + keyset.REFETCH_THROTTLE):
                db.session.execute(update(KeySetCache).where(KeySetCache.url == URL).values(refetch_after=after))
                db.session.commit()

    polls = []

    class Time:
        monotonic = staticmethod(time.monotonic)

        @staticmethod
        def sleep(seconds: float) -> None:
            polls.append(seconds)
            if len(polls) == 1:  # between the waiter's first and second poll
                other = threading.Thread(target=fetch_ends_and_next_window_is_claimed)
                other.start()
                other.join()
            else:
                time.sleep(seconds)

    monkeypatch.setattr(keyset, "time", Time)
    with app.app_context(), pytest.raises(keyset.LaunchError) as refused:
        key_sets.public_key(URL, "random-kid")
    assert refused.value.code == "unknown_kid"
    assert len(polls) == 1
