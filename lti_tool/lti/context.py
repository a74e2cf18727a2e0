"""The launch after validation: one small frozen object, and the signed token that carries its id.

After the launch the tool never relies on cookies (Sakai's iframe makes them third-party): the
page holds a short-lived signed launch token that its forms and API calls send back. The token
is never in a cookie, so a cross-site page cannot send it: it doubles as the CSRF token.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from functools import wraps

from flask import current_app, g, request
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode
from itsdangerous.url_safe import URLSafeSerializerMixin

from ..clock import utcnow
from ..errors import Forbidden, SessionExpired
from ..extensions import db
from ..models import Launch
from .roles import Role

TOKEN_MAX_AGE = 2 * 60 * 60
TOKEN_HEADER = "X-Launch-Token"
TOKEN_FIELD = "launch_token"
NEUTRAL_NAME = "Sakai user"


@dataclass(frozen=True)
class LaunchContext:
    launch_id: str
    room_id: str | None
    issuer: str
    client_id: str
    deployment_id: str
    user_sub: str
    user_name: str | None
    user_email: str | None
    role: Role
    is_admin: bool
    locale: str
    message_type: str

    @property
    def display_name(self) -> str:
        """The name to show; a neutral label when Sakai did not send one (privacy switch off)."""
        return self.user_name or NEUTRAL_NAME

    @property
    def participant_key(self) -> str:
        return f"u:{self.issuer}|{self.user_sub}"

    @classmethod
    def from_row(cls, row: Launch) -> LaunchContext:
        return cls(
            launch_id=row.id,
            room_id=row.room_id,
            issuer=row.issuer,
            client_id=row.client_id,
            deployment_id=row.deployment_id,
            user_sub=row.user_sub,
            user_name=row.user_name,
            user_email=row.user_email,
            role=Role(row.role),
            is_admin=row.is_admin,
            locale=row.locale,
            message_type=row.message_type,
        )


class _ClockSigner(TimestampSigner):
    """Token ages are read from the app clock, the same one that dates the launch row."""

    def get_timestamp(self) -> int:
        return int(utcnow().timestamp())

    @functools.lru_cache(maxsize=32)  # noqa: B019 (signers are few and live as long as the process)
    def derive_key(self, secret_key=None) -> bytes:
        """Derived once per signer and key, not for every token."""
        return super().derive_key(secret_key)


class _ClockSerializer(URLSafeTimedSerializer):
    """Payloads are not compressed: for the 40–400 bytes these tokens carry, zlib (which sets up
    its state on every call) costs more than the bytes it saves. Compressed tokens still load.
    One signer per salt is kept: itsdangerous builds a new one for every token."""

    def dump_payload(self, obj) -> bytes:
        return base64_encode(super(URLSafeSerializerMixin, self).dump_payload(obj))

    @functools.lru_cache(maxsize=8)  # noqa: B019 (serializers are few: one per secret key and salt)
    def make_signer(self, salt=None):
        return super().make_signer(salt)


def clock_serializer(salt: str) -> URLSafeTimedSerializer:
    """Signed, timestamped tokens for `salt`, aged by the app clock (launch tokens, login states)."""
    return _serializer_for(current_app.config["SECRET_KEY"], salt)


@functools.lru_cache(maxsize=16)
def _serializer_for(secret_key: str, salt: str) -> URLSafeTimedSerializer:
    return _ClockSerializer(secret_key, salt=salt, signer=_ClockSigner)


def _serializer() -> URLSafeTimedSerializer:
    return clock_serializer("launch-token")


def issue_token(launch_id: str) -> str:
    return _serializer().dumps(launch_id)


def load_launch(token: str | None) -> LaunchContext:
    if not token:
        raise SessionExpired("Open the tool from your Sakai site to continue.", code="no_launch_token")
    try:
        launch_id = _serializer().loads(token, max_age=TOKEN_MAX_AGE)
    except SignatureExpired:
        raise SessionExpired(code="launch_token_expired") from None
    except BadSignature:
        raise SessionExpired(code="bad_launch_token") from None
    row = db.session.get(Launch, launch_id)
    if row is None or not row.bound or row.expires_at <= utcnow():
        raise SessionExpired(code="launch_gone")
    return LaunchContext.from_row(row)


def token_from_request() -> str | None:
    return request.headers.get(TOKEN_HEADER) or request.form.get(TOKEN_FIELD)


def require_launch(*, manage: bool = False):
    """View decorator: a valid launch token (header or form field) → `g.launch`.

    `manage=True` further requires a host or moderator.
    """

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            g.launch = load_launch(token_from_request())
            if manage and not g.launch.role.can_manage:
                raise Forbidden("Only hosts and moderators of this room can do this.", code="not_moderator")
            return view(*args, **kwargs)

        return wrapper

    return decorator
