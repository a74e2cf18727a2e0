"""Entry is rate-limited per client address, per link, and for unknown links per address — each
scope on its own, so a flood from one address leaves guests elsewhere untouched."""

from __future__ import annotations

import logging
import os
import secrets
import socket
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from lti_tool.clock import utcnow
from lti_tool.extensions import db
from lti_tool.guest.ratelimit import DEFAULT_LIMITS, REDIS_RETRY_SECONDS, REDIS_WARN_SECONDS, RedisCounters
from lti_tool.models import RateCounter
from tests.conftest import do_launch
from tests.guest.conftest import add_link, form_token, set_room

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


# --- Redis down: the counters fall back to the database -----------------------------------------


@pytest.fixture
def closed_port() -> int:
    """A local port nothing listens on: connecting is refused at once, like a stopped Redis."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def silent_redis():
    """A port that accepts connections and never answers, like a hung Redis; `.connections()` counts
    the connection attempts so far."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.setblocking(False)
    accepted = []

    def connections() -> int:
        while True:
            try:
                accepted.append(server.accept()[0])
            except BlockingIOError:
                return len(accepted)

    yield SimpleNamespace(url=f"redis://127.0.0.1:{server.getsockname()[1]}/0", connections=connections)
    for conn in accepted:
        conn.close()
    server.close()


def redis_warnings(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "reason", None) == "redis_unavailable"]


def test_guests_still_join_while_redis_is_down_and_the_limits_hold_in_the_database(
    make_app, platform, monkeypatch, frozen_clock, closed_port, caplog
):
    caplog.set_level(logging.INFO)
    monkeypatch.setenv("REDIS_URL", f"redis://:redis-password@127.0.0.1:{closed_port}/0")
    app = make_app(GUEST_RATE_LIMITS={"post_per_ip": 3})
    host = do_launch(app.test_client(), platform, "Instructor")
    token = add_link(app, host.room_id)
    codes = [post_entry(app.test_client(), token, FLOODER, name=f"Guest {i}").status_code for i in range(4)]
    assert codes == [303, 303, 303, 429]
    with app.app_context():
        counted = db.session.execute(select(RateCounter.count).order_by(RateCounter.count)).scalars().all()
    assert counted == [4, 4]  # this address and this link, each counted in the database
    (warning,) = redis_warnings(caplog)  # once, not once per request
    assert warning.levelno == logging.WARNING and warning.detail == "ConnectionError"
    assert "redis-password" not in caplog.text and str(closed_port) not in caplog.text


def test_a_hung_redis_is_tried_once_per_retry_interval_and_warned_about_once_per_warning_interval(
    app, silent_redis, caplog
):
    caplog.set_level(logging.INFO)
    now = [1000.0]
    counters = RedisCounters(silent_redis.url, clock=lambda: now[0])
    window = utcnow()
    with app.app_context():
        assert [counters.counts(["k"], window) for _ in range(3)] == [None, None, None]
        assert silent_redis.connections() == 1  # the first request waited for the timeout; the others did not try
        now[0] += REDIS_RETRY_SECONDS
        assert counters.counts(["k"], window) is None
        assert silent_redis.connections() == 2
        assert len(redis_warnings(caplog)) == 1
        now[0] += REDIS_WARN_SECONDS
        assert counters.counts(["k"], window) is None
    assert [w.detail for w in redis_warnings(caplog)] == ["TimeoutError", "TimeoutError"]


def test_submissions_refused_for_another_reason_still_count(make_app, platform, frozen_clock):
    app = make_app(GUEST_RATE_LIMITS={"post_per_ip": 2})
    host = do_launch(app.test_client(), platform, "Instructor")
    token = add_link(app, host.room_id)
    guest = app.test_client()
    page = guest.get(f"/g/{token}", environ_base=FLOODER).get_data(as_text=True)
    set_room(app, host.room_id, guest_access_enabled=False)
    data = {"name": "Ada", "email": "ada@example.org", "form_token": form_token(page)}
    codes = [guest.post(f"/g/{token}", data=data, environ_base=FLOODER).status_code for _ in range(3)]
    assert codes == [403, 403, 429]


# --- refused tokens: one answer, whatever the token's state ----------------------------------------


def refused_tokens(app, room_id, now) -> dict[str, str]:
    """A token of each state no guest can join with: unknown, deleted, expired, used up."""
    from datetime import timedelta

    from sqlalchemy import delete, update

    from lti_tool.models import GuestLink

    deleted = add_link(app, room_id, name="Deleted")
    with app.app_context():
        db.session.execute(delete(GuestLink).filter_by(token=deleted))
        db.session.commit()
    expired = add_link(app, room_id, name="Expired", expires_at=now - timedelta(seconds=1))
    used_up = add_link(app, room_id, name="Used up", max_clicks=1)
    with app.app_context():
        db.session.execute(update(GuestLink).filter_by(token=used_up).values(used_clicks=1))
        db.session.commit()
    return {"unknown": secrets.token_urlsafe(32), "deleted": deleted, "expired": expired, "used_up": used_up}


def answers(responses) -> set[tuple[int, bytes]]:
    return {(r.status_code, r.data) for r in responses}


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_every_refused_token_answers_the_same_below_and_over_the_limit(make_app, platform, frozen_clock, database):
    app = make_app(database=database, GUEST_RATE_LIMITS={"unknown_per_ip": 8})
    host = do_launch(app.test_client(), platform, "Instructor")
    tokens = refused_tokens(app, host.room_id, frozen_clock.now)
    prober = app.test_client()
    below = [prober.get(f"/g/{token}", environ_base=FLOODER) for token in tokens.values()]
    assert answers(below) == {(404, below[0].data)}  # one page for all four
    # Each of those counted as a miss: four more and the address is over the limit of 8.
    below += [prober.get(f"/g/{token}", environ_base=FLOODER) for token in tokens.values()]
    assert [r.status_code for r in below] == [404] * 8
    over = [prober.get(f"/g/{token}", environ_base=FLOODER) for token in tokens.values()]
    assert answers(over) == {(429, over[0].data)}


def test_refused_submissions_count_as_misses_whatever_the_token(make_app, platform, frozen_clock):
    app = make_app(GUEST_RATE_LIMITS={"unknown_per_ip": 4})
    host = do_launch(app.test_client(), platform, "Instructor")
    tokens = refused_tokens(app, host.room_id, frozen_clock.now)
    prober = app.test_client()
    data = {"name": "Ada", "email": "ada@example.org", "form_token": "x"}
    below = [prober.post(f"/g/{token}", data=data, environ_base=FLOODER) for token in tokens.values()]
    assert answers(below) == {(404, below[0].data)}
    over = [prober.post(f"/g/{token}", data=data, environ_base=FLOODER) for token in tokens.values()]
    assert answers(over) == {(429, over[0].data)}
