"""Audio and video rules: the room ↔ Janus mapping and who may publish, watch and moderate.

The tool is the only authority. It holds every Janus session and handle (ids in the database, so
any worker serves any request); the page only ever sees opaque tokens that mean something inside
its own room. Services take explicit arguments, flush, never commit. Janus being down is never a
5xx: actions raise `MediaReconnecting` (409) and the media poll says "reconnecting".
"""

from __future__ import annotations

import contextlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from flask import current_app
from sqlalchemy import delete, or_, select, update

from ..clock import utcnow
from ..database import dialect_insert
from ..errors import Conflict, Forbidden, NotFound, ValidationError
from ..extensions import db
from ..models import Guest, GuestLink, MediaMember, MediaPeer, MediaRoom, RaisedHand, RoomSession, new_id
from ..rooms.service import bump_version
from . import servers
from . import turn as turn_relay
from .janus import FeedGone, Janus, JanusError, JanusUnavailable, RoomGone, SessionGone

if TYPE_CHECKING:
    from ..config import TurnServer
    from ..session.service import Actor

log = logging.getLogger(__name__)

SOURCES = ("camera", "screen")
SDP_MAX = 64 * 1024
KEEPALIVE_EVERY = timedelta(seconds=15)
RECONNECTING = "Audio and video are reconnecting…"
OFF = "Audio and video are not set up on this server."
NOT_LIVE = "Audio and video start when the session is live."
MAX_PUBLISHERS = 30
AUDIO_MID = re.compile(r"^m=audio .*?^a=mid:(\S+)", re.MULTILINE | re.DOTALL)


class MediaReconnecting(Conflict):
    code = "media_reconnecting"
    message = RECONNECTING


class MediaOff(Conflict):
    code = "media_off"
    message = OFF


def client(room_id: str) -> Janus | None:
    """The Janus of this room's server, or None when none is configured. A live room without a server
    is placed now (servers.choose); a room on a server that is out (down) moves to another one: its
    peers are forgotten (they were on the dead server) and the pages, finding them gone, redo them."""
    fleet = servers.fleet()
    if fleet is None:
        return None
    if len(fleet.clients) == 1:
        return fleet.first
    row = db.session.get(MediaRoom, room_id)
    if row is None:
        if not _is_live(room_id):
            return fleet.first  # the service answers "not live" before it asks Janus anything
        row = _place(room_id, fleet)
    elif row.server not in fleet.clients or row.server in servers.down():
        row = _move(row, fleet)
    return fleet.clients.get(row.server) or fleet.first


def _new_room_values(room_id: str, server: str) -> dict[str, Any]:
    return {
        "room_id": room_id,
        "janus_room": _janus_id(),
        "secret": secrets.token_urlsafe(24),
        "pin": secrets.token_urlsafe(24),
        "created_at": utcnow(),
        "server": server,
    }


def _insert_room(room_id: str, server: str) -> tuple[MediaRoom, bool]:
    """The room's row, made on `server` if missing, and whether this call made it. Two workers may
    get here at once: one insert wins, both use the row that won. (psycopg reports no rowcount for
    ON CONFLICT DO NOTHING: the winner is the one whose random room id is in the row.)"""
    values = _new_room_values(room_id, server)
    db.session.execute(
        dialect_insert(MediaRoom, db.session.get_bind().dialect.name)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["room_id"])
    )
    row = db.session.get(MediaRoom, room_id)
    return row, row.janus_room == values["janus_room"]


def _place(room_id: str, fleet: servers.Fleet) -> MediaRoom:
    """Put the room on a server; only the worker that placed it creates it in Janus."""
    row, made = _insert_room(room_id, servers.choose(fleet) or next(iter(fleet.clients)))
    if made:
        with contextlib.suppress(JanusError):  # if not now, whoever finds it missing makes it
            _create_in_janus(fleet.clients[row.server], row)
    return row


