"""Start and end the session; people who arrive early enter by themselves when it goes live."""

from __future__ import annotations

from sqlalchemy import select

from lti_tool.extensions import db
from lti_tool.models import Guest, RoomSession


def test_media_page_says_not_started_before_the_host_starts(room):
    student = room.launch()
    assert "The session hasn&#39;t started yet" in student.html
    assert 'id="live"' in student.html
    assert room.state(student).get_json()["session"]["state"] == "not_started"


def test_early_viewer_and_guest_enter_when_host_starts_without_reload(room):
    student = room.launch()
    guest = room.guest()
    assert room.state(student).get_json()["session"]["state"] == "not_started"
    assert room.state(guest).get_json()["session"]["state"] == "not_started"

    room.start()

    # The same poll that said "not started" now says live: the page switches by itself.
    for who in (student, guest):
        body = room.state(who).get_json()
        assert body["session"]["state"] == "live"
        assert body["you"]["can_chat"] is True


def test_host_ends_and_starts_again_as_a_new_run(room):
    room.start()
    assert room.call(room.host, "POST", "/session/end").status_code == 200
    assert room.state(room.host).get_json()["session"]["state"] == "ended"
    room.start()
    with room.app.app_context():
        runs = db.session.execute(select(RoomSession).where(RoomSession.room_id == room.id)).scalars().all()
    assert len(runs) == 2
    assert runs[0].ended_at is not None and runs[1].ended_at is None


def test_moderator_can_run_the_session(room):
    ta = room.launch("TeachingAssistant", user="ta-1", name="Tara Assistant")
    assert room.call(ta, "POST", "/session/start").status_code == 200
    assert room.call(ta, "POST", "/session/end").status_code == 200


def test_viewer_cannot_start_or_end(room):
    student = room.launch()
    response = room.call(student, "POST", "/session/start")
    assert response.status_code == 403
    assert "hosts and moderators" in response.get_json()["error"]
    room.start()
    assert room.call(student, "POST", "/session/end").status_code == 403


def test_starting_twice_or_ending_twice_is_refused_plainly(room):
    room.start()
    again = room.call(room.host, "POST", "/session/start")
    assert again.status_code == 409
    assert again.get_json()["error"] == "The session is already live."
    room.call(room.host, "POST", "/session/end")
    assert room.call(room.host, "POST", "/session/end").status_code == 409


def test_ending_closes_guest_sessions(room):
    guest = room.guest()
    cookie = guest.client.get_cookie("guest_session").value
    room.start()
    room.call(room.host, "POST", "/session/end")
    response = room.state(guest)
    body = response.get_json()
    assert body["closed"] is True and body["reason"] == "ended"
    assert body["title"] == "The session has ended" and body["message"] == "Thank you for joining."
    # The guest session cookie is cleared...
    assert "guest_session=;" in response.headers["Set-Cookie"]
    # ...and the row can no longer take part even if the old cookie comes back.
    with room.app.app_context():
        assert db.session.get(Guest, guest.id).status == "ended"
    guest.client.set_cookie("guest_session", cookie)
    assert room.call(guest, "POST", "/chat", json={"body": "still here?"}).status_code == 403
