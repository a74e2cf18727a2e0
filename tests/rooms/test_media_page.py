"""Rooms: one per placement (platform + deployment + context + resource link), the media page,
media gallery rooms, and the module gating of Manage guest access."""

from __future__ import annotations

import html as htmllib
import itertools

import pytest

from lti_tool.extensions import db
from lti_tool.models import Room
from lti_tool.rooms.service import GALLERY, INVITE_MISSING, THEMING_MISSING
from tests.conftest import do_launch, tool_config
from tests.sakai import C, SakaiPlatform

CUSTOM = C + "custom"
LINK = C + "resource_link"


def link(id_: str = "content:12", title: str = "Weekly seminar") -> dict:
    return {LINK: {"id": id_, "title": title, "description": ""}}


def reason_shown(html: str) -> str | None:
    html = htmllib.unescape(html)
    marker = 'id="guest-access-unavailable">'
    return html.split(marker)[1].split("</p>")[0] if marker in html else None


def test_same_placement_reuses_its_room(launch):
    assert launch("Instructor").room_id == launch("Student").room_id


def test_each_resource_link_is_its_own_room(launch):
    first = launch("Instructor", **link("content:12"))
    second = launch("Instructor", **link("content:13", "Office hours"))
    assert first.room_id != second.room_id
    assert "Office hours" in second.html


def test_each_context_is_its_own_room(launch):
    other_site = {C + "context": {"id": "site-2", "title": "BIO 200"}}
    assert launch("Instructor").room_id != launch("Instructor", **other_site).room_id


def test_room_title_follows_the_latest_launch(app, launch):
    room_id = launch("Instructor", **link(title="Weekly seminar")).room_id
    later = launch("Student", **link(title="Weekly seminar (spring)"))
    assert later.room_id == room_id
    assert '<h1 id="room-title">Weekly seminar (spring)</h1>' in later.html
    with app.app_context():
        assert db.session.get(Room, room_id).title == "Weekly seminar (spring)"


def test_room_title_is_escaped(launch):
    html = launch("Instructor", **link(title="<script>alert(1)</script>")).html
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_two_platforms_with_the_same_ids_never_share_a_room(make_app, platform, keyset_server):
    other = SakaiPlatform(key=platform.key, keyset=keyset_server, issuer="https://sakai2.test", client_id="c2")
    config = tool_config(platform)
    config["platforms"][other.issuer] = [other.registration()]
    app = make_app(config)
    client = app.test_client()
    ours, theirs = do_launch(client, platform), do_launch(client, other)
    assert ours.response.status_code == theirs.response.status_code == 200
    assert ours.room_id != theirs.room_id
    with app.app_context():
        rooms = db.session.execute(db.select(Room)).scalars().all()
        assert {(r.issuer, r.client_id) for r in rooms} == {(platform.issuer, platform.client_id), (other.issuer, "c2")}


def test_two_deployments_never_share_a_room(make_app, platform):
    config = tool_config(platform)
    config["platforms"][platform.issuer][0]["deployment_ids"] = ["1", "2"]
    client = make_app(config).test_client()
    first = do_launch(client, platform)
    second = do_launch(client, platform, login={"lti_deployment_id": "2"}, **{C + "deployment_id": "2"})
    assert second.response.status_code == 200, second.html[:300]
    assert first.room_id != second.room_id


@pytest.mark.parametrize("room_type", ["mediagallery", "MediaGallery", "media_gallery"])
def test_media_gallery_room_has_no_guest_access(app, launch, room_type):
    result = launch("Instructor", **{CUSTOM: {"room_type": room_type}})
    assert result.response.status_code == 200
    assert "Manage guest access" not in result.html
    assert reason_shown(result.html) == GALLERY
    with app.app_context():
        assert db.session.get(Room, result.room_id).kind == "mediagallery"


def test_unknown_room_type_is_a_room(launch):
    assert "Manage guest access" in launch("Instructor", **{CUSTOM: {"room_type": "lecture"}}).html


def test_viewer_never_sees_the_reason(launch):
    result = launch("Student", **{CUSTOM: {"room_type": "mediagallery"}})
    assert reason_shown(result.html) is None


