"""The admin view inside the tool: a Sakai administrator's launch shows the platform's registration,
modules (and why guest access is unavailable), the tool's URLs, and the module switches."""

from __future__ import annotations

import html as html_lib

import pytest
from sqlalchemy import select

from lti_tool.extensions import db
from lti_tool.models import AuditEvent, Platform
from tests.conftest import do_launch, tool_config
from tests.sakai import CLIENT_ID, ISSUER, TOOL_BASE


def open_admin(client, token: str):
    response = client.post("/lti/admin", data={"launch_token": token})
    return response, html_lib.unescape(response.get_data(as_text=True))


@pytest.fixture
def db_platform_app(make_app, platform):
    """The platform registered from the command line, not in config.json."""
    app = make_app(config={"tool": {"base_url": TOOL_BASE}})
    result = app.test_cli_runner().invoke(
        args=["lti", "platform", "add", "--issuer", platform.issuer, "--client-id", platform.client_id,
              "--deployment-id", "1", "--auth-login-url", platform.issuer + "/imsoidc/lti13/oidc_auth",
              "--auth-token-url", platform.issuer + "/imsblis/lti13/token/7", "--key-set-url", platform.keyset.url]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return app


def test_admin_sees_the_administration_menu_item_and_instructor_does_not(launch):
    assert 'id="menu-administration"' in launch("Admin").html
    assert 'id="menu-administration"' not in launch("Instructor").html


def test_admin_page_for_a_config_json_platform_is_read_only(launch, client):
    response, html = open_admin(client, launch("Admin").token)
    assert response.status_code == 200
    for value in (ISSUER, CLIENT_ID, ISSUER + "/imsoidc/lti13/oidc_auth", ISSUER + "/imsblis/lti13/token/7"):
        assert value in html
    assert "config.json (read-only)" in html
    assert "edit the modules of its entry under platforms in config.json and restart the tool" in " ".join(
        html.replace("<code>", "").replace("</code>", "").split()
    )
    assert 'name="invitetomedia"' not in html
    assert "Guest access is available on this platform." in html
    for url in ("/lti/launch", "/lti/login", "/lti/jwks", "/lti/register"):
        assert TOOL_BASE + url in html
    assert "room_type=mediagallery" in html


def test_admin_page_names_the_exact_reason_guest_access_is_unavailable(make_app, platform):
    config = tool_config(platform, modules={"theming": {"enabled": True, "mediapage": "No"}})
    client = make_app(config=config).test_client()
    _, html = open_admin(client, do_launch(client, platform, "Admin").token)
    assert (
        "Guest access is unavailable on this platform. "
        "Guest access requires the Theming module with 'mediapage' set to 'Yes'." in html
    )
    assert "<dt>Theming: mediapage</dt><dd>No</dd>" in html


@pytest.mark.parametrize("role", ["Instructor", "Student"])
def test_only_administrators_open_the_admin_page(launch, client, role):
    response, html = open_admin(client, launch(role).token)
    assert response.status_code == 403
    assert "Only Sakai administrators" in html


def test_admin_page_needs_a_launch(client):
    assert client.post("/lti/admin").status_code == 401


def test_admin_switches_modules_of_a_database_platform(db_platform_app, platform):
    client = db_platform_app.test_client()
    admin = do_launch(client, platform, "Admin")
    _, html = open_admin(client, admin.token)
    assert "the tool's database" in html and 'name="invitetomedia"' in html

    response = client.post(
        "/lti/admin/modules",
        data={"launch_token": admin.token, "invitetomedia": "off", "theming": "on", "mediapage": "Yes"},
    )
    html = html_lib.unescape(response.get_data(as_text=True))
    assert response.status_code == 200
    assert "Module settings saved." in html
    assert "Guest access requires the Invitetomedia module." in html
    assert '<option value="off" selected>Off</option>' in html

    with db_platform_app.app_context():
        assert db.session.scalar(select(Platform.modules)) == {
            "invitetomedia": {"enabled": False},
            "theming": {"enabled": True, "mediapage": "Yes"},
        }
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "platform.modules_changed")).one()
    assert event.actor == f"u:{ISSUER}|{ISSUER}/user/5b1f7c2e" and event.actor_name == "Jane Smith"
    assert event.detail["before"]["invitetomedia"] == {"enabled": True}
    assert event.detail["after"]["invitetomedia"] == {"enabled": False}

    instructor = do_launch(client, platform, "Instructor")
    assert "Manage guest access" not in instructor.html
    assert "Guest access requires the Invitetomedia module." in instructor.html


def test_module_switches_refuse_bad_values_and_change_nothing(db_platform_app, platform):
    client = db_platform_app.test_client()
    admin = do_launch(client, platform, "Admin")
    response = client.post("/lti/admin/modules", data={"launch_token": admin.token, "theming": "sometimes"})
    assert response.status_code == 400
    with db_platform_app.app_context():
        assert db.session.scalar(select(Platform.modules)) == {}
        assert db.session.scalars(select(AuditEvent.action)).all() == ["platform.added"]


def test_config_json_modules_cannot_be_switched_from_the_page(launch, client, app):
    admin = launch("Admin")
    response = client.post("/lti/admin/modules", data={"launch_token": admin.token, "invitetomedia": "off"})
    assert response.status_code == 409
    assert "read-only while the tool runs" in html_lib.unescape(response.get_data(as_text=True))
    with app.app_context():
        assert db.session.scalars(select(AuditEvent)).all() == []


def test_instructor_cannot_switch_modules(db_platform_app, platform):
    client = db_platform_app.test_client()
    instructor = do_launch(client, platform, "Instructor")
    response = client.post("/lti/admin/modules", data={"launch_token": instructor.token, "invitetomedia": "off"})
    assert response.status_code == 403
    with db_platform_app.app_context():
        assert db.session.scalar(select(Platform.modules)) == {}


def test_admin_reaches_administration_from_the_deep_linking_picker(launch, client):
    from tests.sakai import deep_linking_request

    picker = launch("Admin", **deep_linking_request())
    assert ">Administration</button>" in picker.html
    response, html = open_admin(client, picker.token)
    assert response.status_code == 200
    assert "Guest access is available on this platform." in html
    assert 'id="room-guest-access-status"' not in html


def test_admin_page_of_a_gallery_room_says_why_that_room_has_no_guest_access(launch, client):
    from tests.sakai import C

    gallery = launch("Admin", **{C + "custom": {"room_type": "mediagallery"}})
    _, html = open_admin(client, gallery.token)
    assert "Guest access is available on this platform." in html
    assert "In “Weekly seminar”: Guest access is not available for media gallery rooms." in html
