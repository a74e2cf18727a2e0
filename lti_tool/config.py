"""Configuration: defaults → config.json → environment → overrides, validated once at start-up.

Every problem is reported as one `ConfigError` line that names the file, the key and what is wrong,
so an admin never has to read a traceback to fix a typo.
"""

from __future__ import annotations

import contextlib
import copy
import ipaddress
import json
import os
import re
import secrets
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from . import http
from .lti.roles import DEFAULT_ROLE_MAP

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_PATH = PROJECT_ROOT / "config.json"
INSTANCE_DIR = PROJECT_ROOT / "instance"
DEMO_SECRET_FILE = "demo_secret_key"

DEFAULT_MODULES: dict[str, dict[str, Any]] = {
    "invitetomedia": {"enabled": True},
    "theming": {"enabled": True, "mediapage": "Yes"},
}
PLATFORM_URL_KEYS = ("auth_login_url", "auth_token_url", "key_set_url")
HOST_NAME = re.compile(r"(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*")


class ConfigError(Exception):
    """A configuration problem, phrased as one line for the admin."""


@dataclass(frozen=True)
class JanusServer:
    """One Janus media server (config.json `media.janus[i]`): its HTTP API and its two secrets."""

    url: str
    api_secret: str
    admin_key: str
    weight: float = 1.0  # share of the rooms: a server of weight 2 takes twice the rooms of one of weight 1

    def __repr__(self) -> str:  # never print the secrets
        return f"JanusServer(url={self.url!r})"


@dataclass(frozen=True)
class MailSettings:
    """The SMTP server invitations are sent through (config.json `mail`)."""

    smtp_host: str
    smtp_port: int
    starttls: bool
    username: str | None
    password: str | None
    sender: str  # the `from` key

    def __repr__(self) -> str:  # never print the password
        return f"MailSettings(smtp_host={self.smtp_host!r}, smtp_port={self.smtp_port!r})"


@dataclass(frozen=True)
class TurnServer:
    """The TURN relay (config.json `media.turn`): coturn in its shared-secret REST mode. The secret
    stays on the server; browsers get short-lived credentials derived from it (media/turn.py)."""

    urls: tuple[str, ...]
    secret: str
    ttl_seconds: int = 300

    def __repr__(self) -> str:  # never print the secret
        return f"TurnServer(urls={self.urls!r}, ttl_seconds={self.ttl_seconds})"