def test_more_actions_is_a_real_menu_button(launch):
    html = launch("Student").html
    assert '<button type="button" class="icon-button" id="more-actions" aria-label="More actions"' in html
    assert 'aria-haspopup="menu"' in html and 'role="menu"' in html


# --- Module gating ---------------------------------------------------------------------------

MATRIX = list(itertools.product([True, False], [True, False], ["Yes", "No"]))


def modules(invite: bool, theming: bool, mediapage: str) -> dict:
    return {"invitetomedia": {"enabled": invite}, "theming": {"enabled": theming, "mediapage": mediapage}}


def expected_reason(invite: bool, theming: bool, mediapage: str) -> str | None:
    missing = []
    if not invite:
        missing.append(INVITE_MISSING)
    if not theming or mediapage != "Yes":
        missing.append(THEMING_MISSING)
    return " ".join(missing) or None


@pytest.mark.parametrize(("where"), ["global", "platform"])
@pytest.mark.parametrize(("invite", "theming", "mediapage"), MATRIX)
def test_module_gating_matrix(make_app, platform, where, invite, theming, mediapage):
    config = tool_config(platform)
    if where == "global":
        config["modules"] = modules(invite, theming, mediapage)
    else:
        config["platforms"][platform.issuer][0]["modules"] = modules(invite, theming, mediapage)
    result = do_launch(make_app(config).test_client(), platform, "Instructor")
    assert result.response.status_code == 200
    available = invite and theming and mediapage == "Yes"
    assert ("Manage guest access" in result.html) is available
    assert reason_shown(result.html) == expected_reason(invite, theming, mediapage)


def test_platform_override_can_enable_what_is_globally_off(make_app, platform):
    config = tool_config(platform, modules=modules(False, False, "No"))
    config["platforms"][platform.issuer][0]["modules"] = modules(True, True, "Yes")
    assert "Manage guest access" in do_launch(make_app(config).test_client(), platform).html


def test_override_of_one_platform_does_not_leak_to_another(make_app, platform, keyset_server):
    other = SakaiPlatform(key=platform.key, keyset=keyset_server, issuer="https://sakai2.test", client_id="c2")
    config = tool_config(platform)
    config["platforms"][platform.issuer][0]["modules"] = {"invitetomedia": {"enabled": False}}
    config["platforms"][other.issuer] = [other.registration()]
    client = make_app(config).test_client()
    assert "Manage guest access" not in do_launch(client, platform).html
    assert "Manage guest access" in do_launch(client, other).html


def test_partial_override_keeps_other_global_settings(make_app, platform):
    config = tool_config(platform, modules=modules(True, True, "No"))
    config["platforms"][platform.issuer][0]["modules"] = {"theming": {"mediapage": "Yes"}}
    assert "Manage guest access" in do_launch(make_app(config).test_client(), platform).html


def test_media_page_with_its_launch_token_is_never_cached(launch):
    assert launch("Instructor").response.headers["Cache-Control"] == "no-store"


def test_students_of_one_room_each_see_their_own_name_and_launch_token(client, launch):
    """The page is kept per room and role; the name and the launch token are each launch's own."""
    ada = launch("Student", user="s-1", name="Ada <Lovelace>")
    bob = launch("Student", user="s-2", name="Bob Baker")
    again = launch("Student", user="s-1", name="Ada <Lovelace>")
    assert "Signed in as Ada &lt;Lovelace&gt;" in ada.html
    assert "Signed in as Bob Baker" in bob.html
    assert "Ada" not in bob.html
    assert len({ada.token, bob.token, again.token}) == 3
    for page in (ada, bob, again):
        assert page.html.count(page.token) == 1
        me = client.get(f"/api/rooms/{page.room_id}/state", headers=page.headers)
        assert me.status_code == 200


def test_a_change_to_the_room_shows_on_the_next_launch(app, launch):
    before = launch("Instructor", user="h-1")
    assert 'id="setting-admission" name="admission_required" checked' in before.html
    with app.app_context():
        db.session.get(Room, before.room_id).admission_required = False
        db.session.commit()
    after = launch("Instructor", user="h-1")
    assert 'id="setting-admission"' in after.html
    assert 'id="setting-admission" name="admission_required" checked' not in after.html
