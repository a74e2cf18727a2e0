"""The room in a window of its own, for sharing a screen from inside Sakai.

Sakai frames the tool with `allow="camera; microphone"` only: screen capture (`display-capture`)
is not delegated to the frame. So **Share screen** in the frame submits a form into a new window,
carrying the page's launch token in the body (never in a URL): the window is the same person in
the same session, with no second login, at the tool's own origin, where the browser lets the page
capture a screen.
"""

from __future__ import annotations

from flask import Blueprint, g, make_response

from ..errors import Forbidden
from ..lti.context import require_launch

bp = Blueprint("present", __name__)


@bp.post("/rooms/<room_id>/present")
@require_launch()
def present(room_id: str):
    from ..rooms.views import media_page

    if g.launch.room_id != room_id:
        raise Forbidden("This page belongs to another room.", code="other_room")
    response = make_response(media_page(g.launch, present=True)())
    response.headers["Cache-Control"] = "no-store"  # it carries a launch token
    return response