def _move(row: MediaRoom, fleet: servers.Fleet) -> MediaRoom:
    """Re-create the room on another server. One UPDATE decides when several workers try at once.
    With no other server reachable the room stays (its page says "reconnecting")."""
    old = row.server
    url = servers.choose(fleet, avoid=old)
    if url is None:
        return row
    same = MediaRoom.server.is_(None) if old is None else MediaRoom.server == old
    moved = db.session.execute(
        update(MediaRoom).where(MediaRoom.room_id == row.room_id, same).values(server=url)
    ).rowcount
    db.session.refresh(row)
    if moved:
        log.warning("media: moved a room from %s to %s", old or "(no server)", url)
        _forget_room_peers(row.room_id)
        with contextlib.suppress(JanusError):
            _create_in_janus(fleet.clients[url], row)
    return row


def _room_client(room_id: str) -> Janus | None:
    """The Janus the room is on now (no placement, no move): for ending what is there."""
    fleet = servers.fleet()
    if fleet is None:
        return None
    row = db.session.get(MediaRoom, room_id)
    return fleet.clients.get(row.server) if row is not None and row.server else fleet.first


def _janus_id() -> int:
    """A random id for a Janus room or feed, exact in JavaScript and JSON doubles (< 2^53)."""
    return secrets.randbelow(2**53 - 2) + 1


def _is_live(room_id: str, *, lock: bool = False) -> bool:
    """Is the room's latest run live? With `lock`, that run's row stays locked until commit, so an
    End session waits for a publish in progress (and then ends it) instead of racing it."""
    query = select(RoomSession.ended_at).where(RoomSession.room_id == room_id).order_by(RoomSession.id.desc()).limit(1)
    ended = db.session.execute(query.with_for_update() if lock else query).first()
    return ended is not None and ended[0] is None


# --- who may publish ----------------------------------------------------------------------------------


def _member(room_id: str, key: str) -> MediaMember | None:
    return db.session.execute(
        select(MediaMember).where(MediaMember.room_id == room_id, MediaMember.participant_key == key)
    ).scalar_one_or_none()


def _link_lets_guest_speak(guest_id: str) -> bool:
    return bool(
        db.session.execute(
            select(GuestLink.guests_can_speak).join(Guest, Guest.link_id == GuestLink.id).where(Guest.id == guest_id)
        ).scalar_one_or_none()
    )


def _may_publish(actor: Actor, member: MediaMember | None) -> bool:
    if actor.can_manage:
        return True
    if member is not None and member.speak is not None:
        return member.speak
    if actor.invited is not None:  # an invitee: their invitation's role says (a moderator can_manage)
        return actor.invited == "speaker"
    return actor.is_guest and _link_lets_guest_speak(actor.guest_id)


@dataclass(frozen=True)
class You:
    can_publish: bool
    audio_muted_by_host: bool


def you(room_id: str, actor: Actor, live: bool) -> You:
    """The state poll's `you.can_publish` / `you.audio_muted_by_host` (database only, no Janus)."""
    member = _member(room_id, actor.key)
    return You(live and _may_publish(actor, member), bool(member and member.audio_muted))


def speaker_keys(room_id: str) -> frozenset[str]:
    """Participant keys of those allowed to speak or publishing now: guests see these people by name."""
    publishing = select(MediaPeer.member_id).where(MediaPeer.room_id == room_id, MediaPeer.kind == "publisher")
    rows = db.session.execute(
        select(MediaMember.participant_key).where(
            MediaMember.room_id == room_id,
            or_(MediaMember.speak.is_(True), MediaMember.id.in_(publishing)),
        )
    ).scalars()
    return frozenset(rows)


def configured() -> bool:
    return bool(current_app.config["TOOL"].janus)


# --- the Janus room ---------------------------------------------------------------------------------


def _janus_room(room_id: str, janus: Janus) -> MediaRoom:
    """This room's VideoRoom, made (in the database and in Janus) on first use. After a Janus
    restart the room is made again by whoever finds it gone (`_join`, `_participants`)."""
    row = db.session.get(MediaRoom, room_id)
    if row is not None:
        return row
    row, made = _insert_room(room_id, janus.url)
    if made:
        _create_in_janus(janus, row)
    elif row.server and row.server != janus.url:
        raise JanusUnavailable("the room was just placed on another server")  # the next request uses it
    return row


def _create_in_janus(janus: Janus, row: MediaRoom) -> None:
    try:
        janus.control(
            {
                "request": "create",
                "admin_key": janus.admin_key,
                "room": row.janus_room,
                "secret": row.secret,
                "pin": row.pin,
                "is_private": True,
                "publishers": MAX_PUBLISHERS,
                "audiocodec": "opus",
                "videocodec": "vp8,h264",
                "notify_joining": False,
            },
        )
    except JanusError as exc:
        if exc.code != 427:  # already exists: fine (another worker made it)
            raise


