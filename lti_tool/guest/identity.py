"""Who a guest is: a guest session cookie (its own name, HttpOnly, SameSite=Lax) whose SHA-256
matches `Guest.session_hash`. The cookie value itself is never stored or logged.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from flask import Response, request
from sqlalchemy import select

from ..extensions import db
from ..models import Guest
from ..security import https_deployment

COOKIE_NAME = "guest_session"


@dataclass(frozen=True)
class GuestContext:
    """The reduced shape that guest-facing code sees (never the ORM row)."""

    guest_id: str
    room_id: str
    name: str
    link_id: str | None
    link_name: str
    status: str
    invitation_id: str | None = None
    invite_role: str | None = None  # an invitee's role: viewer | speaker | moderator

    @property
    def participant_key(self) -> str:
        return f"g:{self.guest_id}"


def new_session_secret() -> tuple[str, str]:
    """(cookie value, its hash for the database)."""
    value = secrets.token_urlsafe(32)
    return value, session_hash(value)


def session_hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def set_guest_cookie(response: Response, value: str) -> None:
    response.set_cookie(COOKIE_NAME, value, httponly=True, samesite="Lax", secure=https_deployment(), path="/")


def clear_guest_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="Lax", secure=https_deployment())


def current_guest() -> GuestContext | None:
    """The guest of this request's cookie, whatever their status; None without a valid cookie."""
    value = request.cookies.get(COOKIE_NAME)
    if not value:
        return None
    row = db.session.execute(select(Guest).where(Guest.session_hash == session_hash(value))).scalar_one_or_none()
    if row is None:
        return None
    return GuestContext(
        guest_id=row.id,
        room_id=row.room_id,
        name=row.name,
        link_id=row.link_id,
        link_name=row.link_name,
        status=row.status,
        invitation_id=row.invitation_id,
        invite_role=row.invite_role,
    )
