"""Gunicorn's access log without secrets: `/g/<token>` and `/i/<token>` are written as `/g/…` and
`/i/…`, and the values of query parameters that carry secrets (registration invitations and tokens,
LTI login and launch values) as `…`.

Used by `lti-tool serve` (`--logger-class`); the tool's own log records never hold tokens.
"""

from __future__ import annotations

import re

from gunicorn.glogging import Logger

# /g/<token> only: the guest's own pages (/g/room/…, /g/api/…) carry no secret.
TOKEN_PATH = re.compile(r"^(/g/(?!room/|api/)|/i/)[^/?\s]+")


SECRET_PARAMS = ("invite", "registration_token", "id_token", "state", "login_hint", "lti_message_hint")
SECRET_QUERY = re.compile(r"(^|[?&])((?:" + "|".join(SECRET_PARAMS) + r")=)[^&\s#]*", re.IGNORECASE)


def redact(path: str) -> str:
    """A path, query string or request line with its secrets replaced by `…`."""
    return SECRET_QUERY.sub(r"\1\2…", TOKEN_PATH.sub(r"\1…", path or ""))


class RedactingLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        atoms["U"] = redact(atoms.get("U") or "")
        atoms["q"] = redact(atoms.get("q") or "")
        method, _, rest = (atoms.get("r") or "").partition(" ")
        atoms["r"] = f"{method} {redact(rest)}"
        atoms["f"] = "-"  # a referrer may hold a token too
        return atoms
