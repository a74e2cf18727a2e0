"""Invitation rules: the input, the 50-open cap, invite / resend / revoke / retry, the invitee's entry
and role, and retention. Services take explicit arguments (including `now`), flush, never commit.

An invitation is one named person with a role — Viewer (watch and chat), Speaker (also publish audio
and video) or Moderator (also admit and decline guests, allow and stop speaking, remove guests) —
and its own capability link: 256 random bits, of which only the SHA-256 is stored. The invitee
enters without the waiting room as a guest whose `invite_role` says what they may do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update

from .. import audit, text
from ..clock import as_utc
from ..errors import Conflict, NotFound, ValidationError
from ..extensions import db
from ..guest import service as guests
from ..guest.identity import new_session_secret, session_hash
from ..guest.validation import clean_email
from ..links.service import DAYS_INVALID, DAYS_MAX, Actor, _optional_whole
from ..models import Guest, Invitation, Room, new_id
from ..rooms.service import availability, bump_version

ROLES = ("viewer", "speaker", "moderator")
ROLE_LABELS = {"viewer": "Viewer", "speaker": "Speaker", "moderator": "Moderator"}
INVITED, JOINED, REVOKED, EXPIRED = "invited", "joined", "revoked", "expired"
OPEN = (INVITED, JOINED)
MAIL_OFF, MAIL_SENT, MAIL_FAILED = "off", "sent", "failed"
# The status a present invitee's guest record takes when their invitation is revoked.
GUEST_REVOKED = "revoked"
MAX_OPEN = 50
NAME_MAX = 80
TOKEN_MAX = 64

_NAME_MESSAGES = {
    "missing": "Enter the name of the person you invite.",
    "invisible": "The name can't contain invisible or control characters such as line breaks or tabs.",
    "too_long": f"The name can be at most {NAME_MAX} characters.",
    "marks": "The name has too many accent marks on one letter.",
}
ROLE_INVALID = "Choose a role: Viewer, Speaker or Moderator."
LIMIT_REACHED = f"This room already has {MAX_OPEN} open invitations. Revoke one to invite someone else."
GONE = "This invitation no longer exists."
ALREADY_REVOKED = "This invitation has already been revoked."
NOT_RETRYABLE = "Only an invitation whose email failed can be sent again with Retry. Use Resend instead."


class InvitationsUnavailable(guests.GuestAccessOff):  # ends a stay, like guest access off
    status = 403
    code = "invitations_unavailable"
    title = "Invitations are not available here"
    message = "The room this invitation belongs to does not accept invitations right now."
    template = "invites/unavailable.html"


@dataclass(frozen=True)
class InviteInput:
    name: str
    email: str
    role: str
    duration_days: int | None


def parse_invite_input(name: Any, email: Any, role: Any, duration_days: Any) -> InviteInput:
    """Validate the Invite form; the first problem is raised with its field."""
    try:
        clean = text.clean_name(name, max_length=NAME_MAX)
    except text.NameProblem as problem:
        raise ValidationError(_NAME_MESSAGES[problem.kind], field="name") from None
    if "<" in clean or ">" in clean:
        raise ValidationError("The name can't contain < or >.", field="name")
    if not isinstance(email, str):
        raise ValidationError("Enter the email address of the person you invite.", field="email")
    try:
        address = clean_email(email)
    except ValueError as exc:
        message = str(exc).replace("Enter your email address.", "Enter the email address of the person you invite.")
        raise ValidationError(message, field="email") from None
    if role is None or role == "":
        role = "viewer"
    if not isinstance(role, str) or role not in ROLES:
        raise ValidationError(ROLE_INVALID, field="role")
    days = _optional_whole(duration_days, 1, DAYS_MAX, DAYS_INVALID, "duration_days")
    return InviteInput(clean, address, role, days)


# --- tokens -------------------------------------------------------------------------------------------


# An invitation's link token is made and stored as a guest's session secret is: 256 random bits,
# only its SHA-256 in the database. new_token() gives (token, hash).
new_token, token_hash = new_session_secret, session_hash


def invitation_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/i/{token}"


# --- the host's side ------------------------------------------------------------------------------------


def status_of(invitation: Invitation, now: datetime) -> str:
    """invited | joined | revoked | expired."""
    if invitation.status == REVOKED:
        return REVOKED
    if invitation.expires_at is not None and as_utc(invitation.expires_at) <= now:
        return EXPIRED
    return invitation.status


def _open_clause(now: datetime):
    return (
        Invitation.status.in_(OPEN),
        or_(Invitation.expires_at.is_(None), Invitation.expires_at > now),
    )


def open_count(room_id: str, now: datetime) -> int:
    return db.session.execute(
        select(func.count(Invitation.id)).where(Invitation.room_id == room_id, *_open_clause(now))
    ).scalar_one()


def list_invitations(room: Room) -> list[Invitation]:
    query = select(Invitation).where(Invitation.room_id == room.id).order_by(Invitation.created_at.desc())
    return list(db.session.execute(query).scalars())


def invite(room: Room, data: InviteInput, *, actor: Actor, now: datetime, mail_on: bool) -> tuple[Invitation, str]:
    """A new invitation and its link's token (shown or emailed once, never stored)."""
    invitation, token = _add(room.id, data, actor, now, mail_on)
    _record(room.id, actor, "invite.create", now, invitation_id=invitation.id, role=data.role)
    return invitation, token


