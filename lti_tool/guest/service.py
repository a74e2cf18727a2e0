"""The guest journey's rules: open a link, join (one click), wait, be admitted or declined, stay.

Services take explicit arguments (including `now`), add and flush, and never commit. Every limit is
one SQL statement whose WHERE clause is the rule, so two requests can never both pass a check
that only one may pass.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, exists, insert, or_, select, update

from ..clock import as_utc
from ..errors import Conflict, DomainError, NotFound
from ..extensions import db
from ..links.service import is_expired, link_status
from ..models import Guest, GuestBlock, GuestGroup, GuestLink, Room, RoomSession, new_id
from ..rooms.service import BUMP_IF_ENABLED, availability, bump_version
from .validation import _

WAITING, ADMITTED, DECLINED, REMOVED, ENDED = "waiting", "admitted", "declined", "removed", "ended"
BLOCKED, LEFT = "blocked", "left"  # removed and blocked by a host; left by pressing Leave
# A full page load refused a guest who was inside (link deleted or expired, access off, room gone):
# their guest session is over on the server, whatever their cookie says.
CLOSED = "closed"
INSIDE = (WAITING, ADMITTED)
TOKEN_MAX = 64
LAST_SEEN_EVERY = timedelta(seconds=10)


# --- The message pages: each refusal a guest can meet has its own page and status. ---------------


class GuestPageError(DomainError):
    template = "guest/message.html"


class GuestAccessOff(GuestPageError):
    status = 403
    code = "guest_access_off"
    title = _("Guest access is turned off")
    message = _("The host has turned off guest access for this session.")
    template = "guest/access_off.html"


class LinkInvalid(GuestPageError):
    """Expired, used up, deleted or never existed: one page, so tokens can't be probed."""

    status = 404
    code = "link_invalid"
    title = _("This link is no longer valid")
    message = _("The guest link you used has expired or is no longer available.")
    template = "guest/link_invalid.html"


class RoomGone(GuestPageError):
    status = 410
    code = "room_gone"
    title = _("This session is no longer available")
    message = _("The room this link belongs to is no longer available.")
    template = "guest/room_gone.html"


class Declined(GuestPageError):
    status = 403
    code = "declined"
    title = _("You were not admitted")
    message = _("A moderator declined your request to join this session.")
    template = "guest/declined.html"


class SessionOver(GuestPageError):
    status = 410
    code = "guest_session_over"
    title = _("You have left the session")
    message = _("Your guest session has ended.")
    template = "guest/session_over.html"


class SessionClosed(GuestPageError):
    """For the APIs of a guest session that a refused page closed."""

    status = 403
    code = "guest_session_closed"
    title = _("You have left the session")
    message = _("Your guest session has ended.")
    template = "guest/session_over.html"


class Blocked(GuestPageError):
    """Removed and blocked by a host: no way back into the room, through any link, until the session ends."""

    status = 403
    code = "blocked"
    title = _("You can't rejoin this session")
    message = _("The host removed you from this session and blocked rejoining until it ends.")
    template = "guest/blocked.html"


# A guest who was inside and reloads is told what changed, not the generic page of a newcomer.
class AccessTurnedOff(GuestAccessOff):
    title = _("Guest access is turned off")
    message = _("The host turned off guest access, so you can't rejoin.")
    template = "guest/cant_rejoin.html"


class LinkDeleted(LinkInvalid):
    title = _("Your guest link was deleted")
    message = _("The host deleted the link you joined with, so you can't rejoin.")
    template = "guest/cant_rejoin.html"


class LinkExpired(LinkInvalid):
    title = _("Your guest link has expired")
    message = _("The link you joined with has expired, so you can't rejoin.")
    template = "guest/cant_rejoin.html"


class NoGuestSession(GuestPageError):
    status = 403
    code = "no_guest_session"
    title = _("Join with your guest link")
    message = _("To join this session, open the guest link you were given.")
    template = "guest/no_session.html"


# --- Opening and joining ----------------------------------------------------------------------------


def open_link(token: str, now: datetime) -> EntryLink:
    """The link behind `token` if a new guest may join through it now; else the page that says why."""
    link = find_link(token)
    if link is None:
        raise LinkInvalid()
    return check_link(link, now)


def check_link(link: EntryLink, now: datetime) -> EntryLink:
    check_room(link.room)
    if link_status(link, link.room, now) != "active":
        raise LinkInvalid()
    return link


