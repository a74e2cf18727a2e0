"""Outbound HTTP with a hard total deadline, a size cap and a pinned, checked address; never follows redirects.

`requests`' own timeout is per socket operation, so a server that drips one byte at a time keeps a
plain `requests.get(..., timeout=5)` (or `iter_content`, which waits for a whole chunk) busy for as
long as it likes. Here every read returns what has arrived (`read1`), the socket's timeout shrinks
to what is left of the deadline, and the total time is checked after each read.

The URLs come from outsiders (a platform's openid-configuration, its registration endpoint, its key
set), so the host name is resolved once, every address it resolves to is checked against
`Destinations`, and the connection goes to a checked address: a DNS answer that changes between the
check and the connect (DNS rebinding) cannot steer the request into the tool's own network. The
request still carries the host name in `Host`, and over https the TLS SNI and the certificate check
use the host name (urllib3's documented `server_hostname` / `assert_hostname`), not the address.
A redirect is handed back to the caller, never followed, so no second address goes unchecked.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import NewConnectionError, ReadTimeoutError

if TYPE_CHECKING:
    from .config import ToolSettings

CHUNK = 8192
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class FetchError(Exception):
    """The exchange failed; `reason` is a short code for logs ("timeout", "too_large", "unreachable",
    "dns", "not_public_address")."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Fetched:
    status: int
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class Destinations:
    """Which addresses an outbound fetch may connect to.

    Public (globally routable) addresses always. Any unicast address for the entries of `private`:
    a host name (any port) or an origin `scheme://host:port` — an admin's Sakai on the campus
    network. Loopback addresses when `loopback` is set (demo and test mode: a platform on the same
    machine).
    """

    private: frozenset[str] = frozenset()
    loopback: bool = False

    @classmethod
    def of(cls, settings: ToolSettings, *, testing: bool) -> Destinations:
        """The app's policy: `outbound.private_hosts`, plus the origins of the platform URLs an admin
        wrote into config.json (their key sets were always fetched wherever they are)."""
        from .config import PLATFORM_URL_KEYS  # config.py reads `normal_origin` from here

        private = set(settings.private_hosts)
        for registrations in settings.platforms.values():
            for reg in registrations:
                private.update(normal_origin(reg[key]) for key in PLATFORM_URL_KEYS)
        return cls(private=frozenset(private - {""}), loopback=settings.demo or testing)

    def permits(self, url: str, address: IPAddress) -> bool:
        if isinstance(address, ipaddress.IPv6Address):
            # An IPv4 address wrapped in IPv6 reaches that IPv4 address: judge that one.
            if address.ipv4_mapped:
                address = address.ipv4_mapped
            elif address in NAT64:
                address = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if address.is_multicast or address.is_unspecified:
            return False
        if _host(url) in self.private or normal_origin(url) in self.private:
            return True
        if self.loopback and address.is_loopback:
            return True
        return address.is_global


def normal_origin(url: str) -> str:
    """`scheme://host:port` as compared here: lower case, IDNA, the port always written out; "" for
    what is not an http(s) URL."""
    parts = urlsplit(url)
    host = _host(url)
    if parts.scheme not in ("http", "https") or not host:
        return ""
    try:
        port = _port(parts)
    except FetchError:
        return ""
    return f"{parts.scheme}://{f'[{host}]' if ':' in host else host}:{port}"