def _add(room_id: str, data: InviteInput, actor: Actor, now: datetime, mail_on: bool) -> tuple[Invitation, str]:
    # Invariant: at most MAX_OPEN open invitations per room. The version bump locks the room row
    # first (on SQLite the request's BEGIN IMMEDIATE holds the write lock), so the count and the
    # insert below run one room at a time: two invites can never both take the 50th place.
    if not bump_version(room_id):
        raise NotFound("This room is no longer available.", code="room_not_found")
    if open_count(room_id, now) >= MAX_OPEN:
        raise Conflict(LIMIT_REACHED, code="invitation_limit")
    token, digest = new_token()
    invitation = Invitation(
        id=new_id(),
        room_id=room_id,
        token_hash=digest,
        name=data.name,
        email=data.email,
        role=data.role,
        status=INVITED,
        expires_at=now + timedelta(days=data.duration_days) if data.duration_days else None,
        mail_status=MAIL_SENT if mail_on else MAIL_OFF,
        invited_by=actor.sub,
        invited_by_name=actor.name,
        created_at=now,
    )
    db.session.add(invitation)
    db.session.flush()
    return invitation, token


def _own(room: Room, invitation_id: str) -> Invitation:
    # The room_id condition keeps one room's host away from another room's invitations.
    invitation = db.session.execute(
        select(Invitation).where(Invitation.id == invitation_id, Invitation.room_id == room.id)
    ).scalar_one_or_none()
    if invitation is None:
        raise NotFound(GONE, code="invitation_not_found")
    return invitation


def revoke(room: Room, invitation_id: str, *, actor: Actor, now: datetime) -> Invitation:
    """The link stops working at once, and an invitee inside leaves the session (media included)."""
    invitation = _own(room, invitation_id)
    if not _close(invitation.id, now):
        raise Conflict(ALREADY_REVOKED, code="invitation_revoked")
    _record(room.id, actor, "invite.revoke", now, invitation_id=invitation.id)
    db.session.refresh(invitation)
    return invitation


