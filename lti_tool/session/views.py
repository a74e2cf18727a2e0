"""HTTP for the live session: the state poll and the actions. Thin: parse, call the service, commit.

Callers are launched Sakai users (launch token header) or admitted guests of the same room (guest
session cookie). Guest writes must come from our own script (JSON body or X-Requested-With), which
a cross-site form cannot send; the cookie is SameSite=Lax on top of that.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from flask import Blueprint, current_app, g, jsonify, make_response, request, url_for

from ..clock import utcnow
from ..errors import Forbidden, NotFound, SessionExpired, TooManyRequests, ValidationError, error_response
from ..extensions import db
from ..guest.confine import guest_route, request_guest
from ..guest.identity import clear_guest_cookie
from ..guest.service import CLOSED, SessionClosed
from ..lti.context import load_launch, token_from_request
from ..media import service as media
from ..models import Room
from ..security import allows_line_breaks
from . import service
from .pollrate import PollBudget
from .service import Actor

if TYPE_CHECKING:
    from ..guest.service import PublicRoom

bp = Blueprint("session", __name__)


def _room(room_id: str) -> Room:
    room = db.session.get(Room, room_id)
    if room is None or room.deleted_at is not None:
        raise NotFound("This room does not exist.", code="room_not_found")
    return room


def _actor(room_id: str, *, admitted: bool = True) -> tuple[Actor, str | None]:
    """(actor, guest status). A launch token wins over a guest cookie."""
    token = token_from_request()
    if token:
        ctx = load_launch(token)
        if ctx.room_id != room_id:
            raise Forbidden("This page belongs to another room.", code="other_room")
        return Actor(key=ctx.participant_key, name=ctx.display_name, role=ctx.role.value), None
    guest = request_guest()
    if guest is None:
        raise SessionExpired(
            "Open the tool from your Sakai site, or open your guest link again.", code="no_credentials"
        )
    if guest.room_id != room_id:
        raise Forbidden("Your guest link is for another room.", code="other_room")
    if request.method not in ("GET", "HEAD") and not (
        request.is_json or request.headers.get("X-Requested-With") == "fetch"
    ):
        raise Forbidden("This request did not come from the session page.", code="not_from_page")
    if admitted and guest.status != "admitted":
        raise Forbidden("You are not in this session.", code="not_admitted")
    # An invited moderator moderates (can_manage) but stays a guest: no room settings, no session start/end.
    role = "moderator" if guest.invite_role == "moderator" else "guest"
    actor = Actor(
        key=guest.participant_key, name=guest.name, role=role, guest_id=guest.guest_id, invited=guest.invite_role
    )
    return actor, guest.status


def _caller(room_id: str) -> Actor:
    """The Sakai user or admitted guest making this action, in a room that exists."""
    actor, _ = _actor(room_id)
    _room(room_id)
    return actor


# The largest id the tables hold (INTEGER on PostgreSQL): no chat or hand id, and so no cursor, is
# larger. A larger number is refused here; PostgreSQL would answer "integer out of range" and
# SQLite's driver raise OverflowError (both a 500).
NUMBER_MAX = 2**31 - 1


def _whole_number(raw: str, field: str) -> int:
    """A cursor or an id from the address: ASCII digits, 0 to NUMBER_MAX; else a 400 naming `field`."""
    if raw.isascii() and raw.isdigit() and len(raw) <= len(str(NUMBER_MAX)) and int(raw) <= NUMBER_MAX:
        return int(raw)
    raise ValidationError(f"'{field}' must be a whole number from 0 to {NUMBER_MAX}.", field=field)


def _json() -> dict[str, Any]:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


def _done(**extra: Any):
    db.session.commit()
    return jsonify(ok=True, **extra)


@bp.get("/api/rooms/<room_id>/state")
@guest_route
def state(room_id: str):
    actor, guest_status = _actor(room_id, admitted=False)
    if guest_status is not None and guest_status != "admitted":
        return _closed_or_refused(guest_status)
    since = _whole_number(request.args.get("since", "0"), "since")
    people_known = request.args.get("people", "")[:40]
    now = utcnow()
    if actor.is_guest:
        wait = _poll_budget().take(actor.key, now)
        if wait:
            return _too_many_polls(wait)
    facts = _facts(room_id, actor, now)
    if facts.needs_heartbeat(now):
        # End the read transaction first: on SQLite a write that follows a read in one transaction
        # can fail at once instead of waiting for the lock.
        db.session.commit()
        service.heartbeat(room_id, actor, now)
        db.session.commit()
        facts = _facts(room_id, actor, now)
    tag = service.etag(room_id, actor, facts)
    # 304 only for a client that already holds this state: same ETag, all chat, current people list.
    speakers = media.speaker_keys(room_id) if actor.is_guest and not facts.names_visible else frozenset()
    people = service.people_cursor(facts.people, actor, facts.names_visible, speakers)
    caught_up = since >= facts.chat_max and people_known == people
    if caught_up and tag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
        response = make_response("", 304)
    else:
        room = _room(room_id)
        body = service.state(room, actor, since, facts.chat_max, people_known, facts.people, now, speakers)
        response = jsonify(body)
        if body["chat"]["cursor"] < facts.chat_max:
            tag = None  # a page of a long backlog: the client is not caught up yet
    db.session.commit()
    if tag:
        response.headers["ETag"] = tag
    response.headers["Cache-Control"] = "no-store"
    return response


def _poll_budget() -> PollBudget:
    extensions = current_app.extensions
    if "poll_budget" not in extensions:
        extensions["poll_budget"] = PollBudget()
    return extensions["poll_budget"]


def _too_many_polls(wait: float):
    """A guest session polling far faster than its page does: refused before the room is read, nothing written."""
    response, status = error_response(
        429, "poll_rate_limited", TooManyRequests.title, "Too many requests in a short time. Please wait a moment."
    )
    response.status_code = status
    response.headers["Retry-After"] = str(math.ceil(wait))
    response.headers["Cache-Control"] = "no-store"
    return response


def _facts(room_id: str, actor: Actor, now) -> service.PollFacts:
    facts = service.poll_facts(room_id, actor, now)
    if facts is None:
        raise NotFound("This room does not exist.", code="room_not_found")
    return facts


def _closed_or_refused(status: str):
    if status == "waiting":
        raise Forbidden("A moderator has not admitted you yet.", code="not_admitted")
    if status == CLOSED:  # a refused page closed this session: a plain 403, like every other API
        closed = SessionClosed()
        response = jsonify(error=closed.message, code=closed.code)
        response.status_code = closed.status
    else:
        response = jsonify(service.closed_state(status))
    response.headers["Cache-Control"] = "no-store"
    clear_guest_cookie(response)
    return response


@bp.post("/api/rooms/<room_id>/session/start")
@guest_route
def start(room_id: str):
    actor = _caller(room_id)
    service.start_session(room_id, actor, utcnow())
    return _done()


@bp.post("/api/rooms/<room_id>/session/end")
@guest_route
def end(room_id: str):
    actor = _caller(room_id)
    service.end_session(room_id, actor, utcnow())
    return _done()


@bp.patch("/api/rooms/<room_id>/settings")
@guest_route
def settings(room_id: str):
    actor = _caller(room_id)
    data = _json()
    media_url = data.get("media_url")
    if media_url is not None and not isinstance(media_url, str):
        raise ValidationError("The media address must be text.", field="media_url")
    chat = _switch(data, "guest_chat_enabled", "Guest chat must be on or off.")
    names = _switch(data, "guest_names_visible", "Showing participant names to guests must be on or off.")
    embed_origins = current_app.config["TOOL"].embed_origins
    service.update_settings(
        room_id, actor, embed_origins, media_url=media_url, guest_chat_enabled=chat, guest_names_visible=names
    )
    return _done()


def _switch(data: dict[str, Any], field: str, message: str) -> bool | None:
    value = data.get(field)
    if value is not None and not isinstance(value, bool):
        raise ValidationError(message, field=field)
    return value


@bp.post("/api/rooms/<room_id>/chat")
@guest_route
@allows_line_breaks("body")  # a message may have several lines (and tabs); other control characters: 400
def post_chat(room_id: str):
    actor = _caller(room_id)
    message = service.post_message(_room(room_id), actor, _json().get("body"), utcnow())
    return _done(id=message.id)


@bp.delete("/api/rooms/<room_id>/chat/<message_id>")
@guest_route
def delete_chat(room_id: str, message_id: str):
    actor = _caller(room_id)
    service.delete_message(room_id, _whole_number(message_id, "message_id"), actor)
    return _done()


@bp.post("/api/rooms/<room_id>/hand")
@guest_route
def raise_hand(room_id: str):
    actor = _caller(room_id)
    service.raise_hand(room_id, actor, utcnow())
    return _done()


@bp.delete("/api/rooms/<room_id>/hand")
@guest_route
def lower_own_hand(room_id: str):
    actor = _caller(room_id)
    service.lower_own_hand(room_id, actor)
    return _done()


@bp.delete("/api/rooms/<room_id>/hands/<hand_id>")
@guest_route
def lower_hand(room_id: str, hand_id: str):
    actor = _caller(room_id)
    service.lower_hand(room_id, _whole_number(hand_id, "hand_id"), actor)
    return _done()


@bp.post("/api/rooms/<room_id>/guest/leave")
@guest_route
def guest_leave(room_id: str):
    actor = _caller(room_id)
    service.guest_leaves(room_id, actor, utcnow())
    db.session.commit()
    response = jsonify(service.closed_state("left"))
    clear_guest_cookie(response)
    return response


@bp.post("/api/rooms/<room_id>/guests/<guest_id>/remove")
@guest_route
def remove_guest(room_id: str, guest_id: str):
    actor = _caller(room_id)
    block = _json().get("block", False)
    if not isinstance(block, bool):
        raise ValidationError("'block' must be true or false.", field="block")
    service.remove_guest(room_id, guest_id, actor, utcnow(), block=block)
    return _done()


@bp.app_template_global()
def live_view(room: Room | PublicRoom, viewer_kind: str = "user", run_state: str | None = None) -> dict[str, Any]:
    """What `session/_live.html` needs at render time (the run's state, unless the page read it
    already); also opens the page's CSP for the stage."""
    open_stage_csp(room)
    run_state = run_state or service.run_state(service.latest_run(room.id))
    return {
        "room_id": room.id,
        "api_base": url_for("session.state", room_id=room.id).rsplit("/", 1)[0],
        "viewer_kind": "guest" if viewer_kind == "guest" else "user",
        "state": run_state,
        "state_label": GUEST_NOT_STARTED
        if viewer_kind == "guest" and run_state == service.NOT_STARTED
        else STATE_LABELS[run_state],
        "stage_kind": room.media_kind,
        "stage_url": room.media_url,
    }


def open_stage_csp(room: Room | PublicRoom) -> None:
    """Let this response's page play the room's stage: its video's origin, the allowed embed sites."""
    g.media_src, g.frame_src = service.stage_csp(room, current_app.config["TOOL"].embed_origins)


@bp.app_template_global()
def room_settings_view(room: Room, guest_group_name: str | None) -> dict[str, Any]:
    """The settings dialog's values; the media page already read the room's guest group."""
    return {
        "media_url": room.media_url or "",
        "guest_chat_enabled": room.guest_chat_enabled,
        "admission_required": room.admission_required,
        "guest_names_visible": room.guest_names_visible,
        "guest_group_name": guest_group_name,
        "embed_origins": current_app.config["TOOL"].embed_origins,
    }


# An admitted guest before the start: they are in, and nothing more is asked of them.
GUEST_NOT_STARTED = "You're in. The session starts when the host begins it — keep this page open."
STATE_LABELS = {
    service.NOT_STARTED: "The session hasn't started yet",
    service.LIVE: "The session is live",
    service.ENDED: "The session has ended",
}
