"""Platform key sets: fail closed when Sakai's key set is down, slow or garbage; cached keys keep
working; an unknown kid refetches at most once per throttle window; key rotation works."""

from __future__ import annotations

import html as htmllib
import secrets
import time

import pytest

from lti_tool.lti.keyset import key_sets
from tests.sakai import new_key, start_login


def launch_status(client, platform, *, kid: str | None = None, key=None) -> tuple[int, str]:
    auth = start_login(client, platform)
    headers = {"kid": kid} if kid else None
    token = platform.sign(platform.claims(auth["nonce"]), key=key, headers=headers)
    response = client.post("/lti/launch", data={"id_token": token, "state": auth["state"]})
    return response.status_code, htmllib.unescape(response.get_data(as_text=True))


def random_kid_status(client, platform) -> int:
    """A token under a random kid; signature checks come before state, so no login is needed."""
    token = platform.sign(platform.claims("n"), headers={"kid": str(secrets.randbelow(2**31))})
    return client.post("/lti/launch", data={"id_token": token, "state": "s"}).status_code


@pytest.fixture
def release_slow(keyset_server):
    yield
    keyset_server.release.set()


@pytest.mark.parametrize("mode", ["down", "garbage"])
def test_uncached_launch_fails_closed_with_friendly_page(client, platform, keyset_server, mode):
    keyset_server.mode = mode
    status, html = launch_status(client, platform)
    assert status == 503, html[:500]
    assert "cannot reach your Sakai server's key set" in html
    assert "Traceback" not in html


def test_slow_key_set_fails_closed_within_five_seconds(client, platform, keyset_server, release_slow):
    keyset_server.mode = "slow"
    started = time.monotonic()
    status, html = launch_status(client, platform)
    elapsed = time.monotonic() - started
    assert status == 503, html[:500]
    assert elapsed < 8, elapsed
    assert "cannot reach your Sakai server's key set" in html


@pytest.mark.parametrize("mode", ["down", "garbage", "slow"])
def test_cached_keys_keep_working_when_key_set_breaks(client, platform, keyset_server, release_slow, mode):
    assert launch_status(client, platform)[0] == 200
    keyset_server.mode = mode
    started = time.monotonic()
    assert launch_status(client, platform)[0] == 200
    assert time.monotonic() - started < 2


def test_other_workers_use_the_shared_cache_when_key_set_is_down(client, platform, keyset_server):
    assert launch_status(client, platform)[0] == 200
    keyset_server.mode = "down"
    key_sets._memo.clear()  # a fresh worker process: only the database cache is shared
    hits = keyset_server.hits
    assert launch_status(client, platform)[0] == 200
    assert keyset_server.hits == hits


def test_flood_of_unknown_kids_refetches_once_per_window(client, platform, keyset_server, frozen_clock):
    assert launch_status(client, platform)[0] == 200
    hits = keyset_server.hits
    assert {random_kid_status(client, platform) for _ in range(25)} == {400}
    assert keyset_server.hits == hits  # the first fetch already used this window

    frozen_clock.advance(seconds=61)
    assert {random_kid_status(client, platform) for _ in range(25)} == {400}
    assert keyset_server.hits == hits + 1


def test_unknown_kid_page_explains(client, platform, frozen_clock):
    assert launch_status(client, platform)[0] == 200
    frozen_clock.advance(seconds=61)
    status, html = launch_status(client, platform, kid="12345")
    assert status == 400
    assert "signed with a key that your Sakai server does not publish" in html


def test_key_rotation_refetches_once_and_both_keys_verify(client, platform, keyset_server, frozen_clock):
    old_key, old_kid = platform.key, platform.kid
    assert launch_status(client, platform)[0] == 200
    hits = keyset_server.hits

    new, new_kid = new_key(), "-1460973341"
    platform.published = [(old_key, old_kid), (new, new_kid)]
    platform.publish()
    frozen_clock.advance(minutes=5)
    assert launch_status(client, platform, kid=new_kid, key=new)[0] == 200
    assert keyset_server.hits == hits + 1
    assert launch_status(client, platform, kid=old_kid, key=old_key)[0] == 200
    assert launch_status(client, platform, kid=new_kid, key=new)[0] == 200
    assert keyset_server.hits == hits + 1


def test_keys_are_refreshed_after_an_hour(client, platform, keyset_server, frozen_clock):
    assert launch_status(client, platform)[0] == 200
    hits = keyset_server.hits
    key_sets._memo.clear()
    frozen_clock.advance(hours=1, seconds=1)
    assert launch_status(client, platform)[0] == 200
    assert keyset_server.hits == hits + 1


def test_stale_keys_still_verify_when_the_refresh_fails(client, platform, keyset_server, frozen_clock):
    assert launch_status(client, platform)[0] == 200
    key_sets._memo.clear()
    frozen_clock.advance(hours=2)
    keyset_server.mode = "down"
    hits = keyset_server.hits
    assert launch_status(client, platform)[0] == 200
    assert keyset_server.hits == hits + 1  # it did try to refresh, once
    assert launch_status(client, platform)[0] == 200
    assert keyset_server.hits == hits + 1
