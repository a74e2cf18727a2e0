"""The room's media page, shown after a launch."""

from __future__ import annotations

from collections.abc import Callable

from flask import g
from sqlalchemy import bindparam, select

from ..database import Prepared
from ..extensions import db
from ..lti.context import TOKEN_FIELD, TOKEN_HEADER, LaunchContext, issue_token
from ..models import GuestGroup, Room
from ..session.service import LATEST_RUN_STATE
from ..session.views import open_stage_csp
from ..templating import kept_page
from .service import LaunchedRoom, availability

# What the page shows besides the room, in one statement: the session's state and the guest group.
PAGE_FACTS = Prepared(
    select(
        LATEST_RUN_STATE,
        select(GuestGroup.name).where(GuestGroup.room_id == bindparam("room_id")).scalar_subquery(),
    )
)


def media_page(ctx: LaunchContext, *, present: bool = False) -> Callable[[], str]:
    """The room's page for a launch: reads what it shows now (one statement) and returns the
    function that renders it (no database work). `present`: the page in a window of its own, for
    sharing a screen (lti_tool/media/present.py)."""
    room = g.get("launched_room") or LaunchedRoom.of(db.session.get(Room, ctx.room_id))
    run_state, guest_group_name = PAGE_FACTS.first({"room_id": room.id})

    def render() -> str:
        state = availability(room)
        open_stage_csp(room)  # a kept page does not render (and open it) again
        # All the page shows but the launch token and the user's name is the same for every launch
        # of this room with the same role and locale: it is rendered once per worker (kept_page).
        return kept_page(
            "rooms/media_page.html",
            {"launch_token": issue_token(ctx.launch_id), "user_label": ctx.display_name},
            room=room,
            role=ctx.role.value,
            can_manage=ctx.role.can_manage,
            show_admin=ctx.is_admin,
            show_manage_guest_access=ctx.role.can_manage and state.available,
            # "Invite users": the same gating as Manage guest access (lti_tool/invites).
            show_invite_users=ctx.role.can_manage and state.available,
            unavailable_reason=None if state.available else state.reason,
            run_state=run_state,
            # Hosts and moderators see the room's guest access group (a system group) in Room details.
            guest_group_name=guest_group_name if ctx.role.can_manage else None,
            token_header=TOKEN_HEADER,
            token_field=TOKEN_FIELD,
            html_lang=ctx.locale.split("_")[0] or "en",
            locale=ctx.locale.replace("_", "-"),
            present=present,
        )

    return render
