"""Logs: one line per event, a request id on every line, never a token or personal data.

`LOG_FORMAT=json` gives one JSON object per line (for a log shipper); anything else gives readable
text. `LOG_LEVEL` (default INFO) sets the level. The request id is the caller's sane
`X-Request-ID` (so a proxy's id follows the request) or a fresh one; it is echoed in the response.

Views must not log tokens, names or emails in the first place; `Redact` is the defence in depth
that blanks anything that looks like a JWT, a signed token, a long random value or an email.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import sys
from datetime import UTC, datetime
from typing import IO

from flask import Flask, g, has_request_context, request

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID_ENVIRON = "HTTP_X_REQUEST_ID"  # the header as the WSGI server passes it
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
HANDLER_NAME = "lti_tool"

REDACTIONS = (
    re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*"),  # JWT / id_token
    re.compile(r"[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{16,}"),  # itsdangerous tokens
    re.compile(r"[A-Za-z0-9_-]{32,}"),  # state, nonce, link tokens, session secrets
    re.compile(r"[^\s@\"'<>(),;:]+@[^\s@\"'<>(),;:]+\.[A-Za-z]{2,}"),  # email addresses
    re.compile(r"(?<=/g/)[^/\s?#\"']+"),  # a guest link's token in a path, however short
    re.compile(r"(?<=/i/)[^/\s?#\"']+"),  # an invitation's token in a path
)
REDACTED = "[redacted]"
# Attributes every LogRecord has; anything else came in through `extra=`.
STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
UNREDACTED_FIELDS = frozenset({"request_id"})


def redact(text: str) -> str:
    for pattern in REDACTIONS:
        text = pattern.sub(REDACTED, text)
    return text


def current_request_id() -> str:
    return g.get("request_id", "-") if has_request_context() else "-"


class Redact(logging.Filter):
    """Adds `request_id` and blanks secrets in the message and in every extra string field."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        record.msg = redact(record.getMessage())
        record.args = None
        for name, value in list(vars(record).items()):
            if name not in STANDARD_ATTRS and name not in UNREDACTED_FIELDS and isinstance(value, str):
                setattr(record, name, redact(value))
        return True


def _extras(record: logging.LogRecord) -> dict:
    return {k: v for k, v in vars(record).items() if k not in STANDARD_ATTRS and k != "request_id"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "msg": record.getMessage(),
            **_extras(record),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)

    def formatException(self, ei) -> str:
        return redact(super().formatException(ei))


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = " ".join(f"{k}={v}" for k, v in _extras(record).items())
        return f"{line} {extras}" if extras else line

    def formatException(self, ei) -> str:
        return redact(super().formatException(ei))


def build_handler(stream: IO[str], log_format: str) -> logging.Handler:
    handler = logging.StreamHandler(stream)
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(Redact())
    return handler


def init_logging(app: Flask) -> None:
    """Install the root handler once per process and give every request an id."""
    log_format = (app.config.get("LOG_FORMAT") or os.environ.get("LOG_FORMAT") or "text").lower()
    root = logging.getLogger()
    if not any(h.get_name() == HANDLER_NAME for h in root.handlers):
        root.addHandler(build_handler(sys.stderr, log_format))
        root.setLevel(app.config.get("LOG_LEVEL") or os.environ.get("LOG_LEVEL") or "INFO")
    app.before_request(_assign_request_id)
    app.after_request(_echo_request_id)


def _assign_request_id() -> None:
    given = request.environ.get(REQUEST_ID_ENVIRON)
    # A correlation id, not a secret: the per-process generator (reseeded in each forked worker)
    # spares a getrandom() system call per request.
    g.request_id = given if given and SANE_REQUEST_ID.fullmatch(given) else f"{random.getrandbits(128):032x}"


def _echo_request_id(response):
    response.headers[REQUEST_ID_HEADER] = current_request_id()
    return response
