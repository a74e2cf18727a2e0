"""The one state endpoint: ETag/304, version bumps, and any worker answering any poll."""

from __future__ import annotations

from sqlalchemy import select

from lti_tool.extensions import db
from lti_tool.models import Room
from lti_tool.session import service
from tests.conftest import do_launch


def forget_worker_caches():
    service._shared_cache.clear()
    service._participants_cache.clear()


def version(app, room_id):
    with app.app_context():
        return db.session.execute(select(Room.version).where(Room.id == room_id)).scalar_one()


def test_unchanged_state_answers_304_and_a_change_answers_200(room):
    student = room.launch()
    room.start()
    room.state(student)  # first poll records presence
    first = room.state(student)
    assert first.headers["Cache-Control"] == "no-store"

    same = room.poll_again(student, first)
    assert same.status_code == 304 and same.data == b""
    assert same.headers["ETag"] == first.headers["ETag"]

    room.call(room.host, "POST", "/chat", json={"body": "news"})
    changed = room.poll_again(student, first)
    assert changed.status_code == 200
    assert changed.headers["ETag"] != first.headers["ETag"]
    assert [m["body"] for m in changed.get_json()["chat"]["messages"]] == ["news"]
    # Having read the news, the page is caught up again: the very next poll is a 304.
    assert room.poll_again(student, changed).status_code == 304


def test_a_stale_cursor_never_gets_a_304(room):
    room.start()
    room.state(room.host)
    room.call(room.host, "POST", "/chat", json={"body": "one"})
    current = room.state(room.host)
    # Same ETag, but the page says it has not read message "one": it gets the message, not a 304.
    behind = room.state(room.host, since=0, people=current.get_json()["people_cursor"], etag=current.headers["ETag"])
    assert behind.status_code == 200
    assert [m["body"] for m in behind.get_json()["chat"]["messages"]] == ["one"]


def test_a_session_not_started_is_cached_too(room):
    student = room.launch()
    room.state(student)
    first = room.state(student)
    assert room.poll_again(student, first).status_code == 304
    room.start()
    assert room.poll_again(student, first).get_json()["session"]["state"] == "live"


def test_participants_are_not_resent_when_the_client_has_the_current_list(room):
    student = room.launch()
    room.start()
    room.state(student)
    first = room.state(room.host).get_json()
    assert [p["name"] for p in first["participants"]] == ["Hannah Host", "Sam Student"]
    room.call(room.host, "POST", "/chat", json={"body": "hello"})
    known = room.call(room.host, "GET", f"/state?since=0&people={first['people_cursor']}").get_json()
    assert known["participants"] is None
    assert [m["body"] for m in known["chat"]["messages"]] == ["hello"]
    stale = room.call(room.host, "GET", "/state?since=0&people=1.1").get_json()
    assert [p["name"] for p in stale["participants"]] == ["Hannah Host", "Sam Student"]


def test_every_state_change_bumps_the_room_version(room):
    student = room.launch()
    guest = room.guest()
    steps = [
        lambda: room.call(room.host, "POST", "/session/start"),
        lambda: room.call(room.host, "PATCH", "/settings", json={"guest_chat_enabled": False}),
        lambda: room.call(student, "POST", "/chat", json={"body": "hi"}),
        lambda: room.call(student, "POST", "/hand"),
        lambda: room.call(student, "DELETE", "/hand"),
        lambda: room.call(room.host, "POST", f"/guests/{guest.id}/remove"),
        lambda: room.call(room.host, "POST", "/session/end"),
    ]
    for step in steps:
        before = version(room.app, room.id)
        assert step().status_code == 200
        assert version(room.app, room.id) == before + 1


def test_presence_change_changes_the_etag_without_a_version_bump(room, frozen_clock):
    room.start()
    room.state(room.host)
    before = room.state(room.host)
    student = room.launch()
    room.state(student)
    assert room.poll_again(room.host, before).status_code == 200
    frozen_clock.advance(seconds=31)
    quiet = room.state(room.host)
    assert "Sam Student" not in [p["name"] for p in quiet.get_json()["participants"]]


def test_a_waiting_guest_changes_the_moderators_etag(room):
    room.start()
    room.state(room.host)
    before = room.state(room.host)
    assert room.poll_again(room.host, before).status_code == 304
    room.guest(status="waiting", name="Walt Waiting")  # written by the guest journey, not by us
    response = room.poll_again(room.host, before)
    assert response.status_code == 200
    assert [g["name"] for g in response.get_json()["guests"]] == ["Walt Waiting"]


def test_two_app_instances_sharing_one_database_serve_the_same_state(make_app, platform):
    first = make_app()
    second = make_app(database_url=first.config["SQLALCHEMY_DATABASE_URI"])
    one, two = first.test_client(), second.test_client()
    host = do_launch(one, platform, "Instructor", user="host-1", name="Hannah Host")
    student = do_launch(one, platform, "Student", user="student-1", name="Sam Student")
    url = f"/api/rooms/{host.room_id}"

    # Started on instance one, seen live on instance two.
    assert one.post(url + "/session/start", headers=host.headers).status_code == 200
    assert two.get(url + "/state", headers=student.headers).get_json()["session"]["state"] == "live"

    # A message posted through instance two is read through instance one, and vice versa.
    two.post(url + "/chat", json={"body": "via two"}, headers=student.headers)
    one.post(url + "/chat", json={"body": "via one"}, headers=host.headers)
    for client in (one, two):
        forget_worker_caches()  # the two instances share this test process; a real worker would not
        body = client.get(url + "/state", headers=host.headers).get_json()
        assert [m["body"] for m in body["chat"]["messages"]] == ["via two", "via one"]
        assert [p["name"] for p in body["participants"]] == ["Hannah Host", "Sam Student"]

    # The ETag is the same whichever instance answers, so a 304 from either one is valid.
    seen = one.get(url + "/state", headers=student.headers)
    again = f"{url}/state?since={seen.get_json()['chat']['cursor']}&people={seen.get_json()['people_cursor']}"
    assert two.get(again, headers={**student.headers, "If-None-Match": seen.headers["ETag"]}).status_code == 304


def test_pollers_with_the_same_cursors_share_the_room_but_not_their_own_part(room):
    student = room.launch()
    other = room.launch(user="student-2", name="Olga Other")
    room.start()
    room.call(student, "POST", "/hand")
    mine, theirs = room.state(student).get_json(), room.state(other).get_json()
    assert mine["chat"] == theirs["chat"] and mine["session"] == theirs["session"]
    assert (mine["you"]["name"], mine["you"]["hand_raised"]) == ("Sam Student", True)
    assert (theirs["you"]["name"], theirs["you"]["hand_raised"]) == ("Olga Other", False)
