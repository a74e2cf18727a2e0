"""The id_token's segments are checked exactly as PyJWT checks them, only faster (lti_tool/lti/jws.py)."""

from __future__ import annotations

import os

import pytest
from jwt.api_jws import PyJWS
from jwt.exceptions import DecodeError
from jwt.utils import base64url_encode

from lti_tool.lti import jws
from tests.lti.test_launch import assert_refused, post_launch

SAME_PYJWT = jws.source_digest() == jws.CHECKED_SOURCE
needs_checked_pyjwt = pytest.mark.skipif(
    not SAME_PYJWT,
    reason="PyJWT's segment check is not the one lti_tool/lti/jws.py was checked against: plain PyJWT decodes "
    "(review jws.py and update CHECKED_SOURCE)",
)


def outcome(check, segment: bytes):
    try:
        return check(segment, "payload")
    except DecodeError as exc:
        return ("DecodeError", str(exc))


def segments() -> list[bytes]:
    valid = [base64url_encode(os.urandom(n)) for n in range(0, 34)]
    padded = [v + b"=" * (-len(v) % 4) for v in valid]
    cases = valid + padded + [b"", b"=", b"==", b"===", b"A", b"AB=", b"QR", b"QQ", b"QR==", b"QQ==", b"A=B="]
    cases += [v + b"=" * extra for v in valid[1:8] for extra in range(1, 5)]
    for seed in valid[5:9]:  # every byte value at the start, the middle and the end
        for position in (0, len(seed) // 2, len(seed) - 1):
            cases += [seed[:position] + bytes([b]) + seed[position + 1 :] for b in range(256)]
    return cases


@needs_checked_pyjwt
def test_fast_check_agrees_with_pyjwt_on_every_case():
    cases = segments()
    assert len(cases) > 3000
    original, fast = PyJWS._decode_base64url_segment, jws._FastSegmentsJWS._decode_base64url_segment
    differing = [case for case in cases if outcome(original, case) != outcome(fast, case)]
    assert differing == []
    refused = sum(isinstance(outcome(fast, case), tuple) for case in cases)
    assert 0 < refused < len(cases)  # the corpus holds both kinds


@needs_checked_pyjwt
def test_launches_decode_with_the_fast_check():
    assert type(jws.DECODER._jws) is jws._FastSegmentsJWS


def test_a_changed_pyjwt_decodes_with_its_own_check(monkeypatch):
    monkeypatch.setattr(jws, "CHECKED_SOURCE", "something else")
    assert type(jws._decoder()._jws) is PyJWS


def test_junk_in_the_signature_segment_is_refused(client, platform):
    def junk(body):
        header, payload, signature = platform.sign(body).split(".")
        return f"{header}.{payload}.{signature}!!"

    assert_refused(post_launch(client, platform, sign=junk), 400, "signature could not be verified")
