"""The JSON API behind the "Manage guest access" window (documented in README, "Guest links API").

Every route needs the launch token of a host or moderator of *this* room (header `X-Launch-Token`;
never a cookie, so it is also the CSRF token), and guest access must be available for the room.
Mutating routes answer with the window's whole state so the page can redraw at once.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, g, request

from ..clock import as_utc, utcnow
from ..errors import Forbidden, ValidationError
from ..extensions import db
from ..lti.context import require_launch
from ..models import GuestLink, Room
from ..rooms import service as rooms
from . import service

bp = Blueprint("links", __name__, url_prefix="/api/rooms/<room_id>")


@bp.get("/links")
@require_launch(manage=True)
def list_links(room_id: str):
    return json_response(window_state(managed_room(room_id)))


@bp.post("/links")
@require_launch(manage=True)
def create_link(room_id: str):
    room = managed_room(room_id)
    body = json_body()
    data = service.parse_link_input(
        body.get("name"), body.get("max_clicks"), body.get("duration_days"), body.get("guests_can_speak")
    )
    link = service.create_link(room, data, actor=actor(), now=utcnow())
    created, state = link_view(link, room), window_state(room)
    db.session.commit()
    return json_response({"link": created, **state}, 201)


@bp.delete("/links/<link_id>")
@require_launch(manage=True)
def delete_link(room_id: str, link_id: str):
    room = managed_room(room_id)
    service.delete_link(room, link_id, actor=actor(), now=utcnow())
    state = window_state(room)
    db.session.commit()
    return json_response({"deleted": link_id, **state})


@bp.post("/guest-access")
@require_launch(manage=True)
def toggle_guest_access(room_id: str):
    room = managed_room(room_id)
    enabled = json_body().get("enabled")
    if not isinstance(enabled, bool):
        raise ValidationError('Send {"enabled": true} or {"enabled": false}.', field="enabled")
    changed = service.set_guest_access(room, enabled, actor=actor(), now=utcnow())
    state = window_state(room)
    db.session.commit()
    return json_response({"changed": changed, **state})


@bp.delete("/guest-group")
@require_launch(manage=True)
def delete_guest_group(room_id: str):
    managed_room(room_id)
    raise Forbidden(service.SYSTEM_GROUP, code="system_group")


def managed_room(room_id: str) -> Room:
    return rooms.managed_room(room_id, g.launch)


# Inside JSON strings these escapes are equivalent; a link name can then never read as markup,
# whatever a browser or proxy makes of the body.
_HTML_SAFE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "'": "\\u0027"})


def json_response(payload: dict[str, Any], status: int = 200) -> Response:
    body = current_app.json.dumps(payload).translate(_HTML_SAFE)
    return current_app.response_class(body + "\n", status=status, mimetype="application/json")


def json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationError("Send the request body as a JSON object.")
    return body


def actor() -> service.Actor:
    return service.Actor(sub=g.launch.user_sub, name=g.launch.user_name)


def window_state(room: Room) -> dict[str, Any]:
    """Everything the "Manage guest access" window shows."""
    links = service.list_links(room)
    group = service.guest_group(room)
    reason = None
    if not room.guest_access_enabled:
        reason = "Turn on Enable guest access to create a link."
    elif len(links) >= service.MAX_LINKS:
        reason = "You can have up to 3 guest links. Delete one to create a new link."
    return {
        "guest_access_enabled": room.guest_access_enabled,
        "max_links": service.MAX_LINKS,
        "count_label": count_label(len(links)),
        "can_create": reason is None,
        "create_disabled_reason": reason,
        "links": [link_view(link, room) for link in links],
        "group": {"name": group.name, "system": True, "deletable": False} if group else None,
        "version": room.version,
    }


def count_label(count: int) -> str:
    if count == 0:
        return "No links added"
    return "1 link" if count == 1 else f"{count} links"


def link_view(link: GuestLink, room: Room) -> dict[str, Any]:
    expires_at = as_utc(link.expires_at)
    return {
        "id": link.id,
        "name": link.name,
        "url": service.link_url(current_app.config["TOOL"].base_url, link.token),
        "max_clicks": link.max_clicks,
        "used_clicks": link.used_clicks,
        "clicks_label": "unlimited" if link.max_clicks is None else f"{link.used_clicks} of {link.max_clicks}",
        "expires_at": expires_at.isoformat().replace("+00:00", "Z") if expires_at else None,
        "guests_can_speak": link.guests_can_speak,
        "created_at": as_utc(link.created_at).isoformat().replace("+00:00", "Z"),
        "status": service.link_status(link, room, utcnow()),
    }
