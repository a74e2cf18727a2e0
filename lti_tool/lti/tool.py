"""The tool as the LTI views see it: its URLs, keys and platform registrations."""

from __future__ import annotations

import os
from pathlib import Path

from flask import g, has_request_context, make_response

from ..config import ToolSettings
from ..errors import LaunchError
from . import claims, keys
from .context import LaunchContext
from .registry import PlatformRegistry, effective_modules


class ToolRuntime:
    def __init__(self, settings: ToolSettings, keys_dir: Path):
        self.settings = settings
        self.keys_dir = keys_dir
        self.launch_url = settings.base_url + "/lti/launch"
        self.launch_urls = (self.launch_url,)
        self._keys: list[keys.ToolKey] = []
        self._keys_stamp: int | None = None

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
        """The registrations as of this request: built once per request and shared by its callers
        (a launch validates against it and renders its page with the registration's modules), so
        a platform disabled in the database still stops working at the next request on every worker.
        """
        if has_request_context():
            memo = g.get("_lti_registry")
            if memo is None:
                memo = g._lti_registry = self._new_registry()
            return memo
        return self._new_registry()

    def _new_registry(self) -> PlatformRegistry:
        # Login, launch and frame-ancestors do not sign anything: they work (and error pages
        # render) before a key exists; only signing and the JWKS insist on one.
        found = self._current_keys()
        return PlatformRegistry(self.settings.platforms, found[-1].private_pem.decode() if found else None)

    def modules_for(self, issuer: str, client_id: str) -> dict[str, dict]:
        return effective_modules(self.settings.modules, self.registry().registration_dict(issuer, client_id))

    def render_launch(self, ctx: LaunchContext):
        if ctx.message_type == claims.DEEP_LINKING_REQUEST:
            from ..platforms.views import picker_page as page
        else:
            from ..rooms.views import media_page as page
        response = make_response(page(ctx))
        # The page carries a launch token: never keep it in a shared or back-forward cache.
        response.headers["Cache-Control"] = "no-store"
        return response
