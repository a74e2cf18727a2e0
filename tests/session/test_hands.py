"""Raise hand for viewers and guests; hosts and moderators see the hands in order and lower them."""

from __future__ import annotations


def test_hands_are_listed_in_order_for_moderators(room, frozen_clock):
    student = room.launch()
    guest = room.guest(name="Grace Guest")
    room.start()
    assert room.call(guest, "POST", "/hand").status_code == 200
    frozen_clock.advance(seconds=1)
    assert room.call(student, "POST", "/hand").status_code == 200
    frozen_clock.advance(seconds=1)
    room.call(guest, "POST", "/hand")  # raising again keeps the place in line

    hands = room.state(room.host).get_json()["hands"]
    assert [(h["name"], h["is_guest"]) for h in hands] == [("Grace Guest", True), ("Sam Student", False)]
    assert room.state(student).get_json()["you"]["hand_raised"] is True
    assert "hands" not in room.state(student).get_json()
    assert "hands" not in room.state(guest).get_json()


def test_moderator_lowers_a_hand_and_a_viewer_lowers_their_own(room):
    student = room.launch()
    other = room.launch(user="student-2", name="Olga Other")
    room.start()
    room.call(student, "POST", "/hand")
    room.call(other, "POST", "/hand")
    hands = room.state(room.host).get_json()["hands"]

    assert room.call(other, "DELETE", f"/hands/{hands[0]['id']}").status_code == 403
    assert room.call(room.host, "DELETE", f"/hands/{hands[0]['id']}").status_code == 200
    assert room.state(student).get_json()["you"]["hand_raised"] is False

    assert room.call(other, "DELETE", "/hand").status_code == 200
    assert room.state(room.host).get_json()["hands"] == []
    assert room.call(room.host, "DELETE", f"/hands/{hands[0]['id']}").status_code == 404


def test_hands_need_a_live_session_and_a_viewer(room):
    student = room.launch()
    assert room.call(student, "POST", "/hand").status_code == 409
    room.start()
    assert room.call(room.host, "POST", "/hand").status_code == 403
    assert room.state(room.host).get_json()["you"]["can_raise_hand"] is False
    assert room.state(student).get_json()["you"]["can_raise_hand"] is True


def test_ending_the_session_lowers_every_hand(room):
    student = room.launch()
    room.start()
    room.call(student, "POST", "/hand")
    room.call(room.host, "POST", "/session/end")
    room.start()
    assert room.state(room.host).get_json()["hands"] == []
