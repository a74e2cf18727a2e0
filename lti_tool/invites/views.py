"""HTTP for invitations (README "Invitations"): the JSON API behind the "Invite users" dialog, and the
invitee's entry page at /i/<token>.

The API needs the launch token of a Sakai host or moderator of *this* room (header, also the CSRF
token) where guest access is available — an invited moderator's guest cookie never reaches it
(lti_tool/guest/confine.py). The email goes out after the invitation is committed, so a mail server
that is slow or down never holds the room's lock, and a failed send leaves the row with Retry.

The entry page follows the guest link's (lti_tool/guest/views.py): opening never changes anything;
only a same-site submission with a form token bound to this browser lets the invitee in.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from flask import Blueprint, current_app, g, make_response, redirect, render_template, request, url_for

from ..clock import as_utc, utcnow
from ..extensions import db
from ..guest import service as guests
from ..guest import views as guest_views
from ..guest.confine import request_guest
from ..guest.identity import COOKIE_NAME, new_session_secret, session_hash, set_guest_cookie
from ..guest.validation import clean_name
from ..links.views import actor, json_body, json_response
from ..lti.context import require_launch
from ..models import Invitation, Room
from ..rooms import service as rooms
from . import mail, service

log = logging.getLogger(__name__)
bp = Blueprint("invites", __name__, url_prefix="/api/rooms/<room_id>")
entry_bp = Blueprint("invite_entry", __name__)
FORM_COOKIE = "invite_form"


# --- the dialog's API ---------------------------------------------------------------------------------


@bp.get("/invitations")
@require_launch(manage=True)
def list_invitations(room_id: str):
    return json_response(window_state(_room(room_id)))


@bp.post("/invitations")
@require_launch(manage=True)
def create(room_id: str):
    room = _room(room_id)
    body = json_body()
    data = service.parse_invite_input(body.get("name"), body.get("email"), body.get("role"), body.get("duration_days"))
    invitation, token = service.invite(room, data, actor=actor(), now=utcnow(), mail_on=_mail_on())
    letter = _letter(room, invitation, token)
    db.session.commit()
    return _delivered(room, letter, 201)


@bp.post("/invitations/<invitation_id>/resend")
@require_launch(manage=True)
def resend(room_id: str, invitation_id: str):
    room = _room(room_id)
    invitation, token = service.resend(room, invitation_id, actor=actor(), now=utcnow(), mail_on=_mail_on())
    letter = _letter(room, invitation, token)
    db.session.commit()
    return _delivered(room, letter)


@bp.post("/invitations/<invitation_id>/retry")
@require_launch(manage=True)
def retry(room_id: str, invitation_id: str):
    room = _room(room_id)
    invitation, token = service.retry(room, invitation_id, actor=actor(), now=utcnow())
    letter = _letter(room, invitation, token)
    db.session.commit()
    return _delivered(room, letter)


@bp.post("/invitations/<invitation_id>/revoke")
@require_launch(manage=True)
def revoke(room_id: str, invitation_id: str):
    room = _room(room_id)
    service.revoke(room, invitation_id, actor=actor(), now=utcnow())
    state = window_state(room)
    db.session.commit()
    return json_response({"revoked": invitation_id, **state})


@bp.delete("/invitations/<invitation_id>")
@require_launch(manage=True)
def erase(room_id: str, invitation_id: str):
    room = _room(room_id)
    service.erase(room, invitation_id, actor=actor(), now=utcnow())
    state = window_state(room)
    db.session.commit()
    return json_response({"deleted": invitation_id, **state})


def _room(room_id: str) -> Room:
    return rooms.managed_room(room_id, g.launch)


def _mail_settings():
    return current_app.config["TOOL"].mail


def _mail_on() -> bool:
    return _mail_settings() is not None


def _delivered(room: Room, letter: mail.InvitationMail, status: int = 200):
    """Email the new link (committed already), or hand it to the dialog to copy when email is off.
    The link travels in this one answer only: it is never stored. No transaction is open while the
    mail server is talked to (on SQLite one would hold every writer up)."""
    payload: dict[str, Any] = {"invitation": {"id": letter.invitation_id}}
    if _mail_on():
        error = mail.send(_mail_settings(), letter)
        service.record_mail(letter.invitation_id, error)
        db.session.commit()
        payload["mail_error"] = error
        log.info(
            "invitation email",
            extra={"room_id": letter.room_id, "invitation_id": letter.invitation_id, "sent": not error},
        )
    else:
        payload["copy"] = {"url": letter.url, "text": mail.invitation_text(letter)}
    db.session.refresh(room)
    return json_response({**payload, **window_state(room)}, status)


def _letter(room: Room, invitation: Invitation, token: str) -> mail.InvitationMail:
    expires = as_utc(invitation.expires_at)
    return mail.InvitationMail(
        invitation_id=invitation.id,
        room_id=room.id,
        to_name=invitation.name,
        to_address=invitation.email,
        room_title=room.title,
        inviter_name=invitation.invited_by_name or "Your host",
        role=invitation.role,
        url=service.invitation_url(current_app.config["TOOL"].base_url, token),
        expires_on=expires.strftime("%d %B %Y, %H:%M UTC") if expires else None,
    )


def window_state(room: Room) -> dict[str, Any]:
    """Everything the "Invite users" dialog shows."""
    now = utcnow()
    rows = service.list_invitations(room)
    count = service.open_count(room.id, now)
    full = count >= service.MAX_OPEN
    return {
        "mail_enabled": _mail_on(),
        "max_open": service.MAX_OPEN,
        "open_count": count,
        "count_label": _count_label(count),
        "can_invite": not full,
        "invite_disabled_reason": service.LIMIT_REACHED if full else None,
        "invitations": [invitation_view(row, now) for row in rows],
    }


def _count_label(count: int) -> str:
    if count == 0:
        return f"No open invitations (up to {service.MAX_OPEN})"
    return f"{count} of {service.MAX_OPEN} open invitations"


def invitation_view(row: Invitation, now) -> dict[str, Any]:
    expires_at = as_utc(row.expires_at)
    return {
        "id": row.id,
        "name": row.name,
        "email": row.email,
        "role": row.role,
        "role_label": service.ROLE_LABELS[row.role],
        "status": service.status_of(row, now),
        "expires_at": expires_at.isoformat().replace("+00:00", "Z") if expires_at else None,
        "mail_status": row.mail_status,
        "created_at": as_utc(row.created_at).isoformat().replace("+00:00", "Z"),
    }


# --- the invitee's entry page ------------------------------------------------------------------------------


@entry_bp.after_request
def private_page_headers(response):
    return guest_views.private_page_headers(response)


@entry_bp.route("/i/<token>", methods=["GET", "POST"])
def entry(token: str):
    now = utcnow()
    try:
        opened = service.open_invitation(token, now)
    except guests.LinkInvalid:
        # Unknown, revoked and expired tokens count alike against the client's limit, and answer alike.
        db.session.commit()
        guest_views._check_limits([guest_views._miss()], now)
        db.session.commit()
        raise
    if request.method == "POST":
        return _submit(token, opened, now)
    return _entry_page(opened, opened.name, None)


def _submit(token: str, opened: service.Opened, now):
    raw_name = request.form.get("name", "")
    error = None
    try:
        name = clean_name(raw_name)
    except ValueError as exc:
        name, error = "", str(exc)
    form_ok = guest_views.form_post_ok(FORM_COOKIE, "invitation", opened.id)
    db.session.commit()  # end the read: the counter's write opens its own short transaction
    guest_views._check_limits([("post_per_ip", guest_views._client()), ("post_per_link", token)], now)
    if not form_ok:
        db.session.commit()
        return _entry_page(opened, raw_name, None, "This page was open for a long time. Please join again.", 400)
    if error:
        db.session.commit()
        return _entry_page(opened, raw_name, error, None, 422)
    cookie, digest = new_session_secret()
    guest_id = service.enter(opened, name, digest, now)
    if guest_id is None:  # revoked or expired between the page and the click
        db.session.commit()
        raise guests.LinkInvalid()
    previous = request.cookies.get(COOKIE_NAME)
    if previous:
        guests.end_previous_session(session_hash(previous))
    db.session.commit()
    log.info("invitee joined", extra={"room_id": opened.room_id, "guest_id": guest_id, "role": opened.role})
    response = redirect(url_for("guest.room", room_id=opened.room_id), 303)
    set_guest_cookie(response, cookie)
    return response


def _entry_page(opened: service.Opened, name: str, error: str | None, form_error: str | None = None, status=200):
    guest = request_guest()
    already_in = guest is not None and guest.invitation_id == opened.id and guest.status in guests.INSIDE
    cookie = request.cookies.get(FORM_COOKIE) or secrets.token_urlsafe(24)
    response = make_response(
        render_template(
            "invites/entry.html",
            room_title=opened.room_title,
            role_label=service.ROLE_LABELS[opened.role],
            name=name,
            name_error=error,
            form_error=form_error,
            form_token=guest_views.form_token(cookie, "invitation", opened.id),
            continue_url=url_for("guest.room", room_id=opened.room_id) if already_in else None,
        ),
        status,
    )
    guest_views.keep_form_cookie(response, FORM_COOKIE, cookie, "/i/")
    return response
