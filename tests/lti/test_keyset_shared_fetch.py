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
