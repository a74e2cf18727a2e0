"""Domain errors and the one place that turns them (and any other failure) into HTTP answers.

A refusal is a page or a JSON body in plain words with a 4xx status; the log gets a reason code,
never a token or a guest's personal data.
"""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from .extensions import db

log = logging.getLogger(__name__)


class DomainError(Exception):
    status = 400
    code = "bad_request"
    title = "Something is not right"
    message = "The request could not be completed."

    def __init__(self, message: str | None = None, *, field: str | None = None, code: str | None = None):
        super().__init__(message or self.message)
        self.message = message or self.message
        self.field = field
        self.errors: list[dict[str, str | None]] | None = None
        if code:
            self.code = code


class ValidationError(DomainError):
    code = "invalid"
    title = "Please check what you entered"

    @classmethod
    def of_fields(cls, problems: list[ValidationError]) -> ValidationError:
        """One refusal for a form with several wrong fields: the first is `error`/`field`, and
        `errors` lists them all, so a page can show each beside its field at once."""
        first = cls(problems[0].message, field=problems[0].field)
        first.errors = [{"field": p.field, "error": p.message} for p in problems]
        return first


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
    title = "Not allowed"
    message = "You do not have permission to do this."


class NotFound(DomainError):
    status = 404
    code = "not_found"
    title = "Not found"
    message = "This page does not exist."


class Conflict(DomainError):
    status = 409
    code = "conflict"
    title = "That did not work"


class LaunchError(DomainError):
    """An LTI launch or login that we refuse; `code` names the reason for the log."""

    status = 400
    code = "launch_refused"
    title = "This tool could not be opened"


class SessionExpired(DomainError):
    status = 401
    code = "launch_expired"
    title = "Your session has expired"
    message = "Your session with this tool has expired. Open the tool again from your Sakai site."


class TooManyRequests(DomainError):
    status = 429
    code = "rate_limited"
    title = "Too many attempts"
    message = "Too many attempts in a short time. Please wait a minute and try again."


class Unavailable(DomainError):
    status = 503
    code = "unavailable"
    title = "Temporarily unavailable"
    message = "The tool cannot reach a service it needs. Please try again in a minute."


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def error_response(
    status: int, code: str, title: str, message: str, field: str | None = None, errors: list | None = None
):
    if wants_json():
        body = {"error": message, "code": code}
        if field:
            body["field"] = field
        if errors:
            body["errors"] = errors
        return jsonify(body), status
    return render_template("errors/page.html", title=title, message=message, status=status), status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        db.session.rollback()
        log.info("refused", extra={"reason": exc.code, "status": exc.status})
        return error_response(exc.status, exc.code, exc.title, exc.message, exc.field, exc.errors)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        db.session.rollback()
        status = exc.code or 500
        messages = {
            404: "This page does not exist.",
            405: "This address does not accept that kind of request.",
            413: "What you sent is too large.",
        }
        message = messages.get(status, exc.description or "The request could not be completed.")
        log.info("refused", extra={"reason": f"http_{status}", "status": status})
        return error_response(status, f"http_{status}", exc.name, message)

    @app.errorhandler(OperationalError)
    def database_unavailable(exc: OperationalError):
        # The database restarting or unreachable: a retryable 503, not a bug. The pool's
        # pre-ping replaces the dead connections, so the next request recovers by itself.
        db.session.rollback()
        orig = getattr(exc, "orig", None) or exc
        detail = f"{type(orig).__name__}: {str(orig).splitlines()[0][:200] if str(orig) else ''}"
        log.warning("database unavailable", extra={"reason": "database_unavailable", "status": 503, "detail": detail})
        return error_response(503, Unavailable.code, Unavailable.title, Unavailable.message)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        db.session.rollback()
        log.error("unexpected error", exc_info=exc, extra={"reason": "internal_error"})
        return error_response(
            500,
            "internal_error",
            "Something went wrong",
            "Something went wrong on our side. Please try again.",
        )
