"""Validating an id_token: pylti1p3's MessageLaunch with the gaps of 2.0.0 closed.

Our pipeline (LTI Security Framework §5.1.3, LTI Core §5):
registration (iss + aud/azp) → signature (RS256 only, no key headers, cached platform keys) →
claims (exp/iat with 60 s leeway, nonce, sub) → deployment → message → state/nonce (one-time,
atomic insert) → target_link_uri is ours.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import jwt
from pylti1p3.exception import LtiException
from pylti1p3.message_launch import MessageLaunch
from pylti1p3.request import Request
from pylti1p3.session import SessionService
from sqlalchemy import delete

from ..clock import utcnow
from ..database import Prepared, insert_or_ignore
from ..errors import LaunchError
from ..extensions import db
from ..models import UsedNonce
from . import claims, jws, login_state
from .keyset import key_sets

log = logging.getLogger(__name__)

LEEWAY_SECONDS = 60
REQUIRED_CLAIMS = ["exp", "iat", "nonce", "sub", "iss", "aud"]
FORBIDDEN_HEADERS = ("jku", "x5u", "jwk", "x5c", "crit")
NONCE_TTL = timedelta(hours=2)
INVALID_SUB = getattr(jwt.exceptions, "InvalidSubjectError", ())  # PyJWT >= 2.10 checks that sub is a string
MAX_ID_LENGTH = 255
OBJECT_CLAIMS = (
    claims.CUSTOM,
    claims.CONTEXT,
    claims.RESOURCE_LINK,
    claims.LAUNCH_PRESENTATION,
    claims.TOOL_PLATFORM,
    claims.DEEP_LINKING_SETTINGS,
)


class _ParamsRequest(Request):
    def __init__(self, params: dict[str, str], secure: bool):
        self._params = params
        self._secure = secure

    @property
    def session(self):  # pragma: no cover - never used: state and nonces live in the database
        raise LaunchError(code="session_unused")

    def is_secure(self) -> bool:
        return self._secure

    def get_param(self, key: str) -> str:
        return self._params.get(key, "")


class _NoHttp:
    """pylti1p3 would make a `requests.Session` for every launch and could fetch with it (no address
    check, no deadline). Every outbound call of the tool goes through `lti_tool.http`: this refuses."""

    def __getattr__(self, name: str) -> Any:
        raise LaunchError(code="pylti1p3_http_unused")


class _NoCookies:
    """pylti1p3 insists on a cookie service; the login state travels in `state` itself (login_state)."""

    def get_cookie(self, name: str) -> None:
        return None

    def set_cookie(self, name: str, value: Any, exp: int | None = 3600) -> None:
        raise LaunchError(code="cookie_unused")


_NO_HTTP = _NoHttp()


@dataclass(frozen=True)
class ValidatedLaunch:
    body: dict[str, Any]
    issuer: str
    client_id: str
    deployment_id: str
    registration: dict[str, Any]


def _refuse(code: str, message: str) -> LaunchError:
    log.info("launch refused", extra={"reason": code})
    return LaunchError(message, code=code)


class SakaiMessageLaunch(MessageLaunch):
    """pylti1p3's launch object; validation is the hardened pipeline in `validate`."""

    def __init__(self, params: dict[str, str], registry, *, secure: bool, launch_urls: tuple[str, ...]):
        request = _ParamsRequest(params, secure)
        super().__init__(
            request,
            registry,
            session_service=SessionService(request),
            cookie_service=_NoCookies(),
            requests_session=_NO_HTTP,
        )
        self._registry = registry
        self._launch_urls = launch_urls

    def _get_request_param(self, key: str) -> str:
        return self._request.get_param(key)

    def get_client_id(self) -> str:
        """With several audiences the authorized party (`azp`) names our client (OIDC Core §2)."""
        body = self._get_jwt_body()
        aud = body.get("aud")
        if isinstance(aud, list):
            if len(aud) == 1:
                return aud[0]
            azp = body.get("azp")
            return azp if isinstance(azp, str) else ""
        return aud if isinstance(aud, str) else ""

    def validate_jwt_format(self) -> SakaiMessageLaunch:
        super().validate_jwt_format()
        # pylti1p3 only checks that the parts decode as JSON; everything after reads them as objects.
        if not isinstance(self._jwt.get("header"), dict) or not isinstance(self._jwt.get("body"), dict):
            raise LtiException("JWT header and body must be JSON objects")
        if not isinstance(self._jwt["body"].get("iss"), str):  # looked up as a dict key before any check
            raise LtiException("JWT iss must be a string")
        return self

    def run(self) -> ValidatedLaunch:
        if not self._get_request_param("id_token"):
            raise _refuse("missing_id_token", "The launch did not include an id_token.")
        self._validated = True  # pylti1p3 re-validates lazily otherwise
        steps = [
            (self.validate_jwt_format, "bad_jwt_format", "The launch token is malformed."),
            (
                self.validate_registration,
                "unknown_registration",
                "This Sakai server or tool registration is not known to the tool. Ask your Sakai administrator "
                "to check the Client ID and issuer.",
            ),
        ]
        for step, code, message in steps:
            try:
                step()
            except LtiException:
                raise _refuse(code, message) from None
        body = self.verify_signature_and_claims()
        self.check_deployment_and_message(body)
        self.check_target_link(body)
        self.consume_state_and_nonce(body)
        reg = self._registry.registration_dict(body["iss"], self.get_client_id()) or {}
        return ValidatedLaunch(
            body=body,
            issuer=body["iss"],
            client_id=self.get_client_id(),
            deployment_id=str(body.get(claims.DEPLOYMENT_ID, "")),
            registration=reg,
        )

    def verify_signature_and_claims(self) -> dict[str, Any]:
        header = self._jwt.get("header", {})
        if header.get("alg") != "RS256":
            raise _refuse("bad_alg", "The launch was not signed the way LTI 1.3 requires (RS256).")
        if any(h in header for h in FORBIDDEN_HEADERS):
            raise _refuse("key_in_header", "The launch named its own signing key, which is not allowed.")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise _refuse("missing_kid", "The launch token does not say which key signed it.")
        registration = self._registration
        key = key_sets.public_key(registration.get_key_set_url(), kid, inline=registration.get_key_set())
        client_id = registration.get_client_id()
        try:
            body = jws.decode(
                self._get_id_token(),
                key,
                algorithms=["RS256"],
                audience=client_id,
                issuer=registration.get_issuer(),
                leeway=LEEWAY_SECONDS,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError:
            raise _refuse("expired", "This launch has expired. Open the tool again from your Sakai site.") from None
        except jwt.ImmatureSignatureError:
            raise _refuse("iat_in_future", "This launch is dated in the future; check the server clocks.") from None
        except jwt.InvalidAudienceError:
            raise _refuse("wrong_aud", "This launch was meant for a different tool.") from None
        except jwt.InvalidIssuerError:
            raise _refuse("wrong_iss", "This launch came from an unexpected issuer.") from None
        except jwt.MissingRequiredClaimError as exc:
            raise _refuse("missing_claim", f"The launch is missing the required '{exc.claim}' claim.") from None
        except INVALID_SUB:
            raise _refuse("missing_claim", "The launch is missing the required 'sub' claim.") from None
        except jwt.InvalidTokenError:
            raise _refuse("bad_signature", "The launch signature could not be verified.") from None
        aud = body["aud"]
        azp = body.get("azp")
        if (isinstance(aud, list) and len(aud) > 1 and azp != client_id) or (azp is not None and azp != client_id):
            raise _refuse("wrong_azp", "This launch was meant for a different tool.")
        if not isinstance(body.get("sub"), str) or not body["sub"]:
            raise _refuse("missing_claim", "The launch is missing the required 'sub' claim.")
        self.set_jwt({"header": header, "body": body})
        return body

    def check_deployment_and_message(self, body: dict[str, Any]) -> None:
        for name in OBJECT_CLAIMS:  # later code (and pylti1p3) reads these with .get()
            if name in body and not isinstance(body[name], dict):
                short = name.rsplit("/", 1)[-1]
                raise _refuse("malformed_claim", f"The launch's '{short}' information is malformed.")
        # Identifiers are keys in our tables (255 characters); cutting them could merge rooms or users.
        context, link = body.get(claims.CONTEXT) or {}, body.get(claims.RESOURCE_LINK) or {}
        for value in (body.get("sub"), context.get("id"), link.get("id")):
            if value is not None and len(str(value)) > MAX_ID_LENGTH:
                raise _refuse("malformed_claim", "The launch carries an identifier that is too long.")
        if body.get(claims.VERSION) != "1.3.0":
            raise _refuse("wrong_version", "This launch is not an LTI 1.3 launch.")
        if body.get(claims.MESSAGE_TYPE) not in (
            claims.RESOURCE_LINK_REQUEST,
            claims.DEEP_LINKING_REQUEST,
        ):
            raise _refuse("wrong_message_type", "This kind of LTI message is not supported by the tool.")
        try:
            self.validate_deployment()
        except LtiException:
            raise _refuse(
                "unknown_deployment",
                "This deployment of the tool is not registered. Ask your Sakai administrator to add the deployment id.",
            ) from None
        try:
            self.validate_message()
        except LtiException:
            raise _refuse("invalid_message", "The launch is missing required LTI information.") from None

    def check_target_link(self, body: dict[str, Any]) -> None:
        target = body.get(claims.TARGET_LINK_URI)
        if not isinstance(target, str) or target.split("?")[0].rstrip("/") not in self._launch_urls:
            raise _refuse("foreign_target_link_uri", "This launch points at an address that is not this tool.")

    def consume_state_and_nonce(self, body: dict[str, Any]) -> None:
        login = login_state.read(self._get_request_param("state"))
        if login is None:
            raise _refuse(
                "unknown_state",
                "This launch has expired or was already used. Open the tool again from Sakai.",
            )
        if body.get("nonce") != login.nonce or body["iss"] != login.issuer or self.get_client_id() != login.client_id:
            raise _refuse("nonce_mismatch", "This launch does not match the login that started it.")
        # One-time nonce: the primary key makes this a single atomic insert; a replay
        # (sequential or parallel) inserts nothing here and nothing else of the launch is written.
        claimed = CLAIM_NONCE.first({"nonce": login.nonce, "expires_at": utcnow() + NONCE_TTL})
        if claimed is None:
            raise _refuse("replay", "This launch was already used. Open the tool again from Sakai.")


CLAIM_NONCE = Prepared(lambda dialect: insert_or_ignore(UsedNonce.__table__, dialect).returning(UsedNonce.nonce))


def purge_expired(now=None) -> int:
    now = now or utcnow()
    return db.session.execute(delete(UsedNonce).where(UsedNonce.expires_at <= now)).rowcount
