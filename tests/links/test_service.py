"""The guest-link rules at the service level (no HTTP)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from lti_tool.errors import Conflict, NotFound, ValidationError
from lti_tool.extensions import db
from lti_tool.links import service
from lti_tool.links.service import LinkInput, parse_link_input
from lti_tool.models import AuditEvent, Guest, GuestGroup, GuestLink, Room
from tests.links.conftest import ACTOR, make_room


def enabled(room, now):
    service.set_guest_access(room, True, actor=ACTOR, now=now)
    return room


def create(room, now, name="Guest speakers", clicks=None, days=None):
    return service.create_link(room, LinkInput(name, clicks, days), actor=ACTOR, now=now)


def links_in(room):
    return db.session.execute(select(GuestLink).where(GuestLink.room_id == room.id)).scalars().all()


# ---- input -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Guest speakers", "Guest speakers"),
        ("  Parents  ", "Parents"),
        ("x" * 80, "x" * 80),
        ("Ünïcödé ✓", "Ünïcödé ✓"),
    ],
)
def test_name_is_trimmed_and_kept(raw, clean):
    assert parse_link_input(raw, None, None).name == clean


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", service.NAME_MISSING),
        ("   ", service.NAME_MISSING),
        (None, service.NAME_MISSING),
        (42, service.NAME_MISSING),
        ("x" * 81, service.NAME_TOO_LONG),
        ("  " + "x" * 81 + "  ", service.NAME_TOO_LONG),
        ("two\nlines", service.NAME_CONTROL),
        ("tab\there", service.NAME_CONTROL),
        ("nul\x00", service.NAME_CONTROL),
        ("bell\x07", service.NAME_CONTROL),
        ("c\x851", service.NAME_CONTROL),
        ("evil\u202etxt.exe", service.NAME_CONTROL),
        ("line\u2028sep", service.NAME_CONTROL),
        # The same rule as a guest's name (lti_tool/text.py): format characters and lone surrogates too.
        ("ab\ud800", service.NAME_CONTROL),
        ("zero\u200bwidth", service.NAME_CONTROL),
        ("bom\ufeff", service.NAME_CONTROL),
        ("mark\u200eleft", service.NAME_CONTROL),
        ("a" + "\u0301" * 10, service.NAME_MARKS),
    ],
)
def test_bad_names_are_refused_on_the_name_field(raw, message):
    with pytest.raises(ValidationError) as exc:
        parse_link_input(raw, None, None)
    assert exc.value.field == "name"
    assert exc.value.message == message


@pytest.mark.parametrize(
    ("raw", "value"),
    [(None, None), ("", None), ("  ", None), (1, 1), (10_000, 10_000), ("25", 25), (" 7 ", 7), (5.0, 5)],
)
def test_clicks_empty_is_unlimited_else_whole_number(raw, value):
    assert parse_link_input("n", raw, None).max_clicks == value


@pytest.mark.parametrize("raw", [0, -1, 10_001, "0", "10001", "abc", "1.5", 1.5, True, "1e3", "١٢", [3], {"n": 1}])
def test_bad_clicks_are_refused(raw):
    with pytest.raises(ValidationError) as exc:
        parse_link_input("n", raw, None)
    assert exc.value.field == "max_clicks"
    assert exc.value.message == service.CLICKS_INVALID


@pytest.mark.parametrize(("raw", "value"), [(None, None), ("", None), (1, 1), (365, 365), ("30", 30)])
def test_duration_empty_is_never_else_whole_days(raw, value):
    assert parse_link_input("n", None, raw).duration_days == value


@pytest.mark.parametrize("raw", [0, 366, -5, "x", "2.5", 2.5, False])
def test_bad_duration_is_refused(raw):
    with pytest.raises(ValidationError) as exc:
        parse_link_input("n", None, raw)
    assert exc.value.field == "duration_days"
    assert exc.value.message == service.DAYS_INVALID


# ---- creating ----------------------------------------------------------------------------------


def test_creating_while_guest_access_is_off_is_refused(room, frozen_clock):
    with pytest.raises(Conflict) as exc:
        create(room, frozen_clock.now)
    assert exc.value.message == service.ACCESS_OFF
    assert links_in(room) == []


def test_link_expires_after_the_duration_from_now(room, frozen_clock):
    enabled(room, frozen_clock.now)
    link = create(room, frozen_clock.now, days=7, clicks=10)
    assert link.expires_at == frozen_clock.now + timedelta(days=7)
    assert link.max_clicks == 10 and link.used_clicks == 0
    assert create(room, frozen_clock.now, name="No expiry").expires_at is None


def test_tokens_are_random_long_and_unrelated_to_ids(room, frozen_clock):
    enabled(room, frozen_clock.now)
    links = [create(room, frozen_clock.now, name=f"L{i}") for i in range(3)]
    tokens = {link.token for link in links}
    assert len(tokens) == 3
    for link in links:
        assert len(link.token) >= 43  # 32 bytes of secrets, base64url
        assert link.id not in link.token and room.id not in link.token


def test_at_most_three_links_and_a_deleted_slot_is_reused(room, frozen_clock):
    enabled(room, frozen_clock.now)
    first, second, third = (create(room, frozen_clock.now, name=n) for n in ("A", "B", "C"))
    assert [first.slot, second.slot, third.slot] == [1, 2, 3]
    with pytest.raises(Conflict) as exc:
        create(room, frozen_clock.now, name="D")
    assert exc.value.message == service.LIMIT_REACHED
    service.delete_link(room, second.id, actor=ACTOR, now=frozen_clock.now)
    assert create(room, frozen_clock.now, name="E").slot == 2
    assert sorted(link.name for link in links_in(room)) == ["A", "C", "E"]


def test_a_slot_taken_behind_the_services_back_is_skipped(room, frozen_clock):
    """The slot constraint, not a count, decides: a row that appeared meanwhile just moves us on."""
    enabled(room, frozen_clock.now)
    db.session.add(GuestLink(room_id=room.id, slot=1, token="t" * 43, name="Sneaky", created_by="x"))
    db.session.flush()
    assert create(room, frozen_clock.now).slot == 2


def test_links_are_per_room(room, frozen_clock):
    other = enabled(make_room("Office hours", "content:13"), frozen_clock.now)
    enabled(room, frozen_clock.now)
    for name in "ABC":
        create(room, frozen_clock.now, name=name)
    assert create(other, frozen_clock.now).slot == 1


def test_guest_access_turned_off_concurrently_rolls_the_create_back(room, frozen_clock):
    """The stale in-memory room says 'on'; the database says 'off': the one-statement check wins."""
    enabled(room, frozen_clock.now)
    db.session.execute(
        update(Room)
        .where(Room.id == room.id)
        .values(guest_access_enabled=False)
        .execution_options(synchronize_session=False)
    )
    with pytest.raises(Conflict):
        create(room, frozen_clock.now)


# ---- toggle and delete -------------------------------------------------------------------------


def test_turning_off_keeps_links_inactive_and_on_reactivates_only_valid_ones(room, frozen_clock):
    now = frozen_clock.now
    enabled(room, now)
    fresh = create(room, now, name="fresh")
    short = create(room, now, name="short", days=1)
    used = create(room, now, name="used", clicks=2)
    used.used_clicks = 2
    db.session.flush()

    assert service.set_guest_access(room, False, actor=ACTOR, now=now) is True
    assert {link.name for link in links_in(room)} == {"fresh", "short", "used"}
    assert service.link_status(fresh, room, now) == "inactive"

    later = now + timedelta(days=2)
    assert service.set_guest_access(room, True, actor=ACTOR, now=later) is True
    assert service.link_status(fresh, room, later) == "active"
    assert service.link_status(short, room, later) == "expired"
    assert service.link_status(used, room, later) == "used_up"


def test_expiry_is_exact_to_the_second(room, frozen_clock):
    enabled(room, frozen_clock.now)
    link = create(room, frozen_clock.now, days=1)
    end = frozen_clock.now + timedelta(days=1)
    assert service.link_status(link, room, end - timedelta(seconds=1)) == "active"
    assert service.link_status(link, room, end) == "expired"


def test_setting_the_same_value_changes_nothing(room, frozen_clock):
    enabled(room, frozen_clock.now)
    version = room.version
    events = db.session.scalar(select(func.count()).select_from(AuditEvent))
    assert service.set_guest_access(room, True, actor=ACTOR, now=frozen_clock.now) is False
    assert room.version == version
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == events


def test_delete_is_a_hard_delete_and_guests_keep_the_link_name(room, frozen_clock):
    enabled(room, frozen_clock.now)
    link = create(room, frozen_clock.now, name="Parents")
    guest = Guest(
        room_id=room.id,
        link_id=link.id,
        link_name=link.name,
        name="Pat",
        email="p@example.org",
        status="admitted",
        session_hash="h" * 64,
    )
    db.session.add(guest)
    db.session.flush()
    link_id = link.id

    service.delete_link(room, link_id, actor=ACTOR, now=frozen_clock.now)
    db.session.expire_all()
    assert db.session.get(GuestLink, link_id) is None
    guest = db.session.get(Guest, guest.id)
    assert guest.link_id is None and guest.link_name == "Parents" and guest.status == "admitted"


def test_deleting_another_rooms_link_is_not_found_and_keeps_it(room, frozen_clock):
    other = enabled(make_room("Office hours", "content:13"), frozen_clock.now)
    theirs = create(other, frozen_clock.now)
    with pytest.raises(NotFound):
        service.delete_link(room, theirs.id, actor=ACTOR, now=frozen_clock.now)
    with pytest.raises(NotFound):
        service.delete_link(room, "no-such-link", actor=ACTOR, now=frozen_clock.now)
    assert db.session.get(GuestLink, theirs.id) is not None


def test_every_change_bumps_the_room_version(room, frozen_clock):
    seen = [room.version]
    enabled(room, frozen_clock.now)
    seen.append(room.version)
    link = create(room, frozen_clock.now)
    seen.append(room.version)
    service.delete_link(room, link.id, actor=ACTOR, now=frozen_clock.now)
    seen.append(room.version)
    service.set_guest_access(room, False, actor=ACTOR, now=frozen_clock.now)
    seen.append(room.version)
    assert seen == [0, 1, 2, 3, 4]


# ---- group and audit ---------------------------------------------------------------------------


def test_first_enable_creates_the_guest_group_once(room, frozen_clock):
    assert service.guest_group(room) is None
    for value in (True, False, True, False, True):
        service.set_guest_access(room, value, actor=ACTOR, now=frozen_clock.now)
    groups = db.session.execute(select(GuestGroup).where(GuestGroup.room_id == room.id)).scalars().all()
    assert [g.name for g in groups] == ["Guest access – Weekly seminar"]


def test_audit_trail_records_who_what_when_without_tokens(room, frozen_clock):
    enabled(room, frozen_clock.now)
    link = create(room, frozen_clock.now, name="Guest speakers", days=3)
    token = link.token
    service.delete_link(room, link.id, actor=ACTOR, now=frozen_clock.now)
    service.set_guest_access(room, False, actor=ACTOR, now=frozen_clock.now)

    rows = db.session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars().all()
    assert [r.action for r in rows] == [
        "guest_group.created",
        "guest_access.enabled",
        "guest_link.created",
        "guest_link.deleted",
        "guest_access.disabled",
    ]
    assert {(r.room_id, r.actor, r.actor_name) for r in rows} == {(room.id, ACTOR.sub, ACTOR.name)}
    assert all(r.created_at == frozen_clock.now for r in rows)
    assert rows[2].detail["name"] == "Guest speakers" and rows[2].detail["duration_days"] == 3
    assert rows[3].detail == {"link_id": link.id, "name": "Guest speakers"}
    assert token not in json.dumps([r.detail for r in rows])


def test_link_url_is_absolute_from_base_url():
    assert service.link_url("https://tool.example.edu/rooms/", "abc") == "https://tool.example.edu/rooms/g/abc"
