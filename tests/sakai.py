"""A test platform that behaves like Sakai 23–25 (shared/reference/sakai-lti13.md), not like a
textbook platform: GET login initiation without `lti_message_hint`, `lti_storage_target=_parent`,
`aud` a string, no `azp`, numeric-string `kid`, full-URI roles, custom claim always present,
the Sakai extension claim, and a JWKS served over real HTTP on 127.0.0.1.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.loopback import QuietHandler, serve

ISSUER = "https://sakai.test"
CLIENT_ID = "c1f2b0a4-6d2e-4e5e-9a55-1c7f3e2a9b10"
DEPLOYMENT_ID = "1"
TOOL_BASE = "https://tool.test"
LAUNCH_URL = TOOL_BASE + "/lti/launch"
MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
ROLES = {
    "Instructor": [MEMBERSHIP + "Instructor"],
    "TeachingAssistant": [MEMBERSHIP + "Instructor#TeachingAssistant"],
    "Student": [MEMBERSHIP + "Learner"],
    "Mentor": [MEMBERSHIP + "Mentor"],
    "ContentDeveloper": [MEMBERSHIP + "ContentDeveloper"],
    "Admin": [
        MEMBERSHIP + "Instructor",
        "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator",
        "http://purl.imsglobal.org/vocab/lis/v2/system/person#Administrator",
    ],
}
C = "https://purl.imsglobal.org/spec/lti/claim/"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def public_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, str]:
    numbers = key.public_key().public_numbers()

    def b64(n: int) -> str:
        return base64.urlsafe_b64encode(n.to_bytes((n.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()

    return {
        "kty": "RSA",
        "alg": "RS256",
        "use": "sig",
        "kid": kid,
        "e": b64(numbers.e),
        "n": b64(numbers.n),
    }


class KeySetServer:
    """Serves the platform JWKS on 127.0.0.1. `mode`: ok | down (500) | garbage | slow."""

    def __init__(self) -> None:
        self.jwks: dict[str, Any] = {"keys": []}
        self.mode = "ok"
        self.hits = 0
        self.release = threading.Event()
        server = self

        class Handler(QuietHandler):
            def do_GET(self):
                server.hits += 1
                if server.mode == "slow":
                    server.release.wait(60)
                if server.mode == "down":
                    self.send_response(500)
                    self.end_headers()
                    return
                body = b"<html>not json" if server.mode == "garbage" else json.dumps(server.jwks).encode()
                self.reply(200, body)

        self.httpd = serve(Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/imsblis/lti13/keyset"

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()


@dataclass
class SakaiPlatform:
    """Signs id_tokens like Sakai. `key`/`kid` sign; `keyset` publishes `published` keys."""

    key: rsa.RSAPrivateKey
    keyset: KeySetServer
    kid: str = "605831764"
    issuer: str = ISSUER
    client_id: str = CLIENT_ID
    published: list[tuple[rsa.RSAPrivateKey, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.published:
            self.published = [(self.key, self.kid)]
        self.publish()

    def publish(self) -> None:
        self.keyset.jwks = {"keys": [public_jwk(k, kid) for k, kid in self.published]}

    def registration(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "auth_login_url": self.issuer + "/imsoidc/lti13/oidc_auth",
            "auth_token_url": self.issuer + "/imsblis/lti13/token/7",
            "key_set_url": self.keyset.url,
            "deployment_ids": [DEPLOYMENT_ID],
            "default": True,
        }

    def login_params(self, content: int = 12, site: str = "site-1", **extra: str) -> dict[str, str]:
        hint = base64.urlsafe_b64encode(f"/access/lti/site/{site}/content:{content}".encode()).decode()
        params = {
            "iss": self.issuer,
            "login_hint": hint.replace("=", "."),
            "lti_storage_target": "_parent",
            "client_id": self.client_id,
            "lti_deployment_id": DEPLOYMENT_ID,
            "sakai_base_capabilities": "org.imsglobal.lti.capabilities,org.imsglobal.lti.put_data,"
            "org.imsglobal.lti.get_data",
            "target_link_uri": LAUNCH_URL,
        }
        params.update(extra)
        return {k: v for k, v in params.items() if v is not None}

    def claims(self, nonce: str, role: str | list[str] = "Instructor", /, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        roles = ROLES[role] if isinstance(role, str) else role
        user = overrides.pop("user", "5b1f7c2e")
        body: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.client_id,
            "sub": f"{self.issuer}/user/{user}",
            "iat": now,
            "exp": now + 3600,
            "jti": str(uuid.uuid4()),
            "nonce": nonce,
            "given_name": "Jane",
            "family_name": "Smith",
            "name": "Jane Smith",
            "email": "jsmith@example.edu",
            "locale": "en_US",
            C + "deployment_id": DEPLOYMENT_ID,
            C + "target_link_uri": LAUNCH_URL,
            C + "message_type": "LtiResourceLinkRequest",
            C + "version": "1.3.0",
            C + "roles": roles,
            C + "role_scope_mentor": [],
            C + "resource_link": {"id": "content:12", "title": "Weekly seminar", "description": ""},
            C + "context": {
                "id": "site-1",
                "label": "CHEM 101",
                "title": "CHEM 101 F24",
                "type": ["http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"],
            },
            C + "custom": {},
            C + "launch_presentation": {
                "document_target": "iframe",
                "return_url": self.issuer + "/portal",
            },
            C + "tool_platform": {
                "name": "Sakai",
                "product_family_code": "sakai",
                "version": "23.3",
                "guid": "sakai.test",
                "url": self.issuer,
            },
            "https://www.sakailms.org/spec/lti/claim/extension": {
                "sakai_role": "Instructor",
                "sakai_server": self.issuer,
                "sakai_serverid": "app1",
            },
        }
        for name, value in overrides.items():
            if value is _DROP:
                body.pop(name, None)
            else:
                body[name] = value
        return body

    def sign(
        self,
        body: dict[str, Any],
        *,
        key: rsa.RSAPrivateKey | None = None,
        headers: dict | None = None,
        algorithm: str = "RS256",
    ) -> str:
        hdr = {"kid": self.kid, **(headers or {})}
        return jwt.encode(body, key or self.key, algorithm=algorithm, headers=hdr)

    def authorize(self, auth_url: str, role: str | list[str] = "Instructor", **overrides: Any) -> dict[str, str]:
        """What Sakai's oidc_auth answers: the form fields it auto-posts to the tool."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(auth_url).query).items()}
        assert query.get("state") and query.get("nonce") and query.get("login_hint"), query
        body = self.claims(query["nonce"], role, **overrides)
        return {
            "id_token": self.sign(body),
            "state": query["state"],
            "lti_storage_target": "_parent",
        }


