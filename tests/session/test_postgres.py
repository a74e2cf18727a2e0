"""The same session story on PostgreSQL: the upserts (presence, raised hands) and the one-statement
poll facts use dialect-specific SQL, so they run on both databases."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.postgres


@pytest.fixture
def app(make_app):
    return make_app(database="postgres")


def test_live_session_on_postgres(room, frozen_clock):
    student = room.launch()
    guest = room.guest()
    room.start()
    assert room.call(room.host, "POST", "/session/start").status_code == 409

    first = room.state(student)
    frozen_clock.advance(seconds=11)
    room.state(student)  # heartbeat update through ON CONFLICT DO UPDATE
    room.state(guest)
    assert room.call(guest, "POST", "/hand").status_code == 200
    assert room.call(guest, "POST", "/hand").status_code == 200  # ON CONFLICT DO NOTHING
    assert room.call(student, "POST", "/chat", json={"body": "hello"}).status_code == 200

    body = room.state(room.host).get_json()
    assert [p["name"] for p in body["participants"]] == ["Hannah Host", "Sam Student"]
    assert [h["name"] for h in body["hands"]] == ["Grace Guest"]
    assert [m["body"] for m in body["chat"]["messages"]] == ["hello"]
    assert [g["present"] for g in body["guests"]] == [True]

    latest = room.state(student)
    assert room.poll_again(student, latest).status_code == 304
    assert room.poll_again(student, first).status_code == 200

    assert room.call(room.host, "POST", f"/guests/{guest.id}/remove").status_code == 200
    assert room.state(guest).get_json()["reason"] == "removed"
    assert room.call(room.host, "POST", "/session/end").status_code == 200
    assert room.state(student).get_json()["session"]["state"] == "ended"
