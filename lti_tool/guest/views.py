"""The public guest pages: the entry page of a link, the waiting page, the session, and its status.

Opening a link (GET/HEAD — mail scanners, chat previews, prefetch) never uses a click; only a
successful submission of the entry form does. After it the guest holds a new guest session
cookie and continues at /g/room/<room_id>, an address without the link token.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets

from flask import Blueprint, current_app, jsonify, make_response, redirect, render_template, request, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer

from ..clock import utcnow
from ..errors import TooManyRequests, wants_json
from ..extensions import db
from ..security import https_deployment
from . import ratelimit, service
from .confine import request_guest
from .identity import COOKIE_NAME, new_session_secret, session_hash, set_guest_cookie
from .validation import EntryForm, _, check_entry

ROLE_LABELS = {"viewer": _("Viewer"), "speaker": _("Speaker"), "moderator": _("Moderator")}

log = logging.getLogger(__name__)
bp = Blueprint("guest", __name__)
POLL_MS = 2000
FORM_MAX_AGE = 6 * 60 * 60
FORM_COOKIE = "guest_form"


@bp.after_request
def private_page_headers(response):
    """Guest pages are personal and short-lived: not cached, not indexed, no referrer leaks the token."""
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    if response.status_code == 429:
        response.headers.setdefault("Retry-After", str(ratelimit.WINDOW_SECONDS))
    return response


def render_guest_page(exc: service.GuestPageError):
    """The message page of a refusal (JSON for the status poll and API callers)."""
    db.session.rollback()
    log.info("guest refused", extra={"reason": exc.code, "status": exc.status})
    if wants_json() or request.endpoint == "guest.status":
        return jsonify(error=exc.message, code=exc.code), exc.status
    return render_template(exc.template, title=exc.title, message=exc.message), exc.status


def _client() -> str:
    return request.remote_addr or "unknown"


def _check_limits(counted: list[tuple[str, str]], now) -> None:
    """Count this request in each (scope, subject); over any limit, commit the counts and refuse."""
    hits = ratelimit.hit_all(counted, now)
    over = [scope for (scope, _), hit in zip(counted, hits, strict=True) if not hit.allowed]
    if over:
        db.session.commit()  # a refused request still counts
        log.info("guest rate limited", extra={"reason": over[0]})
        raise TooManyRequests()


@bp.route("/g/<token>", methods=["GET", "POST"])
def entry(token: str):
    now = utcnow()
    if request.method == "POST":
        return _submit(token, now)
    link = service.find_link(token)
    refusal = _refusal(link, now)
    if isinstance(refusal, service.LinkInvalid):
        # Unknown, deleted, expired and used-up tokens count alike and answer alike, also over the limit.
        db.session.commit()  # end the read first: the counter's write opens its own short transaction
        _check_limits([_miss()], now)
        db.session.commit()
    if refusal is not None:
        raise refusal
    return _entry_page(link, EntryForm("", ""))


def _miss() -> tuple[str, str]:
    """The rate-limit scope of a token that no guest can join with: the client's address."""
    return ("unknown_per_ip", _client())


def _submit(token: str, now):
    """A submission of the entry form, in one transaction (on SQLite one BEGIN IMMEDIATE).

    Every submission counts against the rate limits, whatever its outcome. The reads and checks come
    first and the counting right before the click, so on PostgreSQL the counter rows stay locked no
    longer than the click's own row. A refusal commits the counts and nothing else.
    """
    form = check_entry(request.form.get("name", ""), request.form.get("email", ""))
    link = service.find_link(token)
    refusal = _refusal(link, now)
    if refusal is None and not form_post_ok(FORM_COOKIE, link.id):
        # A cross-site or stale post: keep what was typed, ask to submit once more (no click used).
        form.errors["form"] = _("This page was open for a long time. Please check your details and join again.")
    # A refused token counts as a miss whatever its state, so states can't be told apart by the limit.
    scope = _miss() if isinstance(refusal, service.LinkInvalid) else ("post_per_link", token)
    _check_limits([("post_per_ip", _client()), scope], now)
    if refusal is not None:
        db.session.commit()
        raise refusal
    if not form.valid:
        response = _entry_page(link, form, 400 if "form" in form.errors else 422)
        db.session.commit()
        return response
    browser = service.browser_hash(request.cookies[FORM_COOKIE])  # form_post_ok: the cookie is there
    try:
        service.check_not_blocked(link.room_id, form.email, browser)
    except service.Blocked:
        db.session.commit()  # the counts stay; no click is used
        raise
    return _join(token, link, form, now, browser)


