"""PyJWT's `decode`, with its check of the token's base64url segments done in C.

Since GHSA-hxm8-2xgr-2p9m, PyJWT checks each segment one byte at a time in a Python generator
(`PyJWS._decode_base64url_segment`). For a Sakai id_token (2.5 kB) that is 70–100 µs, as much as
the RS256 signature check itself. `_FastSegmentsJWS` runs the same checks in the same order and
raises the same errors, but finds a byte outside the alphabet with `bytes.translate`.

It replaces a private method, so it is used only while PyJWT's method is the one it was checked
against (the SHA-256 of its source below); after any change there, plain PyJWT decodes. The
tests compare both on valid, padded and malformed segments.
"""

from __future__ import annotations

import binascii
import hashlib
import inspect

import jwt
from jwt.api_jws import PyJWS
from jwt.exceptions import DecodeError
from jwt.utils import base64url_decode, base64url_encode

ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# `PyJWS._decode_base64url_segment` of PyJWT 2.15.1, which `_FastSegmentsJWS` reproduces.
CHECKED_SOURCE = "c00c1d4615f8809dd3f46a36f4fd4f8591cc0a9860afc2b7bc0182dc099159a4"


class _FastSegmentsJWS(PyJWS):
    @staticmethod
    def _decode_base64url_segment(segment: bytes, name: str) -> bytes:
        stripped = segment.rstrip(b"=")
        padding = len(segment) - len(stripped)
        if padding > 2 or (padding and len(segment) % 4 != 0):
            raise DecodeError(f"Invalid {name} padding")
        if len(stripped) % 4 == 1 or stripped.translate(None, ALPHABET):
            raise DecodeError(f"Invalid {name} padding")
        try:
            decoded = base64url_decode(stripped)
        except (TypeError, binascii.Error) as err:
            raise DecodeError(f"Invalid {name} padding") from err
        if base64url_encode(decoded) != stripped:  # non-canonical trailing bits
            raise DecodeError(f"Invalid {name} padding")
        return decoded


def source_digest() -> str | None:
    """SHA-256 of the installed PyJWT's segment check, or None when it has none or no source."""
    method = getattr(PyJWS, "_decode_base64url_segment", None)
    try:
        return hashlib.sha256(inspect.getsource(method).encode()).hexdigest() if method else None
    except (OSError, TypeError):
        return None


def _decoder() -> jwt.PyJWT:
    decoder = jwt.PyJWT()
    if source_digest() == CHECKED_SOURCE:
        decoder._jws = _FastSegmentsJWS(options=decoder._jws.options)
    return decoder


DECODER = _decoder()
decode = DECODER.decode
