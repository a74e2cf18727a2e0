"""Platform registrations: the read-only ones from config.json and the `platform` table beside them.

Services add and flush, never commit; the CLI command or the view commits once, so a refused
change leaves nothing half-written.
"""

from __future__ import annotations

import copy
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from .. import audit as audit_trail
from ..config import ToolSettings
from ..errors import Conflict, Forbidden, NotFound, ValidationError
from ..extensions import db
from ..lti.registry import effective_modules, platform_as_registration
from ..models import AuditEvent, Platform, RegistrationInvite
from ..rooms.service import Availability, guest_access_availability

CONFIG = "config.json"
DATABASE = "database"
INVITE_TTL = timedelta(hours=24)
# An invitation survives two failed registrations (a typo, a Sakai restarting); the third spends it.
MAX_FAILED_REGISTRATIONS = 3
INVITE_ACTOR = "registration-invite:"  # + the invitation's hash: failed attempts are counted in the audit
SAKAI_PATHS = {
    "auth_login_url": "/imsoidc/lti13/oidc_auth",
    "auth_token_url": "/imsblis/lti13/token/{tool_id}",
    "key_set_url": "/imsblis/lti13/keyset",
}


@dataclass(frozen=True)
class PlatformEntry:
    """One registration as admins see it, whichever source it comes from."""

    issuer: str
    client_id: str
    deployment_ids: tuple[str, ...]
    auth_login_url: str
    auth_token_url: str
    key_set_url: str
    source: str
    enabled: bool
    overrides: dict[str, dict[str, Any]]
    modules: dict[str, dict[str, Any]]
    created_at: datetime | None = None

    @property
    def read_only(self) -> bool:
        return self.source == CONFIG


# -- reading -------------------------------------------------------------------------------------


def all_platforms(settings: ToolSettings) -> list[PlatformEntry]:
    entries = [
        _entry(settings, issuer, reg, CONFIG, True, None) for issuer, regs in settings.platforms.items() for reg in regs
    ]
    for row in db.session.execute(select(Platform).order_by(Platform.id)).scalars():
        reg = platform_as_registration(row)
        entries.append(_entry(settings, row.issuer, reg, DATABASE, row.enabled, row.created_at))
    return entries


def _entry(settings, issuer, reg, source, enabled, created_at) -> PlatformEntry:
    return PlatformEntry(
        issuer=issuer,
        client_id=reg["client_id"],
        deployment_ids=tuple(reg.get("deployment_ids") or ()),
        auth_login_url=reg["auth_login_url"],
        auth_token_url=reg["auth_token_url"],
        key_set_url=reg["key_set_url"],
        source=source,
        enabled=enabled,
        overrides=copy.deepcopy(reg.get("modules") or {}),
        modules=effective_modules(settings.modules, reg),
        created_at=created_at,
    )


def find_platform(settings: ToolSettings, client_id: str, issuer: str | None = None) -> PlatformEntry:
    """The registration with this client id (and issuer, when several platforms share a client id)."""
    found = [e for e in all_platforms(settings) if e.client_id == client_id and (issuer is None or e.issuer == issuer)]
    if not found:
        raise NotFound(f"No platform with client id {client_id!r}" + (f" and issuer {issuer}" if issuer else "") + ".")
    if len(found) > 1:
        issuers = ", ".join(sorted({e.issuer for e in found}))
        raise ValidationError(f"Client id {client_id!r} is registered for several issuers ({issuers}); add --issuer.")
    return found[0]


def _row(entry: PlatformEntry) -> Platform:
    """The database row behind an entry; config.json entries have none and cannot change."""
    if entry.read_only:
        raise Conflict(
            f"The platform {entry.issuer} (client id {entry.client_id}) is defined in config.json, which is "
            "read-only while the tool runs. Edit config.json and restart the tool instead.",
            code="read_only_platform",
        )
    return db.session.execute(
        select(Platform).where(Platform.issuer == entry.issuer, Platform.client_id == entry.client_id)
    ).scalar_one()


# -- changing -------------------------------------------------------------------------------------


def sakai_urls(server: str, tool_id: str | None, token_url: str | None = None) -> dict[str, str]:
    """Sakai's standard endpoints under its server URL (shared/reference/sakai-lti13.md)."""
    server = check_url(server, "--sakai").rstrip("/")
    if not token_url and not (tool_id and tool_id.isdigit()):
        raise ValidationError(
            "--sakai needs --tool-id: the number at the end of the Token URL that Sakai shows "
            "(…/imsblis/lti13/token/7 → 7), or give --auth-token-url.",
            field="tool_id",
        )
    urls = {key: server + path.format(tool_id=tool_id) for key, path in SAKAI_PATHS.items()}
    if token_url:
        urls["auth_token_url"] = token_url
    return {"issuer": server, **urls}


