"""Platform registrations in pylti1p3's per-issuer layout (`ToolConfDict`), from config.json and
from the `platform` table (CLI and dynamic registration). config.json entries are read-only.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from pylti1p3.tool_config import ToolConfDict
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from ..extensions import db
from ..models import Platform


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class PlatformRegistry(ToolConfDict):
    """pylti1p3's ToolConfDict over config.json and the enabled database platforms.

    Read-only once built, so one instance serves every request of a process (`ToolRuntime.registry`
    decides when to build a new one). A database entry with a config.json entry's issuer and
    client_id is ignored: config.json is the read-only source.
    """

    def __init__(
        self,
        platforms: dict[str, list[dict[str, Any]]],
        db_platforms: list[dict[str, Any]],
        private_pem: str | None,
    ):
        merged = {iss: [dict(r) for r in regs] for iss, regs in platforms.items()}
        for reg in db_platforms:
            regs = merged.setdefault(reg["issuer"], [])
            if all(r["client_id"] != reg["client_id"] for r in regs):
                regs.append({k: v for k, v in reg.items() if k != "issuer"})
        super().__init__(merged)  # validates every entry
        if private_pem is not None:
            for issuer, regs in merged.items():
                for reg in regs:
                    self.set_private_key(issuer, private_pem, client_id=reg["client_id"])
        # The portal pages that frame us: config.json platforms may log in on another origin.
        self._frame_origins = sorted(
            {origin(iss) for iss in merged} | {origin(r["auth_login_url"]) for regs in platforms.values() for r in regs}
        )

    def registration_dict(self, iss: str, client_id: str | None) -> dict[str, Any] | None:
        """The raw registration entry (with our extra keys such as `modules`)."""
        for reg in self._current(iss):
            if client_id is None or reg.get("client_id") == client_id:
                return reg
        return None

    def default_client_id(self, iss: str) -> str | None:
        """Login without client_id: the registration marked default, or the only one."""
        regs = self._current(iss)
        chosen = [r for r in regs if r.get("default")] or (regs if len(regs) == 1 else [])
        return chosen[0]["client_id"] if chosen else None

    def _current(self, iss: str) -> list[dict[str, Any]]:
        return self._config.get(iss, [])

    def check_iss_has_one_client(self, iss: str) -> bool:
        # Several registrations per issuer are always matched by client_id: never guess.
        return False

    def find_registration_by_params(self, iss: str, client_id: str, *args, **kwargs):
        if iss not in self._config or not client_id:
            return None
        if not any(r.get("client_id") == client_id for r in self._config[iss]):
            return None
        return super().find_registration_by_params(iss, client_id, *args, **kwargs)

    def find_deployment_by_params(self, iss: str, deployment_id: str, client_id: str, *args, **kwargs):
        reg = self.registration_dict(iss, client_id)
        if reg is None or deployment_id not in reg.get("deployment_ids", []):
            return None
        return super().find_deployment_by_params(iss, deployment_id, client_id, *args, **kwargs)

    def frame_origins(self) -> list[str]:
        """Origins allowed to frame LTI pages: every registered platform (never '*')."""
        return self._frame_origins


_changes = {"generation": 0, "tracking": False}


def track_platform_changes() -> None:
    """Bump a process-wide generation when a transaction that touched `platform` commits (set up
    once per process)."""
    if _changes["tracking"]:
        return
    _changes["tracking"] = True

    def flushed(session, _context) -> None:
        if any(isinstance(o, Platform) for o in (*session.new, *session.dirty, *session.deleted)):
            session.info["platforms_changed"] = True

    def executed(state) -> None:
        table = getattr(state.statement, "table", None)
        if (state.is_insert or state.is_update or state.is_delete) and getattr(
            table, "name", None
        ) == Platform.__tablename__:
            state.session.info["platforms_changed"] = True

    def committed(session) -> None:
        if session.info.pop("platforms_changed", False):
            _changes["generation"] += 1

    def rolled_back(session) -> None:
        session.info.pop("platforms_changed", None)

    for name, listener in (
        ("after_flush", flushed),
        ("do_orm_execute", executed),
        ("after_commit", committed),
        ("after_rollback", rolled_back),
    ):
        event.listen(Session, name, listener)


def platform_generation() -> int:
    return _changes["generation"]


def enabled_db_platforms() -> list[dict[str, Any]]:
    """The enabled `platform` rows as registrations (with their issuer)."""
    rows = db.session.execute(select(Platform).where(Platform.enabled.is_(True)).order_by(Platform.id)).scalars()
    return [{"issuer": p.issuer, **platform_as_registration(p)} for p in rows]


def platform_as_registration(p: Platform) -> dict[str, Any]:
    return {
        "client_id": p.client_id,
        "auth_login_url": p.auth_login_url,
        "auth_token_url": p.auth_token_url,
        "key_set_url": p.key_set_url,
        "deployment_ids": list(p.deployment_ids),
        "modules": dict(p.modules or {}),
    }


def effective_modules(global_modules: dict[str, dict[str, Any]], reg: dict[str, Any] | None) -> dict[str, dict]:
    """Global module settings with the registration's own `modules` override merged in."""
    merged = {name: dict(values) for name, values in global_modules.items()}
    for name, values in ((reg or {}).get("modules") or {}).items():
        merged.setdefault(name, {}).update(values)
    return merged