def _join(janus: Janus, row: MediaRoom, body: dict[str, Any], jsep: dict[str, Any] | None = None):
    """(session, handle, reply) of a new peer joining the room. When Janus says the room is gone (it
    restarted), the room is created again and the join retried once, on a fresh handle."""
    for attempt in (1, 2):
        session, handle = _new_peer_session(janus)
        try:
            return session, handle, janus.message(session, handle, body, jsep)
        except RoomGone:
            _quietly_destroy(janus, session)
            if attempt == 2:
                raise
            _forget_room_peers(row.room_id)  # Janus lost the room: every peer the tool held there is dead
            _create_in_janus(janus, row)
        except JanusError:
            _quietly_destroy(janus, session)
            raise
    raise AssertionError("unreachable")


def _participants(janus: Janus, row: MediaRoom) -> dict[int, bool]:
    """{feed id: publishing} of the room as Janus has it now. A missing room is created again."""
    listing = {"request": "listparticipants", "room": row.janus_room}
    try:
        data = janus.control(listing)
    except RoomGone:
        # Janus restarted (or never had it): every peer the tool held there is dead.
        _forget_room_peers(row.room_id)
        _create_in_janus(janus, row)
        data = janus.control(listing)
    return {int(p["id"]): bool(p.get("publisher")) for p in data.get("participants", [])}


def _forget_room_peers(room_id: str) -> None:
    db.session.execute(delete(MediaPeer).where(MediaPeer.room_id == room_id))


# --- members and peers --------------------------------------------------------------------------------


def _ensure_member(room_id: str, actor: Actor) -> MediaMember:
    """This person's media row, locked until commit (a Stop speaking or a Remove of the same person
    waits for a publish in progress, then ends what it made). A guest removed since the request began
    is refused here."""
    if actor.is_guest:
        status = db.session.execute(
            select(Guest.status).where(Guest.id == actor.guest_id).with_for_update()
        ).scalar_one_or_none()
        if status != "admitted":
            raise Forbidden("You are not in this session.", code="not_admitted")
    member = _locked_member(room_id, actor.key, actor.name, actor.role, actor.guest_id)
    if member.display_name != actor.name or member.role != actor.role:
        member.display_name, member.role = actor.name, actor.role
    return member