@dataclass(frozen=True)
class ToolSettings:
    """The validated configuration that the rest of the app reads."""

    config_path: str
    title: str
    base_url: str
    modules: dict[str, dict[str, Any]]
    roles: dict[str, tuple[str, ...]]
    platforms: dict[str, list[dict[str, Any]]]
    database_url: str
    secret_key: str
    demo: bool
    retention_days: int = 30
    embed_origins: tuple[str, ...] = ()
    redis_url: str | None = None
    trusted_proxies: int = 0
    private_hosts: tuple[str, ...] = ()
    janus: tuple[JanusServer, ...] = ()
    rtp_port_range: str = "20000-40000"
    nat_1_1_mapping: str | None = None
    mail: MailSettings | None = None
    turn: TurnServer | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def load_settings(overrides: dict[str, Any] | None = None) -> ToolSettings:
    overrides = dict(overrides or {})
    path = Path(overrides.pop("config_path", None) or os.environ.get("LTI_TOOL_CONFIG") or DEFAULT_CONFIG_PATH)
    # An explicit config (tests, tools) replaces the file; the file is then not read at all.
    raw = copy.deepcopy(overrides.pop("config")) if "config" in overrides else _read_json(path)
    where = path.name
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: the file must hold one JSON object")

    tool = _section(raw, "tool", where)
    base_url = os.environ.get("LTI_TOOL_BASE_URL") or tool.get("base_url")
    base_url = overrides.pop("base_url", None) or base_url
    base_url = _url(base_url, f"{where}: tool.base_url").rstrip("/")
    title = tool.get("title", "Guest access for rooms")
    if not isinstance(title, str) or not title.strip():
        raise ConfigError(f"{where}: tool.title: must be a non-empty string")

    demo = bool(overrides.pop("demo", False) or _env_flag("LTI_TOOL_DEMO"))
    testing = bool(overrides.get("TESTING"))
    if demo and not _is_loopback(base_url):
        raise ConfigError(
            f"{where}: tool.base_url: demo mode only runs on a loopback address "
            f"(localhost or 127.0.0.1), not {base_url}"
        )
    modules = _modules(raw.get("modules", DEFAULT_MODULES), f"{where}: modules")
    roles = _roles(raw.get("roles", {}), where)
    platforms = _platforms(raw.get("platforms", {}), where)
    media = _section(raw, "media", where)
    embed_origins = media.get("embed_origins", [])
    if not isinstance(embed_origins, list):
        raise ConfigError(f"{where}: media.embed_origins: must be a list of origins")
    for i, origin in enumerate(embed_origins):
        _url(origin, f"{where}: media.embed_origins[{i}]")

    janus = _janus(_janus_env() if os.environ.get("LTI_TOOL_MEDIA_JANUS") else media.get("janus", []), where)
    rtp_port_range = _port_range(media.get("rtp_port_range", "20000-40000"), where)
    nat_1_1_mapping = media.get("nat_1_1_mapping")
    if nat_1_1_mapping is not None and not (isinstance(nat_1_1_mapping, str) and _is_ip(nat_1_1_mapping)):
        raise ConfigError(f"{where}: media.nat_1_1_mapping: must be the public IP address of the Janus host")

    turn = _turn(media.get("turn"), where)

    private_hosts = _private_hosts(_section(raw, "outbound", where).get("private_hosts", []), where)

    retention = _section(raw, "guests", where).get("retention_days", 30)
    if not isinstance(retention, int) or isinstance(retention, bool) or not 1 <= retention <= 3650:
        raise ConfigError(f"{where}: guests.retention_days: must be a whole number of days from 1 to 3650")

    mail = _mail(raw.get("mail"), where)

    # Checked after the whole file, so an admin fixes config.json in one go.
    secret_key = overrides.pop("secret_key", None) or os.environ.get("SECRET_KEY")
    if not secret_key:
        if not (demo or testing):
            raise ConfigError("SECRET_KEY: not set; the tool refuses to start without it outside demo mode")
        instance_dir = Path(overrides.pop("instance_dir", None) or INSTANCE_DIR)
        secret_key = demo_secret_key(instance_dir) if demo else "testing-only-secret"

    return ToolSettings(
        config_path=str(path),
        title=title.strip(),
        base_url=base_url,
        modules=modules,
        roles=roles,
        platforms=platforms,
        database_url=_database_url(overrides.pop("database_url", None)),
        secret_key=secret_key,
        demo=demo,
        retention_days=retention,
        embed_origins=tuple(o.rstrip("/") for o in embed_origins),
        redis_url=os.environ.get("REDIS_URL") or None,
        trusted_proxies=_int_env("TRUSTED_PROXIES", 0),
        private_hosts=private_hosts,
        janus=janus,
        rtp_port_range=rtp_port_range,
        nat_1_1_mapping=nat_1_1_mapping,
        mail=mail,
        turn=turn,
        extra=overrides,
    )


def demo_secret_key(folder: Path) -> str:
    """The demo's SECRET_KEY: random, made once and kept in `folder` (mode 0600).

    Not derived from anything a visitor can know (a key made from the base URL would let anyone forge
    launch tokens on every demo). Several workers may start at once: the file appears complete or not
    at all (written aside, then hard-linked into place; the first link wins).
    """
    path = folder / DEMO_SECRET_FILE
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        fd, aside = tempfile.mkstemp(dir=folder, prefix=f".{DEMO_SECRET_FILE}.")  # mode 0600
        try:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(32))
            with contextlib.suppress(FileExistsError):
                os.link(aside, path)
        finally:
            os.unlink(aside)
    secret = path.read_text().strip()
    if len(secret) < 32:
        raise ConfigError(f"{path}: the demo secret is shorter than 32 characters; delete the file to make a new one")
    return secret


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found (set LTI_TOOL_CONFIG to the right path)") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path.name}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None


