"""Platform registrations in pylti1p3's per-issuer layout (`ToolConfDict`), from config.json and
from the `platform` table (CLI and dynamic registration). config.json entries are read-only.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from pylti1p3.tool_config import ToolConfDict
from sqlalchemy import select

from ..extensions import db
from ..models import Platform


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class PlatformRegistry(ToolConfDict):
    """pylti1p3's ToolConfDict over config.json, falling back to enabled database platforms.

    Built per request (it is a few dict copies), so a platform disabled in the database stops
    working at once on every worker.
    """

    def __init__(self, platforms: dict[str, list[dict[str, Any]]], private_pem: str | None):
        super().__init__({iss: [dict(r) for r in regs] for iss, regs in platforms.items()})
        self._private_pem = private_pem
        self._db_loaded: set[str] = set()
        for issuer, regs in platforms.items():
            for reg in regs:
                self._set_key(issuer, reg["client_id"])

    def _set_key(self, issuer: str, client_id: str) -> None:
        if self._private_pem is not None:
            self.set_private_key(issuer, self._private_pem, client_id=client_id)

    def _load_from_db(self, iss: str) -> None:
        """Add the enabled database registrations of `iss`, once; a config.json entry with the same
        client_id wins (config.json is the read-only source)."""
        if iss in self._db_loaded:
            return
        self._db_loaded.add(iss)
        known = {r.get("client_id") for r in self._config.get(iss, [])}
        rows = db.session.execute(select(Platform).where(Platform.issuer == iss, Platform.enabled.is_(True))).scalars()
        regs = [platform_as_registration(p) for p in rows if p.client_id not in known]
        if regs:
            self.set_iss_has_many_clients(iss)
            self._config[iss] = [*self._config.get(iss, []), *regs]
            for reg in regs:
                self._validate_iss_config_item(iss, reg)
                self._set_key(iss, reg["client_id"])

    def registration_dict(self, iss: str, client_id: str | None) -> dict[str, Any] | None:
        """The raw registration entry (with our extra keys such as `modules`)."""
        self._load_from_db(iss)
        for reg in self._current(iss):
            if client_id is None or reg.get("client_id") == client_id:
                return reg
        return None

    def default_client_id(self, iss: str) -> str | None:
        """Login without client_id: the registration marked default, or the only one."""
        self._load_from_db(iss)
        regs = self._current(iss)
        chosen = [r for r in regs if r.get("default")] or (regs if len(regs) == 1 else [])
        return chosen[0]["client_id"] if chosen else None

    def _current(self, iss: str) -> list[dict[str, Any]]:
        return self._config.get(iss, [])

    def check_iss_has_one_client(self, iss: str) -> bool:
        # Several registrations per issuer are always matched by client_id: never guess.
        return False

    def find_registration_by_params(self, iss: str, client_id: str, *args, **kwargs):
        self._load_from_db(iss)
        if iss not in self._config or not client_id:
            return None
        if not any(r.get("client_id") == client_id for r in self._config[iss]):
            return None
        return super().find_registration_by_params(iss, client_id, *args, **kwargs)

    def find_deployment_by_params(self, iss: str, deployment_id: str, client_id: str, *args, **kwargs):
        self._load_from_db(iss)
        reg = self.registration_dict(iss, client_id)
        if reg is None or deployment_id not in reg.get("deployment_ids", []):
            return None
        return super().find_deployment_by_params(iss, deployment_id, client_id, *args, **kwargs)

    def frame_origins(self) -> list[str]:
        """Origins allowed to frame LTI pages: every configured platform (never '*')."""
        origins = {origin(iss) for iss in self._config}
        origins |= {origin(r["auth_login_url"]) for regs in self._config.values() for r in regs}
        enabled = select(Platform).where(Platform.enabled.is_(True))
        origins |= {origin(p.issuer) for p in db.session.execute(enabled).scalars()}
        return sorted(origins)


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
