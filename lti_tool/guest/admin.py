"""Admission, for hosts and moderators of the room they launched into (JSON API).

POST   /api/rooms/<room_id>/guests/<guest_id>/admit     → {"guest_id", "status": "admitted"}
POST   /api/rooms/<room_id>/guests/<guest_id>/decline   → {"guest_id", "status": "declined"}
POST   /api/rooms/<room_id>/guests/admit-all            → {"admitted": n}
DELETE /api/rooms/<room_id>/guests/<guest_id>           → 204 (the record is erased at once)
GET    /api/rooms/<room_id>/guests/waiting              → {"guests": [waiting_guests shape]}
PATCH  /api/rooms/<room_id>/admission {"required": b}   → {"required": b, "admitted": n} (n guests who
                                                          were waiting, let in by turning it off)
A guest already decided answers 409, a guest no longer listed 404, another room 403, and so does a
room where guest access is not available (missing modules, media gallery) — except DELETE, which
stays open so a guest's personal data can always be erased.

Admit, decline and admit all are also open to an invited moderator of the room (their guest session,
from the session page); the other routes need a Sakai host or moderator.
"""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request

from .. import audit
from ..clock import utcnow
from ..errors import Forbidden, ValidationError
from ..extensions import db
from ..lti.context import load_launch, require_launch, token_from_request
from ..rooms.service import managed_room
from . import service
from .confine import guest_route
from .validation import _

bp = Blueprint("guest_admin", __name__, url_prefix="/api/rooms/<room_id>")


def _own_room(room_id: str, *, gated: bool = True) -> None:
    managed_room(room_id, g.launch, gated=gated)


def _audit(room_id: str, action: str, **detail) -> None:
    launch = g.get("launch")
    actor, name = (launch.participant_key, launch.display_name) if launch else (g.admission_actor, None)
    audit.record(action, actor=actor, actor_name=name, room_id=room_id, detail=detail)


def _admission_moderator(room_id: str) -> None:
    """A Sakai host or moderator of this room (launch token), or an invited moderator inside it."""
    token = token_from_request()
    if token:
        g.launch = load_launch(token)
        if not g.launch.role.can_manage:
            raise Forbidden("Only hosts and moderators of this room can do this.", code="not_moderator")
        _own_room(room_id)
        return
    from ..session.views import _caller  # the live session's rules for who a guest is

    actor = _caller(room_id)
    actor.require_manage()
    g.admission_actor = actor.key


@bp.get("/guests/waiting")
@require_launch(manage=True)
def waiting(room_id: str):
    _own_room(room_id)
    return jsonify(guests=service.waiting_guests(room_id))


@bp.post("/guests/<guest_id>/admit")
@guest_route
def admit(room_id: str, guest_id: str):
    _admission_moderator(room_id)
    service.admit(room_id, guest_id, utcnow())
    _audit(room_id, "guest.admit", guest_id=guest_id)
    db.session.commit()
    return jsonify(guest_id=guest_id, status=service.ADMITTED)


@bp.post("/guests/<guest_id>/decline")
@guest_route
def decline(room_id: str, guest_id: str):
    _admission_moderator(room_id)
    service.decline(room_id, guest_id, utcnow())
    _audit(room_id, "guest.decline", guest_id=guest_id)
    db.session.commit()
    return jsonify(guest_id=guest_id, status=service.DECLINED)


@bp.post("/guests/admit-all")
@guest_route
def admit_all(room_id: str):
    _admission_moderator(room_id)
    count = service.admit_all(room_id, utcnow())
    _audit(room_id, "guest.admit_all", count=count)
    db.session.commit()
    return jsonify(admitted=count)


@bp.delete("/guests/<guest_id>")
@require_launch(manage=True)
def delete(room_id: str, guest_id: str):
    _own_room(room_id, gated=False)  # erasing personal data stays possible when access is off
    service.delete_guest(room_id, guest_id)
    _audit(room_id, "guest.delete", guest_id=guest_id)
    db.session.commit()
    return "", 204


@bp.patch("/admission")
@require_launch(manage=True)
def admission(room_id: str):
    _own_room(room_id)
    body = request.get_json(silent=True)
    required = body.get("required") if isinstance(body, dict) else None
    if not isinstance(required, bool):
        raise ValidationError(_('Send {"required": true} or {"required": false}.'), field="required")
    admitted = service.set_admission_required(room_id, required, utcnow())
    _audit(room_id, "room.admission_required", required=required, admitted=admitted)
    db.session.commit()
    return jsonify(required=required, admitted=admitted)
