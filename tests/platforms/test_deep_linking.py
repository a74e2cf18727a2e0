"""Sakai's content picker (Lessons, editor, site navigation) → the tool's picker → a signed
LtiDeepLinkingResponse that Sakai turns into a link, verified the way Sakai verifies it."""

from __future__ import annotations

import html as html_lib
import re

import jwt
import pytest
from sqlalchemy import func, select

from lti_tool.extensions import db
from lti_tool.models import AuditEvent, Room
from tests.sakai import CLIENT_ID, DEEP_LINK_RETURN_URL, ISSUER, LAUNCH_URL, C, deep_linking_request

DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"


def pick(client, token: str, **form):
    return client.post("/lti/deep-link", data={"launch_token": token, **form})


def returned_jwt(html: str) -> tuple[str, str]:
    action = re.search(r'<form id="autopost" method="post" action="([^"]+)"', html)
    value = re.search(r'<input type="hidden" name="JWT" value="([^"]+)"', html)
    assert action and value, html[:800]
    return html_lib.unescape(action.group(1)), value.group(1)


def verify_as_sakai(client, token: str) -> dict:
    """Sakai fetches the tool's key set and checks signature, issuer (client id) and audience."""
    keys = jwt.PyJWKSet.from_dict(client.get("/lti/jwks").get_json())
    kid = jwt.get_unverified_header(token)["kid"]
    [key] = [k for k in keys.keys if k.key_id == kid]
    return jwt.decode(token, key.key, algorithms=["RS256"], audience=ISSUER, issuer=CLIENT_ID)


def test_host_sees_the_picker_and_no_room_is_created(launch, app):
    result = launch("Instructor", **deep_linking_request())
    assert result.response.status_code == 200, result.html[:500]
    assert 'value="room"' in result.html and 'value="mediagallery"' in result.html
    assert ">Room</label>" in result.html and ">Media gallery</label>" in result.html
    assert '<label for="picker-title">Title</label>' in result.html
    assert 'name="launch_token"' in result.html
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Room)) == 0


@pytest.mark.parametrize("kind", ["room", "mediagallery"])
def test_picker_answers_sakai_with_a_signed_deep_linking_response(launch, client, kind):
    result = launch("Instructor", **deep_linking_request())
    response = pick(client, result.token, room_type=kind, title="  Guest  lecture week 3 ")
    assert response.status_code == 200
    action, token = returned_jwt(response.get_data(as_text=True))
    assert action == DEEP_LINK_RETURN_URL
    body = verify_as_sakai(client, token)
    assert body[C + "message_type"] == "LtiDeepLinkingResponse"
    assert body[C + "version"] == "1.3.0"
    assert body[C + "deployment_id"] == "1"
    assert body[DL + "data"] == "site-1|lessons|42"
    assert body["nonce"] and body["exp"] > body["iat"]
    assert body[DL + "content_items"] == [
        {
            "type": "ltiResourceLink",
            "title": "Guest lecture week 3",
            "url": LAUNCH_URL,
            "custom": {"room_type": kind},
        }
    ]


def test_the_new_link_launches_the_chosen_kind_of_room(launch, client, app):
    picked = launch("Instructor", **deep_linking_request())
    _, token = returned_jwt(pick(client, picked.token, room_type="mediagallery", title="Lab videos").get_data(True))
    [item] = verify_as_sakai(client, token)[DL + "content_items"]
    # Sakai stores the item as content:13 and launches it with the item's custom parameters.
    room = launch("Instructor", **{C + "resource_link": {"id": "content:13", "title": item["title"]},
                                   C + "custom": item["custom"]})  # fmt: skip
    assert "Lab videos" in room.html
    assert "Guest access is not available for media gallery rooms." in room.html
    with app.app_context():
        assert db.session.get(Room, room.room_id).kind == "mediagallery"


def test_response_without_data_in_the_settings_has_no_data_claim(launch, client):
    result = launch("Instructor", **deep_linking_request(data=None))
    _, token = returned_jwt(pick(client, result.token, room_type="room", title="Seminar").get_data(True))
    assert DL + "data" not in verify_as_sakai(client, token)


@pytest.mark.parametrize("role", ["Student", "Mentor"])
def test_viewers_cannot_use_the_picker(launch, client, role):
    result = launch(role, **deep_linking_request())
    assert result.response.status_code == 403
    assert "Only instructors and teaching assistants can add" in result.html
    assert 'name="room_type"' not in result.html


def test_a_teaching_assistant_can_pick(launch):
    result = launch("TeachingAssistant", **deep_linking_request())
    assert result.response.status_code == 200 and 'name="room_type"' in result.html


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"room_type": "room", "title": "   "}, "Enter a title"),
        ({"room_type": "room", "title": "x" * 256}, "255 characters or fewer"),
        ({"room_type": "lecture", "title": "Seminar"}, "Choose Room or Media gallery."),
    ],
)
def test_bad_choices_show_the_picker_again_with_the_reason(launch, client, app, form, message):
    result = launch("Instructor", **deep_linking_request())
    response = pick(client, result.token, **form)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in html_lib.unescape(html) and 'name="room_type"' in html and 'name="JWT"' not in html
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 0


def test_a_resource_link_launch_cannot_post_a_deep_link(launch, client):
    result = launch("Instructor")
    response = pick(client, result.token, room_type="room", title="Sneaky")
    assert response.status_code == 403
    assert "only works when Sakai's content picker opened the tool" in html_lib.unescape(response.get_data(True))


def test_picking_needs_the_launch_token(client):
    response = client.post("/lti/deep-link", data={"room_type": "room", "title": "x"})
    assert response.status_code == 401


def test_picking_is_audited(launch, client, app):
    result = launch("Instructor", **deep_linking_request())
    pick(client, result.token, room_type="room", title="Seminar")
    with app.app_context():
        event = db.session.scalars(select(AuditEvent)).one()
    assert event.action == "deep_link.created"
    assert event.detail == {"issuer": ISSUER, "room_type": "room", "title": "Seminar"}


def test_the_title_sakai_suggests_is_prefilled(launch):
    result = launch("Instructor", **deep_linking_request(title="Week 3 <live>"))
    assert 'name="title" value="Week 3 &lt;live&gt;"' in result.html
