"""Rules of the live session. Services take explicit arguments (including `now`), flush, never commit.

Everything a polling client must notice bumps `Room.version` in one statement; presence and chat
have their own cheap cursors, so the state poll can answer 304 from a few indexed aggregates.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sqlalchemy import bindparam, case, delete, func, select, update

from ..audit import record as audit_record
from ..clock import as_utc
from ..database import dialect_insert
from ..errors import Conflict, Forbidden, NotFound, TooManyRequests, ValidationError
from ..extensions import db
from ..guest import service as guests
from ..media import service as media
from ..models import ChatMessage, Guest, Presence, RaisedHand, Room, RoomSession
from ..rooms.service import bump_version

if TYPE_CHECKING:
    from ..guest.service import PublicRoom

PRESENT_FOR = timedelta(seconds=30)
# A poll refreshes its heartbeat only when it is this old: one write per client every ~10 s, not every 2 s.
HEARTBEAT_EVERY = timedelta(seconds=10)
CHAT_MAX_CHARS = 500
CHAT_PAGE = 200
CHAT_BURST, CHAT_BURST_WINDOW = 5, timedelta(seconds=10)  # at most 5 messages per person in 10 s
VIDEO_SUFFIXES = (".mp4", ".webm")
HOST_PORT = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?")
GUEST_PANEL_STATUSES = ("waiting", "admitted")
NOT_STARTED, LIVE, ENDED = "not_started", "live", "ended"
# What a guest's page says when their place in the session is over: (heading, what next).
CLOSED_MESSAGES = {
    "removed": ("The host removed you from this session", "You can come back through the link you were given."),
    "blocked": ("The host removed you from this session", "You can't rejoin it until it ends."),
    "left": ("You left the session", "To join again, open the guest link you were given."),
    "ended": ("The session has ended", "Thank you for joining."),
    "declined": ("You were not admitted", "A moderator declined your request to join."),
    "revoked": ("Your invitation was revoked", "You can no longer take part in this session."),
}


@dataclass(frozen=True)
class Actor:
    """Whoever makes a request in a room: a launched Sakai user or an admitted guest."""

    key: str
    name: str
    role: str  # host | moderator | viewer | guest
    guest_id: str | None = None
    invited: str | None = None  # an invitee's role: viewer | speaker | moderator (role "moderator")

    @property
    def is_guest(self) -> bool:
        return self.guest_id is not None

    @property
    def can_manage(self) -> bool:
        return self.role in ("host", "moderator")

    @property
    def is_staff(self) -> bool:
        """A host or moderator of the course (from Sakai), not an invited moderator."""
        return self.can_manage and not self.is_guest

    def require_manage(self) -> None:
        if not self.can_manage:
            raise Forbidden("Only hosts and moderators of this room can do this.", code="not_moderator")

    def require_staff(self) -> None:
        if not self.is_staff:
            raise Forbidden("Only the course's hosts and moderators can do this.", code="not_moderator")


def audit(room_id: str, actor: Actor, action: str, **detail: Any) -> None:
    # A guest's (or invitee's) name is personal data: the trail keeps their id (in `actor.key`) only.
    name = None if actor.is_guest else actor.name
    audit_record(action, actor=actor.key, actor_name=name, room_id=room_id, detail=detail)


# --- session life -------------------------------------------------------------------------------


# Built once: every launch page and poll runs it.
LATEST_RUN = (
    select(RoomSession).where(RoomSession.room_id == bindparam("room_id")).order_by(RoomSession.id.desc()).limit(1)
)


# The latest run's state as one SQL value (for a page that reads it beside other facts).
LATEST_RUN_STATE = func.coalesce(
    select(case((RoomSession.ended_at.is_(None), LIVE), else_=ENDED))
    .where(RoomSession.room_id == bindparam("room_id"))
    .order_by(RoomSession.id.desc())
    .limit(1)
    .scalar_subquery(),
    NOT_STARTED,
)


def latest_run(room_id: str) -> RoomSession | None:
    return db.session.execute(LATEST_RUN, {"room_id": room_id}).scalar_one_or_none()


def run_state(run: RoomSession | None) -> str:
    if run is None:
        return NOT_STARTED
    return LIVE if run.ended_at is None else ENDED


def live_run(room_id: str) -> RoomSession:
    run = latest_run(room_id)
    if run_state(run) != LIVE:
        raise Conflict("The session is not live right now.", code="not_live")
    return run


def start_session(room_id: str, actor: Actor, now: datetime) -> RoomSession:
    actor.require_staff()
    # Invariant: at most one live run per room. The version bump comes first and locks the room,
    # so two hosts pressing Start at once are serialised and the second one sees the first run.
    bump_version(room_id)
    if run_state(latest_run(room_id)) == LIVE:
        raise Conflict("The session is already live.", code="already_live")
    db.session.execute(delete(RaisedHand).where(RaisedHand.room_id == room_id))
    run = RoomSession(room_id=room_id, started_at=now, started_by=actor.key)
    db.session.add(run)
    audit(room_id, actor, "session.start")
    db.session.flush()
    return run


def end_session(room_id: str, actor: Actor, now: datetime) -> None:
    actor.require_staff()
    ended = db.session.execute(
        update(RoomSession).where(RoomSession.room_id == room_id, RoomSession.ended_at.is_(None)).values(ended_at=now),
        execution_options={"synchronize_session": False},
    ).rowcount
    if not ended:
        raise Conflict("The session is not live right now.", code="not_live")
    # Guests' sessions close with the room's session: their next poll shows the ended page.
    db.session.execute(
        update(Guest)
        .where(Guest.room_id == room_id, Guest.status.in_(GUEST_PANEL_STATUSES))
        .values(status="ended", decided_at=now),
        execution_options={"synchronize_session": False},
    )
    db.session.execute(delete(RaisedHand).where(RaisedHand.room_id == room_id))
    media.end_room(room_id)  # everyone's audio and video ends with the session
    bump_version(room_id)
    audit(room_id, actor, "session.end")


# --- stage and settings ---------------------------------------------------------------------------


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def classify_media(url: str, embed_origins: tuple[str, ...]) -> tuple[str | None, str | None]:
    """(kind, url) for the stage: a direct MP4/WebM → 'video', a page of an allowed origin → 'embed'."""
    url = url.strip()
    if not url:
        return None, None
    if len(url) > 2048:
        raise ValidationError("That address is too long (at most 2048 characters).", field="media_url")
    parts = urlsplit(url)
    allowed = {o.lower() for o in embed_origins}
    # A plain host[:port] only: the origin goes into the page's CSP header, so nothing else may pass.
    if parts.scheme not in ("http", "https") or not HOST_PORT.fullmatch(parts.netloc):
        raise ValidationError("Enter a web address that starts with https://.", field="media_url")
    if origin_of(url) in allowed:
        return ("video" if parts.path.lower().endswith(VIDEO_SUFFIXES) else "embed"), url
    if parts.scheme != "https":
        raise ValidationError("Enter a web address that starts with https://.", field="media_url")
    if parts.path.lower().endswith(VIDEO_SUFFIXES):
        return "video", url
    sites = ", ".join(sorted(allowed)) if allowed else "none are allowed on this server"
    raise ValidationError(
        "This address can't be shown on the stage. Use a direct link to an MP4 or WebM video, "
        f"or a page from a site your administrator allowed for embedding ({sites}).",
        field="media_url",
    )


def update_settings(
    room_id: str,
    actor: Actor,
    embed_origins: tuple[str, ...],
    *,
    media_url: str | None = None,
    guest_chat_enabled: bool | None = None,
    guest_names_visible: bool | None = None,
) -> None:
    actor.require_staff()
    values: dict[str, Any] = {}
    if media_url is not None:
        values["media_kind"], values["media_url"] = classify_media(media_url, embed_origins)
    switches = {"guest_chat_enabled": guest_chat_enabled, "guest_names_visible": guest_names_visible}
    switches = {name: value for name, value in switches.items() if value is not None}
    values.update(switches)
    if not values:
        raise ValidationError("Nothing to change.")
    db.session.execute(
        update(Room).where(Room.id == room_id).values(version=Room.version + 1, **values),
        execution_options={"synchronize_session": False},
    )
    # The switches' new values go into the trail too (who showed guests every name, and when).
    audit(room_id, actor, "room.settings", changed=sorted(values), **switches)


def stage_csp(room: Room | PublicRoom, embed_origins: tuple[str, ...]) -> tuple[str | None, str | None]:
    """(media-src, frame-src) for a page showing this room's stage."""
    media_src = origin_of(room.media_url) if room.media_kind == "video" and room.media_url else None
    frame_src = " ".join(embed_origins) or None
    return media_src, frame_src


