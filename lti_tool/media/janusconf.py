"""Janus's hardened configuration, written by the tool: `lti-tool media janus-config DIR`.

Only what the tool uses is loaded: the VideoRoom plugin and the HTTP transport (on loopback, or the
address given). Every other plugin, transport, event handler and logger is disabled, the admin API
is off, and every request needs the random `api_secret`; only holders of the `admin_key` create rooms.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from .turn import JanusTurn

LIB_DIR = Path("/usr/lib/x86_64-linux-gnu/janus")
KEEP = {"plugins": "libjanus_videoroom.so", "transports": "libjanus_http.so"}
KINDS = ("plugins", "transports", "events", "loggers")
SESSION_TIMEOUT = 60  # seconds without a request or keepalive before Janus drops a session


@dataclass(frozen=True)
class JanusSetup:
    """What the config writer needs: where Janus listens, and its media settings from config.json."""

    http_ip: str = "127.0.0.1"
    http_port: int = 8088
    rtp_port_range: str = "20000-40000"
    nat_1_1_mapping: str | None = None
    session_timeout: int = SESSION_TIMEOUT
    lib_dir: Path = LIB_DIR
    turn: JanusTurn | None = None  # Janus's own relay, when Janus itself sits behind a NAT or firewall


def _jcfg_string(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid libconfig string for our values


def _disabled(lib_dir: Path, kind: str) -> str:
    """Comma list of every library of this kind except the one we keep (Janus loads all by default)."""
    folder = lib_dir / kind
    keep = KEEP.get(kind)
    names = sorted({p.name.split(".so")[0] + ".so" for p in folder.glob("*.so*")}) if folder.is_dir() else []
    return ",".join(n for n in names if n != keep)


def _kind_section(lib_dir: Path, kind: str) -> str:
    extra = "\n\tbroadcast = false" if kind == "events" else ""  # no event handler gets anything
    return f"{kind}: {{\n\tdisable = {_jcfg_string(_disabled(lib_dir, kind))}{extra}\n}}"


def write_config(
    directory: Path, setup: JanusSetup, *, api_secret: str | None = None, admin_key: str | None = None
) -> dict[str, str]:
    """Write janus.jcfg + the HTTP transport + VideoRoom files into `directory` (mode 0600) and
    return the matching config.json `media.janus` entry."""
    api_secret = api_secret or secrets.token_urlsafe(32)
    admin_key = admin_key or secrets.token_urlsafe(32)
    directory.mkdir(parents=True, exist_ok=True)
    nat = [f"\tnat_1_1_mapping = {_jcfg_string(setup.nat_1_1_mapping)}"] if setup.nat_1_1_mapping else []
    lib = setup.lib_dir
    turn = setup.turn
    turn_lines = (
        [
            f"\tturn_server = {_jcfg_string(turn.server)}",
            f"\tturn_port = {int(turn.port)}",
            f"\tturn_type = {_jcfg_string(turn.type)}",
            f"\tturn_user = {_jcfg_string(turn.user)}",
            f"\tturn_pwd = {_jcfg_string(turn.pwd)}",
        ]
        if turn
        else []
    )
    files = {
        "janus.jcfg": "\n".join(
            [
                "general: {",
                f"\tconfigs_folder = {_jcfg_string(str(directory))}",
                f"\tplugins_folder = {_jcfg_string(str(lib / 'plugins'))}",
                f"\ttransports_folder = {_jcfg_string(str(lib / 'transports'))}",
                f"\tevents_folder = {_jcfg_string(str(lib / 'events'))}",
                f"\tloggers_folder = {_jcfg_string(str(lib / 'loggers'))}",
                "\tdebug_level = 3",
                "\tdebug_colors = false",
                f"\tapi_secret = {_jcfg_string(api_secret)}",
                # The admin API is off (admin_http = false); a secret anyway, in case it is switched on.
                f"\tadmin_secret = {_jcfg_string(secrets.token_urlsafe(32))}",
                f"\tsession_timeout = {int(setup.session_timeout)}",
                '\tserver_name = "lti-tool"',
                "}",
                "media: {",
                f"\trtp_port_range = {_jcfg_string(setup.rtp_port_range)}",
                "}",
                "nat: {",
                '\tice_ignore_list = "vmnet"',
                *nat,
                *turn_lines,
                "}",
                *(_kind_section(lib, kind) for kind in KINDS),
                "",
            ]
        ),
        "janus.transport.http.jcfg": "\n".join(
            [
                "general: {",
                '\tjson = "compact"',
                '\tbase_path = "/janus"',
                "\thttp = true",
                f"\tport = {int(setup.http_port)}",
                f"\tip = {_jcfg_string(setup.http_ip)}",
                "\thttps = false",
                "}",
                "admin: {",
                "\tadmin_http = false",
                "\tadmin_https = false",
                "}",
                "",
            ]
        ),
        "janus.plugin.videoroom.jcfg": "\n".join(
            [
                "general: {",
                f"\tadmin_key = {_jcfg_string(admin_key)}",
                "\tlock_rtp_forward = true",
                "}",
                "",
            ]
        ),
    }
    for name, text in files.items():
        path = directory / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(path, 0o600)
    host = setup.http_ip if ":" not in setup.http_ip else f"[{setup.http_ip}]"
    return {"url": f"http://{host}:{setup.http_port}/janus", "api_secret": api_secret, "admin_key": admin_key}
