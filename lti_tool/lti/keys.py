"""The tool's own RSA keys in `keys/`: `tool-<timestamp>.pem` files; the newest signs.

Older files stay in the JWKS until they are retired, so platforms that cached the old key keep
verifying during a rotation (LTI Security Framework §6.3).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ..clock import utcnow

KEY_GLOB = "tool-*.pem"
STAMP = "%Y%m%dT%H%M%S%f"


@dataclass(frozen=True)
class ToolKey:
    kid: str
    path: Path
    private_pem: bytes

    @property
    def private_key(self) -> rsa.RSAPrivateKey:
        return _load_private(self.private_pem)

    def public_jwk(self) -> dict[str, str]:
        numbers = self.private_key.public_key().public_numbers()
        return {
            "kty": "RSA",
            "alg": "RS256",
            "use": "sig",
            "kid": self.kid,
            "e": _b64(numbers.e),
            "n": _b64(numbers.n),
        }


@cache
def _load_private(pem: bytes) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def _b64(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def thumbprint(jwk: dict[str, str]) -> str:
    """RFC 7638 JWK thumbprint: a kid that is stable for the key and reveals nothing else."""
    canonical = json.dumps({k: jwk[k] for k in ("e", "kty", "n")}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()


def write_private_key(path: Path, key: rsa.RSAPrivateKey) -> None:
    """Write with mode 0600 from the start; never world-readable, not even briefly."""
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)


def generate_key(keys_dir: Path) -> Path:
    """Create a new signing key; it becomes the current one."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    stamp = utcnow().astimezone(UTC).strftime(STAMP)
    path = keys_dir / f"tool-{stamp}.pem"
    write_private_key(path, key)
    return path


def load_keys(keys_dir: Path) -> list[ToolKey]:
    """All tool keys, oldest first; the last one signs."""
    keys = []
    for path in sorted(keys_dir.glob(KEY_GLOB)):
        pem = path.read_bytes()
        key = _load_private(pem)
        numbers = key.public_key().public_numbers()
        kid = thumbprint({"kty": "RSA", "e": _b64(numbers.e), "n": _b64(numbers.n)})
        keys.append(ToolKey(kid=kid, path=path, private_pem=pem))
    return keys


def ensure_key(keys_dir: Path) -> None:
    if not list(keys_dir.glob(KEY_GLOB)):
        generate_key(keys_dir)


def jwks(keys: list[ToolKey]) -> dict[str, list[dict[str, str]]]:
    return {"keys": [k.public_jwk() for k in keys]}


# -- rotation ------------------------------------------------------------------------------------
# Platforms cache a tool's JWKS (Sakai for hours); a retired key must stay published at least that
# long after the new one started signing, or launches signed before the switch stop verifying.
RETIRE_AFTER = timedelta(hours=24)
RETIRED_DIR = "retired"


def created_at(path: Path) -> datetime:
    """When a key was made: the stamp in its file name (written by `generate_key`), else mtime."""
    try:
        return datetime.strptime(path.stem.removeprefix("tool-"), STAMP).replace(tzinfo=UTC)
    except ValueError:
        return datetime.fromtimestamp(path.stat().st_mtime, UTC)


def rotate_key(keys_dir: Path) -> Path:
    """A new key signs from now on; the previous ones stay in the JWKS until retired."""
    newest = load_keys(keys_dir)
    if newest and created_at(newest[-1].path) >= utcnow():
        raise KeyRotationError("The newest key was made just now; try again in a second.")
    return generate_key(keys_dir)


def retire_keys(keys_dir: Path, *, force: bool = False) -> list[ToolKey]:
    """Move every key but the signing one to keys/retired/ once the grace period has passed."""
    found = load_keys(keys_dir)
    if len(found) < 2:
        raise KeyRotationError("Nothing to retire: only the signing key is published.")
    signing_since = created_at(found[-1].path)
    ready_at = signing_since + RETIRE_AFTER
    if not force and utcnow() < ready_at:
        raise KeyRotationError(
            f"The current key has signed only since {signing_since:%Y-%m-%d %H:%M} UTC; platforms may still "
            f"cache the previous key. Retire after {ready_at:%Y-%m-%d %H:%M} UTC, or pass --force."
        )
    retired_dir = keys_dir / RETIRED_DIR
    retired_dir.mkdir(mode=0o700, exist_ok=True)
    for key in found[:-1]:
        key.path.rename(retired_dir / key.path.name)
    return found[:-1]


class KeyRotationError(Exception):
    """A rotation step that must not happen now; the message says why and what to do."""
