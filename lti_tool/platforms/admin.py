"""The admin view of one platform, precomputed for the template (no logic in templates)."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import ToolSettings
from ..extensions import db
from ..lti.context import LaunchContext
from ..models import Room
from ..rooms.service import Availability, guest_access_availability
from . import service
from .info import GALLERY_CUSTOM, ToolUrls


@dataclass(frozen=True)
class AdminPage:
    entry: service.PlatformEntry
    registration: list[tuple[str, str]]
    modules: list[tuple[str, str]]
    switches: dict[str, str]
    platform_guest_access: Availability
    room_title: str | None
    room_guest_access: Availability | None
    tool_urls: list[tuple[str, str]]
    media_servers: list[MediaServerRow]
    media_configured: bool
    turn_configured: bool


@dataclass(frozen=True)
class MediaServerRow:
    """One Janus, as the admin page shows it: by its place in media.janus (its API address stays
    off pages; `lti-tool media status` on the server lists it)."""

    label: str
    reachable: str
    placement: str
    rooms: int
    participants: int
    weight: str


def media_servers() -> list[MediaServerRow]:
    from ..clock import utcnow
    from ..media import servers

    rows = []
    for i, found in enumerate(servers.status(servers.fleet(), utcnow()), start=1):
        rows.append(
            MediaServerRow(
                label=f"Server {i}",
                reachable="Reachable" if found.reachable else "Not reachable",
                placement="In placement" if found.in_placement else "Out of placement (rooms moved away)",
                rooms=found.rooms,
                participants=found.participants,
                weight=f"{found.weight:g}",
            )
        )
    return rows


def admin_page(settings: ToolSettings, runtime, ctx: LaunchContext) -> AdminPage:
    entry = service.find_platform(settings, ctx.client_id, ctx.issuer)
    room = db.session.get(Room, ctx.room_id) if ctx.room_id else None
    urls = ToolUrls.of(runtime)
    theming = entry.modules.get("theming", {})
    switches = {
        "invitetomedia": "on" if entry.modules.get("invitetomedia", {}).get("enabled") else "off",
        "theming": "on" if theming.get("enabled") else "off",
        "mediapage": theming.get("mediapage", "No"),
    }
    return AdminPage(
        entry=entry,
        registration=[
            ("Issuer", entry.issuer),
            ("Client ID", entry.client_id),
            ("Deployment ID(s)", ", ".join(entry.deployment_ids)),
            ("OIDC authentication URL", entry.auth_login_url),
            ("Token URL", entry.auth_token_url),
            ("Key set URL", entry.key_set_url),
            ("Registered in", "config.json (read-only)" if entry.read_only else "the tool's database"),
            ("Your launch's deployment", ctx.deployment_id),
        ],
        modules=[
            ("Invitetomedia", switches["invitetomedia"].capitalize()),
            ("Theming", switches["theming"].capitalize()),
            ("Theming: mediapage", switches["mediapage"]),
        ],
        switches=switches,
        platform_guest_access=service.platform_guest_access(entry.modules),
        room_title=room.title if room else None,
        room_guest_access=guest_access_availability(room, entry.modules) if room else None,
        tool_urls=[
            *urls.sakai_form(),
            ("Dynamic Registration URL", f"{urls.register}?invite=… (run 'lti-tool platform invite')"),
            ("Custom parameters (media gallery placements only)", GALLERY_CUSTOM),
        ],
        media_servers=media_servers(),
        media_configured=bool(settings.janus),
        turn_configured=settings.turn is not None,
    )