def _section(raw: dict, name: str, where: str) -> dict:
    value = raw.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: {name}: must be an object")
    return value


def _url(value: Any, label: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{label}: missing; it must be an http(s) URL")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{label}: {value!r} is not an http(s) URL")
    return value


def _modules(value: Any, label: str) -> dict[str, dict[str, Any]]:
    if not isinstance(value, dict):
        raise ConfigError(f"{label}: must be an object like {json.dumps(DEFAULT_MODULES)}")
    merged = copy.deepcopy(DEFAULT_MODULES)
    for name, settings in value.items():
        if name not in DEFAULT_MODULES:
            raise ConfigError(f"{label}.{name}: unknown module (known: invitetomedia, theming)")
        if not isinstance(settings, dict):
            raise ConfigError(f"{label}.{name}: must be an object")
        if "enabled" in settings and not isinstance(settings["enabled"], bool):
            raise ConfigError(f"{label}.{name}.enabled: must be true or false")
        if "mediapage" in settings and settings["mediapage"] not in ("Yes", "No"):
            raise ConfigError(f'{label}.{name}.mediapage: must be "Yes" or "No"')
        merged[name].update(settings)
    return merged


def _roles(value: Any, where: str) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: roles: must be an object with 'host' and/or 'moderator' lists")
    roles = dict(DEFAULT_ROLE_MAP)
    for name, uris in value.items():
        if name not in ("host", "moderator"):
            raise ConfigError(f"{where}: roles.{name}: unknown role (use 'host' or 'moderator')")
        if not isinstance(uris, list) or not all(isinstance(u, str) and u for u in uris):
            raise ConfigError(f"{where}: roles.{name}: must be a list of role URIs")
        roles[name] = tuple(uris)
    return roles


def _platforms(value: Any, where: str) -> dict[str, list[dict[str, Any]]]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: platforms: must be an object keyed by issuer")
    platforms: dict[str, list[dict[str, Any]]] = {}
    for issuer, regs in value.items():
        _url(issuer, f"{where}: platforms key {issuer!r}")
        if isinstance(regs, dict):
            regs = [regs]
        if not isinstance(regs, list) or not regs:
            raise ConfigError(f"{where}: platforms[{issuer!r}]: must be a list of registrations")
        for i, reg in enumerate(regs):
            label = f"{where}: platforms[{issuer!r}][{i}]"
            if not isinstance(reg, dict):
                raise ConfigError(f"{label}: must be an object")
            if not isinstance(reg.get("client_id"), str) or not reg["client_id"]:
                raise ConfigError(f"{label}.client_id: missing; paste the Client ID that Sakai shows")
            for key in PLATFORM_URL_KEYS:
                _url(reg.get(key), f"{label}.{key}")
            deployments = reg.get("deployment_ids")
            if (
                not isinstance(deployments, list)
                or not deployments
                or not all(isinstance(d, str) and d for d in deployments)
            ):
                raise ConfigError(f'{label}.deployment_ids: must be a non-empty list of strings, e.g. ["1"]')
            if "modules" in reg:
                _modules(reg["modules"], f"{label}.modules")
        platforms[issuer] = regs
    return platforms


def _janus_env() -> Any:
    """`LTI_TOOL_MEDIA_JANUS` (JSON, the same shape as media.janus) wins over the file: `serve --demo`
    passes the Janus it started to its workers this way."""
    try:
        return json.loads(os.environ["LTI_TOOL_MEDIA_JANUS"])
    except json.JSONDecodeError:
        raise ConfigError("LTI_TOOL_MEDIA_JANUS: not valid JSON (a list like media.janus)") from None


