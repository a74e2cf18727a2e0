"""The room's media page, shown after a launch."""

from __future__ import annotations

from flask import g, render_template

from ..extensions import db
from ..links.service import guest_group
from ..lti.context import TOKEN_FIELD, TOKEN_HEADER, LaunchContext, issue_token
from ..models import Room
from .service import availability


def _guest_group_name(room: Room, ctx: LaunchContext) -> str | None:
    """Hosts and moderators see the room's guest access group (a system group) in Room details."""
    group = guest_group(room) if ctx.role.can_manage else None
    return group.name if group else None


def media_page(ctx: LaunchContext):
    room = g.get("launched_room") or db.session.get(Room, ctx.room_id)
    state = availability(room)
    return render_template(
        "rooms/media_page.html",
        room=room,
        user_label=ctx.display_name,
        role=ctx.role.value,
        can_manage=ctx.role.can_manage,
        show_admin=ctx.is_admin,
        show_manage_guest_access=ctx.role.can_manage and state.available,
        unavailable_reason=None if state.available else state.reason,
        guest_group_name=_guest_group_name(room, ctx),
        launch_token=issue_token(ctx.launch_id),
        token_header=TOKEN_HEADER,
        token_field=TOKEN_FIELD,
        html_lang=ctx.locale.split("_")[0] or "en",
        locale=ctx.locale.replace("_", "-"),
    )
