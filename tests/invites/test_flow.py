"""A host invites a named person with a role; the email arrives at a real SMTP server (aiosmtpd); the
person opens the link from it, confirms their name and is inside at once, with their role."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from lti_tool.extensions import db
from lti_tool.invites import mail, service
from lti_tool.models import AuditEvent, Guest, Invitation
from tests.conftest import tool_config
from tests.invites.conftest import Invites, enter, host_launch, mail_config, path_of


@pytest.fixture
def host(mail_app, platform):
    client = mail_app.test_client()
    return client, host_launch(client, platform)


@pytest.fixture
def invites(host):
    client, launched = host
    return Invites(client, launched)


def state_as(client, room_id, headers=None):
    response = client.get(f"/api/rooms/{room_id}/state", headers={"X-Requested-With": "fetch", **(headers or {})})
    return response


def test_the_invitation_email_has_text_and_html_parts_with_title_inviter_and_link(invites, smtp):
    response = invites.create(name="Ada Lovelace", role="speaker")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["mail_error"] is None and "copy" not in body
    assert body["invitations"][0] | {"id": None, "created_at": None} == {
        "id": None,
        "name": "Ada Lovelace",
        "email": "ada@example.org",
        "role": "speaker",
        "role_label": "Speaker",
        "status": "invited",
        "expires_at": None,
        "mail_status": "sent",
        "created_at": None,
    }
    assert smtp.envelopes == [("rooms@tool.test", ["ada@example.org"])]
    message = smtp.last()
    assert message["Subject"] == "Invitation: Weekly seminar"
    assert message["To"] == "ada@example.org"
    text, html = smtp.parts(message)
    link = smtp.link(message)
    for part in (text, html):
        assert "Weekly seminar" in part and "Hannah Host" in part and link in part and "Speaker" in part
    assert f'href="{link}"' in html
    assert len(path_of(link).rsplit("/", 1)[1]) >= 43  # 256 random bits, URL-safe base64
    with invites.client.application.app_context():
        row = db.session.execute(select(Invitation)).scalar_one()
        assert path_of(link).rsplit("/", 1)[1] not in (row.token_hash, row.id)  # only the hash is stored
        assert row.token_hash == service.token_hash(path_of(link).rsplit("/", 1)[1])


def test_html_part_escapes_the_room_title_and_names(make_app, platform, smtp):
    app = make_app(config=tool_config(platform, mail=mail_config(smtp)))
    client = app.test_client()
    launched = host_launch(
        client,
        platform,
        **{
            "https://purl.imsglobal.org/spec/lti/claim/resource_link": {
                "id": "content:12",
                "title": "R&D <b>bold</b>",
                "description": "",
            }
        },
    )
    assert Invites(client, launched).create().status_code == 201
    _, html = smtp.parts(smtp.last())
    assert "<b>bold</b>" not in html and "R&amp;D &lt;b&gt;bold&lt;/b&gt;" in html


def test_the_invitee_enters_from_the_email_without_the_waiting_room(invites, smtp, mail_app):
    assert invites.create(role="speaker").status_code == 201
    invitee = mail_app.test_client()
    entered = enter(invitee, smtp.link(), name="Ada L.")
    assert entered.status_code == 303 and entered.headers["Location"].endswith(f"/g/room/{invites.room_id}")
    page = invitee.get(f"/g/room/{invites.room_id}")
    assert page.status_code == 200
    assert "Invited as Speaker" in page.get_data(as_text=True)
    own = state_as(invitee, invites.room_id).get_json()
    assert own["you"]["invited_role"] == "speaker" and own["you"]["is_guest"] is True
    assert own["you"]["can_manage"] is False and "guests" not in own

    host_view = state_as(invites.client, invites.room_id, invites.headers).get_json()
    assert [(g["name"], g["link_name"], g["status"]) for g in host_view["guests"]] == [
        ("Ada L.", "Invited · Speaker", "admitted")
    ]
    assert invites.list().get_json()["invitations"][0]["status"] == "joined"
    with mail_app.app_context():
        actions = db.session.execute(select(AuditEvent.action).order_by(AuditEvent.id)).scalars().all()
        assert actions[-2:] == ["invite.create", "invite.join"]


def test_an_invitation_link_can_be_opened_without_using_it(invites, smtp, mail_app):
    invites.create()
    link = path_of(smtp.link())
    for _ in range(3):
        assert mail_app.test_client().get(link).status_code == 200
        assert mail_app.test_client().head(link).status_code == 200
    assert invites.list().get_json()["invitations"][0]["status"] == "invited"


def test_a_post_without_the_pages_form_token_lets_nobody_in(invites, smtp, mail_app):
    invites.create()
    browser = mail_app.test_client()
    response = browser.post(path_of(smtp.link()), data={"name": "Ada", "form_token": "forged"})
    assert response.status_code == 400
    with mail_app.app_context():
        assert db.session.execute(select(func.count(Guest.id))).scalar_one() == 0


def test_without_smtp_the_dialog_gets_the_invitation_text_to_copy(app, platform, client):
    launched = host_launch(client, platform)
    response = Invites(client, launched).create(role="moderator")
    assert response.status_code == 201
    body = response.get_json()
    assert body["mail_enabled"] is False and body["invitations"][0]["mail_status"] == "off"
    text = body["copy"]["text"]
    assert body["copy"]["url"] in text and "Weekly seminar" in text and "Hannah Host" in text and "Moderator" in text
    assert enter(app.test_client(), body["copy"]["url"]).status_code == 303
    # The link is in that one answer only: the list never shows it.
    assert body["copy"]["url"] not in Invites(client, launched).list().get_data(as_text=True)


def test_a_failed_send_stays_in_the_row_and_retry_sends_it(invites, smtp, mail_app):
    smtp.refuse = True
    response = invites.create()
    assert response.status_code == 201
    body = response.get_json()
    assert body["mail_error"] == mail.SEND_FAILED
    row = body["invitations"][0]
    assert row["mail_status"] == "failed" and row["status"] == "invited"
    assert smtp.messages == []

    smtp.refuse = False
    retried = invites.action(row["id"], "retry")
    assert retried.status_code == 200, retried.get_json()
    assert retried.get_json()["mail_error"] is None
    assert retried.get_json()["invitations"][0]["mail_status"] == "sent"
    assert enter(mail_app.test_client(), smtp.link()).status_code == 303
    # Retry is for a failed email only.
    assert invites.action(row["id"], "retry").status_code == 409


def test_a_mail_server_that_is_down_is_a_row_with_retry_not_an_error(make_app, platform, smtp):
    config = mail_config(smtp) | {"smtp_port": 1}  # nothing listens there
    app = make_app(config=tool_config(platform, mail=config))
    client = app.test_client()
    response = Invites(client, host_launch(client, platform)).create()
    assert response.status_code == 201
    assert response.get_json()["mail_error"] == mail.SERVER_DOWN
    assert response.get_json()["invitations"][0]["mail_status"] == "failed"


def test_resend_makes_a_new_link_and_revokes_the_old_one(invites, smtp, mail_app):
    first = invites.create(role="speaker", duration_days=3).get_json()["invitation"]["id"]
    old_link = smtp.link()
    resent = invites.action(first, "resend")
    assert resent.status_code == 200, resent.get_json()
    new_link = smtp.link()
    assert new_link != old_link and len(smtp.messages) == 2
    rows = {r["id"]: r for r in resent.get_json()["invitations"]}
    assert rows[first]["status"] == "revoked"
    new = rows[resent.get_json()["invitation"]["id"]]
    assert (new["status"], new["role"], new["expires_at"] is not None) == ("invited", "speaker", True)
    gone = mail_app.test_client().get(path_of(old_link))
    assert gone.status_code == 404 and "This link is no longer valid" in gone.get_data(as_text=True)
    assert enter(mail_app.test_client(), new_link).status_code == 303
    with mail_app.app_context():
        resend_event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "invite.resend")).scalar_one()
        assert resend_event.detail["replaces"] == first


def test_revoke_while_present_ends_the_stay_at_once_and_the_link_shows_no_longer_valid(invites, smtp, mail_app):
    invitation = invites.create().get_json()["invitation"]["id"]
    link = smtp.link()
    invitee = mail_app.test_client()
    enter(invitee, link)
    assert state_as(invitee, invites.room_id).status_code == 200

    revoked = invites.action(invitation, "revoke")
    assert revoked.status_code == 200
    assert revoked.get_json()["invitations"][0]["status"] == "revoked"
    chat = invitee.post(f"/api/rooms/{invites.room_id}/chat", json={"body": "still here?"})
    assert chat.status_code == 403
    closed = state_as(invitee, invites.room_id).get_json()  # the page's next poll (it also drops the cookie)
    assert closed["closed"] is True and closed["reason"] == "revoked"
    assert closed["title"] == "Your invitation was revoked"
    again = invitee.get(path_of(link))
    assert again.status_code == 404 and "This link is no longer valid" in again.get_data(as_text=True)
    host_view = state_as(invites.client, invites.room_id, invites.headers).get_json()
    assert host_view["guests"] == []
    assert invites.action(invitation, "revoke").status_code == 409
    with mail_app.app_context():
        assert db.session.execute(select(AuditEvent).where(AuditEvent.action == "invite.revoke")).scalar_one()


def test_removing_an_invitee_revokes_the_invitation_and_their_page_says_so(invites, smtp, mail_app):
    invitation = invites.create().get_json()["invitation"]["id"]
    link = smtp.link()
    invitee = mail_app.test_client()
    enter(invitee, link)
    host_view = state_as(invites.client, invites.room_id, invites.headers).get_json()
    guest_id = host_view["guests"][0]["id"]

    removed = invites.client.post(
        f"/api/rooms/{invites.room_id}/guests/{guest_id}/remove", json={}, headers=invites.headers
    )
    assert removed.status_code == 200, removed.get_json()
    closed = state_as(invitee, invites.room_id).get_json()
    # Not "you can come back through the link": the invitation went with the removal.
    assert (closed["reason"], closed["title"]) == ("revoked", "Your invitation was revoked")
    assert invitee.get(path_of(link)).status_code == 404
    rows = invites.list().get_json()["invitations"]
    assert [r["status"] for r in rows if r["id"] == invitation] == ["revoked"]


def test_a_second_browser_with_the_same_invitation_takes_the_place_of_the_first(invites, smtp, mail_app):
    invites.create()
    first, second = mail_app.test_client(), mail_app.test_client()
    enter(first, smtp.link())
    enter(second, smtp.link())
    assert state_as(first, invites.room_id).get_json()["reason"] == "ended"
    assert state_as(second, invites.room_id).status_code == 200
    names = [g["name"] for g in state_as(invites.client, invites.room_id, invites.headers).get_json()["guests"]]
    assert names == ["Ada Lovelace"]


def test_a_host_of_another_room_cannot_touch_these_invitations(invites, mail_app, platform):
    from tests.invites.conftest import OTHER_PLACEMENT

    invitation = invites.create().get_json()["invitation"]["id"]
    other_client = mail_app.test_client()
    other = host_launch(other_client, platform, **OTHER_PLACEMENT)
    assert other.room_id != invites.room_id
    theirs = Invites(other_client, other, room_id=invites.room_id)
    assert theirs.list().status_code == 403
    assert theirs.create().status_code == 403
    # Their own room's URL with this room's invitation id: not found there.
    assert Invites(other_client, other).action(invitation, "revoke").status_code == 404
    assert invites.list().get_json()["invitations"][0]["status"] == "invited"


def test_students_get_403_on_the_invitations_api(invites, mail_app, platform):
    from tests.conftest import do_launch

    student_client = mail_app.test_client()
    student = do_launch(student_client, platform, "Student", user="student-1")
    api = Invites(student_client, student)
    assert api.list().status_code == 403
    assert api.create().status_code == 403


def test_delete_erases_the_invitation_now_and_ends_an_open_one(invites, smtp, mail_app):
    invitation = invites.create().get_json()["invitation"]["id"]
    invitee = mail_app.test_client()
    enter(invitee, smtp.link())
    response = invites.client.delete(invites.url(f"/{invitation}"), headers=invites.headers)
    assert response.status_code == 200
    assert response.get_json()["invitations"] == []
    assert state_as(invitee, invites.room_id).get_json()["reason"] == "revoked"
    assert mail_app.test_client().get(path_of(smtp.link())).status_code == 404
    with mail_app.app_context():
        assert db.session.execute(select(Invitation)).first() is None
        actions = db.session.execute(select(AuditEvent.action).order_by(AuditEvent.id)).scalars().all()
        assert actions[-2:] == ["invite.join", "invite.delete"]
    assert invites.client.delete(invites.url(f"/{invitation}"), headers=invites.headers).status_code == 404
