"""Guest-link rules: the input limits, the three-link cap, the guest access switch, the room's
guest access group and the audit trail. Services flush and never commit; the view commits once.

Wording and limits follow the product article (shared/reference/kaltura-guest-links-article.txt):
up to three links per room, an optional number of clicks and an optional duration in days.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from .. import audit, text
from ..clock import as_utc
from ..errors import Conflict, NotFound, ValidationError
from ..extensions import db
from ..models import AuditEvent, GuestGroup, GuestLink, Room
from ..rooms.service import bump_version

MAX_LINKS = 3
NAME_MAX = 80
CLICKS_MAX = 10_000
DAYS_MAX = 365
GROUP_PREFIX = "Guest access – "

NAME_MISSING = "Enter a link name."
NAME_TOO_LONG = f"The link name can be at most {NAME_MAX} characters."
NAME_CONTROL = "The link name can't contain invisible or control characters such as line breaks or tabs."
NAME_MARKS = "The link name has too many accent marks on one letter."
_NAME_MESSAGES = {"missing": NAME_MISSING, "invisible": NAME_CONTROL, "too_long": NAME_TOO_LONG, "marks": NAME_MARKS}
CLICKS_INVALID = "Max. number of guests must be a whole number from 1 to 10,000, or empty for no limit."
DAYS_INVALID = "Expires after must be a whole number of days from 1 to 365, or empty for never."
ACCESS_OFF = "Turn on Enable guest access before creating a link."
LIMIT_REACHED = "This room already has 3 guest links. Delete one to create a new link."
LINK_GONE = "This link no longer exists. It may have been deleted already."
SYSTEM_GROUP = (
    "The guest access group is a system group and can't be deleted. To stop guest access, turn off Enable guest access."
)


@dataclass(frozen=True)
class Actor:
    """Who makes a change, as the audit trail records it."""

    sub: str
    name: str | None


@dataclass(frozen=True)
class LinkInput:
    name: str
    max_clicks: int | None
    duration_days: int | None
    guests_can_speak: bool = False


def parse_link_input(name: Any, max_clicks: Any, duration_days: Any, guests_can_speak: Any = None) -> LinkInput:
    """Validate the "Create new link" fields. Every wrong field is reported at once
    (`ValidationError.of_fields`: the first as `field`, all in `errors`)."""
    problems: list[ValidationError] = []

    def check(parse, *args):
        try:
            return parse(*args)
        except ValidationError as problem:
            problems.append(problem)
            return None

    clean = check(_clean_name, name)
    clicks = check(_optional_whole, max_clicks, 1, CLICKS_MAX, CLICKS_INVALID, "max_clicks")
    days = check(_optional_whole, duration_days, 1, DAYS_MAX, DAYS_INVALID, "duration_days")
    if guests_can_speak is not None and not isinstance(guests_can_speak, bool):
        problems.append(ValidationError("Guests can speak must be on or off.", field="guests_can_speak"))
    if problems:
        raise ValidationError.of_fields(problems)
    return LinkInput(name=clean, max_clicks=clicks, duration_days=days, guests_can_speak=bool(guests_can_speak))


def _clean_name(value: Any) -> str:
    try:
        return text.clean_name(value, max_length=NAME_MAX)
    except text.NameProblem as problem:
        raise ValidationError(_NAME_MESSAGES[problem.kind], field="name") from None


def _optional_whole(value: Any, low: int, high: int, message: str, field: str) -> int | None:
    """Empty means "no limit"; otherwise a whole number in [low, high] (as a JSON number or digits)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValidationError(message, field=field)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(message, field=field)
    return value


def new_token() -> str:
    """256 random bits: unrelated to ids or time, and the same for every guest of the link."""
    return secrets.token_urlsafe(32)


def link_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/g/{token}"


def is_expired(link: GuestLink, now: datetime) -> bool:
    return link.expires_at is not None and as_utc(link.expires_at) <= now


def is_used_up(link: GuestLink) -> bool:
    return link.max_clicks is not None and link.used_clicks >= link.max_clicks


def link_status(link: GuestLink, room: Room, now: datetime) -> str:
    """active | inactive (guest access off) | expired | used_up. Only an active link admits guests."""
    if is_expired(link, now):
        return "expired"
    if is_used_up(link):
        return "used_up"
    if not room.guest_access_enabled:
        return "inactive"
    return "active"


def list_links(room: Room) -> list[GuestLink]:
    """The room's links, oldest first. Reads only."""
    query = select(GuestLink).where(GuestLink.room_id == room.id).order_by(GuestLink.created_at, GuestLink.slot)
    return list(db.session.execute(query).scalars())