def _janus(value: Any, where: str) -> tuple[JanusServer, ...]:
    label = f"{where}: media.janus"
    example = '[{"url": "http://127.0.0.1:8088/janus", "api_secret": "…", "admin_key": "…"}]'
    if not isinstance(value, list):
        raise ConfigError(f"{label}: must be a list of Janus servers, e.g. {example}")
    servers = []
    for i, entry in enumerate(value):
        if not isinstance(entry, dict):
            raise ConfigError(f"{label}[{i}]: must be an object like {example[1:-1]}")
        unknown = sorted(set(entry) - {"url", "api_secret", "admin_key", "weight"})
        if unknown:
            raise ConfigError(f"{label}[{i}]: unknown key {unknown[0]!r} (known: url, api_secret, admin_key, weight)")
        weight = entry.get("weight", 1)
        if not isinstance(weight, (int, float)) or isinstance(weight, bool) or not 0 < weight <= 1000:
            raise ConfigError(f"{label}[{i}].weight: must be a number above 0 (and at most 1000), e.g. 1 or 2.5")
        url = _url(entry.get("url"), f"{label}[{i}].url")
        for key in ("api_secret", "admin_key"):
            if not isinstance(entry.get(key), str) or not entry[key]:
                raise ConfigError(
                    f"{label}[{i}].{key}: missing; 'lti-tool media janus-config DIR' prints the matching entry"
                )
        url = url.rstrip("/")
        if any(s.url == url for s in servers):
            raise ConfigError(f"{label}[{i}].url: {url} is listed twice")
        servers.append(
            JanusServer(url=url, api_secret=entry["api_secret"], admin_key=entry["admin_key"], weight=float(weight))
        )
    return tuple(servers)


MAIL_KEYS = ("smtp_host", "smtp_port", "starttls", "username", "password", "from")


def _mail(value: Any, where: str) -> MailSettings | None:
    """`mail`: absent, null or without `smtp_host` means email is off (invitations are copied by hand)."""
    label = f"{where}: mail"
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ConfigError(f"{label}: must be an object with smtp_host, smtp_port, starttls, username, password, from")
    unknown = sorted(set(value) - set(MAIL_KEYS))
    if unknown:
        raise ConfigError(f"{label}: unknown key {unknown[0]!r} (known: {', '.join(MAIL_KEYS)})")
    host = value.get("smtp_host")
    if host in (None, ""):
        return None
    if not isinstance(host, str) or (not HOST_NAME.fullmatch(host.lower()) and not _is_ip(host)):
        raise ConfigError(f"{label}.smtp_host: must be a host name or IP address, e.g. smtp.example.edu")
    starttls = value.get("starttls", False)
    if not isinstance(starttls, bool):
        raise ConfigError(f"{label}.starttls: must be true or false")
    port = value.get("smtp_port", 587 if starttls else 25)
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        raise ConfigError(f"{label}.smtp_port: must be a port number from 1 to 65535")
    credentials = {}
    for key in ("username", "password"):
        item = value.get(key)
        if item is not None and not (isinstance(item, str) and item):
            raise ConfigError(f"{label}.{key}: must be a non-empty string, or left out")
        credentials[key] = item
    if (credentials["username"] is None) != (credentials["password"] is None):
        raise ConfigError(f"{label}: username and password go together (give both, or neither)")
    sender = value.get("from")
    if not isinstance(sender, str) or "@" not in sender or any(c in sender for c in "\r\n"):
        raise ConfigError(f'{label}.from: must be the sender address, e.g. "Rooms <rooms@example.edu>"')
    return MailSettings(host, port, starttls, credentials["username"], credentials["password"], sender)


TURN_URL = re.compile(r"(turns?):(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::([0-9]{1,5}))?(?:\?transport=(udp|tcp))?")
TURN_TTL = (60, 86400)


