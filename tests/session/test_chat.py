"""Chat: plain text of 1–500 characters, Guest badge, deleted by moderators, guest chat on/off."""

from __future__ import annotations

from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[2] / "lti_tool" / "static"


def post(room, who, body):
    return room.call(who, "POST", "/chat", json={"body": body})


def messages(room, who):
    return room.state(who).get_json()["chat"]["messages"]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("", "Write a message first."),
        ("   \n ", "Write a message first."),
        (None, "Write a message first."),
        (42, "Write a message first."),
        ("x" * 501, "A message can be at most 500 characters."),
    ],
)
def test_invalid_messages_are_refused_with_a_plain_reason(room, body, error):
    room.start()
    response = post(room, room.host, body)
    assert response.status_code == 400
    assert response.get_json() == {"error": error, "code": "invalid", "field": "body"}


def test_a_message_of_exactly_500_characters_is_accepted(room):
    room.start()
    assert post(room, room.host, "y" * 500).status_code == 200
    assert messages(room, room.host)[0]["body"] == "y" * 500


def test_chat_needs_a_live_session(room):
    response = post(room, room.host, "hello")
    assert response.status_code == 409
    assert response.get_json()["error"] == "The session is not live right now."


def test_guest_messages_carry_the_guest_badge(room):
    guest = room.guest(name="Grace Guest")
    student = room.launch()
    room.start()
    post(room, student, "Hi all")
    post(room, guest, "Hello from outside")
    got = [(m["author"], m["is_guest"], m["body"]) for m in messages(room, room.host)]
    assert got == [("Sam Student", False, "Hi all"), ("Grace Guest", True, "Hello from outside")]


def test_script_is_kept_as_text_and_rendered_with_text_content(room):
    room.start()
    payload = "<script>alert(1)</script> & <b>bold</b>"
    post(room, room.host, payload)
    assert messages(room, room.host)[0]["body"] == payload  # data stays data, unchanged
    script = (STATIC / "session.js").read_text()
    assert "innerHTML" not in script and "insertAdjacentHTML" not in script
    assert "textContent" in script


def test_chat_since_cursor_returns_only_new_messages(room):
    room.start()
    post(room, room.host, "one")
    first = room.state(room.host).get_json()["chat"]
    post(room, room.host, "two")
    later = room.state(room.host, since=first["cursor"]).get_json()["chat"]
    assert [m["body"] for m in later["messages"]] == ["two"]
    assert later["cursor"] > first["cursor"]


def test_moderator_deletes_any_message_and_viewers_cannot(room):
    student = room.launch()
    guest = room.guest()
    room.start()
    message_id = post(room, student, "oops").get_json()["id"]
    assert room.call(student, "DELETE", f"/chat/{message_id}").status_code == 403
    assert room.call(guest, "DELETE", f"/chat/{message_id}").status_code == 403

    assert room.call(room.host, "DELETE", f"/chat/{message_id}").status_code == 200
    chat = room.state(student).get_json()["chat"]
    assert chat["messages"] == []
    assert chat["deleted"] == [message_id]
    assert room.call(room.host, "DELETE", f"/chat/{message_id}").status_code == 404


def test_guest_chat_off_lets_guests_read_but_not_post(room):
    guest = room.guest()
    student = room.launch()
    room.start()
    response = room.call(room.host, "PATCH", "/settings", json={"guest_chat_enabled": False})
    assert response.status_code == 200

    refused = post(room, guest, "can I talk?")
    assert refused.status_code == 403
    assert refused.get_json()["error"] == "The host has turned off chat for guests."
    assert post(room, student, "students still can").status_code == 200
    body = room.state(guest).get_json()
    assert body["you"]["can_chat"] is False
    assert [m["body"] for m in body["chat"]["messages"]] == ["students still can"]

    room.call(room.host, "PATCH", "/settings", json={"guest_chat_enabled": True})
    assert post(room, guest, "thanks").status_code == 200


def test_chat_of_a_new_run_starts_empty(room):
    room.start()
    post(room, room.host, "first run")
    room.call(room.host, "POST", "/session/end")
    room.start()
    assert messages(room, room.host) == []


def test_a_burst_of_messages_is_slowed_down(room, frozen_clock):
    guest = room.guest()
    room.start()
    for n in range(5):
        assert post(room, guest, f"message {n}").status_code == 200
    too_fast = post(room, guest, "one more")
    assert too_fast.status_code == 429
    assert "too fast" in too_fast.get_json()["error"]
    assert post(room, room.host, "others can still talk").status_code == 200
    frozen_clock.advance(seconds=11)
    assert post(room, guest, "after a pause").status_code == 200
