"""HTTP for platform admins: dynamic registration, the deep-linking picker and the admin view."""

from __future__ import annotations

from flask import Blueprint, current_app, g, render_template, request

from ..clock import utcnow
from ..extensions import db
from ..lti.registry import origin
from . import registration, service
from .info import ToolUrls

bp = Blueprint("platforms", __name__)


def runtime():
    return current_app.extensions["lti_tool"]


def settings():
    return current_app.config["TOOL"]


@bp.get("/lti/register")
def register():
    """Sakai opens the URL the admin pasted (with our `invite`) and appends its own two parameters."""
    config_url = request.args.get("openid_configuration", "")
    if registration.is_http_url(config_url):
        # Sakai shows the registration in its admin page; no other page may frame it.
        g.frame_ancestors = origin(config_url)
    code = request.args.get("invite", "")
    service.check_invite(code, utcnow())
    if not config_url:
        raise registration.RegistrationFailed(
            "Paste this address into Sakai (External Tools → LTI Advantage Auto Registration); Sakai opens it "
            "with the details the tool needs.",
            code="no_openid_configuration",
        )
    db.session.commit()  # end the read: no transaction stays open while the platform answers
    deadline = current_app.config.get("REGISTRATION_HTTP_DEADLINE", registration.HTTP_DEADLINE)
    platform_config = registration.fetch_configuration(config_url, deadline)
    # The invitation is spent in the same transaction that stores the platform: if the platform
    # refuses or times out below, the rollback gives the admin their invitation back.
    now = utcnow()
    service.consume_invite(code, now)
    payload = registration.tool_registration(ToolUrls.of(runtime()), settings().title)
    registered = registration.register(
        platform_config, payload, request.args.get("registration_token"), deadline=deadline
    )
    row = service.add_platform(
        settings(),
        issuer=platform_config.issuer,
        client_id=registered.client_id,
        deployment_ids=[registered.deployment_id],
        auth_login_url=platform_config.authorization_endpoint,
        auth_token_url=platform_config.token_endpoint,
        key_set_url=platform_config.jwks_uri,
        actor="dynamic-registration",
        now=now,
    )
    db.session.commit()
    return render_template(
        "platforms/registered.html",
        platform=row,
        product=platform_config.product,
        opener_origin=origin(config_url),
    )
