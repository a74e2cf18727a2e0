"""Gunicorn settings for production: `gunicorn -c python:lti_tool.gunicorn_conf -b 0.0.0.0:8000 wsgi:app`.

Workers come from `WEB_CONCURRENCY` (gunicorn reads it) or `-w`. Every setting here can be
overridden on the command line.

- The access log never shows a query string (a login's `login_hint` could be there) and passes
  the path through the same redaction as the app log (guest links carry a token in the path).
  It carries the request id, so an access line and the app's lines of one request match.
- `X-Forwarded-*` is trusted only through the app's ProxyFix (`TRUSTED_PROXIES`): gunicorn's own
  forwarded-scheme handling is switched off, so there is exactly one place that decides.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

from gunicorn.glogging import Logger

from lti_tool.logging_setup import REQUEST_ID_HEADER, JsonFormatter, Redact, redact

# Requests are read whole before they take a thread (slow clients cost a buffer, not a thread).
worker_class = "lti_tool.serving.ReadFirstWorker"
threads = 4
accesslog = "-"
errorlog = "-"
timeout = 30
graceful_timeout = 20
keepalive = 5
secure_scheme_headers: dict[str, str] = {}
# Gunicorn 24+ opens a control socket at one fixed path per user; several instances on a host
# (blue/green, tests) would fight over it, and nothing here uses it.
control_socket_disable = True
logger_class = "lti_tool.gunicorn_conf.RedactingLogger"


class RedactingLogger(Logger):
    """Gunicorn's logger with redacted access lines (text or JSON, following `LOG_FORMAT`)."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        if _json():
            for handler in self.error_log.handlers:
                handler.setFormatter(JsonFormatter())
                handler.addFilter(Redact())

    def access(self, resp, req, environ, request_time) -> None:
        if not self.access_log_enabled:
            return
        request_id = next((v for k, v in resp.headers if k.lower() == REQUEST_ID_HEADER.lower()), "-")
        fields = {
            "remote": environ.get("REMOTE_ADDR", "-"),
            "method": environ.get("REQUEST_METHOD", "-"),
            "path": redact(environ.get("PATH_INFO", "")),
            "status": resp.status_code,
            "ms": round(request_time.total_seconds() * 1000, 1),
            "pid": os.getpid(),
        }
        if _json():
            stamp = datetime.now(UTC).isoformat(timespec="milliseconds")
            line = json.dumps(
                {"ts": stamp, "level": "INFO", "logger": "gunicorn.access", "request_id": request_id} | fields
            )
        else:
            line = '{remote} "{method} {path}" {status} {ms}ms rid={rid} pid={pid}'.format(rid=request_id, **fields)
        self.access_log.info(line)  # no args: the line is not %-formatted again


def _json() -> bool:
    return os.environ.get("LOG_FORMAT", "").lower() == "json"