# --- presence -----------------------------------------------------------------------------------


def _insert(model):
    return dialect_insert(model, db.session.get_bind().dialect.name)


def heartbeat(room_id: str, actor: Actor, now: datetime) -> None:
    """Upsert this participant's presence in one statement (unique room_id + participant_key)."""
    stmt = _insert(Presence).values(
        room_id=room_id,
        participant_key=actor.key,
        display_name=actor.name,
        role=actor.role,
        is_guest=actor.is_guest,
        last_seen_at=now,
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["room_id", "participant_key"],
        set_={"last_seen_at": now, "display_name": actor.name, "role": actor.role},
    )
    db.session.execute(stmt)


def _present(room_id: str, now: datetime):
    return (Presence.room_id == room_id, Presence.last_seen_at > now - PRESENT_FOR)


@dataclass(frozen=True)
class Participant:
    """A present Sakai user; `key` identifies them to the server only and is never sent."""

    key: str
    name: str
    role: str

    @property
    def is_moderator(self) -> bool:
        return self.role in ("host", "moderator")

    def shown(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role, "is_moderator": self.is_moderator}


# Per worker: room id → (people cursor, list). 500 pollers of one room then build the list once
# per presence change instead of once each. A renamed participant shows at the next join/leave.
_participants_cache: dict[str, tuple[str, list[Participant]]] = {}
PARTICIPANTS_CACHE_ROOMS = 256


