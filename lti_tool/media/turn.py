"""The one seam to coturn: short-lived TURN credentials, and coturn's (and Janus's) TURN settings.

coturn runs in its shared-secret REST mode (`use-auth-secret` + `static-auth-secret`, from
draft-uberti-behave-turn-rest-00 §2.2): a credential is `username = "<unix expiry>:<opaque id>"`,
`password = base64(HMAC-SHA1(secret, username))`; coturn recomputes it and refuses an expired one.
Nothing is stored and nothing needs revoking: the tool simply stops handing out new ones.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import math
import secrets
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from ..config import TURN_URL, TurnServer

# A credential's expiry is rounded up to the next minute, so one person's page keeps one username
# for a minute (coturn's user-quota counts allocations per username) and reveals no exact clock.
ROUND_TO = 60
JANUS_CREDENTIAL_DAYS = 400  # Janus's own static credential (janus-config --turn): renew it yearly


def password(secret: str, username: str) -> str:
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def opaque_id(secret: str, subject: str) -> str:
    """A stable, meaningless name for a person in coturn's log (their key never leaves the tool)."""
    digest = hmac.new(secret.encode(), b"turn-id:" + subject.encode(), hashlib.sha256).digest()
    return base64.b32encode(digest[:10]).decode().lower()


@dataclass(frozen=True)
class Credential:
    username: str
    password: str
    expires_at: int  # unix seconds


def credential(turn: TurnServer, subject: str, now: datetime) -> Credential:
    """A credential for `subject` (room + person) valid `turn.ttl_seconds` from `now` (≤ 1 min more)."""
    expiry = math.ceil((now.timestamp() + turn.ttl_seconds) / ROUND_TO) * ROUND_TO
    username = f"{expiry}:{opaque_id(turn.secret, subject)}"
    return Credential(username, password(turn.secret, username), expiry)


def ice_servers(turn: TurnServer | None, subject: str, now: datetime) -> tuple[list[dict], int | None]:
    """The page's RTCPeerConnection `iceServers` (and when they expire); none without a TURN server."""
    if turn is None:
        return [], None
    cred = credential(turn, subject, now)
    return [{"urls": list(turn.urls), "username": cred.username, "credential": cred.password}], cred.expires_at


def connectivity_servers(turn: TurnServer | None, subject: str, now: datetime) -> list[dict]:
    """For the admin page's connectivity test: coturn as a STUN server (server-reflexive candidates)
    and as TURN (relay candidates), each URL on its own so the page can tell which one works."""
    if turn is None:
        return []
    cred = credential(turn, subject, now)
    stun = []
    for url in turn.urls:
        match = TURN_URL.fullmatch(url)
        if match[1] == "turn":
            address = f"stun:{match[2]}:{match[3] or 3478}"
            if address not in stun:
                stun.append(address)
    relay = [{"urls": [url], "username": cred.username, "credential": cred.password} for url in turn.urls]
    return [{"urls": stun}, *relay] if stun else relay


# --- coturn's own configuration (`lti-tool media turn-config`) -------------------------------------

# Every range a relay must not reach on the operator's behalf (RFC 6890 special-purpose registries):
# without these a TURN server is an open proxy into the campus network.
DENIED_PEERS = (
    "0.0.0.0-0.255.255.255",
    "10.0.0.0-10.255.255.255",
    "100.64.0.0-100.127.255.255",
    "127.0.0.0-127.255.255.255",
    "169.254.0.0-169.254.255.255",
    "172.16.0.0-172.31.255.255",
    "192.0.0.0-192.0.0.255",
    "192.0.2.0-192.0.2.255",
    "192.88.99.0-192.88.99.255",
    "192.168.0.0-192.168.255.255",
    "198.18.0.0-198.19.255.255",
    "198.51.100.0-198.51.100.255",
    "203.0.113.0-203.0.113.255",
    "224.0.0.0-255.255.255.255",
    "::1",
    "64:ff9b::-64:ff9b::ffff:ffff",
    "::ffff:0.0.0.0-::ffff:255.255.255.255",
    "100::-100::ffff:ffff:ffff:ffff",
    "2001::-2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff",
    "2002::-2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    "fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    "fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
)
USER_QUOTA = 100  # allocations per username: one page makes one per peer connection and TURN URL
TOTAL_QUOTA = 2000


