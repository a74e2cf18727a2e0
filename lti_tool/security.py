"""Security headers on every response, errors included.

LTI pages may be framed only by the registered platforms (never '*'); every other page by no one
(`frame-ancestors 'none'`, and `X-Frame-Options: DENY` for browsers that predate CSP).
No inline script anywhere: scripts are files from 'self'.

A tool whose `tool.base_url` is https is an https deployment, whatever the request looked like on
its way in: behind a TLS-terminating proxy that `TRUSTED_PROXIES` does not name, `request.is_secure`
is false, yet cookies must still be `Secure` and HSTS still sent.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, g, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.middleware.proxy_fix import ProxyFix

from .errors import ValidationError

FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
# In a JSON string: NUL and every other C0/C1 control character (CR, LF and tab included) and lone
# surrogates (which no database can store). A field marked with `allows_line_breaks` may hold LF and tab
# (and CR too with `crlf=True`: an SDP's lines end in CRLF).
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
CONTROL_BUT_LINE_BREAKS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
CONTROL_BUT_CRLF = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
CONTROL_MESSAGE = (
    "This contains a character that is not allowed here (a NUL byte, a line break or another control character)."
)
View = TypeVar("View", bound=Callable)


def allows_line_breaks(*fields: str, crlf: bool = False) -> Callable[[View], View]:
    """Let these top-level string fields of a view's JSON body hold line breaks (LF, or CRLF with
    `crlf`) and tabs."""
    pattern = CONTROL_BUT_CRLF if crlf else CONTROL_BUT_LINE_BREAKS

    def mark(view: View) -> View:
        view.multiline_fields = dict.fromkeys(fields, pattern)  # type: ignore[attr-defined]
        return view

    return mark


def https_deployment() -> bool:
    """Whether cookies get `Secure` and responses HSTS: the request came over https, or the tool's
    public URL is https (the deployment is served over TLS even if this hop was not)."""
    return request.is_secure or current_app.config["TOOL"].base_url.startswith("https://")


def frame_ancestors_for_platforms() -> None:
    """Mark this request's response as frameable by the registered platforms."""
    g.frame_ancestors = "platforms"


def init_security(app: Flask, settings) -> None:
    if settings.trusted_proxies:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app,
            x_for=settings.trusted_proxies,
            x_proto=settings.trusted_proxies,
            x_host=settings.trusted_proxies,
            x_port=settings.trusted_proxies,
        )
    app.before_request(_refuse_nul_bytes)
    app.before_request(_refuse_control_characters_in_json)
    app.after_request(_headers)


def _refuse_nul_bytes() -> None:
    """A NUL byte is never meaningful here, and PostgreSQL cannot store one in text (it would be a 500).

    The query string is searched as it came (a NUL in a decoded argument can only come from `%00`),
    so it is parsed only by a view that reads it; a form is parsed here (the view reads it anyway).
    """
    query = request.environ.get("QUERY_STRING", "")
    in_form = request.mimetype in FORM_TYPES and any(
        "\x00" in key + value for key, value in request.form.items(multi=True)
    )
    if "\x00" in request.path or "%00" in query or "\x00" in query or in_form:
        raise ValidationError(
            "The address or the form contains a character that is not allowed (a NUL byte).", code="nul_byte"
        )


def _refuse_control_characters_in_json() -> None:
    """The one check of every JSON body: no string in it (key or value, at any depth) holds a control
    character, except line breaks and tabs where the view allows them. The body is parsed once here;
    the view reads the same parsed value."""
    if not request.is_json:
        return
    try:
        data = request.get_json(silent=True)  # malformed JSON is the view's to refuse
    except RecursionError:
        raise ValidationError("The request body is nested too deeply.", code="invalid_json") from None
    view = current_app.view_functions.get(request.endpoint or "")
    multiline = getattr(view, "multiline_fields", {})
    found, field = _control_character_in(data, multiline)
    if found:
        raise ValidationError(CONTROL_MESSAGE, field=field, code="control_character")


def _control_character_in(data: Any, multiline: dict[str, re.Pattern]) -> tuple[bool, str | None]:
    """(found, the top-level field it is in). Walked without recursion: depth is the sender's choice.
    Line breaks are allowed only in the string that is itself a `multiline` top-level field."""
    stack: list[tuple[Any, str | None, re.Pattern]] = [(data, None, CONTROL)]
    while stack:
        value, field, refused = stack.pop()
        if isinstance(value, str):
            if refused.search(value):
                return True, field
        elif isinstance(value, dict):
            for key, item in value.items():
                if CONTROL.search(key):
                    return True, field
                top = field is None
                stack.append((item, key if top else field, multiline.get(key, CONTROL) if top else CONTROL))
        elif isinstance(value, list):
            stack.extend((item, field, CONTROL) for item in value)
    return False, None


def _frame_ancestors() -> str:
    if g.get("frame_ancestors") == "platforms":
        try:
            origins = current_app.extensions["lti_tool"].registry().frame_origins()
        except SQLAlchemyError:
            # The database is down (this is its 503 page): no one may frame it, and the
            # response still gets every header.
            return "'none'"
        return " ".join(origins) if origins else "'none'"
    return g.get("frame_ancestors") or "'none'"


# The policy up to its page-dependent end: `frame-ancestors …`, then `frame-src` and `media-src`
# for a page that shows a stage.
CSP_START = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors "
)
HSTS = "max-age=31536000; includeSubDomains"


def _headers(response):
    csp = CSP_START + (ancestors := _frame_ancestors())
    if g.get("frame_src"):
        csp += f"; frame-src {g.frame_src}"
    if g.get("media_src"):
        csp += f"; media-src {g.media_src}"
    defaults = [
        ("Content-Security-Policy", csp),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
    ]
    if ancestors == "'none'":
        defaults.append(("X-Frame-Options", "DENY"))
    if https_deployment():
        defaults.append(("Strict-Transport-Security", HSTS))
    headers = response.headers
    present = {name.lower() for name, _ in headers}  # a view's own value wins
    for name, value in defaults:
        if name.lower() not in present:
            headers.add(name, value)
    return response