def _close(invitation_id: str, now: datetime) -> bool:
    """Revoke in one statement (a second revoke, or one racing an entry, changes nothing), then end
    the stay of whoever is inside with it."""
    closed = db.session.execute(
        update(Invitation)
        .where(Invitation.id == invitation_id, Invitation.status != REVOKED)
        .values(status=REVOKED, revoked_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not closed:
        return False
    inside = list(
        db.session.execute(
            select(Guest.id, Guest.room_id).where(Guest.invitation_id == invitation_id, Guest.status.in_(guests.INSIDE))
        ).all()
    )
    for guest_id, room_id in inside:
        _end_stay(room_id, guest_id, now)
    return True


def _end_stay(room_id: str, guest_id: str, now: datetime, status: str = GUEST_REVOKED) -> None:
    from ..media import service as media
    from ..session.service import forget_participant

    db.session.execute(
        update(Guest)
        .where(Guest.id == guest_id, Guest.status.in_(guests.INSIDE))
        .values(status=status, decided_at=now)
        .execution_options(synchronize_session=False)
    )
    forget_participant(room_id, f"g:{guest_id}")
    media.end_person(room_id, f"g:{guest_id}")  # their audio and video end in Janus before we answer
    bump_version(room_id)


def erase(room: Room, invitation_id: str, *, actor: Actor, now: datetime) -> None:
    """Delete the invitation's record (name, email) now, not only after retention; an open one is
    revoked first, so its link stops working and an invitee inside leaves."""
    invitation = _own(room, invitation_id)
    _close(invitation.id, now)
    db.session.execute(
        delete(Invitation).where(Invitation.id == invitation.id).execution_options(synchronize_session=False)
    )
    _record(room.id, actor, "invite.delete", now, invitation_id=invitation_id)


def resend(room: Room, invitation_id: str, *, actor: Actor, now: datetime, mail_on: bool) -> tuple[Invitation, str]:
    """A new link for the same person and role (the same duration from now); the old one is revoked."""
    old = _own(room, invitation_id)
    days = None
    if old.expires_at is not None:
        days = max(1, round((as_utc(old.expires_at) - as_utc(old.created_at)) / timedelta(days=1)))
    _close(old.id, now)  # revoked first: the new one takes its place under the cap
    data = InviteInput(old.name, old.email, old.role, days)
    invitation, token = _add(room.id, data, actor, now, mail_on)
    _record(room.id, actor, "invite.resend", now, invitation_id=invitation.id, replaces=old.id, role=old.role)
    return invitation, token


def retry(room: Room, invitation_id: str, *, actor: Actor, now: datetime) -> tuple[Invitation, str]:
    """Send a failed invitation again. Its token was never stored, so the email gets a fresh one
    (the old link, which may never have arrived, stops working)."""
    invitation = _own(room, invitation_id)
    if invitation.mail_status != MAIL_FAILED or status_of(invitation, now) != INVITED:
        raise Conflict(NOT_RETRYABLE, code="not_retryable")
    token, digest = new_token()
    invitation.token_hash = digest
    db.session.flush()
    _record(room.id, actor, "invite.retry", now, invitation_id=invitation.id)
    return invitation, token


def record_mail(invitation_id: str, error: str | None) -> None:
    db.session.execute(
        update(Invitation)
        .where(Invitation.id == invitation_id)
        .values(mail_status=MAIL_FAILED if error else MAIL_SENT)
        .execution_options(synchronize_session=False)
    )


def _record(room_id: str, actor: Actor, action: str, now: datetime, **detail: Any) -> None:
    """Ids and roles only: never the invitee's name, email or link."""
    audit.record(action, actor=actor.sub, actor_name=actor.name, room_id=room_id, detail=detail, now=now)


# --- the invitee's side ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Opened:
    """What the entry page of an invitation shows (never the ORM row): the invitee's own name and role."""

    id: str
    room_id: str
    room_title: str
    name: str
    role: str


def open_invitation(token: str, now: datetime) -> Opened:
    """The invitation behind `token` if its invitee may enter now; else the page that says why."""
    invitation = find(token)
    if invitation is None or status_of(invitation, now) not in OPEN:
        raise guests.LinkInvalid()
    room = check_room(db.session.get(Room, invitation.room_id))
    return Opened(invitation.id, room.id, room.title, invitation.name, invitation.role)


def find(token: str) -> Invitation | None:
    if not token or len(token) > TOKEN_MAX:
        return None
    return db.session.execute(select(Invitation).where(Invitation.token_hash == token_hash(token))).scalar_one_or_none()


def check_room(room: Room | None) -> Room:
    """Invitations work while the room exists and its Sakai has the modules guest access needs;
    they do not depend on the guest-link switch (Enable guest access)."""
    if room is None or room.deleted_at is not None:
        raise guests.RoomGone()
    if not availability(room).available:
        raise InvitationsUnavailable()
    return room


def enter(opened: Opened, name: str, session_hash: str, now: datetime) -> str | None:
    """The invitee goes in, admitted at once; returns their guest id. None when the invitation was
    revoked or expired meanwhile (then nothing was written).

    The invitation's row is updated (and so locked) first, so a revoke that runs at the same time
    either comes first (and this refuses) or waits and then ends this new stay too.
    """
    joined = db.session.execute(
        update(Invitation)
        .where(Invitation.id == opened.id, *_open_clause(now))
        .values(status=JOINED, joined_at=func.coalesce(Invitation.joined_at, now))
        .execution_options(synchronize_session=False)
    ).rowcount
    if not joined:
        return None
    # One person, one place: an earlier stay with this invitation (another browser) ends.
    for guest_id, room_id in db.session.execute(
        select(Guest.id, Guest.room_id).where(Guest.invitation_id == opened.id, Guest.status.in_(guests.INSIDE))
    ).all():
        _end_stay(room_id, guest_id, now, guests.ENDED)
    guest = Guest(
        id=new_id(),
        room_id=opened.room_id,
        link_id=None,
        link_name="Invitation",
        invitation_id=opened.id,
        invite_role=opened.role,
        name=name,
        email=db.session.execute(select(Invitation.email).where(Invitation.id == opened.id)).scalar_one(),
        status=guests.ADMITTED,
        session_hash=session_hash,
        created_at=now,
        decided_at=now,
        last_seen_at=now,
    )
    db.session.add(guest)
    db.session.flush()
    bump_version(opened.room_id)
    audit.record(
        "invite.join",
        actor=f"g:{guest.id}",
        room_id=opened.room_id,
        detail={"invitation_id": opened.id, "guest_id": guest.id, "role": opened.role},
        now=now,
    )
    return guest.id


def check_invitee(guest, room_id: str, now: datetime) -> Room:
    """A full page load of an invitee (a `GuestContext` already known to be inside `room_id`):
    the room, or the page that says why they can't stay."""
    room = check_room(db.session.get(Room, room_id))
    invitation = db.session.get(Invitation, guest.invitation_id) if guest.invitation_id else None
    if invitation is None or invitation.room_id != room_id or status_of(invitation, now) not in OPEN:
        raise guests.LinkInvalid()
    return room


def revoke_for_removed_guest(guest_id: str, now: datetime) -> None:
    """A moderator removed an invitee: their invitation is revoked too, so the link can't bring them back."""
    invitation_id = db.session.execute(select(Guest.invitation_id).where(Guest.id == guest_id)).scalar_one_or_none()
    if invitation_id:
        _close(invitation_id, now)


def role_label(role: str | None) -> str | None:
    return f"Invited · {ROLE_LABELS[role]}" if role in ROLE_LABELS else None


# --- retention ------------------------------------------------------------------------------------------


def purge_invitations(now: datetime, retention_days: int) -> int:
    """Invitations hold a name and an email: they go after the guest retention period, like guest
    records (counted from when they were sent), open or not."""
    cutoff = now - timedelta(days=retention_days)
    return db.session.execute(delete(Invitation).where(Invitation.created_at < cutoff)).rowcount