def participants(room_id: str, now: datetime, cursor: str | None = None) -> list[Participant]:
    """Present Sakai users only; guests are never listed here. Hosts first, then moderators."""
    cached = _participants_cache.get(room_id)
    if cursor is not None and cached and cached[0] == cursor:
        return cached[1]
    people = _load_participants(room_id, now)
    if cursor is not None:
        if len(_participants_cache) >= PARTICIPANTS_CACHE_ROOMS:
            _participants_cache.clear()
        _participants_cache[room_id] = (cursor, people)
    return people


def _load_participants(room_id: str, now: datetime) -> list[Participant]:
    rank = case((Presence.role == "host", 0), (Presence.role == "moderator", 1), else_=2)
    rows = db.session.execute(
        select(Presence.participant_key, Presence.display_name, Presence.role)
        .where(*_present(room_id, now), Presence.is_guest.is_(False))
        .order_by(rank, Presence.display_name, Presence.id)
    ).all()
    return [Participant(key, name, role) for key, name, role in rows]


def guests_present(room_id: str, now: datetime) -> int:
    """How many guests are in the session now: everyone sees the number (never the names), so
    students know who may be reading the chat. Part of the presence cursor, like the participants."""
    return db.session.execute(
        select(func.count(Presence.id)).where(*_present(room_id, now), Presence.is_guest.is_(True))
    ).scalar_one()


def shown_to_guests(
    people: list[Participant], speakers: frozenset[str], names_visible: bool
) -> tuple[list[dict[str, Any]], int]:
    """The participants a guest sees by name, and how many more they see only as a count.

    Students' names are course records: unless the room shows every name to guests
    (`names_visible`), guests see the hosts, the moderators and whoever is speaking (`speakers`:
    participant keys of those allowed to speak or publishing, from the media service) by name."""
    if names_visible:
        return [p.shown() for p in people], 0
    named = [p.shown() for p in people if p.is_moderator or p.key in speakers]
    return named, len(people) - len(named)