def _locked_member(room_id: str, key: str, name: str, role: str, guest_id: str | None) -> MediaMember:
    """The (room, person) row, made if missing — one insert wins when two requests race — and locked."""
    query = (
        select(MediaMember)
        .where(MediaMember.room_id == room_id, MediaMember.participant_key == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    member = db.session.execute(query).scalar_one_or_none()
    if member is None:
        db.session.execute(
            dialect_insert(MediaMember, db.session.get_bind().dialect.name)
            .values(
                id=new_id(),
                room_id=room_id,
                participant_key=key,
                display_name=name,
                role=role,
                guest_id=guest_id,
                audio_muted=False,
                created_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["room_id", "participant_key"])
        )
        member = db.session.execute(query).scalar_one()
    return member


def _drop_peer(janus: Janus | None, peer: MediaPeer, row: MediaRoom | None) -> None:
    """End a peer in Janus (kick a publisher out of the room, destroy the session) and forget it;
    a publisher's watchers go with it (their pages see the peer gone and close it). Janus being down
    or the session gone already: the rows go anyway."""
    watchers = (
        list(db.session.execute(select(MediaPeer).where(MediaPeer.feed_peer_id == peer.id)).scalars())
        if peer.kind == "publisher"
        else []
    )
    if janus is not None:
        try:
            if peer.kind == "publisher" and row is not None:
                _kick(janus, peer, row)
            for gone in [peer, *watchers]:
                janus.destroy_session(gone.janus_session)
        except JanusError as exc:
            log.info("media: could not end a peer in Janus (%s)", exc.code or exc.reason)
    for gone in [peer, *watchers]:
        db.session.delete(gone)


def _kick(janus: Janus, peer: MediaPeer, row: MediaRoom) -> None:
    try:
        janus.request(
            peer.janus_session,
            peer.janus_handle,
            {"request": "kick", "room": row.janus_room, "secret": row.secret, "id": peer.feed_id},
        )
    except (SessionGone, RoomGone):
        pass
    except JanusError as exc:
        if exc.code != 428:  # no such participant: already gone
            raise


def _new_peer_session(janus: Janus) -> tuple[int, int]:
    session = janus.create_session()
    try:
        return session, janus.attach(session)
    except JanusError:
        janus.destroy_session(session)
        raise


def _clean_sdp(sdp: Any) -> str:
    if not isinstance(sdp, str) or not sdp.startswith("v=0") or "\nm=" not in sdp:
        raise ValidationError("Send a session description (SDP) from the browser.", field="sdp")
    if len(sdp) > SDP_MAX:
        raise ValidationError("That session description is too long.", field="sdp")
    if "\x00" in sdp:
        raise ValidationError("Send a session description (SDP) from the browser.", field="sdp")
    return sdp


def _ready(room_id: str, janus: Janus | None) -> Janus:
    if janus is None:
        raise MediaOff()
    if not _is_live(room_id, lock=True):
        raise Conflict(NOT_LIVE, code="not_live")
    return janus


def _refused(exc: JanusError) -> ValidationError:
    log.info("media: Janus refused a description (%s: %s)", exc.code, exc.reason)
    return ValidationError(
        "Your browser's audio/video offer could not be used. Reload the page and try again.", code="sdp_refused"
    )


# --- the page's actions -------------------------------------------------------------------------------


def publish(room_id: str, actor: Actor, janus: Janus | None, sdp: Any, source: Any, now: datetime) -> dict[str, Any]:
    janus = _ready(room_id, janus)
    if source is None:
        source = "camera"
    if source not in SOURCES:
        raise ValidationError("What you share must be 'camera' or 'screen'.", field="source")
    sdp = _clean_sdp(sdp)
    member = _ensure_member(room_id, actor)
    if not _may_publish(actor, member):
        raise Forbidden("You can speak once a moderator allows you to.", code="not_speaker")
    try:
        row = _janus_room(room_id, janus)
    except JanusUnavailable:
        raise MediaReconnecting() from None
    old = db.session.execute(
        select(MediaPeer).where(
            MediaPeer.member_id == member.id, MediaPeer.kind == "publisher", MediaPeer.source == source
        )
    ).scalar_one_or_none()
    feed = _janus_id()
    body = {"request": "joinandconfigure", "ptype": "publisher", "room": row.janus_room, "pin": row.pin, "id": feed}
    try:
        if old is not None:
            _drop_peer(janus, old, row)
            db.session.flush()
        session, handle, reply = _join(janus, row, body, {"type": "offer", "sdp": sdp})
    except JanusUnavailable:
        raise MediaReconnecting() from None
    except JanusError as exc:
        raise _refused(exc) from None
    if not reply.jsep or reply.jsep.get("type") != "answer":
        _quietly_destroy(janus, session)
        raise _refused(JanusError(0, "no answer"))
    mid = AUDIO_MID.search(sdp)
    peer = MediaPeer(
        room_id=room_id,
        member_id=member.id,
        kind="publisher",
        source=source,
        feed_id=feed,
        janus_session=session,
        janus_handle=handle,
        audio_mid=mid[1] if mid else None,
        created_at=now,
        seen_at=now,
    )
    db.session.add(peer)
    db.session.flush()
    if member.audio_muted and peer.audio_mid:
        _moderate(janus, peer, row, mute=True)  # a new publish does not lift a moderator's mute
    return {"peer": peer.id, "feed": peer.id, "type": "answer", "sdp": reply.jsep["sdp"]}


def _quietly_destroy(janus: Janus, session: int) -> None:
    with contextlib.suppress(JanusError):
        janus.destroy_session(session)


def subscribe(room_id: str, actor: Actor, janus: Janus | None, feed: Any, now: datetime) -> dict[str, Any]:
    janus = _ready(room_id, janus)
    publisher = (
        db.session.execute(
            select(MediaPeer).where(MediaPeer.id == feed, MediaPeer.room_id == room_id, MediaPeer.kind == "publisher")
        ).scalar_one_or_none()
        if isinstance(feed, str)
        else None
    )
    if publisher is None:
        raise NotFound("This video is not (or no longer) shared in this room.", code="feed_not_found")
    member = _ensure_member(room_id, actor)
    try:
        row = _janus_room(room_id, janus)
    except JanusUnavailable:
        raise MediaReconnecting() from None
    body = {
        "request": "join",
        "ptype": "subscriber",
        "room": row.janus_room,
        "pin": row.pin,
        "streams": [{"feed": publisher.feed_id}],
    }
    gone = NotFound("This video is not (or no longer) shared in this room.", code="feed_not_found")
    try:
        session, handle, reply = _join(janus, row, body)
    except JanusUnavailable:
        raise MediaReconnecting() from None
    except JanusError as exc:
        log.info("media: Janus refused a subscription (%s: %s)", exc.code, exc.reason)
        raise gone from None
    if not reply.jsep or reply.jsep.get("type") != "offer":
        _quietly_destroy(janus, session)
        raise gone
    peer = MediaPeer(
        room_id=room_id,
        member_id=member.id,
        kind="subscriber",
        feed_id=publisher.feed_id,
        feed_peer_id=publisher.id,
        janus_session=session,
        janus_handle=handle,
        created_at=now,
        seen_at=now,
    )
    db.session.add(peer)
    db.session.flush()
    return {"peer": peer.id, "type": "offer", "sdp": reply.jsep["sdp"]}


def _own_peer(room_id: str, actor: Actor, peer_id: str) -> MediaPeer:
    peer = db.session.execute(
        select(MediaPeer)
        .join(MediaMember, MediaMember.id == MediaPeer.member_id)
        .where(MediaPeer.id == peer_id, MediaPeer.room_id == room_id, MediaMember.participant_key == actor.key)
    ).scalar_one_or_none()
    if peer is None:
        raise NotFound("This connection no longer exists. Start it again.", code="peer_not_found")
    return peer


def answer(room_id: str, actor: Actor, janus: Janus | None, peer_id: str, sdp: Any) -> None:
    janus = _ready(room_id, janus)
    sdp = _clean_sdp(sdp)
    peer = _own_peer(room_id, actor, peer_id)
    if peer.kind != "subscriber":
        raise NotFound("This connection no longer exists. Start it again.", code="peer_not_found")
    try:
        janus.message(peer.janus_session, peer.janus_handle, {"request": "start"}, {"type": "answer", "sdp": sdp})
    except JanusUnavailable:
        raise MediaReconnecting() from None
    except SessionGone:
        db.session.delete(peer)
        raise NotFound("This connection no longer exists. Start it again.", code="peer_not_found") from None
    except JanusError as exc:
        raise _refused(exc) from None


def close_peer(room_id: str, actor: Actor, janus: Janus | None, peer_id: str) -> None:
    peer = _own_peer(room_id, actor, peer_id)
    _drop_peer(janus, peer, db.session.get(MediaRoom, room_id))


def leave(room_id: str, actor: Actor, janus: Janus | None) -> None:
    member = _member(room_id, actor.key)
    if member is not None:
        _drop_member_peers(janus, room_id, member)


def _drop_member_peers(janus: Janus | None, room_id: str, member: MediaMember, kind: str | None = None) -> int:
    query = select(MediaPeer).where(MediaPeer.member_id == member.id)
    if kind:
        query = query.where(MediaPeer.kind == kind)
    peers = list(db.session.execute(query).scalars())
    row = db.session.get(MediaRoom, room_id)
    for peer in peers:
        _drop_peer(janus, peer, row)
    db.session.flush()
    return len(peers)


def _moderate(janus: Janus, peer: MediaPeer, row: MediaRoom, *, mute: bool) -> None:
    try:
        janus.request(
            peer.janus_session,
            peer.janus_handle,
            {
                "request": "moderate",
                "room": row.janus_room,
                "secret": row.secret,
                "id": peer.feed_id,
                "mid": peer.audio_mid,
                "mute": mute,
            },
        )
    except (SessionGone, RoomGone, FeedGone):
        pass
    except JanusUnavailable:
        raise MediaReconnecting() from None


def _publishers(member: MediaMember) -> list[MediaPeer]:
    return list(
        db.session.execute(
            select(MediaPeer).where(MediaPeer.member_id == member.id, MediaPeer.kind == "publisher")
        ).scalars()
    )


def unmute_self(room_id: str, actor: Actor, janus: Janus | None) -> None:
    member = _member(room_id, actor.key)
    if member is None or not member.audio_muted:
        return
    row = db.session.get(MediaRoom, room_id)
    if janus is not None and row is not None:
        for peer in _publishers(member):
            if peer.audio_mid:
                _moderate(janus, peer, row, mute=False)
    member.audio_muted = False
    bump_version(room_id)


# --- moderators -------------------------------------------------------------------------------------


def allow_speaker(room_id: str, actor: Actor, hand_id: Any) -> MediaMember:
    """Allow to speak, from a raised hand: that person may publish; the hand is lowered."""
    actor.require_manage()
    if not isinstance(hand_id, int) or isinstance(hand_id, bool):
        raise ValidationError("Choose a raised hand.", field="hand_id")
    hand = db.session.execute(
        select(RaisedHand).where(RaisedHand.id == hand_id, RaisedHand.room_id == room_id)
    ).scalar_one_or_none()
    if hand is None:
        raise NotFound("This hand is already lowered.", code="hand_not_found")
    guest_id = hand.participant_key[2:] if hand.is_guest else None
    role = "guest" if hand.is_guest else "viewer"  # hosts and moderators don't raise hands
    member = _locked_member(room_id, hand.participant_key, hand.display_name, role, guest_id)
    member.speak = True
    db.session.delete(hand)
    db.session.flush()
    bump_version(room_id)
    _audit(room_id, actor, "media.allow_speak", member=member.id)
    return member


def _target(room_id: str, member_id: str) -> MediaMember:
    member = db.session.execute(
        select(MediaMember).where(MediaMember.id == member_id, MediaMember.room_id == room_id)
    ).scalar_one_or_none()
    if member is None:
        raise NotFound("This person is not in the room's audio and video.", code="member_not_found")
    return member


def stop_speaker(room_id: str, actor: Actor, janus: Janus | None, member_id: str) -> None:
    """Stop speaking: the person may no longer publish, and Janus drops what they publish now."""
    actor.require_manage()
    member = _target(room_id, member_id)
    if member.role in ("host", "moderator"):
        raise Conflict("Hosts and moderators always speak.", code="always_speaks")
    member.speak = False
    _drop_member_peers(janus, room_id, member, kind="publisher")
    bump_version(room_id)
    _audit(room_id, actor, "media.stop_speak", member=member.id)


def mute_member(room_id: str, actor: Actor, janus: Janus | None, member_id: str) -> None:
    actor.require_manage()
    member = _target(room_id, member_id)
    row = db.session.get(MediaRoom, room_id)
    if janus is not None and row is not None:
        for peer in _publishers(member):
            if peer.audio_mid:
                _moderate(janus, peer, row, mute=True)
    member.audio_muted = True
    bump_version(room_id)
    _audit(room_id, actor, "media.mute", member=member.id)


def _audit(room_id: str, actor: Actor, action: str, **detail: Any) -> None:
    from ..session.service import audit

    audit(room_id, actor, action, **detail)


# --- the media poll ---------------------------------------------------------------------------------


def turn_server() -> TurnServer | None:
    return current_app.config["TOOL"].turn


def media_state(
    room_id: str, actor: Actor, janus: Janus | None, now: datetime, turn: TurnServer | None = None
) -> dict[str, Any]:
    """What `GET …/media` answers: status, your rights and peers, and the feeds Janus has now.

    Only a "ready" answer carries `ice_servers` (with a fresh TURN credential when a relay is set
    up): the caller is a Sakai user or an admitted guest (the view refused anyone else) in a live
    session. Each poll hands a new credential; once the session ends or the guest is removed no more
    come, and the last one lapses `ttl_seconds` later (coturn keeps an allocation already made)."""
    member = _member(room_id, actor.key)
    mine = {"can_publish": False, "audio_muted_by_host": bool(member and member.audio_muted), "peers": []}
    if janus is None:
        return {"status": "off", "message": OFF, "you": mine, "feeds": []}
    if not _is_live(room_id):
        return {"status": "not_live", "message": NOT_LIVE, "you": mine, "feeds": []}
    mine["can_publish"] = _may_publish(actor, member)
    try:
        row = _janus_room(room_id, janus)
        live = _participants(janus, row)
        if member is not None:
            _keep_alive(janus, member, now)
    except JanusUnavailable:
        return {"status": "reconnecting", "message": RECONNECTING, "you": mine, "feeds": []}
    except JanusError as exc:
        log.warning("media: Janus answered the poll with error %s", exc.code)
        return {"status": "reconnecting", "message": RECONNECTING, "you": mine, "feeds": []}
    peers = db.session.execute(
        select(MediaPeer, MediaMember)
        .join(MediaMember, MediaMember.id == MediaPeer.member_id)
        .where(MediaPeer.room_id == room_id)
    ).all()
    manage = actor.can_manage
    feeds = []
    for peer, owner in peers:
        if owner.participant_key == actor.key:
            entry = {"id": peer.id, "kind": peer.kind}
            entry.update({"source": peer.source, "feed": peer.id} if peer.kind == "publisher" else {})
            if peer.kind == "subscriber":
                entry["feed"] = peer.feed_peer_id
            mine["peers"].append(entry)
        if peer.kind != "publisher" or not live.get(peer.feed_id):
            continue
        feed = {
            "id": peer.id,
            "name": owner.display_name,
            "is_guest": owner.guest_id is not None,
            "source": peer.source,
            "is_you": owner.participant_key == actor.key,
            "audio_muted_by_host": owner.audio_muted,
        }
        if manage:
            feed["member"] = owner.id
            if owner.guest_id:
                feed["guest_id"] = owner.guest_id
        feeds.append(feed)
    feeds.sort(key=lambda f: (f["source"] != "screen", f["name"], f["id"]))
    ice, expires = turn_relay.ice_servers(turn, f"{room_id}:{actor.key}", now)
    body: dict[str, Any] = {"status": "ready", "message": None, "you": mine, "feeds": feeds}
    body.update(ice_servers=ice, ice_expires_at=expires)
    if manage:
        speakers = db.session.execute(
            select(MediaMember)
            .where(MediaMember.room_id == room_id, MediaMember.speak.is_(True))
            .order_by(MediaMember.display_name, MediaMember.id)
        ).scalars()
        body["speakers"] = [
            {"member": m.id, "name": m.display_name, "is_guest": m.guest_id is not None} for m in speakers
        ]
    return body


def _keep_alive(janus: Janus, member: MediaMember, now: datetime) -> None:
    """Keep this person's Janus sessions alive (Janus drops a session after 60 s of silence); a
    session Janus no longer knows is dead: forget its peer, the page sees it gone and redoes it."""
    due = db.session.execute(
        select(MediaPeer).where(MediaPeer.member_id == member.id, MediaPeer.seen_at <= now - KEEPALIVE_EVERY)
    ).scalars()
    for peer in list(due):
        try:
            janus.keepalive(peer.janus_session)
            peer.seen_at = now
        except SessionGone:
            db.session.delete(peer)
    db.session.flush()


# --- hooks for session/ and guest/ ------------------------------------------------------------------


def end_person(room_id: str, participant_key: str) -> None:
    """A guest was removed (or left for good): end everything they publish or watch, in Janus too."""
    member = _member(room_id, participant_key)
    if member is None:
        return
    _drop_member_peers(_room_client(room_id), room_id, member)
    db.session.delete(member)
    db.session.flush()


def end_room(room_id: str) -> None:
    """The session ended: destroy the room in Janus (everyone's media stops) and forget it all."""
    janus = _room_client(room_id)
    row = db.session.get(MediaRoom, room_id)
    if janus is not None:
        sessions = db.session.execute(select(MediaPeer.janus_session).where(MediaPeer.room_id == room_id)).scalars()
        try:
            if row is not None:
                with contextlib.suppress(RoomGone):
                    janus.control({"request": "destroy", "room": row.janus_room, "secret": row.secret})
            for janus_session in list(sessions):
                janus.destroy_session(janus_session)
        except JanusError as exc:
            log.info("media: could not end the room in Janus (%s)", exc.code or exc.reason)
    db.session.execute(delete(MediaPeer).where(MediaPeer.room_id == room_id))
    db.session.execute(delete(MediaMember).where(MediaMember.room_id == room_id))
    db.session.execute(delete(MediaRoom).where(MediaRoom.room_id == room_id))
