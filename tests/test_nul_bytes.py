"""A NUL byte in the address or a form is a plain 400 on every database, and SQL errors never log
their parameters (a link token, a guest's name)."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from lti_tool.extensions import db

DATABASES = ["sqlite", "postgres"]


@pytest.mark.parametrize("database", DATABASES)
@pytest.mark.parametrize(
    "method, url, form",
    [
        ("post", "/g/SECRETTOKENabc%00", {"name": "Ada Guest", "email": "ada@example.org"}),
        ("get", "/g/SECRETTOKENabc%00", None),
        ("get", "/g/SECRETTOKENabc?x=%00", None),
        ("get", "/lti/login?iss=x&login_hint%00=1", None),
        ("post", "/g/SECRETTOKENabc", {"name": "Ada\x00", "email": "ada@example.org"}),
        ("post", "/lti/launch", {"id_token": "a\x00b", "state": "x"}),
        ("post", "/lti/launch", {"id_token\x00": "ab", "state": "x"}),
    ],
)
def test_nul_byte_is_a_400_in_plain_words(make_app, caplog, database, method, url, form):
    client = make_app(database=database).test_client()
    caplog.set_level(logging.INFO)
    response = getattr(client, method)(url, data=form)
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    assert "NUL byte" in response.get_data(as_text=True)
    assert "SECRETTOKEN" not in caplog.text
    assert not [r for r in caplog.records if r.exc_info]


@pytest.mark.parametrize("database", DATABASES)
def test_sql_errors_do_not_carry_their_parameters(make_app, database):
    app = make_app(database=database)
    with app.app_context():
        assert db.engine.hide_parameters
        with pytest.raises(DBAPIError) as caught:
            db.session.execute(text("select no_such_column from room where id = :secret"), {"secret": "SECRETTOKEN"})
        assert "SECRETTOKEN" not in str(caught.value)
        db.session.rollback()


# --- JSON bodies: one guard (lti_tool/security.py) for every string in them ---------------------


@pytest.fixture
def live_room(make_app, platform):
    """`make(database)` → a live room (tests.session's story helper) on that database."""

    def make(database):
        from tests.conftest import do_launch
        from tests.session.conftest import Room

        app = make_app(database=database)
        client = app.test_client()
        room = Room(app, client, lambda role, **claims: do_launch(client, platform, role, **claims))
        room.start()
        return room

    return make


def stored(app, column):
    from sqlalchemy import select

    with app.app_context():
        return db.session.execute(select(column)).scalars().all()


@pytest.mark.parametrize("database", DATABASES)
@pytest.mark.parametrize(
    "path, body, field",
    [
        ("/settings", {"media_url": "https://example.org/a\x00.mp4"}, "media_url"),
        ("/settings", {"media_url": "https://example.org/a.mp4\r\nX-Injected: 1"}, "media_url"),
        ("/settings", {"media_url": "https://example.org/a\n.mp4"}, "media_url"),
        ("/settings", {"media_url": "https://example.org/a\t.mp4"}, "media_url"),
        ("/settings", {"media_url": "https://example.org/a\x85.mp4"}, "media_url"),  # a C1 control
        ("/settings", {"media_url": "https://example.org/\ud800.mp4"}, "media_url"),  # a lone surrogate
        ("/settings", {"media_url\x00": "", "guest_chat_enabled": False}, None),
        ("/settings", {"guest_chat_enabled": False, "extra": [{"deep": "\x00"}]}, "extra"),
        ("/chat", {"body": "hello\x00"}, "body"),
        ("/chat", {"body": "two\r\nlines"}, "body"),
        ("/chat", {"body": "bell\x07"}, "body"),
        ("/links", {"name": "Speakers\x00"}, "name"),
    ],
)
def test_control_characters_in_json_strings_are_a_400(live_room, database, path, body, field):
    room = live_room(database)
    response = room.call(room.host, "PATCH" if path == "/settings" else "POST", path, json=body)
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    answer = response.get_json()
    assert answer["code"] == "control_character" and "NUL byte" in answer["error"]
    assert answer.get("field") == field
    from lti_tool.models import ChatMessage, GuestLink, Room

    assert stored(room.app, ChatMessage.body) == []
    assert stored(room.app, GuestLink.name) == []
    assert stored(room.app, Room.media_url) == [None] and stored(room.app, Room.guest_chat_enabled) == [True]


@pytest.mark.parametrize("database", DATABASES)
def test_a_chat_message_keeps_its_line_breaks_and_tabs(live_room, database):
    room = live_room(database)
    guest = room.guest()
    for who in (room.host, guest):
        assert room.call(who, "POST", "/chat", json={"body": "line one\nline two\tend"}).status_code == 200
    from lti_tool.models import ChatMessage

    assert stored(room.app, ChatMessage.body) == ["line one\nline two\tend"] * 2
    # Only the message itself may: a line break in another field of the same body is refused.
    refused = room.call(guest, "POST", "/chat", json={"body": "fine", "note": "a\nb"})
    assert refused.status_code == 400 and refused.get_json()["field"] == "note"


@pytest.mark.parametrize("database", DATABASES)
def test_a_guest_sending_nul_in_json_gets_a_400_not_a_500(live_room, database):
    room = live_room(database)
    guest = room.guest()
    response = room.call(guest, "POST", "/chat", json={"body": "\x00"})
    assert response.status_code == 400 and response.get_json()["code"] == "control_character"


def test_a_deeply_nested_json_body_is_a_400(live_room):
    room = live_room("sqlite")
    response = room.client.patch(
        f"/api/rooms/{room.id}/settings",
        data="[" * 100_000 + "]" * 100_000,
        headers={**room.host.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 400 and response.get_json()["code"] == "invalid_json"


@pytest.mark.parametrize("database", DATABASES)
def test_an_sdp_may_end_its_lines_in_crlf_but_holds_no_other_control_character(live_room, database):
    room = live_room(database)
    sdp = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
    passed = room.call(room.host, "POST", "/media/publish", json={"sdp": sdp})
    assert passed.get_json()["code"] != "control_character"  # the guard let it through to the media rules
    for bad in (sdp + "\x00", sdp.replace("s=-", "s=\x0c")):
        refused = room.call(room.host, "POST", "/media/publish", json={"sdp": bad})
        assert refused.status_code == 400 and refused.get_json()["code"] == "control_character"
        assert refused.get_json()["field"] == "sdp"
