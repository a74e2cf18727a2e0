"""The OIDC login in flight (LTI Security Framework §5.1.1), carried by the `state` itself.

`state` is a signed, timestamped token holding the nonce we sent and the login's parameters. The
launch reads it back and checks the id_token against it; the nonce is then claimed once (a single
insert into `used_nonce`), which is what makes a launch one-time. So a login writes nothing and
the state's only copy is in the browser: the state cookie, or Sakai's platform storage when the
iframe drops cookies. Forged, altered or expired states do not verify.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from itsdangerous import BadSignature

from .context import clock_serializer

LOGIN_TTL = timedelta(minutes=10)


@dataclass(frozen=True)
class LoginState:
    nonce: str
    issuer: str
    client_id: str
    params: dict[str, str]  # the login initiation's non-empty parameters, to start it over


def issue(params: dict[str, str], client_id: str) -> tuple[str, str]:
    """A new login: returns `(state, nonce)`."""
    nonce = secrets.token_urlsafe(32)
    state = clock_serializer("lti-login-state").dumps({"n": nonce, "c": client_id, "p": params})
    return state, nonce


def read(state: str) -> LoginState | None:
    """The login `state` stands for, or None when it is not ours, was altered or has expired."""
    try:
        data = clock_serializer("lti-login-state").loads(state, max_age=int(LOGIN_TTL.total_seconds()))
    except (BadSignature, ValueError):
        return None
    return LoginState(nonce=data["n"], issuer=data["p"]["iss"], client_id=data["c"], params=data["p"])


def issued_at(state: str) -> int | None:
    """When an unexpired login `state` of ours was issued (Unix seconds), else None."""
    try:
        _, stamp = clock_serializer("lti-login-state").loads(
            state, max_age=int(LOGIN_TTL.total_seconds()), return_timestamp=True
        )
    except (BadSignature, ValueError):
        return None
    return int(stamp.timestamp())


def digest(state: str) -> str:
    """What the database keeps of a state (to bind a cookie-less launch): its SHA-256."""
    return hashlib.sha256(state.encode()).hexdigest()
