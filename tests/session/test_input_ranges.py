"""Every number a client sends — in the query, the path or a JSON body — is range-checked: a number
too large for the database is a 400 naming its field, never an OverflowError (500), on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from lti_tool.extensions import db
from lti_tool.models import Room
from lti_tool.session.views import NUMBER_MAX
from tests.guest.conftest import add_link

HUGE = "9" * 25


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def app(make_app, request):
    return make_app(database=request.param)


def version(app, room_id):
    with app.app_context():
        return db.session.execute(select(Room.version).where(Room.id == room_id)).scalar_one()


@pytest.mark.parametrize(
    "method, path, field",
    [
        ("GET", "/state?since=99999999999999999999", "since"),
        ("GET", f"/state?since={NUMBER_MAX + 1}", "since"),
        ("GET", "/state?since=-1", "since"),
        ("GET", "/state?since=1e3", "since"),
        ("GET", "/state?since=%D9%A1%D9%A2", "since"),  # Arabic-Indic digits: int() would take them
        ("GET", "/state?since=", "since"),
        ("DELETE", f"/chat/{HUGE}", "message_id"),
        ("DELETE", "/chat/12abc", "message_id"),
        ("DELETE", f"/hands/{HUGE}", "hand_id"),
        ("DELETE", f"/hands/{NUMBER_MAX + 1}", "hand_id"),
    ],
)
def test_numbers_out_of_range_are_a_400_naming_the_field(room, method, path, field):
    room.start()
    before = version(room.app, room.id)
    for who in (room.host, room.guest()):
        response = room.call(who, method, path)
        assert response.status_code == 400, response.get_json()
        body = response.get_json()
        assert body["field"] == field and "whole number" in body["error"]
    assert version(room.app, room.id) == before


def test_the_largest_number_is_an_ordinary_answer(room):
    room.start()
    student = room.launch()
    assert room.state(student, since=NUMBER_MAX).status_code == 200
    assert room.call(room.host, "DELETE", f"/chat/{NUMBER_MAX}").status_code == 404
    assert room.call(room.host, "DELETE", f"/hands/{NUMBER_MAX}").status_code == 404


@pytest.mark.parametrize(
    "field, value",
    [
        ("max_clicks", 10**30),
        ("max_clicks", HUGE),
        ("max_clicks", 1e308),
        ("duration_days", 10**30),
        ("duration_days", -(10**30)),
        ("duration_days", HUGE),
    ],
)
def test_huge_numbers_in_a_json_body_are_a_400(room, field, value):
    add_link(room.app, room.id)  # turns guest access on
    body = {"name": "Speakers", "max_clicks": None, "duration_days": None, field: value}
    response = room.call(room.host, "POST", "/links", json=body)
    assert response.status_code == 400 and response.get_json()["field"] == field
