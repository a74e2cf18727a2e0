"""Staying connected: turning access off, deleting the link or its expiry does not throw out a guest
who is inside (the status poll keeps answering), but the next full page load shows why they can't stay.
A used-up click limit never ends a stay."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, update

from lti_tool.clock import utcnow
from lti_tool.extensions import db
from lti_tool.models import GuestLink, Room
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