@dataclass(frozen=True)
class CoturnSetup:
    secret: str
    realm: str
    media_ips: tuple[str, ...]
    listening_port: int = 3478
    tls_port: int | None = None
    min_port: int = 49152
    max_port: int = 65535


def coturn_config(setup: CoturnSetup) -> str:
    """A hardened turnserver.conf: REST credentials only, no relay to private or special addresses
    except the media servers (`allowed-peer-ip` overrides `denied-peer-ip`), quotas, no CLI."""
    lines = [
        "# coturn for lti-tool (lti-tool media turn-config). Keep this file secret (mode 0600).",
        f"listening-port={setup.listening_port}",
        *(
            [f"tls-listening-port={setup.tls_port}", "cert=/etc/coturn/cert.pem", "pkey=/etc/coturn/key.pem"]
            if setup.tls_port
            else ["no-tls", "no-dtls"]
        ),
        f"min-port={setup.min_port}",
        f"max-port={setup.max_port}",
        "fingerprint",
        "use-auth-secret",
        f"static-auth-secret={setup.secret}",
        f"realm={setup.realm}",
        f"user-quota={USER_QUOTA}",
        f"total-quota={TOTAL_QUOTA}",
        "stale-nonce=600",
        "no-multicast-peers",
        "no-cli",
        "no-tlsv1",
        "no-tlsv1_1",
        "no-rfc5780",
        "no-stun-backward-compatibility",
        "response-origin-only-with-rfc5780",
        "simple-log",
        "# No relay to private, loopback, link-local, multicast or reserved addresses ...",
        *(f"denied-peer-ip={r}" for r in DENIED_PEERS),
        "# ... except the media servers (their ICE candidates).",
        *(f"allowed-peer-ip={ip}" for ip in setup.media_ips),
        "",
    ]
    return "\n".join(lines)


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def media_ips(janus_urls: list[str], nat_1_1_mapping: str | None) -> list[str]:
    """The media servers' addresses known from config: a Janus API address that is an IP and not
    loopback (its ICE candidates are on it), and the public address of `nat_1_1_mapping`."""
    found = []
    for url in janus_urls:
        host = urlsplit(url).hostname or ""
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            continue
        if not address.is_loopback and str(address) not in found:
            found.append(str(address))
    if nat_1_1_mapping and nat_1_1_mapping not in found:
        found.append(nat_1_1_mapping)
    return found


# --- Janus's TURN (janus-config --turn) ---------------------------------------------------------


@dataclass(frozen=True)
class JanusTurn:
    """Static TURN for Janus's nat section: server, port, type (udp/tcp/tls), and a long-term REST
    credential (Janus's `turn_rest_api` would need an HTTP endpoint; a static one needs none)."""

    server: str
    port: int
    type: str
    user: str
    pwd: str


def janus_turn(turn: TurnServer, now: datetime) -> JanusTurn:
    """The first UDP `turn:` URL (else the first URL), with a credential that lasts JANUS_CREDENTIAL_DAYS."""
    parsed = [TURN_URL.fullmatch(url) for url in turn.urls]
    udp = [m for m in parsed if m and m[1] == "turn" and (m[4] or "udp") == "udp"]
    match = (udp or parsed)[0]
    kind = "tls" if match[1] == "turns" else (match[4] or "udp")
    port = int(match[3]) if match[3] else (5349 if kind == "tls" else 3478)
    username = f"{int(now.timestamp()) + JANUS_CREDENTIAL_DAYS * 86400}:janus"
    return JanusTurn(match[2].strip("[]"), port, kind, username, password(turn.secret, username))