def _refusal(link: service.EntryLink | None, now) -> service.GuestPageError | None:
    """The page that says why nobody can join through this link now; None if they can."""
    if link is None:
        return service.LinkInvalid()
    try:
        service.check_link(link, now)
    except service.GuestPageError as exc:
        return exc
    return None


def _join(token: str, link: service.EntryLink, form: EntryForm, now, browser: str):
    cookie, digest = new_session_secret()
    joined = service.join(link, form.name, form.email, digest, now, browser_hash=browser)
    if joined is None:
        # The last click went to someone else, or the link closed meanwhile: say which.
        db.session.commit()  # the counts stay; the join itself wrote nothing
        service.open_link(token, now)
        raise service.LinkInvalid()
    previous = request.cookies.get(COOKIE_NAME)
    if previous:
        # A browser that joins again leaves its earlier place (only once the new one is certain).
        service.end_previous_session(session_hash(previous))
    db.session.commit()
    log.info("guest joined", extra={"room_id": joined.room_id, "guest_id": joined.guest_id, "status": joined.status})
    response = redirect(url_for("guest.room", room_id=joined.room_id), 303)
    set_guest_cookie(response, cookie)
    return response


def _form_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="guest-entry-form")


def _browser_binding(cookie: str) -> str:
    """What the form token carries of this browser's form cookie (never the cookie itself)."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, b"guest-entry-form-cookie:" + cookie.encode(), hashlib.sha256).hexdigest()


def form_token(cookie: str, *scope: str) -> str:
    """An entry form's token: what the form is for (`scope`) bound to this browser's form cookie."""
    return _form_serializer().dumps([*scope, _browser_binding(cookie)])


def form_post_ok(cookie_name: str, *scope: str) -> bool:
    """Double submit: the posted token names `scope` and this browser's form cookie, which a
    SameSite=Lax cookie keeps out of cross-site posts, so a token fetched elsewhere is of no use
    here. Browsers also say where a request came from; a post from another site is refused outright."""
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        return False
    cookie = request.cookies.get(cookie_name, "")
    try:
        bound = _form_serializer().loads(request.form.get("form_token", ""), max_age=FORM_MAX_AGE)
    except BadSignature:
        return False
    return bool(cookie) and bound == [*scope, _browser_binding(cookie)]


def _entry_page(link: service.EntryLink, form: EntryForm, status: int = 200):
    guest = request_guest()
    already_in = guest is not None and guest.room_id == link.room_id and guest.status in service.INSIDE
    cookie = request.cookies.get(FORM_COOKIE) or secrets.token_urlsafe(24)
    response = make_response(
        render_template(
            "guest/entry.html",
            room_title=link.room.title,
            admission_required=link.room.admission_required,
            form=form,
            form_token=form_token(cookie, link.id),
            continue_url=url_for("guest.room", room_id=link.room_id) if already_in else None,
        ),
        status,
    )
    keep_form_cookie(response, FORM_COOKIE, cookie, "/g/")
    return response


def keep_form_cookie(response, name: str, cookie: str, path: str) -> None:
    """Set an entry form's browser cookie (what its form token is bound to) unless the browser has it."""
    if request.cookies.get(name) != cookie:
        response.set_cookie(
            name, cookie, httponly=True, samesite="Lax", secure=https_deployment(), path=path, max_age=FORM_MAX_AGE
        )


@bp.get("/g/room/<room_id>")
def room(room_id: str):
    """Every full load re-checks the room, guest access and the link (stay connected until refresh)."""
    guest = request_guest()
    now = utcnow()
    try:
        room = service.room_for_guest(guest, room_id, now)
    except service.ENDS_STAY:
        # Shown why they can't stay: their session ends here, on the server (every API then says 403).
        service.close_session(guest, now)
        db.session.commit()
        raise
    view = service.public_room(room)
    if guest.status == service.WAITING:
        return render_template("guest/waiting.html", room=view, status_url=url_for("guest.status"), poll_ms=POLL_MS)
    invited = ROLE_LABELS.get(guest.invite_role or "")
    return render_template(
        "guest/room.html", room=view, guest_name=guest.name, viewer_kind="guest", invited_label=invited
    )


@bp.get("/g/api/status")
def status():
    """The waiting page's poll. It answers from the guest's record only, so it keeps working while a
    guest is inside even after the link or access went away; a full page load shows that."""
    cookie = request.cookies.get(COOKIE_NAME)
    if cookie:
        service.touch(session_hash(cookie), utcnow())
        db.session.commit()
    guest = request_guest()
    if guest is None:
        raise service.NoGuestSession()
    if guest.status == service.CLOSED:
        raise service.SessionClosed()
    return jsonify(status=guest.status)
