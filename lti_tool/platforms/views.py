"""HTTP for platform admins: dynamic registration, the deep-linking picker and the admin view."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, g, jsonify, render_template, request, url_for

from ..clock import utcnow
from ..database import writes_on_get
from ..errors import DomainError, Forbidden, ValidationError
from ..extensions import db
from ..http import Destinations
from ..lti.context import TOKEN_FIELD, LaunchContext, issue_token, require_launch
from ..lti.registry import origin
from ..models import Launch
from ..security import frame_ancestors_for_platforms
from . import admin, deep_linking, registration, service
from .deep_linking import KINDS
from .info import ToolUrls

log = logging.getLogger(__name__)
bp = Blueprint("platforms", __name__)
bp.before_request(frame_ancestors_for_platforms)


def runtime():
    return current_app.extensions["lti_tool"]


def settings():
    return current_app.config["TOOL"]


@bp.get("/lti/register")
@writes_on_get  # takes (and may give back) the invitation; each transaction is short
def register():
    """Sakai opens the URL the admin pasted (with our `invite`) and appends its own two parameters."""
    config_url = request.args.get("openid_configuration", "")
    # A refusal is framed by no one: the origin in the query string is the visitor's to choose.
    g.frame_ancestors = "'none'"
    code = request.args.get("invite", "")
    service.check_invite(code, utcnow())
    if not config_url:
        raise registration.RegistrationFailed(
            "Paste this address into Sakai (External Tools → LTI Advantage Auto Registration); Sakai opens it "
            "with the details the tool needs.",
            code="no_openid_configuration",
        )
    # The invitation is taken (and committed) before the platform is contacted, so no write lock is
    # held while it answers and two registrations cannot both use it; a failure gives it back below.
    taken_at = utcnow()
    service.consume_invite(code, taken_at)
    db.session.commit()
    deadline = current_app.config.get("REGISTRATION_HTTP_DEADLINE", registration.HTTP_DEADLINE)
    destinations = Destinations.of(settings(), testing=current_app.testing)
    try:
        platform_config = registration.fetch_configuration(config_url, deadline, destinations=destinations)
        payload = registration.tool_registration(ToolUrls.of(runtime()), settings().title)
        registered = registration.register(
            platform_config, payload, request.args.get("registration_token"), deadline, destinations=destinations
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
            now=utcnow(),
        )
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        reason = getattr(exc, "reason", "") or exc.code
        log.warning("dynamic registration failed", extra={"reason": reason})
        service.give_back_invite(code, taken_at, reason, utcnow())
        db.session.commit()
        raise
    # Sakai shows the registration in its admin page; no other page may frame it. The origin is the
    # one that just answered as the platform, with a valid invitation.
    g.frame_ancestors = origin(config_url)
    return render_template(
        "platforms/registered.html",
        platform=row,
        product=platform_config.product,
        opener_origin=origin(config_url),
    )


# -- deep linking ----------------------------------------------------------------------------------


def picker_page(ctx: LaunchContext, *, error: ValidationError | None = None, kind="room", title=None, status=200):
    """Shown for an `LtiDeepLinkingRequest` launch (ToolRuntime.launch_page)."""
    deep_linking.require_picker(ctx)
    dl_settings = deep_linking.Settings.of(_launch_extra(ctx))
    if not dl_settings.accepts_links:
        raise Forbidden("This Sakai page does not accept tool links, so no room can be added here.", code="no_links")
    return render_template(
        "platforms/deep_link_picker.html",
        kinds=deep_linking.KINDS,
        hints=deep_linking.HINTS,
        chosen_kind=kind,
        title=dl_settings.title if title is None else title,
        title_max=deep_linking.TITLE_MAX,
        error=error,
        **_launch_fields(ctx),
    ), status


@bp.post("/lti/deep-link")
@require_launch(manage=True)
def deep_link():
    ctx = g.launch
    deep_linking.require_picker(ctx)
    dl_settings = deep_linking.Settings.of(_launch_extra(ctx))
    kind, title = request.form.get("room_type"), request.form.get("title")
    try:
        kind, title = deep_linking.parse_choice(kind, title)
    except ValidationError as exc:
        return picker_page(ctx, error=exc, kind=kind or "room", title=title or "", status=400)
    item = deep_linking.content_item(kind, title, runtime().launch_url)
    now = utcnow()
    token = deep_linking.response_jwt(ctx, dl_settings, [item], key=runtime().signing_key(), now=now)
    service.audit(
        "deep_link.created",
        ctx.participant_key,
        {"issuer": ctx.issuer, "room_type": kind, "title": title},
        actor_name=ctx.user_name,
        now=now,
    )
    db.session.commit()
    return render_template(
        "platforms/deep_link_return.html", action=dl_settings.return_url, jwt=token, kind_label=KINDS[kind]
    )


def _launch_extra(ctx: LaunchContext) -> dict:
    return db.session.get(Launch, ctx.launch_id).extra or {}


def _launch_fields(ctx: LaunchContext) -> dict:
    return {
        "launch_token": issue_token(ctx.launch_id),
        "token_field": TOKEN_FIELD,
        "show_admin": ctx.is_admin,
        "html_lang": ctx.locale.split("_")[0] or "en",
    }


# -- admin view ------------------------------------------------------------------------------------


def _require_admin(ctx: LaunchContext) -> None:
    if not ctx.is_admin:
        raise Forbidden("Only Sakai administrators can open the tool's administration.", code="not_admin")


def _admin_response(ctx: LaunchContext, status_message: str | None = None):
    return render_template(
        "platforms/admin.html",
        page=admin.admin_page(settings(), runtime(), ctx),
        status_message=status_message,
        modules_url=url_for("platforms.admin_modules"),
        connectivity_url=url_for("platforms.admin_connectivity"),
        **_launch_fields(ctx),
    )


@bp.post("/lti/admin")
@require_launch()
def admin_view():
    _require_admin(g.launch)
    return _admin_response(g.launch)


@bp.post("/lti/admin/connectivity")
@require_launch()
def admin_connectivity():
    """ICE servers for the admin page's connectivity test: STUN and TURN (a short-lived credential)."""
    from ..media import turn

    ctx = g.launch
    _require_admin(ctx)
    servers = turn.connectivity_servers(settings().turn, f"admin:{ctx.participant_key}", utcnow())
    response = jsonify(ice_servers=servers)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/lti/admin/modules")
@require_launch()
def admin_modules():
    ctx = g.launch
    _require_admin(ctx)
    changes = service.parse_switches({name: request.form.get(name) for name in service.SWITCHES})
    entry = service.find_platform(settings(), ctx.client_id, ctx.issuer)
    service.set_modules(settings(), entry, changes, actor=ctx.participant_key, actor_name=ctx.user_name, now=utcnow())
    db.session.commit()
    return _admin_response(ctx, "Module settings saved.")
