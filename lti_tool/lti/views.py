"""LTI endpoints: third-party initiated login, launch (redirect URI and target link URI), JWKS.

Sakai specifics (shared/reference/sakai-lti13.md): login initiation is a GET without
`lti_message_hint`; the id_token may be posted to the target link URI instead of the redirect URI;
everything happens in a cross-site iframe, so the state cookie may be dropped and Sakai's
postMessage platform storage (`lti_storage_target`) is used to bind the launch to the browser.
"""

from __future__ import annotations

import hashlib
from dataclasses import fields
from datetime import timedelta
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, g, jsonify, make_response, render_template, request
from sqlalchemy import insert, update

from ..clock import utcnow
from ..database import Prepared
from ..errors import LaunchError
from ..extensions import db
from ..models import Launch, new_id
from ..security import frame_ancestors_for_platforms
from . import claims, login_state
from .context import TOKEN_MAX_AGE, LaunchContext, issue_token
from .launch import SakaiMessageLaunch
from .registry import origin
from .roles import decide_role, is_admin

bp = Blueprint("lti", __name__)
bp.before_request(frame_ancestors_for_platforms)

LOGIN_PARAMS = (
    "iss",
    "login_hint",
    "target_link_uri",
    "client_id",
    "lti_deployment_id",
    "lti_message_hint",
)
STORAGE_PREFIX = "lti_state_"
STATE_COOKIE_PREFIX = "lti1p3_"
# State cookies one browser keeps at most, the newest login's included. Each is ~0.5 kB and a login
# lives 10 minutes: without a bound, a morning of launches outgrows the server's header limit (431).
MAX_STATE_COOKIES = 4
# Deleting a cookie needs its name, path and attributes (Partitioned included: a partitioned cookie
# is another cookie than an unpartitioned one of the same name).
STATE_COOKIE_ATTRIBUTES = {"path": "/", "secure": True, "httponly": True, "samesite": "None", "partitioned": True}
# The OIDC authentication request's fixed parameters (LTI Security Framework §5.1.1.2).
AUTH_QUERY_START = (
    "?"
    + urlencode({"scope": "openid", "response_type": "id_token", "response_mode": "form_post", "prompt": "none"})
    + "&"
)
# Every launch runs it: prepared once, run on the session's connection (database.Prepared).
INSERT_LAUNCH = Prepared(insert(Launch.__table__))
LAUNCH_COLUMNS = [f.name for f in fields(LaunchContext) if f.name != "launch_id"]


def tool():
    return current_app.extensions["lti_tool"]


def state_cookie_name(state: str) -> str:
    return STATE_COOKIE_PREFIX + hashlib.sha256(state.encode()).hexdigest()[:16]


@bp.route("/lti/login", methods=["GET", "POST"])
def login():
    given = request.args if request.method == "GET" else request.values  # a GET has no form to parse
    params = {k: (given.get(k) or "").strip() for k in LOGIN_PARAMS}
    if not params["iss"] or not params["login_hint"]:
        raise LaunchError("The login request is missing the issuer or login hint.", code="login_missing_params")
    if params["target_link_uri"] and not tool().is_launch_url(params["target_link_uri"]):
        raise LaunchError(
            "The login request points at an address that is not this tool.",
            code="foreign_target_link_uri",
        )
    registry = tool().registry()
    client_id = params["client_id"] or registry.default_client_id(params["iss"])
    reg = registry.registration_dict(params["iss"], client_id) if client_id else None
    if reg is None:
        raise LaunchError(
            "This Sakai server or tool registration is not known to the tool. Ask your Sakai administrator "
            "to check the issuer and Client ID.",
            code="unknown_registration",
        )
    # Nothing is written: the state carries the login (see login_state).
    state, nonce = login_state.issue({k: v for k, v in params.items() if v}, client_id)
    auth_url = (
        reg["auth_login_url"]
        + AUTH_QUERY_START
        + urlencode(
            {
                "client_id": client_id,
                "redirect_uri": tool().launch_url,
                "state": state,
                "nonce": nonce,
                "login_hint": params["login_hint"],
                **({"lti_message_hint": params["lti_message_hint"]} if params["lti_message_hint"] else {}),
            }
        )
    )
    storage_target = given.get("lti_storage_target")
    if storage_target:
        # Sakai's portal keeps the state for us in case the browser drops the iframe cookie.
        response = make_response(
            render_template(
                "lti/login_storage.html",
                auth_url=auth_url,
                storage_target=storage_target,
                storage_origin=origin(reg["auth_login_url"]),
                storage_key=STORAGE_PREFIX + state,
                state=state,
            )
        )
    else:
        # No "You should be redirected" page: every browser follows a 302 by its Location.
        response = Response(status=302, headers={"Location": auth_url})
    _drop_old_state_cookies(response)
    _set_state_cookie(response, state)
    return response


def _set_state_cookie(response, state: str) -> None:
    response.set_cookie(
        state_cookie_name(state), state, max_age=int(login_state.LOGIN_TTL.total_seconds()), **STATE_COOKIE_ATTRIBUTES
    )


def _delete_state_cookie(response, name: str) -> None:
    response.delete_cookie(name, **STATE_COOKIE_ATTRIBUTES)


