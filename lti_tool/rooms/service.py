"""Room rules: which room a launch belongs to, and whether guest access is available there."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from flask import current_app
from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError

from ..database import Prepared
from ..errors import Forbidden, NotFound
from ..extensions import db
from ..lti import claims
from ..models import Room

ROOM_KINDS = ("room", "mediagallery")
THEMING_MISSING = "Guest access requires the Theming module with 'mediapage' set to 'Yes'."
INVITE_MISSING = "Guest access requires the Invitetomedia module."
GALLERY = "Guest access is not available for media gallery rooms."
OTHER_ROOM = "You can only manage guest access for the room you opened from Sakai."
ROOM_GONE = "This room is no longer available."


@dataclass(frozen=True)
class Availability:
    available: bool
    reason: str | None = None


def room_kind(body: dict[str, Any]) -> str:
    """`room_type` custom parameter (Sakai lower-cases custom keys); anything unknown is a room."""
    custom = body.get(claims.CUSTOM) or {}
    kind = str(custom.get("room_type", "")).strip().lower().replace("_", "").replace(" ", "")
    return "mediagallery" if kind == "mediagallery" else "room"


PLACEMENT = ("issuer", "deployment_id", "context_id", "resource_link_id")


class LaunchedRoom(NamedTuple):
    """What a launch and its media page need of the room (read without loading the ORM object)."""

    id: str
    title: str
    context_title: str
    kind: str
    issuer: str
    client_id: str
    media_url: str | None
    media_kind: str | None
    guest_chat_enabled: bool
    admission_required: bool
    guest_names_visible: bool

    @classmethod
    def of(cls, room: Room) -> LaunchedRoom:
        return cls(*(getattr(room, name) for name in cls._fields))


# Every launch runs it: prepared once, run on the session's connection (database.Prepared).
LAUNCHED_ROOM = Prepared(
    select(*(getattr(Room, name) for name in LaunchedRoom._fields)).where(
        *(getattr(Room, name) == bindparam(name) for name in PLACEMENT)
    )
)


def upsert_room(issuer: str, client_id: str, deployment_id: str, body: dict[str, Any]) -> LaunchedRoom:
    """The placement's room, created on first launch; title and kind follow later launches."""
    context = body.get(claims.CONTEXT) or {}
    link = body.get(claims.RESOURCE_LINK) or {}
    key = {
        "issuer": issuer,
        "deployment_id": deployment_id,
        "context_id": str(context.get("id") or ""),
        "resource_link_id": str(link["id"]),
    }
    values = {
        "title": str(link.get("title") or context.get("title") or "Room")[:255],
        "context_title": str(context.get("title") or "")[:255],
        "kind": room_kind(body),
    }
    found = LAUNCHED_ROOM.first(key)
    if found is None:
        try:
            # Two first launches at once: the unique key lets one insert win; the other reads it.
            with db.session.begin_nested():
                db.session.add(Room(client_id=client_id, **key, **values))
        except IntegrityError:
            pass
        found = LAUNCHED_ROOM.first(key)
    room = LaunchedRoom(*found)
    changed = {name: value for name, value in values.items() if getattr(room, name) != value}
    if changed:
        db.session.execute(update(Room).where(Room.id == room.id).values(changed))
        room = room._replace(**changed)
    return room


def guest_access_availability(room: Room, modules: dict[str, dict[str, Any]]) -> Availability:
    """Guest access needs Invitetomedia, Theming with mediapage 'Yes', and a non-gallery room."""
    if room.kind == "mediagallery":
        return Availability(False, GALLERY)
    missing = []  # name everything the Sakai admin has to switch on, not just the first
    if not modules.get("invitetomedia", {}).get("enabled"):
        missing.append(INVITE_MISSING)
    theming = modules.get("theming", {})
    if not theming.get("enabled") or theming.get("mediapage") != "Yes":
        missing.append(THEMING_MISSING)
    return Availability(False, " ".join(missing)) if missing else Availability(True)


def availability(room: Room) -> Availability:
    """Whether guest access is available in this room, with the modules its Sakai sent."""
    modules = current_app.extensions["lti_tool"].modules_for(room.issuer, room.client_id)
    return guest_access_availability(room, modules)


def managed_room(room_id: str, launch: Any, *, gated: bool = True) -> Room:
    """The one guard of every guest-access management route: the launch's own room, not deleted, and
    (unless `gated=False`, used only to erase a guest's personal data) guest access available there."""
    if launch.room_id != room_id:
        raise Forbidden(OTHER_ROOM, code="other_room")
    room = db.session.get(Room, room_id)
    if room is None or room.deleted_at is not None:
        raise NotFound(ROOM_GONE, code="room_not_found")
    if gated:
        state = availability(room)
        if not state.available:
            raise Forbidden(state.reason, code="guest_access_unavailable")
    return room


_room = Room.__table__
# Built once: every change to a room's guests runs one (a plain table UPDATE, no ORM bookkeeping).
BUMP = update(_room).where(_room.c.id == bindparam("room_id")).values(version=_room.c.version + 1)
BUMP_IF_ENABLED = BUMP.where(_room.c.guest_access_enabled.is_(True), _room.c.deleted_at.is_(None))


def bump_version(room_id: str, *, require_enabled: bool = False) -> bool:
    """`version + 1` for polling clients (their ETag) after any change to the room's guest access or
    guests; with `require_enabled`, only while guest access is on and the room exists (checked in
    the same statement, which also locks the room row)."""
    result = db.session.execute(BUMP_IF_ENABLED if require_enabled else BUMP, {"room_id": room_id})
    room = db.session.identity_map.get(db.session.identity_key(Room, room_id))
    if room is not None:
        db.session.expire(room, ["version", "updated_at", "guest_access_enabled"])
    return result.rowcount == 1
