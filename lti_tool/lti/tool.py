"""The tool as the LTI views see it: its URLs, keys and platform registrations."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from flask import Response, make_response

from ..config import ToolSettings
from ..errors import LaunchError
from . import claims, keys
from .context import LaunchContext
from .registry import (
    PlatformRegistry,
    effective_modules,
    enabled_db_platforms,
    platform_generation,
    track_platform_changes,
)

PLATFORMS_TTL = 5.0


class ToolRuntime:
    def __init__(self, settings: ToolSettings, keys_dir: Path):
        self.settings = settings
        self.keys_dir = keys_dir
        self.launch_url = settings.base_url + "/lti/launch"
        self.launch_urls = (self.launch_url,)
        self._keys: list[keys.ToolKey] = []
        self._keys_stamp: int | None = None
        self._registry: tuple[int, float, PlatformRegistry] | None = None
        track_platform_changes()

    def url(self, path: str) -> str:
        return self.settings.base_url + path

    def is_launch_url(self, url: str) -> bool:
        return url.split("?")[0].rstrip("/") in self.launch_urls

    def _current_keys(self) -> list[keys.ToolKey]:
        # Re-read only when the directory changed (a key added or retired changes its mtime):
        # reading the PEM files on every request cost more than validating the launch itself.
        stamp = os.stat(self.keys_dir).st_mtime_ns if self.keys_dir.exists() else None
        if self._keys_stamp != stamp or stamp is None:
            self._keys, self._keys_stamp = keys.load_keys(self.keys_dir), stamp
        return self._keys

    def tool_keys(self) -> list[keys.ToolKey]:
        found = self._current_keys()
        if not found:
            raise LaunchError("The tool has no signing key yet. Run 'lti-tool keys generate'.", code="no_tool_key")
        return found

    def signing_key(self) -> keys.ToolKey:
        return self.tool_keys()[-1]

    def jwks(self) -> dict:
        return keys.jwks(self.tool_keys())

    def registry(self) -> PlatformRegistry:
        """config.json platforms plus the enabled database platforms, shared by this process's requests.

        Built again when a platform change commits in this process, and otherwise every
        `PLATFORMS_TTL` seconds: a platform added or disabled through another process or host, or a
        new tool key, takes effect within that time. Login, launch and frame-ancestors do not sign
        anything: they work (and error pages render) before a key exists; only signing and the JWKS
        insist on one.
        """
        cached = self._registry
        if cached is not None and cached[0] == platform_generation() and time.monotonic() < cached[1]:
            return cached[2]
        # Stamped before the read: a change committed meanwhile rebuilds it on the next call.
        generation, found = platform_generation(), self._current_keys()
        registry = PlatformRegistry(
            self.settings.platforms, enabled_db_platforms(), found[-1].private_pem.decode() if found else None
        )
        self._registry = (generation, time.monotonic() + PLATFORMS_TTL, registry)
        return registry

    def modules_for(self, issuer: str, client_id: str) -> dict[str, dict]:
        return effective_modules(self.settings.modules, self.registry().registration_dict(issuer, client_id))

    def launch_page(self, ctx: LaunchContext) -> Callable[[], Response]:
        """The page a launch shows. It reads what it shows now, in the caller's transaction, and
        returns the function that renders it without the database, so a launch can commit (and
        free SQLite's write lock) before its templates run."""
        if ctx.message_type == claims.DEEP_LINKING_REQUEST:
            from ..platforms.views import picker_page

            response = _no_store(make_response(picker_page(ctx)))  # rare: it renders as it reads
            return lambda: response
        from ..rooms.views import media_page

        render = media_page(ctx)
        return lambda: _no_store(make_response(render()))


def _no_store(response: Response) -> Response:
    # The page carries a launch token: never keep it in a shared or back-forward cache.
    response.headers["Cache-Control"] = "no-store"
    return response