def _drop_old_state_cookies(response) -> None:
    """Keep the browser's newest `MAX_STATE_COOKIES - 1` state cookies (the new login adds one);
    delete the older ones and those that are expired or not ours (abandoned logins)."""
    dated = []
    for name, value in request.cookies.items():
        if name.startswith(STATE_COOKIE_PREFIX):
            issued = login_state.issued_at(value) if name == state_cookie_name(value) else None
            if issued is None:
                _delete_state_cookie(response, name)
            else:
                dated.append((issued, name))
    dated.sort(reverse=True)
    for _, name in dated[MAX_STATE_COOKIES - 1 :]:
        _delete_state_cookie(response, name)


@bp.post("/lti/launch")
def launch():
    params = {k: request.form.get(k, "") for k in ("id_token", "state")}
    validated = SakaiMessageLaunch(
        params, tool().registry(), secure=request.is_secure, launch_urls=tool().launch_urls
    ).run()
    state = params["state"]
    cookie_ok = request.cookies.get(state_cookie_name(state)) == state
    ctx = _record_launch(validated, bound=cookie_ok, state=state)
    if cookie_ok:
        # The page reads what it shows inside the launch's one transaction (reading after the
        # commit would open a second one: on SQLite a second write lock, as this is a POST); its
        # templates run after the commit, so other launches need not wait for them.
        render = tool().launch_page(ctx)
        db.session.commit()
        response = render()
    else:
        db.session.commit()
        response = make_response(_unbound_launch_page(validated, ctx, state))
    # The login is used up (its nonce is claimed): its cookie has done its work, whichever way.
    _delete_state_cookie(response, state_cookie_name(state))
    return response


def _unbound_launch_page(validated, ctx: LaunchContext, state: str) -> str:
    """The launch arrived without its state cookie: bind through platform storage, or a new window."""
    storage_target = request.form.get("lti_storage_target")
    if storage_target:
        return render_template(
            "lti/launch_storage.html",
            launch_id=ctx.launch_id,
            storage_target=storage_target,
            storage_origin=origin(validated.registration["auth_login_url"]),
            storage_key=STORAGE_PREFIX + state,
            bind_url=tool().url("/lti/launch/bind"),
            new_window_url=_new_window_url(state),
        )
    return render_template("lti/new_window.html", new_window_url=_new_window_url(state))


@bp.post("/lti/launch/bind")
def bind():
    """Second half of a cookie-less launch: the page read the state back from platform storage."""
    launch_id, state = request.form.get("launch_id", ""), request.form.get("state", "")
    if not launch_id or not state:
        raise LaunchError(
            "The launch could not be confirmed. Open the tool again from Sakai.",
            code="bind_missing",
        )
    # One statement: only the browser that holds the state can bind, and only once.
    bound = db.session.execute(
        update(Launch)
        .where(
            Launch.id == launch_id,
            Launch.bound.is_(False),
            Launch.state == login_state.digest(state),
            Launch.expires_at > utcnow(),
        )
        .values(bound=True)
    ).rowcount
    if not bound:
        raise LaunchError("The launch could not be confirmed. Open the tool again from Sakai.", code="bind_failed")
    db.session.commit()
    response = tool().launch_page(LaunchContext.from_row(db.session.get(Launch, launch_id)))()
    # Where the iframe kept the cookie after all (dropped only from the launch POST), it goes now.
    _delete_state_cookie(response, state_cookie_name(state))
    return response


def _new_window_url(state: str) -> str | None:
    login = login_state.read(state)
    if login is None:
        return None
    return tool().url("/lti/login") + "?" + urlencode(login.params)


def _record_launch(validated, *, bound: bool, state: str) -> LaunchContext:
    body = validated.body
    room_id = None
    if body.get(claims.MESSAGE_TYPE) == claims.RESOURCE_LINK_REQUEST:
        from ..rooms.service import upsert_room

        room = upsert_room(validated.issuer, validated.client_id, validated.deployment_id, body)
        room_id = room.id
        g.launched_room = room  # the launch page shows it
    name = body.get("name") or " ".join(p for p in (body.get("given_name"), body.get("family_name")) if p)
    now = utcnow()
    role = decide_role(body.get(claims.ROLES), current_app.config["TOOL"].roles)
    ctx = LaunchContext(
        launch_id=new_id(),
        room_id=room_id,
        issuer=validated.issuer,
        client_id=validated.client_id,
        deployment_id=validated.deployment_id,
        message_type=body[claims.MESSAGE_TYPE],
        user_sub=body["sub"],
        user_name=(str(name).strip()[:255] or None) if name else None,
        user_email=(str(body["email"])[:255] if body.get("email") else None),
        role=role,
        is_admin=is_admin(body.get(claims.ROLES)),
        locale=str(body.get("locale") or "en_US")[:16],
    )
    row = {name: getattr(ctx, name) for name in LAUNCH_COLUMNS}
    INSERT_LAUNCH.execute(
        {
            **row,
            "id": ctx.launch_id,
            "role": role.value,
            "extra": _extra(body),
            "bound": bound,
            "state": login_state.digest(state),
            "created_at": now,
            "expires_at": now + timedelta(seconds=TOKEN_MAX_AGE),
        },
    )
    return ctx


def _extra(body: dict) -> dict:
    settings = body.get(claims.DEEP_LINKING_SETTINGS)
    return {"deep_linking_settings": settings} if isinstance(settings, dict) else {}


@bp.get("/lti/jwks")
@bp.get("/.well-known/jwks.json")
def jwks():
    response = jsonify(tool().jwks())
    response.cache_control.public = True
    response.cache_control.max_age = 300
    return response


__all__ = ["bp", "issue_token"]
