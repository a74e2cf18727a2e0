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
    assert response.get_json()["title"] == "The host removed you from this session"
    assert response.get_json()["message"] == "You can come back through the link you were given."
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


def a_class(room):
    """A TA and three students present; the session live."""
    room.start()
    people = [room.launch("TeachingAssistant", user="ta-1", name="Tara Assistant")]
    people += [room.launch(user=f"student-{i}", name=f"Student {i}") for i in range(3)]
    for who in (room.host, *people):
        room.state(who)
    return people


def test_guests_see_hosts_and_moderators_by_name_and_the_others_as_a_count(room):
    students = a_class(room)[1:]
    guest = room.guest()
    seen = room.state(guest).get_json()
    assert names(seen) == ["Hannah Host", "Tara Assistant"] and seen["participants_unnamed"] == 3
    assert "Student 0" not in room.state(guest).get_data(as_text=True)
    # Sakai users still see everyone by name.
    for who in (room.host, students[0]):
        body = room.state(who).get_json()
        assert names(body) == ["Hannah Host", "Tara Assistant", "Student 0", "Student 1", "Student 2"]
        assert body["participants_unnamed"] == 0


def test_hosts_can_show_every_name_to_guests_and_the_trail_records_it(room):
    from sqlalchemy import select

    from lti_tool.models import AuditEvent

    a_class(room)
    guest = room.guest()
    first = room.state(guest)
    assert first.get_json()["participants_unnamed"] == 3
    response = room.call(room.host, "PATCH", "/settings", json={"guest_names_visible": True})
    assert response.status_code == 200
    # The guest's page holds the list of the same people, yet its next poll brings every name.
    shown = room.poll_again(guest, first).get_json()
    assert names(shown) == ["Hannah Host", "Tara Assistant", "Student 0", "Student 1", "Student 2"]
    assert shown["participants_unnamed"] == 0
    assert room.poll_again(guest, room.poll_again(guest, first)).status_code == 304  # and caches again
    assert room.state(room.host).get_json()["guest_names_visible"] is True

    holding = room.state(guest)
    room.call(room.host, "PATCH", "/settings", json={"guest_names_visible": False})
    hidden = room.poll_again(guest, holding).get_json()
    assert names(hidden) == ["Hannah Host", "Tara Assistant"] and hidden["participants_unnamed"] == 3
    with room.app.app_context():
        trail = db.session.execute(
            select(AuditEvent.actor_name, AuditEvent.detail).where(AuditEvent.action == "room.settings")
        ).all()
    assert trail == [
        ("Hannah Host", {"changed": ["guest_names_visible"], "guest_names_visible": True}),
        ("Hannah Host", {"changed": ["guest_names_visible"], "guest_names_visible": False}),
    ]


def test_a_student_allowed_to_speak_is_named_to_guests_until_stopped(room):
    students = a_class(room)[1:]
    guest = room.guest()
    before = room.state(guest)
    assert room.call(students[1], "POST", "/hand").status_code == 200
    hand = room.state(room.host).get_json()["hands"][0]
    allowed = room.call(room.host, "POST", "/media/speakers", json={"hand_id": hand["id"]})
    assert allowed.status_code == 200
    speaking = room.poll_again(guest, before).get_json()
    assert names(speaking) == ["Hannah Host", "Tara Assistant", "Student 1"]
    assert speaking["participants_unnamed"] == 2
    holding = room.state(guest)
    member = allowed.get_json()["member"]
    assert room.call(room.host, "DELETE", f"/media/speakers/{member}").status_code == 200
    stopped = room.poll_again(guest, holding).get_json()
    assert names(stopped) == ["Hannah Host", "Tara Assistant"] and stopped["participants_unnamed"] == 3


def test_only_hosts_and_moderators_change_who_guests_see(room):
    student = room.launch()
    guest = room.guest()
    for who in (student, guest):
        assert room.call(who, "PATCH", "/settings", json={"guest_names_visible": True}).status_code == 403
    bad = room.call(room.host, "PATCH", "/settings", json={"guest_names_visible": "yes"})
    assert bad.status_code == 400 and bad.get_json()["field"] == "guest_names_visible"


def test_speakers_are_named_to_guests_by_the_one_rule():
    from lti_tool.session.service import Participant, shown_to_guests

    people = [Participant("u:h", "Hannah Host", "host"), Participant("u:s1", "Sam", "viewer")]
    people.append(Participant("u:s2", "Sue", "viewer"))
    assert shown_to_guests(people, frozenset(), names_visible=False) == (
        [{"name": "Hannah Host", "role": "host", "is_moderator": True}],
        2,
    )
    named, unnamed = shown_to_guests(people, frozenset({"u:s2"}), names_visible=False)
    assert [p["name"] for p in named] == ["Hannah Host", "Sue"] and unnamed == 1
    named, unnamed = shown_to_guests(people, frozenset(), names_visible=True)
    assert [p["name"] for p in named] == ["Hannah Host", "Sam", "Sue"] and unnamed == 0
    assert all("key" not in p for p in named)  # participant keys (Sakai ids) never leave the server
