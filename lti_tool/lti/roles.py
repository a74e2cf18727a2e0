"""Who is launching: the raw `roles` claim becomes one `Role`, decided here and nowhere else.

LTI Core 1.3 §5.3.7 and Appendix A.2. pylti1p3 2.0.0 reads Sakai's TA role
(`membership#Instructor#TeachingAssistant`) as a teacher, so its role helpers are not used.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping

MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
INSTITUTION_ADMIN = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator"
SYSTEM_ADMIN = "http://purl.imsglobal.org/vocab/lis/v2/system/person#Administrator"

DEFAULT_ROLE_MAP: dict[str, tuple[str, ...]] = {
    "host": (MEMBERSHIP + "Instructor", INSTITUTION_ADMIN, SYSTEM_ADMIN),
    "moderator": (
        MEMBERSHIP + "Instructor#TeachingAssistant",
        MEMBERSHIP + "TeachingAssistant",
        MEMBERSHIP + "ContentDeveloper",
    ),
}
ADMIN_ROLES = frozenset({INSTITUTION_ADMIN, SYSTEM_ADMIN})


class Role(enum.StrEnum):
    HOST = "host"
    MODERATOR = "moderator"
    VIEWER = "viewer"

    @property
    def can_manage(self) -> bool:
        """Hosts and moderators may manage guest access and run the session."""
        return self in (Role.HOST, Role.MODERATOR)


def normalize(role: str) -> str:
    """Accept short names (`Instructor`, `Instructor#TeachingAssistant`) as membership roles."""
    role = role.strip()
    if "://" in role or role.startswith("urn:"):
        return role
    return MEMBERSHIP + role


def decide_role(claim: Iterable[str] | None, role_map: Mapping[str, Iterable[str]]) -> Role:
    """Map the raw claim to the strongest role it grants; anything unknown or empty is a viewer.

    An exact match is required, so `membership#Instructor#TeachingAssistant` is a moderator even
    though it starts with `membership#Instructor`.
    """
    granted = _granted(claim)
    if granted & {normalize(r) for r in role_map.get("host", ())}:
        return Role.HOST
    if granted & {normalize(r) for r in role_map.get("moderator", ())}:
        return Role.MODERATOR
    return Role.VIEWER


def is_admin(claim: Iterable[str] | None) -> bool:
    return bool(_granted(claim) & ADMIN_ROLES)


def _granted(claim: Iterable[str] | str | None) -> set[str]:
    """The claim as a set of full role URIs; a lone string (not a list) counts as one role."""
    if isinstance(claim, str):
        claim = [claim]
    if not isinstance(claim, list | tuple | set | frozenset):
        return set()
    return {normalize(r) for r in claim if isinstance(r, str)}
