"""Staying connected: turning access off, deleting the link or its expiry does not throw out a guest
who is inside (the status poll keeps answering), but the next full page load shows why they can't stay.
A used-up click limit never ends a stay."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select, update

from lti_tool.clock import utcnow
from lti_tool.extensions import db
from lti_tool.guest.identity import COOKIE_NAME
from lti_tool.models import AuditEvent, ChatMessage, Guest, GuestLink, Presence, RaisedHand, Room
from tests.guest.conftest import add_link, join, set_room


@pytest.fixture
def inside(app, host, browser):
    """An admitted guest on the session page; returns (browser, page URL, link token)."""
    set_room(app, host.room_id, admission_required=False)

    def enter(**link_options):
        token = add_link(app, host.room_id, **link_options)
        guest = browser()
        place = join(guest, token).headers["Location"]
        assert guest.get(place).status_code == 200
        return guest, place, token

    return enter


def assert_poll_still_answers(guest):
    response = guest.get("/g/api/status")
    assert response.status_code == 200 and response.get_json() == {"status": "admitted"}


def test_guest_access_turned_off(app, host, inside):
    guest, place, _ = inside()
    set_room(app, host.room_id, guest_access_enabled=False)
    assert_poll_still_answers(guest)
    refreshed = guest.get(place)
    assert refreshed.status_code == 403
    assert "Guest access is turned off" in refreshed.get_data(as_text=True)


def test_link_deleted(app, inside):
    guest, place, token = inside()
    with app.app_context():
        db.session.execute(delete(GuestLink).filter_by(token=token))
        db.session.commit()
    assert_poll_still_answers(guest)
    assert guest.get(place).status_code == 404


def test_link_expired(app, inside, frozen_clock):
    guest, place, _ = inside(expires_at=frozen_clock.now + timedelta(hours=1))
    frozen_clock.advance(minutes=59, seconds=59)
    assert guest.get(place).status_code == 200
    frozen_clock.advance(seconds=1)
    assert_poll_still_answers(guest)
    assert guest.get(place).status_code == 404


def test_room_deleted(app, host, inside):
    guest, place, _ = inside()
    set_room(app, host.room_id, deleted_at=utcnow())
    assert_poll_still_answers(guest)
    assert guest.get(place).status_code == 410


def test_used_up_click_limit_does_not_end_the_stay(app, inside, browser):
    guest, place, token = inside(max_clicks=1)
    assert browser().get(f"/g/{token}").status_code == 404  # nobody new gets in
    assert guest.get(place).status_code == 200


def test_waiting_guest_whose_link_is_deleted_sees_the_link_page_on_refresh(app, host, browser):
    token = add_link(app, host.room_id)
    guest = browser()
    place = join(guest, token).headers["Location"]
    with app.app_context():
        db.session.execute(update(Room).where(Room.id == host.room_id).values(guest_access_enabled=True))
        db.session.execute(delete(GuestLink).filter_by(token=token))
        db.session.commit()
    assert guest.get("/g/api/status").get_json() == {"status": "waiting"}
    assert guest.get(place).status_code == 404


def end_the_stay(app, host, token, frozen_clock, how):
    if how == "access_off":
        set_room(app, host.room_id, guest_access_enabled=False)
    elif how == "link_deleted":
        with app.app_context():
            db.session.execute(delete(GuestLink).filter_by(token=token))
            db.session.commit()
    else:
        frozen_clock.advance(hours=1, seconds=1)


def snapshot(app, room_id):
    """Everything a guest's request could write."""
    with app.app_context():
        counts = tuple(
            db.session.execute(select(func.count()).select_from(model)).scalar_one()
            for model in (ChatMessage, RaisedHand, Presence, AuditEvent, Guest)
        )
        guest = db.session.execute(select(Guest.status, Guest.last_seen_at, Guest.decided_at)).one()
        return counts, tuple(guest), db.session.get(Room, room_id).version


@pytest.mark.parametrize("how", ["access_off", "link_deleted", "link_expired"])
def test_a_refused_page_closes_the_guest_session_for_a_client_that_keeps_the_cookie(
    app, host, inside, frozen_clock, how
):
    guest, place, token = inside(expires_at=frozen_clock.now + timedelta(hours=1))
    room_api = f"/api/rooms/{host.room_id}"
    assert app.test_client().post(f"{room_api}/session/start", headers=host.headers).status_code == 200
    assert guest.get(f"{room_api}/state").status_code == 200
    assert guest.post(f"{room_api}/chat", json={"body": "hello"}).status_code == 200
    assert guest.post(f"{room_api}/hand", json={}).status_code == 200
    cookie = guest.get_cookie(COOKIE_NAME).value

    end_the_stay(app, host, token, frozen_clock, how)
    assert guest.get(place).status_code in (403, 404)  # the page that says why they can't stay
    # The moderators' panels no longer show them, nor their hand.
    moderator_view = app.test_client().get(f"{room_api}/state", headers=host.headers).get_json()
    assert moderator_view["guests"] == [] and moderator_view["hands"] == []
    before = snapshot(app, host.room_id)

    hostile = app.test_client()
    calls = [
        ("get", f"{room_api}/state", None),
        ("get", f"{room_api}/state?since=0&people=", None),
        ("post", f"{room_api}/chat", {"body": "still here?"}),
        ("post", f"{room_api}/hand", {}),
        ("delete", f"{room_api}/hand", {}),
        ("post", f"{room_api}/session/start", {}),
        ("patch", f"{room_api}/settings", {"media_url": ""}),
        ("get", "/g/api/status", None),
        ("get", f"{room_api}/links", None),
        ("get", f"{room_api}/guests/waiting", None),
    ]
    for method, url, body in calls:
        hostile.set_cookie(COOKIE_NAME, cookie)  # whatever the server said about the cookie
        response = getattr(hostile, method)(url, json=body) if body is not None else getattr(hostile, method)(url)
        assert response.status_code == 403, (method, url, response.status_code, response.get_data(as_text=True))
    hostile.set_cookie(COOKIE_NAME, cookie)
    assert hostile.get(place).status_code == 410  # "You have left the session"
    assert snapshot(app, host.room_id) == before  # nothing new written


def test_the_closed_session_poll_says_so_in_plain_words_and_clears_the_cookie(app, host, inside):
    guest, place, _ = inside()
    set_room(app, host.room_id, guest_access_enabled=False)
    guest.get(place)
    response = guest.get(f"/api/rooms/{host.room_id}/state")
    assert response.status_code == 403
    assert response.get_json() == {"error": "Your guest session has ended.", "code": "guest_session_closed"}
    assert guest.get_cookie(COOKIE_NAME) is None
