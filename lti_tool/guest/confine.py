"""Confinement: a guest session reaches its own room's guest routes and nothing else.

A request that carries a valid guest cookie is refused (403) everywhere except:
  - the public guest pages (blueprint `guest`), an invitation's entry page and static files;
  - views marked `@guest_route` whose `room_id` is the guest's room (the live session's state,
    chat and hands endpoints mark themselves so);
  - the platform-facing LTI protocol endpoints and the demo LMS, which never act on a guest
    cookie's authority (a host testing their own link in the same browser can still launch);
  - requests that also carry a valid launch token: those act as the launched Sakai user, whose
    authority the guest cookie neither adds to nor takes from.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import current_app, g, request

from ..errors import Forbidden, SessionExpired
from ..lti.context import load_launch, token_from_request
from .identity import COOKIE_NAME, GuestContext, current_guest
from .validation import _

OPEN_BLUEPRINTS = frozenset({"guest", "invite_entry", "lti", "demo", "ops"})
View = TypeVar("View", bound=Callable)


def guest_route(view: View) -> View:
    """Let guests of the `room_id` in the URL call this view. Put it right under the route decorator."""
    view.guest_route = True  # type: ignore[attr-defined]
    return view


def request_guest() -> GuestContext | None:
    """The guest of this request's cookie (looked up once per request)."""
    if "guest_context" not in g:
        g.guest_context = current_guest()
    return g.guest_context


def admitted_guest(room_id: str) -> GuestContext:
    """For `@guest_route` views: the admitted guest of `room_id`, or 403."""
    guest = request_guest()
    if guest is None or guest.room_id != room_id or guest.status != "admitted":
        raise Forbidden(_("Only guests admitted to this session can do this."), code="guest_not_admitted")
    return guest


def confine_guests() -> None:
    if COOKIE_NAME not in request.cookies or request.endpoint is None:
        return
    if request.endpoint == "static" or request.blueprint in OPEN_BLUEPRINTS:
        return
    guest = request_guest()
    if guest is None or _acts_as_launch():
        return
    view = current_app.view_functions.get(request.endpoint)
    if getattr(view, "guest_route", False) and (request.view_args or {}).get("room_id") == guest.room_id:
        return
    raise Forbidden(_("Guests can only take part in the session they joined."), code="guest_confined")


def _acts_as_launch() -> bool:
    token = token_from_request()
    if not token:
        return False
    try:
        load_launch(token)
    except SessionExpired:
        return False
    return True