def fetch_limited(
    url: str,
    method: str = "GET",
    *,
    deadline: float,
    max_bytes: int,
    destinations: Destinations,
    **kwargs: Any,
) -> Fetched:
    """One HTTP exchange that ends within `deadline` seconds (connect included) with ≤ `max_bytes`,
    to an address that `destinations` permits.

    Redirects are not followed: the caller sees the 3xx status.
    """
    started = time.monotonic()
    parts = urlsplit(url)
    host = _host(url)
    if parts.scheme not in ("http", "https") or not host:
        raise FetchError("bad_url")
    port = _port(parts)
    addresses = resolve(host, port)
    if not all(destinations.permits(url, address) for address in addresses):
        raise FetchError("not_public_address")
    for address in addresses:
        remaining = deadline - (time.monotonic() - started)
        if remaining <= 0:
            raise FetchError("timeout")
        try:
            return _exchange(method, url, address, remaining, max_bytes, **kwargs)
        except requests.ConnectionError as exc:
            if not _never_connected(exc):
                raise FetchError("unreachable") from None
    raise FetchError("unreachable")


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to, in the resolver's order, each once (the one DNS lookup)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError):
        raise FetchError("dns") from None
    addresses: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise FetchError("dns")
    return addresses


class PinnedAdapter(HTTPAdapter):
    """Sends to a URL whose host is the checked address; TLS names and verifies `hostname`.

    `build_connection_pool_key_attributes` is requests' documented hook for changing the TLS
    parameters of the urllib3 pool; `server_hostname` sets the SNI and `assert_hostname` the name
    the certificate must carry.
    """

    def __init__(self, hostname: str) -> None:
        self.hostname = hostname
        super().__init__(max_retries=0)

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        if host_params["scheme"] == "https":
            pool_kwargs["server_hostname"] = self.hostname
            pool_kwargs["assert_hostname"] = self.hostname
        return host_params, pool_kwargs


def _exchange(
    method: str,
    url: str,
    address: IPAddress,
    deadline: float,
    max_bytes: int,
    headers: dict[str, str] | None = None,
    **kwargs: Any,
) -> Fetched:
    started = time.monotonic()
    parts = urlsplit(url)
    literal = f"[{address}]" if address.version == 6 else str(address)
    pinned = urlunsplit((parts.scheme, f"{literal}:{_port(parts)}", parts.path, parts.query, ""))
    host = _host(url)
    name = f"[{host}]" if ":" in host else host
    headers = {**(headers or {}), "Host": name if parts.port is None else f"{name}:{parts.port}"}
    timeout = (min(2.0, deadline), deadline)
    try:
        with requests.Session() as session:
            session.mount(f"{parts.scheme}://", PinnedAdapter(host))
            with session.request(
                method, pinned, headers=headers, timeout=timeout, stream=True, allow_redirects=False, **kwargs
            ) as resp:
                body = bytearray()
                while True:
                    remaining = deadline - (time.monotonic() - started)
                    if remaining <= 0:
                        raise FetchError("timeout")
                    _limit_socket_wait(resp, remaining)
                    chunk = resp.raw.read1(CHUNK, decode_content=True)
                    if not chunk:
                        break
                    body.extend(chunk)
                    if len(body) > max_bytes:
                        raise FetchError("too_large")
                return Fetched(resp.status_code, bytes(body), dict(resp.headers))
    except (requests.Timeout, ReadTimeoutError, TimeoutError):
        raise FetchError("timeout") from None
    except requests.ConnectionError:
        raise  # fetch_limited decides whether another address is worth trying
    except (requests.RequestException, Urllib3Error, OSError):
        raise FetchError("unreachable") from None


def _never_connected(exc: requests.ConnectionError) -> bool:
    """The TCP connection was refused or unreachable: nothing was sent, so the next address may be
    tried (as urllib3 itself does when it resolves the name)."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError)


def _host(url: str) -> str:
    """The URL's host name as DNS and TLS see it (lower case, IDNA, no trailing dot); "" if none."""
    try:
        return (urlsplit(url).hostname or "").rstrip(".").encode("idna").decode("ascii")
    except (ValueError, UnicodeError):
        return ""


def _port(parts) -> int:
    try:
        return parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise FetchError("bad_url") from None


def _limit_socket_wait(resp: requests.Response, remaining: float) -> None:
    """A single blocked read may not outlast the deadline (best effort: urllib3 keeps the socket)."""
    sock = getattr(getattr(resp.raw, "_connection", None), "sock", None)
    if sock is not None:
        sock.settimeout(max(remaining, 0.01))