@dataclass(frozen=True)
class EntryRoom:
    """What the entry checks and page read of a room: the attributes of `Room` that `check_room`,
    `availability` and `link_status` use, so those rules take either."""

    id: str
    title: str
    kind: str
    issuer: str
    client_id: str
    guest_access_enabled: bool
    admission_required: bool
    deleted_at: datetime | None


@dataclass(frozen=True)
class EntryLink:
    """A link as the entry page and the join see it, with its room; read in one plain SELECT."""

    id: str
    room_id: str
    name: str
    max_clicks: int | None
    used_clicks: int
    expires_at: datetime | None
    room: EntryRoom


_links, _rooms = GuestLink.__table__, Room.__table__
_LINK_FIELDS = [f.name for f in fields(EntryLink) if f.name != "room"]
_ROOM_FIELDS = [f.name for f in fields(EntryRoom)]
# Built once, on the tables rather than the ORM classes: a row is read, nothing is tracked.
LINK_BY_TOKEN = (
    select(*(_links.c[name] for name in _LINK_FIELDS), *(_rooms.c[name] for name in _ROOM_FIELDS))
    .join_from(_links, _rooms, _links.c.room_id == _rooms.c.id)
    .where(_links.c.token == bindparam("token"))
)


def find_link(token: str) -> EntryLink | None:
    if not token or len(token) > TOKEN_MAX:
        return None
    row = db.session.execute(LINK_BY_TOKEN, {"token": token}).one_or_none()
    if row is None:
        return None
    values = tuple(row)
    return EntryLink(*values[: len(_LINK_FIELDS)], room=EntryRoom(*values[len(_LINK_FIELDS) :]))


def check_room(room: Room | EntryRoom | None) -> Room | EntryRoom:
    if room is None or room.deleted_at is not None:
        raise RoomGone()
    if not room.guest_access_enabled or not availability(room).available:
        raise GuestAccessOff()
    return room


# Invariant: used_clicks never passes max_clicks, and no click is taken from an expired link or a
# closed room. Check and increment are this one statement (row-locked by the database).
TAKE_CLICK = (
    update(_links)
    .where(
        _links.c.id == bindparam("link_id"),
        or_(_links.c.max_clicks.is_(None), _links.c.used_clicks < _links.c.max_clicks),
        or_(_links.c.expires_at.is_(None), _links.c.expires_at > bindparam("now")),
        exists(
            select(_rooms.c.id).where(
                _rooms.c.id == _links.c.room_id,
                _rooms.c.guest_access_enabled.is_(True),
                _rooms.c.deleted_at.is_(None),
            )
        ),
    )
    .values(used_clicks=_links.c.used_clicks + 1)
)
# The join's version bump: locks the room row, re-checks the switch and reads the admission rule
# under that lock, so a join never lands as "waiting" after admission was turned off.
JOIN_ROOM = BUMP_IF_ENABLED.returning(_rooms.c.admission_required)
# Undoes TAKE_CLICK inside the same transaction, while it still holds the link row.
GIVE_BACK_CLICK = update(_links).where(_links.c.id == bindparam("link_id")).values(used_clicks=_links.c.used_clicks - 1)
# A plain INSERT of the guest row, the room's guest group looked up inside it.
ADD_GUEST = insert(Guest.__table__).values(
    group_id=select(GuestGroup.__table__.c.id)
    .where(GuestGroup.__table__.c.room_id == bindparam("group_room_id"))
    .scalar_subquery()
)


def use_click(link_id: str, now: datetime) -> bool:
    """Take one click of the link, atomically; False when none is left (or the link just closed)."""
    return db.session.execute(TAKE_CLICK, {"link_id": link_id, "now": now}).rowcount == 1


@dataclass(frozen=True)
class Joined:
    guest_id: str
    room_id: str
    status: str


def join(
    link: EntryLink, name: str, email: str, session_hash: str, now: datetime, *, browser_hash: str | None = None
) -> Joined | None:
    """One successful submission: a click, then the guest (waiting or admitted by room setting).
    `browser_hash` names the browser (its entry-form cookie, hashed) for "Remove and block".

    None when no click is left or the room closed meanwhile; then the join has written nothing.
    `link` comes from `find_link` in the same transaction.
    """
    if not use_click(link.id, now):
        return None
    # The click's check read the room without locking it: a switch-off (of guest access or of
    # admission) may have committed since. The version bump locks the room row and re-reads both,
    # so a join either commits before the switch-off or sees it (refused, or admitted at once).
    locked = db.session.execute(JOIN_ROOM, {"room_id": link.room_id}).first()
    if locked is None:
        db.session.execute(GIVE_BACK_CLICK, {"link_id": link.id})
        return None
    status = WAITING if locked.admission_required else ADMITTED
    joined = Joined(guest_id=new_id(), room_id=link.room_id, status=status)
    db.session.execute(
        ADD_GUEST,
        {
            "id": joined.guest_id,
            "room_id": joined.room_id,
            "group_room_id": joined.room_id,
            "link_id": link.id,
            "link_name": link.name,
            "name": name,
            "email": email,
            "status": status,
            "session_hash": session_hash,
            "browser_hash": browser_hash,
            "created_at": now,
            "decided_at": None if status == WAITING else now,
            "last_seen_at": now,
        },
    )
    return joined


