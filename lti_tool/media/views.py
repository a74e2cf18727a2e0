"""HTTP for audio and video signaling (contract: README "Audio and video"). Thin: who is asking
(the session's own rules), parse, call the service, commit. Janus is only ever called by the service."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from ..clock import utcnow
from ..database import writes_on_get
from ..extensions import db
from ..guest.confine import guest_route
from ..security import allows_line_breaks
from ..session.views import _caller
from . import service

bp = Blueprint("media", __name__)


def _json() -> dict[str, Any]:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


def _done(**extra: Any):
    db.session.commit()
    return jsonify(ok=True, **extra)


@bp.get("/api/rooms/<room_id>/media")
@guest_route
@writes_on_get  # keepalive stamps, a first room row, dead peers forgotten
def media_state(room_id: str):
    actor = _caller(room_id)
    body = service.media_state(room_id, actor, service.client(room_id), utcnow(), service.turn_server())
    db.session.commit()
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/api/rooms/<room_id>/media/publish")
@guest_route
@allows_line_breaks("sdp", crlf=True)  # an SDP's lines end in CRLF; the service checks the rest
def publish(room_id: str):
    actor = _caller(room_id)
    data = _json()
    return _done(
        **service.publish(room_id, actor, service.client(room_id), data.get("sdp"), data.get("source"), utcnow())
    )


@bp.post("/api/rooms/<room_id>/media/subscribe")
@guest_route
def subscribe(room_id: str):
    actor = _caller(room_id)
    return _done(**service.subscribe(room_id, actor, service.client(room_id), _json().get("feed"), utcnow()))


@bp.post("/api/rooms/<room_id>/media/peers/<peer_id>/answer")
@guest_route
@allows_line_breaks("sdp", crlf=True)
def answer(room_id: str, peer_id: str):
    actor = _caller(room_id)
    service.answer(room_id, actor, service.client(room_id), peer_id, _json().get("sdp"))
    return _done()


@bp.delete("/api/rooms/<room_id>/media/peers/<peer_id>")
@guest_route
def close_peer(room_id: str, peer_id: str):
    actor = _caller(room_id)
    service.close_peer(room_id, actor, service.client(room_id), peer_id)
    return _done()


@bp.post("/api/rooms/<room_id>/media/leave")
@guest_route
def leave(room_id: str):
    actor = _caller(room_id)
    service.leave(room_id, actor, service.client(room_id))
    return _done()


@bp.post("/api/rooms/<room_id>/media/unmute")
@guest_route
def unmute(room_id: str):
    actor = _caller(room_id)
    service.unmute_self(room_id, actor, service.client(room_id))
    return _done()


@bp.post("/api/rooms/<room_id>/media/speakers")
@guest_route
def allow_speaker(room_id: str):
    actor = _caller(room_id)
    member = service.allow_speaker(room_id, actor, _json().get("hand_id"))
    return _done(member=member.id)


@bp.delete("/api/rooms/<room_id>/media/speakers/<member_id>")
@guest_route
def stop_speaker(room_id: str, member_id: str):
    actor = _caller(room_id)
    service.stop_speaker(room_id, actor, service.client(room_id), member_id)
    return _done()


@bp.post("/api/rooms/<room_id>/media/members/<member_id>/mute")
@guest_route
def mute_member(room_id: str, member_id: str):
    actor = _caller(room_id)
    service.mute_member(room_id, actor, service.client(room_id), member_id)
    return _done()
