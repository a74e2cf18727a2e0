"""The guest-links API through HTTP, as a host, a moderator (TA) and a viewer launched from Sakai."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from lti_tool.errors import ValidationError
from lti_tool.extensions import db
from lti_tool.links import service
from lti_tool.models import AuditEvent, GuestGroup, GuestLink, Room
from lti_tool.security import CONTROL_MESSAGE
from tests import sakai
from tests.links.conftest import OTHER_PLACEMENT

MANAGERS = [("Instructor", "host"), ("TeachingAssistant", "moderator")]


def routes(api, link_id="any-link"):
    """Every route of the API, as (label, call)."""
    return [
        ("list", lambda **kw: api.list(**kw)),
        ("create", lambda **kw: api.create(**kw)),
        ("delete", lambda **kw: api.delete(link_id, **kw)),
        ("toggle", lambda **kw: api.toggle(True, **kw)),
        ("delete group", lambda **kw: api.delete_group(**kw)),
    ]


def enable(api):
    response = api.toggle(True)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def rows(app, model, **filters):
    with app.app_context():
        return db.session.execute(select(model).filter_by(**filters)).scalars().all()


def room_version(app, room_id):
    with app.app_context():
        return db.session.get(Room, room_id).version


# ---- the host's and moderator's story --------------------------------------------------------------


@pytest.mark.parametrize(("role", "label"), MANAGERS)
def test_manager_turns_on_creates_copies_and_deletes(app, launch, api, role, label, frozen_clock):
    you = api(launch(role, user=f"{label}-1"))
    state = you.list().get_json()
    assert state["guest_access_enabled"] is False
    assert state["count_label"] == "No links added"
    assert state["can_create"] is False
    assert state["create_disabled_reason"] == "Turn on Enable guest access to create a link."

    state = enable(you)
    assert state["changed"] is True and state["can_create"] is True

    response = you.create("Guest speakers", max_clicks="10", duration_days=7)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    link = body["link"]
    assert link["name"] == "Guest speakers"
    assert link["clicks_label"] == "0 of 10"
    assert link["expires_at"] == (frozen_clock.now + timedelta(days=7)).isoformat().replace("+00:00", "Z")
    assert link["status"] == "active"
    assert body["count_label"] == "1 link" and [x["id"] for x in body["links"]] == [link["id"]]

    second = you.create("Parents").get_json()
    assert second["count_label"] == "2 links"
    assert second["link"]["clicks_label"] == "unlimited" and second["link"]["expires_at"] is None

    gone = you.delete(link["id"])
    assert gone.status_code == 200
    assert [x["name"] for x in gone.get_json()["links"]] == ["Parents"]
    assert rows(app, GuestLink, id=link["id"]) == []


def test_clicks_show_uses_against_the_limit(app, manager_api):
    enable(manager_api)
    link_id = manager_api.create("Limited", max_clicks=10).get_json()["link"]["id"]
    with app.app_context():
        db.session.get(GuestLink, link_id).used_clicks = 3
        db.session.commit()
    (listed,) = manager_api.list().get_json()["links"]
    assert listed["clicks_label"] == "3 of 10"


def test_copy_url_is_absolute_from_the_base_url(app, manager_api):
    enable(manager_api)
    link = manager_api.create().get_json()["link"]
    (row,) = rows(app, GuestLink, id=link["id"])
    assert link["url"] == f"{sakai.TOOL_BASE}/g/{row.token}"
    assert link["url"].startswith("https://tool.test/g/")


def test_viewer_is_refused_on_every_route(app, launch, api, host_api):
    enable(host_api)
    link_id = host_api.create().get_json()["link"]["id"]
    viewer = api(launch("Student", user="student-1"))
    for label, call in routes(viewer, link_id):
        response = call()
        assert response.status_code == 403, label
        assert response.get_json()["error"] == "Only hosts and moderators of this room can do this.", label
    assert len(rows(app, GuestLink)) == 1


# ---- rules through HTTP ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"name": "   "}, "name", service.NAME_MISSING),
        ({"name": "x" * 81}, "name", service.NAME_TOO_LONG),
        ({"name": "ok", "max_clicks": "0"}, "max_clicks", service.CLICKS_INVALID),
        ({"name": "ok", "max_clicks": "10001"}, "max_clicks", service.CLICKS_INVALID),
        ({"name": "ok", "max_clicks": "lots"}, "max_clicks", service.CLICKS_INVALID),
        ({"name": "ok", "duration_days": "366"}, "duration_days", service.DAYS_INVALID),
        ({"name": "ok", "duration_days": "0"}, "duration_days", service.DAYS_INVALID),
        ({"name": "ok", "duration_days": 1.5}, "duration_days", service.DAYS_INVALID),
    ],
)
def test_bad_input_is_refused_beside_the_field_and_nothing_saved(app, manager_api, fields, field, message):
    enable(manager_api)
    version = room_version(app, manager_api.room_id)
    response = manager_api.create(**fields)
    assert response.status_code == 400
    assert response.get_json() == {
        "error": message,
        "code": "invalid",
        "field": field,
        "errors": [{"field": field, "error": message}],
    }
    assert rows(app, GuestLink) == []
    assert room_version(app, manager_api.room_id) == version


def test_every_wrong_field_is_reported_at_once(app, manager_api):
    enable(manager_api)
    response = manager_api.create(name="  ", max_clicks="0", duration_days="400", guests_can_speak="yes")
    assert response.status_code == 400
    body = response.get_json()
    assert (body["field"], body["error"]) == ("name", service.NAME_MISSING)
    assert body["errors"] == [
        {"field": "name", "error": service.NAME_MISSING},
        {"field": "max_clicks", "error": service.CLICKS_INVALID},
        {"field": "duration_days", "error": service.DAYS_INVALID},
        {"field": "guests_can_speak", "error": "Guests can speak must be on or off."},
    ]
    assert rows(app, GuestLink) == []


def test_a_line_break_in_a_link_name_is_refused_by_the_json_guard_beside_the_field(app, manager_api):
    enable(manager_api)
    response = manager_api.create(name="a\nb")
    assert response.status_code == 400
    assert response.get_json() == {"error": CONTROL_MESSAGE, "code": "control_character", "field": "name"}
    assert rows(app, GuestLink) == []


def test_a_lone_surrogate_in_a_link_name_is_a_400_not_a_500(app, manager_api, client):
    enable(manager_api)
    response = client.post(
        f"/api/rooms/{manager_api.room_id}/links",
        data='{"name": "ab\\ud800"}',
        content_type="application/json",
        headers=manager_api.headers,
    )
    assert response.status_code == 400
    assert response.get_json()["field"] == "name"
    assert rows(app, GuestLink) == []


def test_link_names_and_guest_names_follow_one_rule():
    from lti_tool.guest.validation import clean_name as guest_name

    for name in [
        "Kurs \u0641\u0627\u0631\u0633\u06cc\u200c\u0647\u0627",
        "\U0001f469\u200d\U0001f52c Lab",
        "Nguy\u00ea\u0303n",
    ]:
        assert service.parse_link_input(name, None, None).name == guest_name(name)
    for name in ["zero\u200bwidth", "ab\ud800", "evil\u202etxt", "bom\ufeff"]:
        with pytest.raises(ValidationError):
            service.parse_link_input(name, None, None)
        with pytest.raises(ValueError):
            guest_name(name)


@pytest.mark.parametrize("body", [b"", b"not json", b"[1, 2]", b'"name"'], ids=["empty", "garbage", "array", "string"])
def test_a_body_that_is_not_a_json_object_is_a_clear_400(client, manager_api, body):
    enable(manager_api)
    response = client.post(
        manager_api.url("/links"), data=body, headers={**manager_api.headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.get_json()["error"] == "Send the request body as a JSON object."


@pytest.mark.parametrize("value", [None, "yes", 1, "true"])
def test_toggle_needs_a_boolean(manager_api, value):
    response = manager_api.toggle(value)
    assert response.status_code == 400
    assert response.get_json()["field"] == "enabled"


def test_creating_while_guest_access_is_off_is_refused_with_the_reason(app, manager_api):
    response = manager_api.create()
    assert response.status_code == 409
    assert response.get_json()["error"] == "Turn on Enable guest access before creating a link."
    assert rows(app, GuestLink) == []


def test_the_fourth_link_is_refused(app, manager_api):
    enable(manager_api)
    for name in ("A", "B", "C"):
        assert manager_api.create(name).status_code == 201
    state = manager_api.list().get_json()
    assert state["count_label"] == "3 links" and state["can_create"] is False
    assert state["create_disabled_reason"] == "You can have up to 3 guest links. Delete one to create a new link."
    response = manager_api.create("D")
    assert response.status_code == 409
    assert response.get_json()["error"] == service.LIMIT_REACHED
    assert sorted(link.name for link in rows(app, GuestLink)) == ["A", "B", "C"]


def test_toggle_off_keeps_links_inactive_and_on_reactivates(app, manager_api):
    enable(manager_api)
    link_id = manager_api.create().get_json()["link"]["id"]

    off = manager_api.toggle(False).get_json()
    assert off["guest_access_enabled"] is False and off["changed"] is True
    assert [(x["id"], x["status"]) for x in off["links"]] == [(link_id, "inactive")]
    assert len(rows(app, GuestLink, id=link_id)) == 1
    assert off["can_create"] is False

    on = manager_api.toggle(True).get_json()
    assert [(x["id"], x["status"]) for x in on["links"]] == [(link_id, "active")]


def test_delete_is_gone_not_inactive(app, manager_api):
    enable(manager_api)
    link = manager_api.create().get_json()["link"]
    assert manager_api.delete(link["id"]).status_code == 200
    assert rows(app, GuestLink) == []
    assert manager_api.list().get_json()["links"] == []
    again = manager_api.delete(link["id"])
    assert again.status_code == 404
    assert again.get_json()["error"] == service.LINK_GONE


def test_every_change_bumps_the_room_version_and_get_does_not(app, manager_api):
    versions = [room_version(app, manager_api.room_id)]
    enable(manager_api)
    versions.append(room_version(app, manager_api.room_id))
    link_id = manager_api.create().get_json()["link"]["id"]
    versions.append(room_version(app, manager_api.room_id))
    manager_api.delete(link_id)
    versions.append(room_version(app, manager_api.room_id))
    manager_api.toggle(False)
    versions.append(room_version(app, manager_api.room_id))
    assert versions == [versions[0] + i for i in range(5)]


# ---- CSRF: the launch token, never a cookie --------------------------------------------------------


@pytest.mark.parametrize("case", ["no token", "bad token", "other app's token", "cookie only"])
def test_requests_without_a_valid_launch_token_are_refused(app, client, manager, manager_api, case):
    enable(manager_api)
    link_id = manager_api.create().get_json()["link"]["id"]
    version = room_version(app, manager_api.room_id)
    bad = {
        "no token": {},
        "bad token": {"X-Launch-Token": tampered(manager.token)},
        "other app's token": {"X-Launch-Token": "eyJhbGciOi.forged.token"},
        "cookie only": {},
    }[case]
    if case == "cookie only":
        client.set_cookie("X-Launch-Token", manager.token)
        client.set_cookie("launch_token", manager.token)
    for label, call in routes(manager_api, link_id):
        response = call(headers=bad or {"X-Other": "1"})
        assert response.status_code == 401, (case, label)
        assert "error" in response.get_json(), (case, label)
    assert [link.id for link in rows(app, GuestLink)] == [link_id]
    assert room_version(app, manager_api.room_id) == version


def tampered(token: str) -> str:
    """The same token with one character of its signature changed."""
    last = token[-2]
    return token[:-2] + ("A" if last != "A" else "B") + token[-1]


def test_get_list_changes_nothing(app, manager_api):
    enable(manager_api)
    manager_api.create()
    with app.app_context():
        before = (
            db.session.get(Room, manager_api.room_id).version,
            db.session.scalar(select(func.count()).select_from(AuditEvent)),
            [(x.id, x.used_clicks) for x in db.session.execute(select(GuestLink)).scalars()],
        )
    for _ in range(3):
        assert manager_api.list().status_code == 200
    with app.app_context():
        after = (
            db.session.get(Room, manager_api.room_id).version,
            db.session.scalar(select(func.count()).select_from(AuditEvent)),
            [(x.id, x.used_clicks) for x in db.session.execute(select(GuestLink)).scalars()],
        )
    assert after == before


def test_list_does_not_accept_state_changing_methods(client, host_api):
    for method in ("put", "patch"):
        response = getattr(client, method)(host_api.url("/links"), headers=host_api.headers, json={})
        assert response.status_code == 405


# ---- IDOR: another room's manager -----------------------------------------------------------------


@pytest.mark.parametrize("role_b", ["Instructor", "TeachingAssistant"], ids=["host", "moderator"])
def test_manager_of_another_room_cannot_touch_this_rooms_links(app, launch, api, role_b):
    room_a = api(launch("Instructor", user="host-a"))
    enable(room_a)
    link_a = room_a.create("Room A link").get_json()["link"]["id"]

    host_b = launch(role_b, user="manager-b", **OTHER_PLACEMENT)
    assert host_b.room_id and host_b.room_id != room_a.room_id
    b_on_a = api(host_b, room_id=room_a.room_id)
    for label, call in routes(b_on_a, link_a):
        response = call()
        assert response.status_code == 403, label
        assert response.get_json()["error"] == "You can only manage guest access for the room you opened from Sakai."

    # Room A's link id under B's own room: not found, and A's link is untouched.
    b_own = api(host_b)
    enable(b_own)
    response = b_own.delete(link_a)
    assert response.status_code == 404
    assert [x.id for x in rows(app, GuestLink, room_id=room_a.room_id)] == [link_a]
    assert b_own.list().get_json()["links"] == []
    assert room_a.list().get_json()["links"][0]["id"] == link_a


# ---- escaping ----------------------------------------------------------------------------------


XSS = "<img src=x onerror=alert(1)>"


def test_a_name_with_markup_is_stored_as_is_and_sent_json_escaped(app, manager_api):
    enable(manager_api)
    response = manager_api.create(XSS)
    assert response.status_code == 201
    raw = response.get_data(as_text=True)
    assert "<img" not in raw and "\\u003cimg src=x onerror=alert(1)\\u003e" in raw
    assert response.mimetype == "application/json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert json.loads(raw)["link"]["name"] == XSS
    listed = manager_api.list()
    assert "<img" not in listed.get_data(as_text=True)
    assert listed.get_json()["links"][0]["name"] == XSS
    assert rows(app, GuestLink)[0].name == XSS


def test_the_page_never_renders_link_names_itself(client, platform, app, host_api):
    enable(host_api)
    host_api.create(XSS)
    from tests.conftest import do_launch

    again = do_launch(client, platform, "Instructor")
    assert again.response.status_code == 200
    assert "<img src=x" not in again.html


def test_guest_links_js_builds_the_dom_without_html_parsing():
    from pathlib import Path

    source = (Path(__file__).resolve().parents[2] / "lti_tool" / "static" / "guest_links.js").read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in source, sink
    assert "textContent" in source


# ---- audit -------------------------------------------------------------------------------------


def test_changes_through_http_are_audited_with_the_launch_user(app, launch, api):
    ta = api(launch("TeachingAssistant", user="ta-7", name="Terry Assistant"))
    enable(ta)
    link = ta.create("Guest speakers").get_json()["link"]
    ta.delete(link["id"])
    ta.toggle(False)
    ta.list()
    events = rows(app, AuditEvent)
    assert [e.action for e in events] == [
        "guest_group.created",
        "guest_access.enabled",
        "guest_link.created",
        "guest_link.deleted",
        "guest_access.disabled",
    ]
    assert {(e.actor, e.actor_name, e.room_id) for e in events} == {
        (f"{sakai.ISSUER}/user/ta-7", "Terry Assistant", ta.room_id)
    }
    token = link["url"].rsplit("/", 1)[1]
    assert token not in json.dumps([e.detail for e in events])


def test_refused_requests_leave_no_audit_row(app, host_api):
    host_api.create()  # guest access off
    host_api.delete_group()
    assert rows(app, AuditEvent) == []


# ---- the guest access group ----------------------------------------------------------------------


def test_guest_group_is_created_once_and_cannot_be_deleted(app, manager_api, launch, api):
    assert manager_api.list().get_json()["group"] is None
    enable(manager_api)
    manager_api.toggle(False)
    state = enable(manager_api)
    assert state["group"] == {"name": "Guest access – Weekly seminar", "system": True, "deletable": False}
    assert len(rows(app, GuestGroup)) == 1

    response = manager_api.delete_group()
    assert response.status_code == 403
    assert "system group" in response.get_json()["error"]
    assert response.get_json()["code"] == "system_group"
    assert len(rows(app, GuestGroup, room_id=manager_api.room_id)) == 1

    moderator = api(launch("TeachingAssistant", user="ta-2"))
    assert moderator.delete_group().status_code == 403
    assert len(rows(app, GuestGroup)) == 1


THEMING_TEXT = "Guest access requires the Theming module with 'mediapage' set to 'Yes'."


# ---- module gating -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("modules", "custom", "reason"),
    [
        ({"theming": {"mediapage": "No"}}, {}, THEMING_TEXT),
        ({"theming": {"enabled": False}}, {}, THEMING_TEXT),
        ({"invitetomedia": {"enabled": False}}, {}, "Guest access requires the Invitetomedia module."),
        ({}, {"room_type": "mediagallery"}, "Guest access is not available for media gallery rooms."),
    ],
    ids=["mediapage-no", "theming-off", "invitetomedia-off", "media-gallery"],
)
def test_every_route_is_refused_with_the_reason_when_guest_access_is_unavailable(
    make_app, platform, modules, custom, reason
):
    from tests.conftest import do_launch, tool_config
    from tests.links.conftest import Api

    app = make_app(config=tool_config(platform, modules=modules))
    client = app.test_client()
    launched = do_launch(client, platform, "Instructor", **{sakai.C + "custom": custom})
    assert launched.response.status_code == 200 and launched.token
    assert "Manage guest access" not in launched.html
    api = Api(client, launched)
    for label, call in routes(api):
        response = call()
        assert response.status_code == 403, label
        assert response.get_json()["error"] == reason, label
        assert response.get_json()["code"] == "guest_access_unavailable"
    assert rows(app, GuestLink) == [] and rows(app, GuestGroup) == []


def test_guests_can_speak_is_off_by_default_and_kept_when_set(app, launch, api):
    you = api(launch("Instructor", user="host-speak"))
    enable(you)
    plain = you.create("Listeners").get_json()["link"]
    speakers = you.create("Panel", guests_can_speak=True).get_json()
    assert plain["guests_can_speak"] is False
    assert speakers["link"]["guests_can_speak"] is True
    assert {link["name"]: link["guests_can_speak"] for link in speakers["links"]} == {"Listeners": False, "Panel": True}
    (row,) = rows(app, GuestLink, name="Panel")
    assert row.guests_can_speak is True


@pytest.mark.parametrize("value", ["yes", 1, [], {}])
def test_guests_can_speak_must_be_a_boolean(app, launch, api, value):
    you = api(launch("Instructor", user="host-speak-bad"))
    enable(you)
    response = you.create("Panel", guests_can_speak=value)
    assert response.status_code == 400
    assert response.get_json()["field"] == "guests_can_speak"
    assert rows(app, GuestLink) == []
