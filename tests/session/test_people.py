"""Presence by heartbeat, the Participants panel (Sakai users only) and the Guests panel (moderators)."""

from __future__ import annotations

from lti_tool.extensions import db
from lti_tool.models import Guest


def names(body):
    return [p["name"] for p in body["participants"]]


def test_presence_times_out_after_30_seconds_of_silence(room, frozen_clock):
    student = room.launch()
    room.start()
    room.state(student)
    assert names(room.state(room.host).get_json()) == ["Hannah Host", "Sam Student"]

    frozen_clock.advance(seconds=29)
    assert "Sam Student" in names(room.state(room.host).get_json())

    frozen_clock.advance(seconds=2)  # 31 s since the student's last poll
    assert names(room.state(room.host).get_json()) == ["Hannah Host"]

    room.state(student)  # back again
    assert "Sam Student" in names(room.state(room.host).get_json())


def test_steady_polling_keeps_presence_while_writing_rarely(room, frozen_clock):
    student = room.launch()
    room.start()
    for _ in range(20):  # 40 s of polling every 2 s
        room.state(student)
        frozen_clock.advance(seconds=2)
    assert "Sam Student" in names(room.state(room.host).get_json())


def test_participants_mark_hosts_and_use_a_neutral_name(room):
    anonymous = room.launch("Student", user="anon-1", name=None)
    ta = room.launch("TeachingAssistant", user="ta-1", name="Tara Assistant")
    room.start()
    room.state(anonymous)
    room.state(ta)
    people = room.state(room.host).get_json()["participants"]
    assert people == [
        {"name": "Hannah Host", "role": "host", "is_moderator": True},
        {"name": "Tara Assistant", "role": "moderator", "is_moderator": True},
        {"name": "Sakai user", "role": "viewer", "is_moderator": False},
    ]


def test_participants_panel_never_lists_guests(room):
    guest = room.guest(name="Grace Guest")
    room.start()
    assert room.state(guest).status_code == 200
    for who in (room.host, guest):
        assert "Grace Guest" not in names(room.state(who).get_json())
    panel = room.state(room.host).get_json()["guests"]
    assert [(g["name"], g["present"]) for g in panel] == [("Grace Guest", True)]


def test_guests_panel_is_for_hosts_and_moderators_only(room):
    room.guest(status="waiting", name="Walt Waiting", email="walt@example.org")
    student = room.launch()
    ta = room.launch("TeachingAssistant", user="ta-1", name="Tara Assistant")
    guest = room.guest()
    room.start()
    assert "guests" not in room.state(student).get_json()
    assert "guests" not in room.state(guest).get_json()
    for moderator in (room.host, ta):
        panel = room.state(moderator).get_json()["guests"]
        waiting = next(g for g in panel if g["status"] == "waiting")
        assert waiting["name"] == "Walt Waiting"
        assert waiting["email"] == "walt@example.org"
        assert waiting["link_name"] == "Seminar link"
        assert waiting["joined_at"]


def test_remove_guest_ends_their_session_at_the_next_poll(room):
    guest = room.guest()
    room.start()
    assert room.state(guest).get_json()["session"]["state"] == "live"

    assert room.call(room.host, "POST", f"/guests/{guest.id}/remove").status_code == 200

    response = room.state(guest)
    assert response.get_json()["reason"] == "removed"
    assert "removed you" in response.get_json()["message"]
    assert "guest_session=;" in response.headers["Set-Cookie"]
    assert room.state(room.host).get_json()["guests"] == []
    with room.app.app_context():
        assert db.session.get(Guest, guest.id).status == "removed"


def test_removed_guest_cannot_come_back_with_the_same_guest_session(room):
    guest = room.guest()
    room.start()
    cookie = guest.client.get_cookie("guest_session").value
    room.call(room.host, "POST", f"/guests/{guest.id}/remove")
    room.state(guest)
    assert guest.client.get_cookie("guest_session") is None  # the poll closed the guest session
    for request in (("GET", "/state"), ("POST", "/chat"), ("POST", "/hand")):
        guest.client.set_cookie("guest_session", cookie)  # the old cookie, replayed
        response = room.call(guest, *request, json={"body": "let me in"})
        assert response.status_code == (200 if request[0] == "GET" else 403)
        if request[0] == "GET":
            assert response.get_json()["closed"] is True


def test_removing_twice_or_an_unknown_guest_is_a_plain_404(room):
    guest = room.guest()
    room.call(room.host, "POST", f"/guests/{guest.id}/remove")
    again = room.call(room.host, "POST", f"/guests/{guest.id}/remove")
    assert again.status_code == 404
    assert again.get_json()["error"] == "This guest is no longer in the room."
    assert room.call(room.host, "POST", "/guests/nope/remove").status_code == 404


def test_hosts_see_waiting_guests_before_the_session_starts(room):
    room.guest(status="waiting", name="Early Guest")
    body = room.state(room.host).get_json()
    assert body["session"]["state"] != "live"
    assert [(g["name"], g["status"]) for g in body["guests"]] == [("Early Guest", "waiting")]
