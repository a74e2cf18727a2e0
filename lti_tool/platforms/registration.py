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
from ..http import Destinations, FetchError, fetch_limited
from ..lti import claims
from .info import ToolUrls

TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"
PLATFORM_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-platform-configuration"
REQUIRED_FIELDS = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri", "registration_endpoint")
HTTP_DEADLINE = 5.0
FETCH_FAILED = (
    "The tool could not get a usable answer from your platform at the address Sakai sent. Check that it is "
    "your Sakai server's public https address and that the tool's server can reach it, then start the "
    "registration again from Sakai."
)
NOT_PUBLIC_HTTPS = (
    "The platform's configuration must be fetched over https; ask your Sakai administrator to use "
    "Sakai's https address."
)
MAX_BYTES = 256 * 1024


class RegistrationFailed(DomainError):
    """The platform's side of the registration did not work; nothing was stored."""

    status = 502
    code = "registration_failed"
    title = "The tool could not be registered"
    reason = ""  # for the log only: what exactly failed


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


def _call(
    method: str, url: str, deadline: float, what: str, destinations: Destinations, **kwargs: Any
) -> tuple[int, bytes]:
    """One HTTP exchange with a total deadline and a size cap, to a checked address; no redirects followed."""
    try:
        resp = fetch_limited(url, method, deadline=deadline, max_bytes=MAX_BYTES, destinations=destinations, **kwargs)
    except FetchError as exc:
        raise fetch_failed(f"{what}_{exc.reason}") from None
    return resp.status, resp.body


def fetch_failed(reason: str) -> RegistrationFailed:
    """Every failure to get a usable answer reads the same to the person registering (a wrong path,
    a closed port and a page that is not a configuration must not be told apart: that would make an
    invitation a probe of the tool's network); the reason goes to the log."""
    exc = RegistrationFailed(FETCH_FAILED, code="platform_fetch_failed")
    exc.reason = reason
    return exc


def _json_object(body: bytes, what: str) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise fetch_failed(f"{what}_bad_json")
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


def require_https(url: str, destinations: Destinations) -> None:
    """The tool only talks to platforms over https.

    Plain http to a loopback address is allowed in demo and test mode only (a Sakai on the same
    machine). Which addresses may be contacted at all is checked on connect (`fetch_limited`):
    public ones, and private ones only for the hosts in `outbound.private_hosts`, so an invitation
    cannot be used to reach the tool's own network, not even by a DNS answer that changes.
    """
    if destinations.loopback and _is_loopback(url):
        return
    if urlsplit(url).scheme != "https":
        # Over plain http anyone on the path could swap in their own issuer and key set.
        raise RegistrationFailed(NOT_PUBLIC_HTTPS, code="configuration_not_https")


def fetch_configuration(
    config_url: str, deadline: float = HTTP_DEADLINE, *, destinations: Destinations
) -> PlatformConfiguration:
    """GET the platform's openid-configuration and check what the registration relies on."""
    if not is_http_url(config_url):
        raise RegistrationFailed(
            "The openid_configuration address Sakai sent is not an http(s) URL.", code="bad_configuration_url"
        )
    require_https(config_url, destinations)
    status, body = _call(
        "GET", config_url, deadline, "configuration", destinations, headers={"Accept": "application/json"}
    )
    if status != 200:
        raise fetch_failed(f"configuration_http_{status}")
    data = _json_object(body, "configuration")
    if [name for name in REQUIRED_FIELDS if not is_http_url(data.get(name))]:
        raise fetch_failed("configuration_incomplete")
    if urlsplit(data["issuer"]).hostname != urlsplit(config_url).hostname:
        raise fetch_failed("issuer_host_mismatch")
    endpoint = data["registration_endpoint"]
    if urlsplit(endpoint).hostname != urlsplit(data["issuer"]).hostname:
        raise fetch_failed("registration_endpoint_not_on_issuer_host")
    if urlsplit(endpoint).scheme != "https" and not (destinations.loopback and _is_loopback(endpoint)):
        raise fetch_failed("registration_endpoint_not_https")
    platform = data.get(PLATFORM_CONFIGURATION)
    product = platform.get("product_family_code", "") if isinstance(platform, dict) else ""
    return PlatformConfiguration(
        issuer=data["issuer"],  # exactly as the platform will send it in `iss`
        authorization_endpoint=data["authorization_endpoint"],
        token_endpoint=data["token_endpoint"],
        jwks_uri=data["jwks_uri"],
        registration_endpoint=endpoint,
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
    *,
    destinations: Destinations,
) -> Registered:
    """POST the registration; the platform answers with our client_id and deployment id."""
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if registration_token:
        headers["Authorization"] = f"Bearer {registration_token}"
    status, body = _call(
        "POST",
        config.registration_endpoint,
        deadline,
        "registration",
        destinations,
        data=json.dumps(payload),
        headers=headers,
    )
    if status in (401, 403):
        raise RegistrationFailed(
            f"Your platform refused the registration (HTTP {status}): the registration token was not accepted. "
            "Sakai's registration tokens work once, for one hour; start the registration again from Sakai.",
            code="platform_refused",
        )
    if status not in (200, 201):
        raise fetch_failed(f"registration_http_{status}")
    data = _json_object(body, "registration")
    client_id = data.get("client_id")
    tool_config = data.get(TOOL_CONFIGURATION)
    deployment_id = tool_config.get("deployment_id") if isinstance(tool_config, dict) else None
    if not isinstance(client_id, str) or not client_id.strip():
        raise fetch_failed("registration_no_client_id")
    if not isinstance(deployment_id, str | int) or isinstance(deployment_id, bool) or not str(deployment_id).strip():
        raise fetch_failed("registration_no_deployment_id")
    return Registered(client_id=client_id.strip(), deployment_id=str(deployment_id).strip())
