"""Outbound HTTP with a hard total deadline and a size cap, never following redirects.

`requests`' own timeout is per socket operation, so a server that drips one byte at a time keeps a
plain `requests.get(..., timeout=5)` (or `iter_content`, which waits for a whole chunk) busy for as
long as it likes. Here every read returns what has arrived (`read1`), the socket's timeout shrinks
to what is left of the deadline, and the total time is checked after each read.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import requests
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import ReadTimeoutError

CHUNK = 8192


class FetchError(Exception):
    """The exchange failed; `reason` is a short code for logs ("timeout", "too_large", "unreachable")."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Fetched:
    status: int
    body: bytes
    headers: dict[str, str]


def fetch_limited(url: str, method: str = "GET", *, deadline: float, max_bytes: int, **kwargs: Any) -> Fetched:
    """One HTTP exchange that ends within `deadline` seconds (connect included) with ≤ `max_bytes`.

    Redirects are not followed: the caller sees the 3xx status.
    """
    started = time.monotonic()
    timeout = (min(2.0, deadline), deadline)
    try:
        with requests.request(method, url, timeout=timeout, stream=True, allow_redirects=False, **kwargs) as resp:
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
    except (requests.RequestException, Urllib3Error, OSError):
        raise FetchError("unreachable") from None


def _limit_socket_wait(resp: requests.Response, remaining: float) -> None:
    """A single blocked read may not outlast the deadline (best effort: urllib3 keeps the socket)."""
    sock = getattr(getattr(resp.raw, "_connection", None), "sock", None)
    if sock is not None:
        sock.settimeout(max(remaining, 0.01))