def guest_group(room: Room) -> GuestGroup | None:
    return db.session.execute(select(GuestGroup).where(GuestGroup.room_id == room.id)).scalar_one_or_none()


def create_link(room: Room, data: LinkInput, *, actor: Actor, now: datetime) -> GuestLink:
    """Add a link in the room's first free slot.

    Invariant: at most MAX_LINKS links per room. It is held by the unique (room_id, slot) constraint
    with slots 1..3, never by counting: each slot is tried in its own savepoint, and a slot taken by
    a concurrent request (IntegrityError) moves on to the next one.
    """
    if not room.guest_access_enabled:
        raise Conflict(ACCESS_OFF, code="guest_access_off")
    expires_at = now + timedelta(days=data.duration_days) if data.duration_days else None
    link = _insert_in_free_slot(room.id, data, actor, now, expires_at)
    # Guest access may have been turned off since the read above: the switch and the version
    # bump are checked in one statement, and a refusal rolls the new link back with the request.
    if not bump_version(room.id, require_enabled=True):
        raise Conflict(ACCESS_OFF, code="guest_access_off")
    record(
        room.id,
        actor,
        "guest_link.created",
        {
            "link_id": link.id,
            "name": link.name,
            "max_clicks": link.max_clicks,
            "duration_days": data.duration_days,
            "expires_at": expires_at.isoformat() if expires_at else None,
            "guests_can_speak": link.guests_can_speak,
        },
        now,
    )
    return link


def _insert_in_free_slot(
    room_id: str, data: LinkInput, actor: Actor, now: datetime, expires_at: datetime | None
) -> GuestLink:
    for slot in range(1, MAX_LINKS + 1):
        link = GuestLink(
            room_id=room_id,
            slot=slot,
            token=new_token(),
            name=data.name,
            max_clicks=data.max_clicks,
            used_clicks=0,
            expires_at=expires_at,
            guests_can_speak=data.guests_can_speak,
            created_by=actor.sub,
            created_at=now,
        )
        try:
            with db.session.begin_nested():
                db.session.add(link)
        except IntegrityError:
            continue
        return link
    raise Conflict(LIMIT_REACHED, code="link_limit")


def delete_link(room: Room, link_id: str, *, actor: Actor, now: datetime) -> None:
    """Hard delete: the row is gone and its token can never admit anyone again. Guests who joined
    through it keep their `link_name`; their `link_id` becomes NULL (ON DELETE SET NULL)."""
    # The room_id condition keeps one room's moderator away from another room's link.
    name = db.session.execute(
        delete(GuestLink)
        .where(GuestLink.id == link_id, GuestLink.room_id == room.id)
        .returning(GuestLink.name)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if name is None:
        raise NotFound(LINK_GONE, code="link_not_found")
    bump_version(room.id)
    record(room.id, actor, "guest_link.deleted", {"link_id": link_id, "name": name}, now)


def set_guest_access(room: Room, enabled: bool, *, actor: Actor, now: datetime) -> bool:
    """Turn guest access on or off; returns whether anything changed.

    Off keeps the links (inactive); on re-activates those still valid. The first switch-on
    creates the room's guest access group. Setting the current value again changes nothing.
    """
    # One statement decides whether this request is the one that flips the switch.
    result = db.session.execute(
        update(Room)
        .where(Room.id == room.id, Room.guest_access_enabled.is_(not enabled))
        .values(guest_access_enabled=enabled, version=Room.version + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(room)
    if result.rowcount != 1:
        return False
    if enabled:
        ensure_guest_group(room, actor=actor, now=now)
    record(room.id, actor, "guest_access.enabled" if enabled else "guest_access.disabled", {}, now)
    return True


def ensure_guest_group(room: Room, *, actor: Actor, now: datetime) -> GuestGroup:
    """The room's guest access group, created once (unique room_id makes a second insert fail)."""
    group = guest_group(room)
    if group is not None:
        return group
    group = GuestGroup(room_id=room.id, name=(GROUP_PREFIX + room.title)[:255], created_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(group)
    except IntegrityError:
        return guest_group(room)  # created by a concurrent request
    record(room.id, actor, "guest_group.created", {"group_id": group.id, "name": group.name}, now)
    return group


def record(room_id: str, actor: Actor, action: str, detail: dict[str, Any], now: datetime) -> AuditEvent:
    """One audit row (lti_tool/audit.py). Callers never put link tokens in `detail`."""
    return audit.record(action, actor=actor.sub, actor_name=actor.name, room_id=room_id, detail=detail, now=now)
