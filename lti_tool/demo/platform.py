"""The demo platform's identity: its key, issuer and registration, built like a Sakai one."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import time
import uuid
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ..config import ToolSettings
from ..lti import claims
from ..lti.keys import write_private_key

CLIENT_ID = "demo-client"
DEPLOYMENT_ID = "1"
KEY_FILE = "demo-platform.pem"
KID = "605831764"  # Sakai uses signed 32-bit decimal kids

USERS = {
    "instructor": {
        "name": "Ada Instructor",
        "email": "ada@demo.invalid",
        "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"],
    },
    "ta": {
        "name": "Tom Assistant",
        "email": "tom@demo.invalid",
        "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor#TeachingAssistant"],
    },
    "student": {
        "name": "Sam Student",
        "email": "sam@demo.invalid",
        "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
    },
}


def lms_url(settings: ToolSettings) -> str:
    return (os.environ.get("LTI_TOOL_DEMO_LMS_URL") or settings.base_url).rstrip("/")


def issuer(settings: ToolSettings) -> str:
    return lms_url(settings) + "/demo"


def private_key(keys_dir: Path) -> rsa.RSAPrivateKey:
    path = keys_dir / KEY_FILE
    if not path.exists():
        with contextlib.suppress(FileExistsError):  # another worker made it first
            write_private_key(path, rsa.generate_private_key(public_exponent=65537, key_size=2048))
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def jwks(keys_dir: Path) -> dict:
    numbers = private_key(keys_dir).public_key().public_numbers()

    def b64(n: int) -> str:
        return base64.urlsafe_b64encode(n.to_bytes((n.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()

    return {
        "keys": [
            {
                "kty": "RSA",
                "alg": "RS256",
                "use": "sig",
                "kid": KID,
                "e": b64(numbers.e),
                "n": b64(numbers.n),
            }
        ]
    }


def add_demo_platform(settings: ToolSettings, keys_dir: Path) -> None:
    """Register the demo LMS like any platform; its key set is given inline (no self-fetch)."""
    base = issuer(settings)
    settings.platforms[base] = [
        {
            "client_id": CLIENT_ID,
            "auth_login_url": base + "/oidc_auth",
            "auth_token_url": base + "/token",
            "key_set_url": base + "/keyset",
            "key_set": jwks(keys_dir),
            "deployment_ids": [DEPLOYMENT_ID],
            "default": True,
        }
    ]


def encode_login_hint(user: str, room: str) -> str:
    raw = json.dumps({"user": user, "room": room}).encode()
    return base64.urlsafe_b64encode(raw).decode().replace("=", ".")


def decode_login_hint(hint: str) -> dict:
    try:
        data = json.loads(base64.urlsafe_b64decode(hint.replace(".", "=").encode()))
    except (ValueError, TypeError):
        return {}
    return data if isinstance(data, dict) else {}


ROOMS = {
    "room": {"id": "content:1", "title": "Weekly seminar room", "custom": {}},
    "gallery": {
        "id": "content:2",
        "title": "Course media gallery",
        "custom": {"room_type": "mediagallery"},
    },
}


def id_token(settings: ToolSettings, keys_dir: Path, *, user: str, room: str, nonce: str, target: str) -> str:
    """An id_token shaped like Sakai's (aud a string, no azp, full-URI roles, Sakai claims)."""
    person, placement, iss = USERS[user], ROOMS[room], issuer(settings)
    now = int(time.time())
    body = {
        "iss": iss,
        "aud": CLIENT_ID,
        "sub": f"{iss}/user/{user}",
        "iat": now,
        "exp": now + 3600,
        "jti": str(uuid.uuid4()),
        "nonce": nonce,
        "name": person["name"],
        "email": person["email"],
        "locale": "en_US",
        claims.DEPLOYMENT_ID: DEPLOYMENT_ID,
        claims.TARGET_LINK_URI: target,
        claims.MESSAGE_TYPE: claims.RESOURCE_LINK_REQUEST,
        claims.VERSION: "1.3.0",
        claims.ROLES: person["roles"],
        claims.RESOURCE_LINK: {"id": placement["id"], "title": placement["title"]},
        claims.CONTEXT: {
            "id": "demo-site",
            "label": "DEMO 101",
            "title": "DEMO 101: Trying the guest-access tool",
            "type": ["http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"],
        },
        claims.CUSTOM: placement["custom"],
        claims.LAUNCH_PRESENTATION: {
            "document_target": "iframe",
            "return_url": lms_url(settings) + "/demo",
        },
        claims.TOOL_PLATFORM: {
            "name": "Demo LMS",
            "product_family_code": "sakai",
            "version": "23.3",
            "guid": "demo",
        },
        claims.SAKAI_EXTENSION: {
            "sakai_role": user,
            "sakai_server": lms_url(settings),
            "sakai_serverid": "demo",
        },
    }
    pem = private_key(keys_dir).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return jwt.encode(body, pem, algorithm="RS256", headers={"kid": KID})
