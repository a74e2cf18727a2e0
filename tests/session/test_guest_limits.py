"""Guests have nothing but the session: every moderator action answers 403 to a guest cookie."""

from __future__ import annotations

import pytest

MODERATOR_ROUTES = [
    ("POST", "/session/start"),
    ("POST", "/session/end"),
    ("PATCH", "/settings"),
    ("DELETE", "/chat/{message}"),
    ("DELETE", "/hands/{hand}"),
    ("POST", "/guests/{other}/remove"),
    ("POST", "/guests/{self}/remove"),
]


@pytest.mark.parametrize(("method", "path"), MODERATOR_ROUTES)
def test_guest_cannot_call_moderator_actions(room, method, path):
    guest = room.guest()
    other = room.guest(name="Otto Other", email="otto@example.org")
    student = room.launch()
    room.start()
    message = room.call(student, "POST", "/chat", json={"body": "hi"}).get_json()["id"]
    room.call(student, "POST", "/hand")
    hand = room.state(room.host).get_json()["hands"][0]["id"]
    url = path.format(message=message, hand=hand, other=other.id, self=guest.id)

    response = room.call(guest, method, url, json={"media_url": "", "guest_chat_enabled": False})

    assert response.status_code == 403
    assert response.get_json()["code"] == "not_moderator"
    after = room.state(room.host).get_json()
    assert after["session"]["state"] == "live"
    assert [m["id"] for m in after["chat"]["messages"]] == [message]
    assert len(after["hands"]) == 1 and after["guest_chat_enabled"] is True
    assert {g["name"] for g in after["guests"]} == {"Grace Guest", "Otto Other"}


def test_waiting_guest_cannot_poll_or_act(room):
    waiting = room.guest(status="waiting")
    room.start()
    response = room.state(waiting)
    assert response.status_code == 403
    assert response.get_json()["code"] == "not_admitted"
    assert room.call(waiting, "POST", "/chat", json={"body": "hello?"}).status_code == 403


def test_guest_of_another_room_is_refused(room, launch):
    other_room = launch(
        "Instructor",
        user="host-2",
        name="Other Host",
        **{
            "https://purl.imsglobal.org/spec/lti/claim/resource_link": {"id": "content:99", "title": "Other"},
        },
    )
    assert other_room.room_id != room.id
    stranger = room.guest(room_id=other_room.room_id)
    response = room.state(stranger)
    assert response.status_code == 403
    assert response.get_json()["code"] == "guest_confined"


def test_guest_write_without_the_page_script_is_refused(room):
    guest = room.guest()
    room.start()
    # A plain form post (what a cross-site page could send) is not accepted with a guest cookie.
    response = guest.client.post(f"/api/rooms/{room.id}/chat", data={"body": "csrf"})
    assert response.status_code == 403
    assert response.get_json()["code"] == "not_from_page"


def test_launch_token_of_another_room_is_refused(room, launch):
    other_room = launch(
        "Student",
        user="s-9",
        **{
            "https://purl.imsglobal.org/spec/lti/claim/resource_link": {"id": "content:77", "title": "Elsewhere"},
        },
    )
    response = room.call(other_room, "GET", "/state")
    assert response.status_code == 403


def test_no_credentials_means_401_in_plain_words(room):
    response = room.app.test_client().get(f"/api/rooms/{room.id}/state")
    assert response.status_code == 401
    assert "guest link" in response.get_json()["error"]