def check_url(value: str | None, label: str) -> str:
    parts = urlsplit(value or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValidationError(f"{label}: {value!r} is not an http(s) URL.", field=label)
    return value or ""


def add_platform(
    settings: ToolSettings,
    *,
    issuer: str,
    client_id: str,
    deployment_ids: list[str],
    auth_login_url: str,
    auth_token_url: str,
    key_set_url: str,
    actor: str,
    now: datetime,
) -> Platform:
    issuer = check_url(issuer, "issuer")  # kept exactly: launches must match it character for character
    for label, url in (
        ("auth login URL", auth_login_url),
        ("auth token URL", auth_token_url),
        ("key set URL", key_set_url),
    ):
        check_url(url, label)
    client_id = (client_id or "").strip()
    if not client_id or len(client_id) > 255:
        raise ValidationError("The client id is missing (Sakai shows it as 'Client ID').", field="client_id")
    deployment_ids = [d.strip() for d in deployment_ids if d and d.strip()]
    if not deployment_ids:
        raise ValidationError("Give at least one deployment id (Sakai's is usually 1).", field="deployment_id")
    if any(r["client_id"] == client_id for r in settings.platforms.get(issuer, [])):
        raise Conflict(
            f"{issuer} with client id {client_id} is already in config.json (read-only at run time).",
            code="platform_exists",
        )
    row = Platform(
        issuer=issuer,
        client_id=client_id,
        auth_login_url=auth_login_url,
        auth_token_url=auth_token_url,
        key_set_url=key_set_url,
        deployment_ids=sorted(set(deployment_ids), key=deployment_ids.index),
        modules={},
        enabled=True,
        created_at=now,
    )
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        raise Conflict(f"{issuer} with client id {client_id} is already registered.", code="platform_exists") from None
    audit("platform.added", actor, {"issuer": issuer, "client_id": client_id}, now=now)
    return row


def set_enabled(entry: PlatformEntry, enabled: bool, *, actor: str, now: datetime) -> None:
    _row(entry).enabled = enabled
    audit(
        "platform.enabled" if enabled else "platform.disabled",
        actor,
        {"issuer": entry.issuer, "client_id": entry.client_id},
        now=now,
    )


def remove_platform(entry: PlatformEntry, *, actor: str, now: datetime) -> None:
    db.session.delete(_row(entry))
    audit("platform.removed", actor, {"issuer": entry.issuer, "client_id": entry.client_id}, now=now)


# -- modules --------------------------------------------------------------------------------------

SWITCHES: dict[str, tuple[str, str, dict[str, Any]]] = {
    # switch → (module, key, {accepted word: stored value})
    "invitetomedia": ("invitetomedia", "enabled", {"on": True, "off": False}),
    "theming": ("theming", "enabled", {"on": True, "off": False}),
    "mediapage": ("theming", "mediapage", {"yes": "Yes", "no": "No"}),
}


def parse_switches(values: dict[str, str | None]) -> dict[str, dict[str, Any]]:
    """{'invitetomedia': 'off', 'mediapage': 'Yes'} → module overrides; unknown words are refused."""
    changes: dict[str, dict[str, Any]] = {}
    for switch, raw in values.items():
        if raw is None or raw == "":
            continue
        module, key, words = SWITCHES[switch]
        word = str(raw).strip().lower()
        if word not in words:
            allowed = "/".join(w if switch != "mediapage" else w.capitalize() for w in words)
            raise ValidationError(f"{switch} must be {allowed}, not {raw!r}.", field=switch)
        changes.setdefault(module, {})[key] = words[word]
    if not changes:
        raise ValidationError("Nothing to change: give --invitetomedia, --theming and/or --mediapage.")
    return changes


def set_modules(
    settings: ToolSettings,
    entry: PlatformEntry,
    changes: dict[str, dict[str, Any]],
    *,
    actor: str,
    actor_name: str | None = None,
    now: datetime,
) -> dict[str, dict[str, Any]]:
    """Store the platform's module overrides; returns the effective modules afterwards."""
    row = _row(entry)
    before = effective_modules(settings.modules, platform_as_registration(row))
    overrides = copy.deepcopy(row.modules or {})
    for module, values in changes.items():
        overrides.setdefault(module, {}).update(values)
    row.modules = overrides  # a new object, so the JSON column is marked dirty
    after = effective_modules(settings.modules, platform_as_registration(row))
    audit(
        "platform.modules_changed",
        actor,
        {"issuer": entry.issuer, "client_id": entry.client_id, "before": before, "after": after},
        actor_name=actor_name,
        now=now,
    )
    return after


def platform_guest_access(modules: dict[str, dict[str, Any]]) -> Availability:
    """The platform-wide answer (for an ordinary room; media galleries never have guest access)."""
    return guest_access_availability(SimpleNamespace(kind="room"), modules)


# -- dynamic registration invitations ---------------------------------------------------------------


def hash_code(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def create_invite(now: datetime) -> tuple[str, datetime]:
    """A one-time invitation code; only its sha256 is stored."""
    code = secrets.token_urlsafe(24)
    expires_at = now + INVITE_TTL
    db.session.add(RegistrationInvite(code_hash=hash_code(code), expires_at=expires_at))
    db.session.flush()
    return code, expires_at


def check_invite(code: str | None, now: datetime) -> None:
    """Read-only look at an invitation, so a bad link is refused before any platform is contacted."""
    if not code:
        raise Forbidden(
            "This registration address has no invitation code. Ask the tool's administrator for a "
            "registration URL (they get one with 'lti-tool platform invite').",
            code="invite_missing",
        )
    row = db.session.get(RegistrationInvite, hash_code(code))
    _refuse_unless_usable(row, now)


def consume_invite(code: str, now: datetime) -> None:
    """Take the invitation for one registration attempt (the caller commits before contacting the
    platform). One statement decides: of two registrations racing with one code, exactly one wins."""
    used = db.session.execute(
        update(RegistrationInvite)
        .where(
            RegistrationInvite.code_hash == hash_code(code),
            RegistrationInvite.used_at.is_(None),
            RegistrationInvite.expires_at > now,
        )
        .values(used_at=now)
    ).rowcount
    if not used:
        _refuse_unless_usable(db.session.get(RegistrationInvite, hash_code(code), populate_existing=True), now)
        raise Forbidden("This registration link was already used.", code="invite_used")


def give_back_invite(code: str, taken_at: datetime, reason: str, now: datetime) -> bool:
    """After a failed attempt, the invitation is usable again — until its `MAX_FAILED_REGISTRATIONS`th
    failure, which spends it for good (so one invitation cannot probe addresses without end).

    Only the attempt that took the invitation (`used_at` is still its `taken_at`) may give it back.
    Returns True if it was given back."""
    actor = INVITE_ACTOR + hash_code(code)
    audit("registration.failed", actor, {"reason": reason[:64]}, now=now)
    if _failures(hash_code(code)) >= MAX_FAILED_REGISTRATIONS:
        return False
    return bool(
        db.session.execute(
            update(RegistrationInvite)
            .where(RegistrationInvite.code_hash == hash_code(code), RegistrationInvite.used_at == taken_at)
            .values(used_at=None)
        ).rowcount
    )


def _refuse_unless_usable(row: RegistrationInvite | None, now: datetime) -> None:
    ask = " Ask the tool's administrator for a new one ('lti-tool platform invite')."
    if row is None:
        raise Forbidden("This registration link is not valid." + ask, code="invite_unknown")
    if row.used_at is not None:
        if _failures(row.code_hash) >= MAX_FAILED_REGISTRATIONS:
            raise Forbidden(
                f"This registration link was spent by {MAX_FAILED_REGISTRATIONS} failed registrations." + ask,
                code="invite_spent",
            )
        raise Forbidden("This registration link was already used; each link works once." + ask, code="invite_used")
    if row.expires_at <= now:
        when = row.expires_at.strftime("%Y-%m-%d %H:%M UTC")
        raise Forbidden(f"This registration link expired at {when}." + ask, code="invite_expired")


# -- audit ----------------------------------------------------------------------------------------


def audit(action: str, actor: str, detail: dict[str, Any], *, now: datetime, actor_name: str | None = None) -> None:
    """Who changed what (lti_tool/audit.py); never tokens, invitation codes or guests' personal data."""
    audit_trail.record(action, actor=actor, actor_name=actor_name, detail=detail, now=now)


def _failures(code_hash: str) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "registration.failed", AuditEvent.actor == INVITE_ACTOR + code_hash)
    )
