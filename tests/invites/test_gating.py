"""Where "Invite users" is offered (the same gating as Manage guest access) and what an invitee's
entry page refuses."""

from __future__ import annotations

from sqlalchemy import func, select

from lti_tool.extensions import db
from lti_tool.models import Guest, Room
from tests.conftest import do_launch
from tests.guest.conftest import form_token
from tests.invites.conftest import Invites, enter, host_launch, path_of
from tests.sakai import C


def test_hosts_and_moderators_find_invite_users_in_the_menu_students_do_not(client, platform):
    for role, shown in [("Instructor", True), ("TeachingAssistant", True), ("Student", False)]:
        html = do_launch(client, platform, role, user=f"{role}-1").html
        assert ('id="menu-invite-users"' in html) is shown, role
        assert ('name="invitations-url"' in html) is shown, role


def test_a_media_gallery_room_offers_no_invitations(client, platform):
    launched = host_launch(client, platform, **{C + "custom": {"room_type": "mediagallery"}})
    assert 'id="menu-invite-users"' not in launched.html
    response = Invites(client, launched).create()
    assert response.status_code == 403 and response.get_json()["code"] == "guest_access_unavailable"


def test_an_invitation_of_a_room_that_no_longer_offers_them_shows_a_page_that_says_so(app, client, platform):
    launched = host_launch(client, platform)
    url = Invites(client, launched).create().get_json()["copy"]["url"]
    with app.app_context():
        db.session.get(Room, launched.room_id).kind = "mediagallery"
        db.session.commit()
    response = app.test_client().get(path_of(url))
    assert response.status_code == 403
    assert "Invitations are not available here" in response.get_data(as_text=True)


def test_the_invitee_confirms_a_name_that_follows_the_guest_rules(app, client, platform):
    launched = host_launch(client, platform)
    url = Invites(client, launched).create().get_json()["copy"]["url"]
    browser = app.test_client()
    page = browser.get(path_of(url))
    response = browser.post(path_of(url), data={"name": "x" * 10_000, "form_token": form_token(page.get_data(True))})
    assert response.status_code == 422
    assert "Your name can be at most 80 characters." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.execute(select(func.count(Guest.id))).scalar_one() == 0
    assert enter(browser, url, name="  Ada  ").status_code == 303
    with app.app_context():
        assert db.session.execute(select(Guest.name)).scalar_one() == "Ada"
