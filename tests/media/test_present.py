"""Share screen from inside Sakai's frame: the room opens in a window of its own (same launch, no
second login, no token in the URL), where the browser lets the page capture a screen."""

from __future__ import annotations

from lti_tool.lti.context import TOKEN_FIELD
from tests.sakai import C


def present(client, room_id: str, token: str | None):
    return client.post(f"/rooms/{room_id}/present", data={TOKEN_FIELD: token} if token else {})


def test_the_launch_opens_its_room_in_a_sharing_window(client, launch):
    student = launch("Student")
    response = present(client, student.room_id, student.token)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<title>Share your screen — " in html
    assert 'data-present="1"' in html
    assert response.headers["Cache-Control"] == "no-store"
    # A window of its own (nobody may frame it), with the launch's token for its own requests.
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert 'name="launch-token" content="' in html


def test_the_framed_page_does_not_carry_the_sharing_mode(launch):
    assert 'data-present="1"' not in launch("Instructor").html


def test_another_rooms_launch_cannot_open_this_room(client, launch):
    mine = launch("Instructor")
    other = launch("Instructor", **{C + "resource_link": {"id": "content:99", "title": "Other"}})
    assert mine.room_id != other.room_id
    assert present(client, mine.room_id, other.token).status_code == 403


def test_without_a_valid_launch_token_nothing_opens(client, launch):
    room_id = launch("Instructor").room_id
    assert present(client, room_id, None).status_code == 401
    assert present(client, room_id, "forged.token.value").status_code == 401
    assert client.get(f"/rooms/{room_id}/present").status_code == 405
