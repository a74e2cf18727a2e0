"""Gunicorn's access log without guest link tokens: `/g/<token>` is written as `/g/…`.

Used by `lti-tool serve` (`--logger-class`); the tool's own log records never hold tokens.
"""

from __future__ import annotations

import re

from gunicorn.glogging import Logger

# /g/<token> only: the guest's own pages (/g/room/…, /g/api/…) carry no secret.
TOKEN_PATH = re.compile(r"^(/g/)(?!room/|api/)[^/?\s]+")


def redact(path: str) -> str:
    return TOKEN_PATH.sub(r"\1…", path or "")


class RedactingLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        atoms["U"] = redact(atoms.get("U") or "")
        method, _, rest = (atoms.get("r") or "").partition(" ")
        atoms["r"] = f"{method} {redact(rest)}"
        atoms["f"] = "-"  # a referrer may hold a token too
        return atoms
