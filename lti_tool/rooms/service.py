"""Room rules: which room a launch belongs to, and whether guest access is available there."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..lti import claims
from ..models import Room

ROOM_KINDS = ("room", "mediagallery")
THEMING_MISSING = "Guest access requires the Theming module with 'mediapage' set to 'Yes'."
INVITE_MISSING = "Guest access requires the Invitetomedia module."
GALLERY = "Guest access is not supported for media gallery rooms."


@dataclass(frozen=True)
class Availability:
    available: bool
    reason: str | None = None


def room_kind(body: dict[str, Any]) -> str:
    """`room_type` custom parameter (Sakai lower-cases custom keys); anything unknown is a room."""
    custom = body.get(claims.CUSTOM) or {}
    kind = str(custom.get("room_type", "")).strip().lower().replace("_", "").replace(" ", "")
    return "mediagallery" if kind == "mediagallery" else "room"


def upsert_room(issuer: str, client_id: str, deployment_id: str, body: dict[str, Any]) -> Room:
    """The placement's room, created on first launch; title and kind follow later launches."""
    context = body.get(claims.CONTEXT) or {}
    link = body.get(claims.RESOURCE_LINK) or {}
    key = {
        "issuer": issuer,
        "deployment_id": deployment_id,
        "context_id": str(context.get("id") or ""),
        "resource_link_id": str(link["id"]),
    }
    title = str(link.get("title") or context.get("title") or "Room")[:255]
    values = {
        "title": title,
        "context_title": str(context.get("title") or "")[:255],
        "kind": room_kind(body),
    }
    room = db.session.execute(select(Room).filter_by(**key)).scalar_one_or_none()
    if room is None:
        try:
            # Two first launches at once: the unique key lets one insert win; the other reads it.
            with db.session.begin_nested():
                room = Room(client_id=client_id, **key, **values)
                db.session.add(room)
        except IntegrityError:
            room = db.session.execute(select(Room).filter_by(**key)).scalar_one()
    for name, value in values.items():
        if getattr(room, name) != value:
            setattr(room, name, value)
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