# --- guests panel and removal ---------------------------------------------------------------------


def guests_panel(room_id: str, now: datetime, with_email: bool = True) -> list[dict[str, Any]]:
    """Guests waiting or inside; invitees are marked "Invited · Speaker" etc. An invited moderator
    (`with_email=False`) sees names, not other people's email addresses."""
    from ..invites.service import role_label

    present = set(
        db.session.execute(
            select(Presence.participant_key).where(*_present(room_id, now), Presence.is_guest.is_(True))
        ).scalars()
    )
    rows = db.session.execute(
        select(Guest)
        .where(Guest.room_id == room_id, Guest.status.in_(GUEST_PANEL_STATUSES))
        .order_by(Guest.created_at, Guest.id)
    ).scalars()
    return [
        {
            "id": g.id,
            "name": g.name,
            "email": g.email if with_email else None,
            "link_name": role_label(g.invite_role) or g.link_name,
            "invited_role": g.invite_role,
            "status": g.status,
            "joined_at": as_utc(g.created_at).isoformat(),
            "present": f"g:{g.id}" in present,
        }
        for g in rows
    ]


def remove_guest(room_id: str, guest_id: str, actor: Actor, now: datetime, *, block: bool = False) -> None:
    """Remove a guest from the session. Plain removal lets the person come back through a link;
    with `block` they can't rejoin the room (any link, same browser or same email) until the session ends."""
    actor.require_manage()
    removed = db.session.execute(
        update(Guest)
        .where(Guest.id == guest_id, Guest.room_id == room_id, Guest.status.in_(GUEST_PANEL_STATUSES))
        # A removed invitee's invitation is revoked too (below), and their page says so.
        .values(
            status=guests.BLOCKED if block else case((Guest.invite_role.is_not(None), "revoked"), else_=guests.REMOVED),
            decided_at=now,
        ),
        execution_options={"synchronize_session": False},
    ).rowcount
    if not removed:
        raise NotFound("This guest is no longer in the room.", code="guest_not_found")
    if block:
        guests.block_guest(room_id, guest_id, now)
    forget_participant(room_id, f"g:{guest_id}")
    media.end_person(room_id, f"g:{guest_id}")  # their audio and video end in the media server before we answer
    from ..invites.service import revoke_for_removed_guest

    revoke_for_removed_guest(guest_id, now)  # an invitee's link can't bring them back
    bump_version(room_id)
    audit(room_id, actor, "guest.remove", guest_id=guest_id, blocked=block)


def forget_participant(room_id: str, key: str) -> None:
    """Someone whose session ended leaves the room's presence and hands at once."""
    db.session.execute(delete(Presence).where(Presence.room_id == room_id, Presence.participant_key == key))
    db.session.execute(delete(RaisedHand).where(RaisedHand.room_id == room_id, RaisedHand.participant_key == key))


# --- chat ---------------------------------------------------------------------------------------


def clean_message(body: Any) -> str:
    if not isinstance(body, str):
        raise ValidationError("Write a message first.", field="body")
    text = "".join(ch for ch in body if ch in "\n\t" or ch.isprintable()).strip()
    if not text:
        raise ValidationError("Write a message first.", field="body")
    if len(text) > CHAT_MAX_CHARS:
        raise ValidationError(f"A message can be at most {CHAT_MAX_CHARS} characters.", field="body")
    return text