def _turn(value: Any, where: str) -> TurnServer | None:
    label = f"{where}: media.turn"
    example = '{"urls": ["turn:turn.example.edu:3478?transport=udp"], "secret": "…", "ttl_seconds": 300}'
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ConfigError(f"{label}: must be an object like {example}")
    unknown = sorted(set(value) - {"urls", "secret", "ttl_seconds"})
    if unknown:
        raise ConfigError(f"{label}: unknown key {unknown[0]!r} (known: urls, secret, ttl_seconds)")
    urls = value.get("urls")
    if not isinstance(urls, list) or not urls:
        raise ConfigError(f"{label}.urls: must be a non-empty list of TURN URLs, e.g. {example}")
    for i, url in enumerate(urls):
        match = TURN_URL.fullmatch(url) if isinstance(url, str) else None
        port = int(match[3]) if match and match[3] else 1
        if match is None or not 1 <= port <= 65535 or (match[1] == "turns" and match[4] == "udp"):
            raise ConfigError(
                f"{label}.urls[{i}]: {url!r} is not a TURN URL like turn:host:3478?transport=udp, "
                "turn:host:3478?transport=tcp or turns:host:443"
            )
    secret = value.get("secret")
    if not isinstance(secret, str) or len(secret) < 16:
        raise ConfigError(
            f"{label}.secret: must be coturn's static-auth-secret, at least 16 characters "
            "('lti-tool media turn-config' makes one)"
        )
    ttl = value.get("ttl_seconds", 300)
    if not isinstance(ttl, int) or isinstance(ttl, bool) or not TURN_TTL[0] <= ttl <= TURN_TTL[1]:
        raise ConfigError(f"{label}.ttl_seconds: must be a whole number of seconds from {TURN_TTL[0]} to {TURN_TTL[1]}")
    return TurnServer(urls=tuple(urls), secret=secret, ttl_seconds=ttl)


def _port_range(value: Any, where: str) -> str:
    label = f"{where}: media.rtp_port_range"
    match = re.fullmatch(r"([0-9]{1,5})-([0-9]{1,5})", value) if isinstance(value, str) else None
    low, high = (int(match[1]), int(match[2])) if match else (0, 0)
    if not (1024 <= low < high <= 65535):
        raise ConfigError(f'{label}: must be "LOW-HIGH" UDP ports between 1024 and 65535, e.g. "20000-40000"')
    return value


def _private_hosts(value: Any, where: str) -> tuple[str, ...]:
    """Hosts the tool may contact at private addresses (lti_tool/http.py `Destinations`): a host name
    (any port) or an origin `https://host:port` (that port only)."""
    label = f"{where}: outbound.private_hosts"
    if not isinstance(value, list):
        raise ConfigError(f'{label}: must be a list of host names or origins, e.g. ["sakai.example.edu"]')
    entries = []
    for i, entry in enumerate(value):
        text = entry.strip().lower().rstrip("./") if isinstance(entry, str) else ""
        if "://" in text:
            parts = urlsplit(text)
            normal = http.normal_origin(text) if not (parts.path or parts.query or parts.username) else ""
        else:
            normal = text if HOST_NAME.fullmatch(text) or _is_ip(text) else ""
        if not normal:
            raise ConfigError(
                f"{label}[{i}]: {entry!r} is neither a host name (sakai.example.edu) nor an origin "
                "(https://sakai.example.edu:8443)"
            )
        entries.append(normal)
    return tuple(entries)


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _database_url(override: str | None) -> str:
    url = override or os.environ.get("DATABASE_URL") or f"sqlite:///{PROJECT_ROOT / 'instance' / 'lti_tool.sqlite3'}"
    try:
        make_url(url)
    except ArgumentError:
        raise ConfigError("DATABASE_URL: not a database URL (e.g. postgresql+psycopg://user@host/dbname)") from None
    return url


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name}: must be a whole number, not {raw!r}") from None


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
