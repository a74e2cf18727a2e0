"""Entry is rate-limited per client address, per link, and for unknown links per address — each
scope on its own, so a flood from one address leaves guests elsewhere untouched."""

from __future__ import annotations

import os
import secrets

import pytest

from lti_tool.guest.ratelimit import DEFAULT_LIMITS
from tests.conftest import do_launch
from tests.guest.conftest import add_link, form_token

FLOODER = {"REMOTE_ADDR": "203.0.113.7"}
NEIGHBOUR = {"REMOTE_ADDR": "198.51.100.20"}


def post_entry(client, token: str, environ: dict, **data):
    page = client.get(f"/g/{token}", environ_base=environ).get_data(as_text=True)
    fields = {"name": "Ada", "email": "ada@example.org", "form_token": form_token(page), **data}
    return client.post(f"/g/{token}", data=fields, environ_base=environ)


def test_a_flood_of_unknown_links_gets_429_without_hurting_others(app, link, frozen_clock):
    flooder = app.test_client()
    for _ in range(DEFAULT_LIMITS["unknown_per_ip"]):
        assert flooder.get(f"/g/{secrets.token_urlsafe(24)}", environ_base=FLOODER).status_code == 404
    refused = flooder.get(f"/g/{secrets.token_urlsafe(24)}", environ_base=FLOODER)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "60"
    assert "Too many attempts" in refused.get_data(as_text=True)
    # Another address is not affected, nor is a real link (opening it costs nothing).
    neighbour = app.test_client()
    assert neighbour.get(f"/g/{secrets.token_urlsafe(24)}", environ_base=NEIGHBOUR).status_code == 404
    assert post_entry(neighbour, link, NEIGHBOUR).status_code == 303
    assert flooder.get(f"/g/{link}", environ_base=FLOODER).status_code == 200
    # A minute later the flooder's window has passed.
    frozen_clock.advance(seconds=60)
    assert flooder.get(f"/g/{secrets.token_urlsafe(24)}", environ_base=FLOODER).status_code == 404


def test_submissions_per_address_are_limited(app, link, frozen_clock):
    flooder = app.test_client()
    for _ in range(DEFAULT_LIMITS["post_per_ip"]):
        assert post_entry(flooder, link, FLOODER, email="not-an-address").status_code == 422
    assert post_entry(flooder, link, FLOODER).status_code == 429
    assert post_entry(app.test_client(), link, NEIGHBOUR).status_code == 303


def test_submissions_per_link_are_limited_and_other_links_are_untouched(make_app, platform, frozen_clock):
    app = make_app(GUEST_RATE_LIMITS={"post_per_link": 3})
    host = do_launch(app.test_client(), platform, "Instructor")
    busy, quiet = add_link(app, host.room_id), add_link(app, host.room_id)
    for i in range(3):
        environ = {"REMOTE_ADDR": f"192.0.2.{i + 1}"}
        assert post_entry(app.test_client(), busy, environ).status_code == 303
    assert post_entry(app.test_client(), busy, {"REMOTE_ADDR": "192.0.2.50"}).status_code == 429
    assert post_entry(app.test_client(), quiet, {"REMOTE_ADDR": "192.0.2.50"}).status_code == 303


def test_counters_can_live_in_redis(make_app, platform, monkeypatch, frozen_clock):
    redis = pytest.importorskip("redis")
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/3")
    try:
        redis.Redis.from_url(url, socket_timeout=1).flushdb()
    except redis.RedisError:
        pytest.skip(f"no Redis at {url} (set TEST_REDIS_URL; CI starts one)")
    monkeypatch.setenv("REDIS_URL", url)
    app = make_app(GUEST_RATE_LIMITS={"unknown_per_ip": 2})
    client = app.test_client()
    codes = [client.get(f"/g/{secrets.token_urlsafe(24)}", environ_base=FLOODER).status_code for _ in range(3)]
    assert codes == [404, 404, 429]
    assert client.get(f"/g/{secrets.token_urlsafe(24)}", environ_base=NEIGHBOUR).status_code == 404
    keys = redis.Redis.from_url(url).keys("lti_tool:rate:*")
    assert keys and not any(b"203.0.113.7" in key for key in keys)


@pytest.mark.postgres
def test_unknown_link_flood_on_postgresql(make_app, platform, frozen_clock):
    app = make_app(database="postgres", GUEST_RATE_LIMITS={"unknown_per_ip": 3})
    client = app.test_client()
    codes = [client.get(f"/g/{secrets.token_urlsafe(24)}", environ_base=FLOODER).status_code for _ in range(4)]
    assert codes == [404, 404, 404, 429]
    assert client.get(f"/g/{secrets.token_urlsafe(24)}", environ_base=NEIGHBOUR).status_code == 404