def post_message(room: Room, actor: Actor, body: Any, now: datetime) -> ChatMessage:
    if actor.is_guest and not room.guest_chat_enabled:
        raise Forbidden("The host has turned off chat for guests.", code="guest_chat_off")
    text = clean_message(body)
    run = live_run(room.id)
    # The version bump locks the room first, so the count below and the insert cannot interleave
    # with another post of the same room.
    bump_version(room.id)
    recent = db.session.execute(
        select(func.count(ChatMessage.id)).where(
            ChatMessage.room_id == room.id,
            ChatMessage.author_key == actor.key,
            ChatMessage.created_at > now - CHAT_BURST_WINDOW,
        )
    ).scalar_one()
    if recent >= CHAT_BURST:
        raise TooManyRequests("You are sending messages too fast. Wait a few seconds and try again.")
    message = ChatMessage(
        room_id=room.id,
        session_id=run.id,
        author_key=actor.key,
        author_name=actor.name,
        is_guest=actor.is_guest,
        body=text,
        created_at=now,
    )
    db.session.add(message)
    db.session.flush()
    return message


def delete_message(room_id: str, message_id: int, actor: Actor) -> None:
    actor.require_staff()
    deleted = db.session.execute(
        update(ChatMessage)
        .where(ChatMessage.id == message_id, ChatMessage.room_id == room_id, ChatMessage.deleted.is_(False))
        .values(deleted=True),
        execution_options={"synchronize_session": False},
    ).rowcount
    if not deleted:
        raise NotFound("This message does not exist or was already deleted.", code="message_not_found")
    bump_version(room_id)


def chat_since(run_id: int, since: int, chat_max: int) -> dict[str, Any]:
    """Messages of this run after `since`. The cursor says "seen everything up to here": the room's
    latest id when this page holds all that is left (deleted and earlier-run ids included)."""
    query = select(ChatMessage).where(ChatMessage.session_id == run_id, ChatMessage.deleted.is_(False))
    if since > 0:
        query = query.where(ChatMessage.id > since).order_by(ChatMessage.id).limit(CHAT_PAGE)
        rows = list(db.session.execute(query).scalars())
    else:  # a page that just opened gets the latest page of messages
        query = query.order_by(ChatMessage.id.desc()).limit(CHAT_PAGE)
        rows = list(db.session.execute(query).scalars())[::-1]
    deleted = db.session.execute(
        select(ChatMessage.id).where(ChatMessage.session_id == run_id, ChatMessage.deleted.is_(True))
    ).scalars()
    return {
        "messages": [
            {
                "id": m.id,
                "author": m.author_name,
                "is_guest": m.is_guest,
                "body": m.body,
                "at": as_utc(m.created_at).isoformat(),
            }
            for m in rows
        ],
        "cursor": rows[-1].id if len(rows) == CHAT_PAGE else max([since, chat_max, *(m.id for m in rows)]),
        "deleted": list(deleted),
    }


# --- raised hands ---------------------------------------------------------------------------------


def raise_hand(room_id: str, actor: Actor, now: datetime) -> None:
    if actor.can_manage:
        raise Forbidden("Hosts and moderators don't need to raise a hand.", code="manager_hand")
    live_run(room_id)
    # The unique (room_id, participant_key) makes raising twice a no-op, not a second place in line.
    stmt = _insert(RaisedHand).values(
        room_id=room_id, participant_key=actor.key, display_name=actor.name, is_guest=actor.is_guest, raised_at=now
    )
    db.session.execute(stmt.on_conflict_do_nothing(index_elements=["room_id", "participant_key"]))
    bump_version(room_id)


def lower_own_hand(room_id: str, actor: Actor) -> None:
    db.session.execute(delete(RaisedHand).where(RaisedHand.room_id == room_id, RaisedHand.participant_key == actor.key))
    bump_version(room_id)


def lower_hand(room_id: str, hand_id: int, actor: Actor) -> None:
    actor.require_manage()
    lowered = db.session.execute(
        delete(RaisedHand).where(RaisedHand.id == hand_id, RaisedHand.room_id == room_id)
    ).rowcount
    if not lowered:
        raise NotFound("This hand is already lowered.", code="hand_not_found")
    bump_version(room_id)