_DROP = object()
DROP = _DROP  # pass as a claim override to remove the claim


def auth_url_from(response) -> str:
    """The tool answers login with a redirect, or (with lti_storage_target) a page that stores
    the state in Sakai's portal and then navigates to the same URL."""
    if response.status_code in (302, 303):
        return response.headers["Location"]
    match = re.search(r'data-next="([^"]+)"', response.get_data(as_text=True))
    assert match, response.get_data(as_text=True)[:500]
    return match.group(1).replace("&amp;", "&")


def token_from(html: str) -> str | None:
    match = re.search(r'<meta name="launch-token" content="([^"]+)"', html)
    return match.group(1) if match else None


def room_id_from(html: str) -> str | None:
    match = re.search(r'<meta name="room-id" content="([^"]+)"', html)
    return match.group(1) if match else None


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def forge_hs256(body: dict[str, Any], secret: bytes, kid: str) -> str:
    """The classic algorithm-confusion token: HS256 keyed with the platform's *public* key.
    PyJWT refuses to build it, so it is assembled by hand."""
    import hashlib
    import hmac

    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    payload = _b64url(json.dumps(body).encode())
    signature = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64url(signature)}"


def unsigned(body: dict[str, Any], kid: str) -> str:
    """`alg: none`: no signature at all."""
    header = _b64url(json.dumps({"alg": "none", "typ": "JWT", "kid": kid}).encode())
    return f"{header}.{_b64url(json.dumps(body).encode())}."


def start_login(client, platform: SakaiPlatform, **params: str) -> dict[str, str]:
    """Login initiation as Sakai does it; returns the auth request's query (state, nonce, ...)."""
    response = client.get("/lti/login", query_string=platform.login_params(**params))
    assert response.status_code in (200, 302), response.get_data(as_text=True)[:300]
    return {k: v[0] for k, v in parse_qs(urlsplit(auth_url_from(response)).query).items()}


DEEP_LINKING_SETTINGS = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
DEEP_LINK_RETURN_URL = ISSUER + "/imsblis/lti13/deep_link_return/site-1"


def deep_linking_request(data: str | None = "site-1|lessons|42", **settings: Any) -> dict[str, Any]:
    """Claim overrides that make a launch Sakai's `LtiDeepLinkingRequest` (reference §5):
    no resource_link; deep_linking_settings as Lessons, the editor and site navigation send it."""
    dl_settings = {
        "deep_link_return_url": DEEP_LINK_RETURN_URL,
        "accept_types": ["ltiResourceLink"],
        "accept_presentation_document_targets": ["iframe", "window"],
        "accept_multiple": False,
        **({"data": data} if data is not None else {}),
        **settings,
    }
    return {
        C + "message_type": "LtiDeepLinkingRequest",
        C + "resource_link": DROP,
        DEEP_LINKING_SETTINGS: dl_settings,
    }
