"""LTI Dynamic Registration 1.0 (the tool side): openid-configuration → registration → Platform row.

Spec sections: §3.3 (the platform's configuration; its issuer must match the configuration URL's
host), §3.4–3.5 (the tool's registration, POSTed with the registration token as a Bearer token),
§3.6 (the tool closes the registration window with `org.imsglobal.lti.close`). Sakai facts:
shared/reference/sakai-lti13.md §4. Only admins holding a one-time invitation may register.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..errors import DomainError
from ..http import FetchError, fetch_limited
from ..lti import claims
from .info import ToolUrls

TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"
PLATFORM_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-platform-configuration"
REQUIRED_FIELDS = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri", "registration_endpoint")
HTTP_DEADLINE = 5.0
MAX_BYTES = 256 * 1024


class RegistrationFailed(DomainError):
    """The platform's side of the registration did not work; nothing was stored."""

    status = 502
    code = "registration_failed"
    title = "The tool could not be registered"


@dataclass(frozen=True)
class PlatformConfiguration:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    registration_endpoint: str
    product: str


@dataclass(frozen=True)
class Registered:
    client_id: str
    deployment_id: str


def _call(method: str, url: str, deadline: float, what: str, **kwargs: Any) -> tuple[int, bytes]:
    """One HTTP exchange with a total deadline and a size cap; no redirects followed."""
    try:
        resp = fetch_limited(url, method, deadline=deadline, max_bytes=MAX_BYTES, **kwargs)
    except FetchError as exc:
        if exc.reason == "too_large":
            raise RegistrationFailed(f"{what} was too large.", code="platform_answer_too_large") from None
        if exc.reason == "timeout":
            raise RegistrationFailed(
                f"{what} did not come within {deadline:g} seconds. Try the registration again from Sakai.",
                code="platform_timeout",
            ) from None
        raise RegistrationFailed(
            f"The tool could not reach your platform for {what.lower()}. Check that the tool's server can "
            "connect to it, then try again from Sakai.",
            code="platform_unreachable",
        ) from None
    return resp.status, resp.body


def _json_object(body: bytes, what: str) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise RegistrationFailed(f"{what} is not a JSON object.", code="platform_bad_json")
    return data


def is_http_url(value: Any) -> bool:
    parts = urlsplit(value) if isinstance(value, str) else None
    return bool(parts and parts.scheme in ("http", "https") and parts.netloc)


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def fetch_configuration(config_url: str, deadline: float = HTTP_DEADLINE) -> PlatformConfiguration:
    """GET the platform's openid-configuration and check what the registration relies on."""
    if not is_http_url(config_url):
        raise RegistrationFailed(
            "The openid_configuration address Sakai sent is not an http(s) URL.", code="bad_configuration_url"
        )
    if urlsplit(config_url).scheme != "https" and not _is_loopback(config_url):
        # Over plain http anyone on the path could swap in their own issuer and key set.
        raise RegistrationFailed(
            "The platform's configuration must be fetched over https; ask your Sakai administrator to use "
            "Sakai's https address.",
            code="configuration_not_https",
        )
    what = "Your platform's configuration (openid_configuration)"
    status, body = _call("GET", config_url, deadline, what, headers={"Accept": "application/json"})
    if status != 200:
        raise RegistrationFailed(f"{what} answered HTTP {status}.", code="platform_http_error")
    data = _json_object(body, what)
    missing = [name for name in REQUIRED_FIELDS if not is_http_url(data.get(name))]
    if missing:
        raise RegistrationFailed(
            f"{what} lacks {', '.join(missing)} (each must be an http(s) URL).", code="platform_config_incomplete"
        )
    if urlsplit(data["issuer"]).hostname != urlsplit(config_url).hostname:
        raise RegistrationFailed(
            f"The platform's issuer {data['issuer']} is not on the host that served its configuration "
            f"({urlsplit(config_url).hostname}); the registration was stopped.",
            code="issuer_host_mismatch",
        )
    platform = data.get(PLATFORM_CONFIGURATION)
    product = platform.get("product_family_code", "") if isinstance(platform, dict) else ""
    return PlatformConfiguration(
        issuer=data["issuer"],  # exactly as the platform will send it in `iss`
        authorization_endpoint=data["authorization_endpoint"],
        token_endpoint=data["token_endpoint"],
        jwks_uri=data["jwks_uri"],
        registration_endpoint=data["registration_endpoint"],
        product=str(product),
    )


def tool_registration(urls: ToolUrls, title: str) -> dict[str, Any]:
    """The tool's client registration request (LTI Dynamic Registration §3.4)."""
    return {
        "application_type": "web",
        "response_types": ["id_token"],
        "grant_types": ["implicit", "client_credentials"],
        "initiate_login_uri": urls.login,
        "redirect_uris": [urls.launch],
        "client_name": title,
        "jwks_uri": urls.keyset,
        "token_endpoint_auth_method": "private_key_jwt",
        # The tool calls no platform service (AGS, NRPS), so it asks for no scope.
        "scope": "",
        TOOL_CONFIGURATION: {
            "domain": urlsplit(urls.launch).netloc,
            "target_link_uri": urls.launch,
            "description": "Rooms for live class sessions, with guest links for people without an account.",
            "claims": ["iss", "sub", "name", "given_name", "family_name", "email"],
            "messages": [
                {"type": claims.RESOURCE_LINK_REQUEST, "target_link_uri": urls.launch, "label": title},
                {
                    "type": claims.DEEP_LINKING_REQUEST,
                    "target_link_uri": urls.launch,
                    "label": "Add a room or media gallery",
                },
            ],
        },
    }


def register(
    config: PlatformConfiguration,
    payload: dict[str, Any],
    registration_token: str | None,
    deadline: float = HTTP_DEADLINE,
) -> Registered:
    """POST the registration; the platform answers with our client_id and deployment id."""
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if registration_token:
        headers["Authorization"] = f"Bearer {registration_token}"
    what = "Your platform's answer to the registration"
    status, body = _call(
        "POST", config.registration_endpoint, deadline, what, data=json.dumps(payload), headers=headers
    )
    if status in (401, 403):
        raise RegistrationFailed(
            f"Your platform refused the registration (HTTP {status}): the registration token was not accepted. "
            "Sakai's registration tokens work once, for one hour; start the registration again from Sakai.",
            code="platform_refused",
        )
    if status not in (200, 201):
        raise RegistrationFailed(f"Your platform refused the registration (HTTP {status}).", code="platform_refused")
    data = _json_object(body, what)
    client_id = data.get("client_id")
    tool_config = data.get(TOOL_CONFIGURATION)
    deployment_id = tool_config.get("deployment_id") if isinstance(tool_config, dict) else None
    if not isinstance(client_id, str) or not client_id.strip():
        raise RegistrationFailed(f"{what} has no client_id.", code="platform_no_client_id")
    if not isinstance(deployment_id, str | int) or isinstance(deployment_id, bool) or not str(deployment_id).strip():
        raise RegistrationFailed(f"{what} has no deployment_id.", code="platform_no_deployment_id")
    return Registered(client_id=client_id.strip(), deployment_id=str(deployment_id).strip())