def hands(room_id: str) -> list[dict[str, Any]]:
    rows = db.session.execute(
        select(RaisedHand).where(RaisedHand.room_id == room_id).order_by(RaisedHand.raised_at, RaisedHand.id)
    ).scalars()
    return [
        {"id": h.id, "name": h.display_name, "is_guest": h.is_guest, "raised_at": as_utc(h.raised_at).isoformat()}
        for h in rows
    ]


def hand_raised(room_id: str, actor: Actor) -> bool:
    return (
        db.session.execute(
            select(RaisedHand.id).where(RaisedHand.room_id == room_id, RaisedHand.participant_key == actor.key)
        ).first()
        is not None
    )


# --- the state poll -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PollFacts:
    """What decides a 304, read in one statement: room version, latest chat id, presence cursor,
    and when this caller's heartbeat was last written."""

    version: int
    chat_max: int
    people: str
    my_last_seen: datetime | None
    names_visible: bool  # the room shows every participant's name to guests

    def needs_heartbeat(self, now: datetime) -> bool:
        return self.my_last_seen is None or as_utc(self.my_last_seen) <= now - HEARTBEAT_EVERY


def poll_facts(room_id: str, actor: Actor, now: datetime) -> PollFacts | None:
    """None when the room does not exist (or was deleted).

    Presence has no version of its own: people time out without a write, so its cursor is the
    count and id-sum of the rows present now (an aggregate over one room's rows)."""
    present = _present(room_id, now)
    row = db.session.execute(
        select(
            Room.version,
            select(func.max(ChatMessage.id)).where(ChatMessage.room_id == room_id).scalar_subquery(),
            select(func.count(Presence.id)).where(*present).scalar_subquery(),
            select(func.coalesce(func.sum(Presence.id), 0)).where(*present).scalar_subquery(),
            select(Presence.last_seen_at)
            .where(Presence.room_id == room_id, Presence.participant_key == actor.key)
            .scalar_subquery(),
            Room.guest_names_visible,
        ).where(Room.id == room_id, Room.deleted_at.is_(None))
    ).first()
    if row is None:
        return None
    version, chat_max, count, id_sum, seen, names_visible = row
    return PollFacts(version, chat_max or 0, f"{count}.{id_sum}", seen, names_visible)


def people_cursor(people: str, actor: Actor, names_visible: bool, speakers: frozenset[str] = frozenset()) -> str:
    """The presence cursor as this actor's page holds it: a guest's list also changes when the room
    starts or stops showing every name to guests, or when someone starts or stops speaking."""
    if not actor.is_guest:
        return people
    if names_visible:
        return people + "n"
    if not speakers:
        return people
    return people + "s" + hashlib.sha256("\n".join(sorted(speakers)).encode()).hexdigest()[:12]


def etag(room_id: str, actor: Actor, facts: PollFacts) -> str:
    """Weak ETag of the room as this actor sees it once caught up: room version, latest chat id,
    presence cursor (and, for moderators, the guests awaiting a decision or present)."""
    parts = [facts.version, facts.chat_max, facts.people, actor.role]
    if actor.can_manage:
        # Guests start waiting or get admitted through other routes too; see them without relying on those.
        rows = db.session.execute(
            select(Guest.id, Guest.status).where(Guest.room_id == room_id, Guest.status.in_(GUEST_PANEL_STATUSES))
        ).all()
        parts.append(hashlib.sha256(repr(sorted(rows)).encode()).hexdigest()[:12])
    return 'W/"' + "-".join(str(p) for p in parts) + '"'


# Per worker: the part of the state that is the same for every poller holding the same cursors.
# After a chat message 500 pollers ask within 2 s; each worker builds this once, not 125 times.
_shared_cache: dict[tuple, dict[str, Any]] = {}
SHARED_CACHE_SIZE = 512