def email_hash(email: str) -> str:
    """What a block keeps of an email address: its SHA-256, in lower case (the same person whatever the case)."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def browser_hash(cookie: str) -> str:
    """What the tool keeps of a browser's entry-form cookie: its SHA-256."""
    return hashlib.sha256(b"guest-browser:" + cookie.encode()).hexdigest()


def block_guest(room_id: str, guest_id: str, now: datetime) -> None:
    """Block the person behind a guest record (their browser and their email) from rejoining the room
    until a session of the room ends. Nothing is blocked if the record is gone."""
    row = db.session.execute(
        select(Guest.browser_hash, Guest.email).where(Guest.id == guest_id, Guest.room_id == room_id)
    ).first()
    if row is None:
        return
    db.session.add(
        GuestBlock(room_id=room_id, browser_hash=row.browser_hash, email_hash=email_hash(row.email), created_at=now)
    )


def check_not_blocked(room_id: str, email: str, browser: str | None) -> None:
    """Refuse (Blocked) a join of a blocked person: the same email, or the same browser (`browser`:
    its `browser_hash`). A block lasts until a session of the room ends after it was made."""
    ended_since = exists().where(
        RoomSession.room_id == GuestBlock.room_id,
        RoomSession.ended_at.is_not(None),
        RoomSession.ended_at >= GuestBlock.created_at,
    )
    who = GuestBlock.email_hash == email_hash(email)
    if browser:
        who = or_(who, GuestBlock.browser_hash == browser)
    blocked = db.session.execute(
        select(GuestBlock.id).where(GuestBlock.room_id == room_id, who, ~ended_since).limit(1)
    ).first()
    if blocked is not None:
        raise Blocked()


def end_previous_session(session_hash: str) -> None:
    """A browser that joins again leaves its earlier place (no ghost in the waiting list)."""
    db.session.execute(
        update(Guest)
        .where(Guest.session_hash == session_hash, Guest.status.in_(INSIDE))
        .values(status=ENDED)
        .execution_options(synchronize_session=False)
    )


# --- Inside: every full page load re-checks room, access and link ----------------------------------


def room_for_guest(guest, room_id: str, now: datetime) -> Room:
    """The room a guest (a `GuestContext` or None) may see now, or the page that says why not.

    A used-up click limit does not end a stay: the guest already used their click.
    """
    if guest is None or guest.room_id != room_id:
        raise NoGuestSession()
    if guest.status == DECLINED:
        raise Declined()
    if guest.status not in INSIDE:
        raise SessionOver()
    if guest.invite_role is not None:
        from ..invites.service import check_invitee  # invitations build on this package

        return check_invitee(guest, room_id, now)
    room = db.session.get(Room, room_id)
    if room is not None and room.deleted_at is None and not room.guest_access_enabled:
        raise AccessTurnedOff()
    room = check_room(room)
    link = db.session.get(GuestLink, guest.link_id) if guest.link_id else None
    if link is None or link.room_id != room_id:
        raise LinkDeleted()
    if is_expired(link, now):
        raise LinkExpired()
    return room


# The refusals of a full page load that end a guest's stay (the article's "until they refresh").
ENDS_STAY = (GuestAccessOff, LinkInvalid, RoomGone)


