"""The tables. UTC everywhere (`UTCDateTime`); ids that reach a browser are random, never sequential."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .clock import utcnow
from .extensions import UTCDateTime, db


def new_id() -> str:
    """128-bit random identifier for rows whose id appears in URLs or tokens."""
    return secrets.token_urlsafe(16)


class Platform(db.Model):
    """A platform registered at run time (CLI or dynamic registration), beside those in config.json."""

    __tablename__ = "platform"
    __table_args__ = (UniqueConstraint("issuer", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(255))
    client_id: Mapped[str] = mapped_column(String(255))
    auth_login_url: Mapped[str] = mapped_column(String(1024))
    auth_token_url: Mapped[str] = mapped_column(String(1024))
    key_set_url: Mapped[str] = mapped_column(String(1024))
    deployment_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    modules: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class KeySetCache(db.Model):
    """A platform's JWKS, shared by every worker; `refetch_after` throttles unknown-kid refetches."""

    __tablename__ = "key_set_cache"

    url: Mapped[str] = mapped_column(String(1024), primary_key=True)
    jwks: Mapped[str] = mapped_column(Text)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime)
    refetch_after: Mapped[datetime] = mapped_column(UTCDateTime)


class UsedNonce(db.Model):
    """Nonces already accepted. The primary key makes 'use once' a single atomic insert."""

    __tablename__ = "used_nonce"

    nonce: Mapped[str] = mapped_column(String(255), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Room(db.Model):
    """One room per placement: platform + deployment + context + resource link."""

    __tablename__ = "room"
    __table_args__ = (UniqueConstraint("issuer", "deployment_id", "context_id", "resource_link_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    issuer: Mapped[str] = mapped_column(String(255))
    client_id: Mapped[str] = mapped_column(String(255))
    deployment_id: Mapped[str] = mapped_column(String(255))
    context_id: Mapped[str] = mapped_column(String(255))
    resource_link_id: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(255))
    context_title: Mapped[str] = mapped_column(String(255), default="")
    kind: Mapped[str] = mapped_column(String(16), default="room")
    guest_access_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    admission_required: Mapped[bool] = mapped_column(Boolean, default=True)
    guest_chat_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Off: guests see hosts, moderators and speakers by name and everyone else as a count.
    guest_names_visible: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    media_url: Mapped[str | None] = mapped_column(String(2048))
    media_kind: Mapped[str | None] = mapped_column(String(16))
    # Bumped by every change that a polling client must see (ETag of the state endpoint).
    version: Mapped[int] = mapped_column(Integer, default=0)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    links: Mapped[list[GuestLink]] = relationship(back_populates="room", order_by="GuestLink.slot")


class Launch(db.Model):
    """A validated launch. Only its id travels, inside the signed launch token of the page."""

    __tablename__ = "launch"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    room_id: Mapped[str | None] = mapped_column(ForeignKey("room.id", ondelete="CASCADE"), index=True)
    issuer: Mapped[str] = mapped_column(String(255))
    client_id: Mapped[str] = mapped_column(String(255))
    deployment_id: Mapped[str] = mapped_column(String(255))
    message_type: Mapped[str] = mapped_column(String(64))
    user_sub: Mapped[str] = mapped_column(String(255))
    user_name: Mapped[str | None] = mapped_column(String(255))
    user_email: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    locale: Mapped[str] = mapped_column(String(16), default="en_US")
    # Deep-linking settings and other per-message data that later requests need.
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # False until the browser proved it holds the login state (cookie or platform storage).
    bound: Mapped[bool] = mapped_column(Boolean, default=True)
    state: Mapped[str | None] = mapped_column(String(64))  # SHA-256 of the login's state
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    room: Mapped[Room | None] = relationship()


class GuestGroup(db.Model):
    """The room's guest access group: a system group that admitted guests belong to."""

    __tablename__ = "guest_group"

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[str] = mapped_column(ForeignKey("room.id", ondelete="CASCADE"), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GuestLink(db.Model):
    """A shared guest link. `slot` 1..3 is unique per room, which caps a room at three links."""

    __tablename__ = "guest_link"
    __table_args__ = (
        UniqueConstraint("room_id", "slot"),
        CheckConstraint("slot BETWEEN 1 AND 3", name="slot_range"),
        CheckConstraint("max_clicks IS NULL OR used_clicks <= max_clicks", name="clicks_within_limit"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    room_id: Mapped[str] = mapped_column(ForeignKey("room.id", ondelete="CASCADE"), index=True)
    slot: Mapped[int] = mapped_column(Integer)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    max_clicks: Mapped[int | None] = mapped_column(Integer)
    used_clicks: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # "Guests can speak": guests of this link publish audio/video once admitted.
    guests_can_speak: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    room: Mapped[Room] = relationship(back_populates="links")


class Guest(db.Model):
    """A person who joined through a guest link. Never an LTI user; deleted after retention."""

    __tablename__ = "guest"
    __table_args__ = (Index("ix_guest_room_status", "room_id", "status"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    room_id: Mapped[str] = mapped_column(ForeignKey("room.id", ondelete="CASCADE"))
    link_id: Mapped[str | None] = mapped_column(ForeignKey("guest_link.id", ondelete="SET NULL"))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("guest_group.id", ondelete="SET NULL"))
    link_name: Mapped[str] = mapped_column(String(80))
    # An invitee: the invitation they entered with, and its role (viewer | speaker | moderator).
    invitation_id: Mapped[str | None] = mapped_column(ForeignKey("invitation.id", ondelete="SET NULL"), index=True)
    invite_role: Mapped[str | None] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(80))
    email: Mapped[str] = mapped_column(String(254))
    # waiting | admitted | declined | removed | blocked | left | revoked | ended
    status: Mapped[str] = mapped_column(String(16))
    # sha256 of the guest session cookie; the cookie itself is never stored.
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # sha256 of the browser's entry-form cookie: who "Remove and block" keeps out (with the email).
    browser_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Invitation(db.Model):
    """A personal invitation: one named person, one role, one capability link (only its hash kept).
    Deleted with its name and email after the guest retention period."""

    __tablename__ = "invitation"
    __table_args__ = (
        Index("ix_invitation_room_status", "room_id", "status"),
        CheckConstraint("role IN ('viewer', 'speaker', 'moderator')", name="role_known"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    room_id: Mapped[str] = mapped_column(ForeignKey("room.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of the link's token
    name: Mapped[str] = mapped_column(String(80))
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(16))
    # invited | joined | revoked (expired is read from expires_at)
    status: Mapped[str] = mapped_column(String(16))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # off (no SMTP: copied by hand) | sent | failed
    mail_status: Mapped[str] = mapped_column(String(16))
    invited_by: Mapped[str] = mapped_column(String(255))
    invited_by_name: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    joined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class GuestBlock(db.Model):
    """ "Remove and block": the person may not rejoin the room, through any link, until a session of
    the room ends after the block. Matched by browser (`Guest.browser_hash`) or by email
    (SHA-256 of the address in lower case); no name or address is kept here."""

    __tablename__ = "guest_block"

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[str] = mapped_column(ForeignKey("room.id", ondelete="CASCADE"), index=True)
    browser_hash: Mapped[str | None] = mapped_column(String(64))
    email_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RoomSession(db.Model):
    """One run of a room's live session. A room is live while its latest run has no end."""

    __tablename__ = "room_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[str] = mapped_column(ForeignKey("room.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_by: Mapped[str] = mapped_column(String(255))


class Presence(db.Model):
    """Heartbeat of a Sakai user or guest in a room; present while `last_seen_at` is recent."""

    __tablename__ = "presence"
    __table_args__ = (UniqueConstraint("room_id", "participant_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[str] = mapped_column(ForeignKey("room.id", ondelete="CASCADE"))
    participant_key: Mapped[str] = mapped_column(String(300))
    display_name: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    is_guest: Mapped[bool] = mapped_column(Boolean, default=False)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ChatMessage(db.Model):
    __tablename__ = "chat_message"
    __table_args__ = (Index("ix_chat_message_room_id_id", "room_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[str] = mapped_column(ForeignKey("room.id", ondelete="CASCADE"))
    session_id: Mapped[int | None] = mapped_column(ForeignKey("room_session.id", ondelete="CASCADE"))
    author_key: Mapped[str] = mapped_column(String(300))
    author_name: Mapped[str] = mapped_column(String(255))
    is_guest: Mapped[bool] = mapped_column(Boolean, default=False)
    body: Mapped[str] = mapped_column(String(500))
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RaisedHand(db.Model):
    __tablename__ = "raised_hand"
    __table_args__ = (UniqueConstraint("room_id", "participant_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[str] = mapped_column(ForeignKey("room.id", ondelete="CASCADE"))
    participant_key: Mapped[str] = mapped_column(String(300))
    display_name: Mapped[str] = mapped_column(String(255))
    is_guest: Mapped[bool] = mapped_column(Boolean, default=False)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEvent(db.Model):
    """Who changed what, when. Never holds link tokens or guest personal data."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[str | None] = mapped_column(String(32), index=True)
    actor: Mapped[str] = mapped_column(String(255))
    actor_name: Mapped[str | None] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RegistrationInvite(db.Model):
    """One-time invitation code for dynamic registration; only its hash is stored."""

    __tablename__ = "registration_invite"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RateCounter(db.Model):
    """Fixed-window counters for rate limits when no Redis is configured."""

    __tablename__ = "rate_counter"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    count: Mapped[int] = mapped_column(Integer, default=0)


class MediaRoom(db.Model):
    """The room's VideoRoom in Janus while its session is live. Ids and secrets never reach a browser."""

    __tablename__ = "media_room"

    room_id: Mapped[str] = mapped_column(ForeignKey("room.id", ondelete="CASCADE"), primary_key=True)
    janus_room: Mapped[int] = mapped_column(BigInteger, unique=True)
    secret: Mapped[str] = mapped_column(String(64))  # VideoRoom room secret: kick, moderate, destroy
    pin: Mapped[str] = mapped_column(String(64))  # needed to join the room at all
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The Janus (its `media.janus` url) the room is placed on for this session; every worker reads it here.
    server: Mapped[str | None] = mapped_column(String(500), index=True)


class MediaServer(db.Model):
    """What the health checks last found about one Janus of `media.janus` (shared by every worker).
    A server is out of placement while `down_since` is set; it is back at its first good answer."""

    __tablename__ = "media_server"

    url: Mapped[str] = mapped_column(String(500), primary_key=True)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime)  # claimed by the worker that checks
    ok_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    down_since: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MediaMember(db.Model):
    """A person's media rights in a room's live session. `speak`: None = by role/link, True = allowed
    to speak, False = stopped by a moderator. `id` is the opaque token moderators act on."""

    __tablename__ = "media_member"
    __table_args__ = (UniqueConstraint("room_id", "participant_key"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    room_id: Mapped[str] = mapped_column(ForeignKey("room.id", ondelete="CASCADE"))
    participant_key: Mapped[str] = mapped_column(String(300))
    display_name: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    guest_id: Mapped[str | None] = mapped_column(String(32))
    speak: Mapped[bool | None] = mapped_column(Boolean)
    audio_muted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MediaPeer(db.Model):
    """One peer connection the tool holds in Janus for a member: a publisher (camera or screen) or a
    subscriber of one feed. `id` is what the page names it by; for a publisher it is also its feed."""

    __tablename__ = "media_peer"
    __table_args__ = (Index("ix_media_peer_room_kind", "room_id", "kind"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    room_id: Mapped[str] = mapped_column(ForeignKey("room.id", ondelete="CASCADE"))
    member_id: Mapped[str] = mapped_column(ForeignKey("media_member.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # publisher | subscriber
    source: Mapped[str | None] = mapped_column(String(16))  # camera | screen (publishers)
    feed_id: Mapped[int] = mapped_column(BigInteger)  # publisher: its Janus id; subscriber: the feed watched
    feed_peer_id: Mapped[str | None] = mapped_column(String(32))  # subscriber: the publisher peer watched
    janus_session: Mapped[int] = mapped_column(BigInteger)
    janus_handle: Mapped[int] = mapped_column(BigInteger)
    audio_mid: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