def _shared(room: Room, since: int, chat_max: int, send_people: bool, people: str, now: datetime) -> dict[str, Any]:
    # The room row is read before the run and the messages, so an entry can only hold data newer
    # than its key says, never older.
    key = (room.id, room.version, room.title, chat_max, people, since, send_people)
    cached = _shared_cache.get(key)
    if cached is not None:
        return cached
    run = latest_run(room.id)
    current = run_state(run)
    shared = {
        "room": {"id": room.id, "title": room.title},
        "session": {
            "state": current,
            "started_at": as_utc(run.started_at).isoformat() if run else None,
            "ended_at": as_utc(run.ended_at).isoformat() if run and run.ended_at else None,
        },
        "stage": {"kind": room.media_kind, "url": room.media_url},
        "guest_chat_enabled": room.guest_chat_enabled,
        "media": {"configured": media.configured()},
        "participants": [p.shown() for p in participants(room.id, now, people)] if send_people else None,
        "participants_unnamed": 0 if send_people else None,
        "guests_present": guests_present(room.id, now),
        "people_cursor": people,
        "chat": chat_since(run.id, since, chat_max)
        if current == LIVE
        else {"messages": [], "cursor": max(since, chat_max), "deleted": []},
        "version": room.version,
    }
    if len(_shared_cache) >= SHARED_CACHE_SIZE:
        _shared_cache.clear()
    _shared_cache[key] = shared
    return shared


def state(
    room: Room,
    actor: Actor,
    since: int,
    chat_max: int,
    people_known: str,
    people: str,
    now: datetime,
    speakers: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """The room as this actor may see it. The participants list is left out (None) when the client
    already has the list of this presence cursor: a chat message must not resend 500 names.
    A guest's list names only those `shown_to_guests` names; `participants_unnamed` counts the rest."""
    cursor = people_cursor(people, actor, room.guest_names_visible, speakers)
    send_people = people_known != cursor
    shared = _shared(room, since, chat_max, send_people, people, now)
    live = shared["session"]["state"] == LIVE
    rights = media.you(room.id, actor, live)
    body: dict[str, Any] = {
        **shared,
        "people_cursor": cursor,
        "you": {
            "name": actor.name,
            "role": actor.role,
            "is_guest": actor.is_guest,
            "can_manage": actor.can_manage,
            "can_run_session": actor.is_staff,
            "invited_role": actor.invited,
            "can_chat": live and (not actor.is_guest or room.guest_chat_enabled),
            "can_raise_hand": live and not actor.can_manage,
            "hand_raised": hand_raised(room.id, actor),
            "can_publish": rights.can_publish,
            "audio_muted_by_host": rights.audio_muted_by_host,
        },
    }
    if actor.is_guest and send_people:
        body["participants"], body["participants_unnamed"] = shown_to_guests(
            participants(room.id, now, people), speakers, room.guest_names_visible
        )
    if actor.can_manage:
        body["guests"] = guests_panel(room.id, now, with_email=actor.is_staff)
        body["hands"] = hands(room.id)
        body["admission_required"] = room.admission_required
        body["guest_names_visible"] = room.guest_names_visible
    return body


def closed_state(status: str) -> dict[str, Any]:
    """What a guest whose session is over gets instead of the room state."""
    title, message = CLOSED_MESSAGES.get(status, CLOSED_MESSAGES["ended"])
    return {"closed": True, "reason": status, "title": title, "message": message}


def guest_leaves(room_id: str, actor: Actor, now: datetime) -> None:
    """A guest presses Leave: their place ends now (the host's list no longer shows them), their
    audio and video end, and the link lets them back in later like anyone (a click of it)."""
    if not actor.is_guest:
        raise Forbidden("Only guests leave this way.", code="not_a_guest")
    left = db.session.execute(
        update(Guest)
        .where(Guest.id == actor.guest_id, Guest.room_id == room_id, Guest.status.in_(guests.INSIDE))
        .values(status=guests.LEFT, decided_at=now),
        execution_options={"synchronize_session": False},
    ).rowcount
    if not left:
        return  # left already (a second tab, a double press): nothing more to do
    forget_participant(room_id, actor.key)
    media.end_person(room_id, actor.key)
    bump_version(room_id)
