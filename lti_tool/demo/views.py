"""The demo LMS pages: a course page that launches the tool in an iframe through the real OIDC
flow, the platform's OIDC authorization endpoint, and its key set."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, current_app, g, jsonify, render_template, request

from ..errors import LaunchError
from . import platform

bp = Blueprint("demo", __name__, url_prefix="/demo")


def _settings():
    return current_app.config["TOOL"]


def _keys_dir():
    return current_app.extensions["lti_tool"].keys_dir


@bp.before_request
def demo_pages_may_frame_the_tool():
    g.frame_ancestors = "'self'"
    # The frame starts at the tool, then navigates to our own OIDC endpoint and back (as in Sakai).
    g.frame_src = "'self' " + _settings().base_url


@bp.get("/")
def course():
    user = request.args.get("as", "instructor")
    room = request.args.get("room", "room")
    if user not in platform.USERS or room not in platform.ROOMS:
        user, room = "instructor", "room"
    settings = _settings()
    login_url = (
        settings.base_url
        + "/lti/login?"
        + urlencode(
            {
                "iss": platform.issuer(settings),
                "login_hint": platform.encode_login_hint(user, room),
                "lti_storage_target": "_parent",
                "client_id": platform.CLIENT_ID,
                "lti_deployment_id": platform.DEPLOYMENT_ID,
                "target_link_uri": settings.base_url + "/lti/launch",
            }
        )
    )
    return render_template(
        "demo/course.html",
        users=platform.USERS,
        rooms=platform.ROOMS,
        current_user=user,
        current_room=room,
        login_url=login_url,
        tool_origin=settings.base_url,
    )


@bp.route("/oidc_auth", methods=["GET", "POST"])
def oidc_auth():
    """Like Sakai: reads only state, nonce, login_hint and redirect_uri; answers a form POST."""
    values = {k: request.values.get(k, "") for k in ("state", "nonce", "login_hint", "redirect_uri")}
    if not values["state"] or not values["nonce"] or not values["login_hint"]:
        return jsonify(error="invalid_request", error_description="state, nonce and login_hint are required"), 400
    hint = platform.decode_login_hint(values["login_hint"])
    if hint.get("user") not in platform.USERS or hint.get("room") not in platform.ROOMS:
        raise LaunchError("The demo LMS did not recognise this login.", code="demo_bad_hint")
    target = _settings().base_url + "/lti/launch"
    token = platform.id_token(
        _settings(),
        _keys_dir(),
        user=hint["user"],
        room=hint["room"],
        nonce=values["nonce"],
        target=target,
    )
    g.frame_ancestors = "'self'"
    return render_template(
        "demo/autopost.html",
        action=target,
        fields={"id_token": token, "state": values["state"], "lti_storage_target": "_parent"},
    )


@bp.get("/keyset")
def keyset():
    return jsonify(platform.jwks(_keys_dir()))