def close_session(guest, now: datetime) -> None:
    """Close the session of a guest (a `GuestContext`) whose page was just refused with one of
    `ENDS_STAY`: from now on their cookie is worth nothing on any API, and they leave the room's
    presence and hands."""
    from ..session.service import forget_participant  # the live session builds on this package

    closed = db.session.execute(
        update(Guest)
        .where(Guest.id == guest.guest_id, Guest.status.in_(INSIDE))
        .values(status=CLOSED, decided_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if closed:
        forget_participant(guest.room_id, guest.participant_key)
        bump_version(guest.room_id)


@dataclass(frozen=True)
class PublicRoom:
    """What a guest's page may know about the room (never the ORM row)."""

    id: str
    title: str
    media_url: str | None
    media_kind: str | None
    guest_chat_enabled: bool


def public_room(room: Room) -> PublicRoom:
    return PublicRoom(room.id, room.title, room.media_url, room.media_kind, room.guest_chat_enabled)


def touch(session_hash: str, now: datetime) -> None:
    """Record that a guest's page is still polling (at most one write per guest every 10 s; none
    for a guest who is no longer waiting or inside)."""
    db.session.execute(
        update(Guest)
        .where(
            Guest.session_hash == session_hash,
            Guest.status.in_(INSIDE),
            or_(Guest.last_seen_at.is_(None), Guest.last_seen_at < now - LAST_SEEN_EVERY),
        )
        .values(last_seen_at=now)
        .execution_options(synchronize_session=False)
    )


# --- Admission (hosts and moderators) ---------------------------------------------------------------


def waiting_guests(room_id: str) -> list[dict[str, Any]]:
    """Guests waiting for admission, oldest first, in the public shape the moderator panel shows."""
    rows = db.session.execute(
        select(Guest).where(Guest.room_id == room_id, Guest.status == WAITING).order_by(Guest.created_at, Guest.id)
    ).scalars()
    return [
        {
            "id": row.id,
            "name": row.name,
            "email": row.email,
            "link_name": row.link_name,
            "waiting_since": _iso(row.created_at),
            "last_seen_at": _iso(row.last_seen_at),
        }
        for row in rows
    ]


def _iso(value: datetime | None) -> str | None:
    return None if value is None else as_utc(value).isoformat().replace("+00:00", "Z")


def admit(room_id: str, guest_id: str, now: datetime) -> None:
    _decide(room_id, guest_id, ADMITTED, now)


def decline(room_id: str, guest_id: str, now: datetime) -> None:
    _decide(room_id, guest_id, DECLINED, now)


def _decide(room_id: str, guest_id: str, status: str, now: datetime) -> None:
    # Invariant: a guest is decided once. Two moderators clicking at once → one row changes.
    changed = db.session.execute(
        update(Guest)
        .where(Guest.id == guest_id, Guest.room_id == room_id, Guest.status == WAITING)
        .values(status=status, decided_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not changed:
        raise _not_waiting(room_id, guest_id)
    bump_version(room_id)


def _not_waiting(room_id: str, guest_id: str) -> DomainError:
    status = db.session.execute(
        select(Guest.status).where(Guest.id == guest_id, Guest.room_id == room_id)
    ).scalar_one_or_none()
    if status is None:
        return NotFound(_("This guest is no longer in this room's list."), code="guest_not_found")
    messages = {
        ADMITTED: _("This guest has already been admitted."),
        DECLINED: _("This guest has already been declined."),
    }
    return Conflict(messages.get(status, _("This guest is no longer waiting.")), code="guest_not_waiting")


def admit_all(room_id: str, now: datetime) -> int:
    count = db.session.execute(
        update(Guest)
        .where(Guest.room_id == room_id, Guest.status == WAITING)
        .values(status=ADMITTED, decided_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if count:
        bump_version(room_id)
    return count


def delete_guest(room_id: str, guest_id: str) -> None:
    """Erase a guest's record now (their name and email); their session ends with it."""
    count = db.session.execute(delete(Guest).where(Guest.id == guest_id, Guest.room_id == room_id)).rowcount
    if not count:
        raise NotFound(_("This guest is no longer in this room's list."), code="guest_not_found")
    bump_version(room_id)


def set_admission_required(room_id: str, required: bool, now: datetime) -> int:
    """Guests must be admitted by a moderator, or not. Turning it off lets in the guests already
    waiting; returns how many. The room row is updated (and so locked) first: a join that runs
    at the same time either lands before it (and is admitted here) or reads the new rule."""
    db.session.execute(
        update(Room)
        .where(Room.id == room_id)
        .values(admission_required=required, version=Room.version + 1)
        .execution_options(synchronize_session=False)
    )
    return 0 if required else admit_all(room_id, now)


# --- Retention ----------------------------------------------------------------------------------


def purge_guests(now: datetime, retention_days: int) -> int:
    cutoff = now - timedelta(days=retention_days)
    db.session.execute(delete(GuestBlock).where(GuestBlock.created_at < cutoff))
    return db.session.execute(delete(Guest).where(Guest.created_at < cutoff)).rowcount
