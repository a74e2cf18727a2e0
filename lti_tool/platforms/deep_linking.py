"""LTI Deep Linking 2.0: a host picks a Room or a Media gallery; the tool answers with a signed
`LtiDeepLinkingResponse` (§4.2) that Sakai turns into a new link in the site.

The response JWT: iss = our client_id, aud = the platform issuer, a fresh nonce, the launch's
deployment_id, the settings' `data` echoed unchanged (§4.2.2), and one `ltiResourceLink` whose
custom `room_type` decides the kind of room its launches open (rooms.service.room_kind).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from pylti1p3.deep_link_resource import DeepLinkResource

from ..errors import Forbidden, ValidationError
from ..lti import claims
from ..lti.context import LaunchContext
from ..lti.keys import ToolKey

DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
CONTENT_ITEMS = DL + "content_items"
DATA = DL + "data"
RESPONSE = "LtiDeepLinkingResponse"
RESOURCE_LINK = "ltiResourceLink"
KINDS = {"room": "Room", "mediagallery": "Media gallery"}
HINTS = {
    "room": "A live session space; hosts can invite guests with links.",
    "mediagallery": "A collection of course media; no guest access.",
}
TITLE_MAX = 255
RESPONSE_TTL = timedelta(minutes=10)


@dataclass(frozen=True)
class Settings:
    """The `deep_linking_settings` claim that came with the launch."""

    return_url: str
    data: Any
    accept_types: tuple[str, ...]
    title: str = ""

    @classmethod
    def of(cls, extra: dict[str, Any] | None) -> Settings:
        raw = (extra or {}).get("deep_linking_settings") or {}
        return_url = raw.get("deep_link_return_url")
        if not isinstance(return_url, str) or not return_url.startswith(("https://", "http://")):
            raise Forbidden(
                "This page only works when Sakai's content picker opened the tool.", code="not_deep_linking"
            )
        accept = raw.get("accept_types")
        return cls(
            return_url=return_url,
            data=raw.get("data"),
            accept_types=tuple(accept) if isinstance(accept, list) else (RESOURCE_LINK,),
            # §4.4.1: the platform may suggest a default title for the new item.
            title=raw["title"][:TITLE_MAX] if isinstance(raw.get("title"), str) else "",
        )

    @property
    def accepts_links(self) -> bool:
        return RESOURCE_LINK in self.accept_types


def require_picker(ctx: LaunchContext) -> None:
    if ctx.message_type != claims.DEEP_LINKING_REQUEST:
        raise Forbidden("This page only works when Sakai's content picker opened the tool.", code="not_deep_linking")
    if not ctx.role.can_manage:
        raise Forbidden(
            "Only instructors and teaching assistants can add a room or media gallery here.",
            code="deep_linking_not_allowed",
        )


def parse_choice(kind: str | None, title: str | None) -> tuple[str, str]:
    kind = (kind or "").strip()
    if kind not in KINDS:
        raise ValidationError("Choose Room or Media gallery.", field="room_type")
    title = " ".join((title or "").split())
    if not title:
        raise ValidationError("Enter a title; Sakai shows it as the link's name.", field="title")
    if len(title) > TITLE_MAX:
        raise ValidationError(f"Keep the title to {TITLE_MAX} characters or fewer.", field="title")
    return kind, title


def content_item(kind: str, title: str, launch_url: str) -> dict[str, Any]:
    resource = DeepLinkResource().set_title(title).set_url(launch_url).set_custom_params({"room_type": kind})
    return resource.to_dict()


def response_jwt(
    ctx: LaunchContext,
    settings: Settings,
    items: list[dict[str, Any]],
    *,
    key: ToolKey,
    now: datetime,
) -> str:
    issued = int(now.timestamp())
    body: dict[str, Any] = {
        "iss": ctx.client_id,
        "aud": ctx.issuer,
        "iat": issued,
        "exp": issued + int(RESPONSE_TTL.total_seconds()),
        "nonce": secrets.token_urlsafe(24),
        claims.DEPLOYMENT_ID: ctx.deployment_id,
        claims.MESSAGE_TYPE: RESPONSE,
        claims.VERSION: "1.3.0",
        CONTENT_ITEMS: items,
    }
    if settings.data is not None:
        body[DATA] = settings.data
    return jwt.encode(body, key.private_pem, algorithm="RS256", headers={"kid": key.kid, "typ": "JWT"})
