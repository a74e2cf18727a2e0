"""Each invitee role's powers and limits, enforced on the server, with audio/video in a real Janus.

Viewer: watches and chats. Speaker: also publishes. Moderator: also admits and declines guests,
allows and stops speaking, removes guests — and gets 403 on links, invitations, room settings, the
session's start and end, and on anything in another room. Hostile clients call the endpoints directly.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from lti_tool.extensions import db
from lti_tool.models import Guest, GuestLink
from tests.guest.conftest import add_link, join
from tests.invites.conftest import OTHER_PLACEMENT, Invites, enter
from tests.media.conftest import wait_for
from tests.media.test_rules import MEDIA_ENDPOINTS, publishers
from tests.media.test_signaling import feeds, publish
from tests.session.conftest import GuestUser


def invite(room, role: str, name: str = "Ivy Invitee") -> tuple[GuestUser, str]:
    """Invite `name` as `role` (email off: the dialog's copy link) and enter with it in their own browser."""
    response = Invites(room.client, room.host).create(name=name, email=f"{role}@example.org", role=role)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    client = room.app.test_client()
    assert enter(client, body["copy"]["url"]).status_code == 303
    with room.app.app_context():
        guest_id = db.session.execute(
            select(Guest.id).where(Guest.invitation_id == body["invitation"]["id"], Guest.status == "admitted")
        ).scalar_one()
    return GuestUser(guest_id, client, name), body["invitation"]["id"]


def link_guest(room, name: str) -> GuestUser:
    """A guest who joined through the room's guest link (admission required: they wait)."""
    with room.app.app_context():
        token = db.session.execute(select(GuestLink.token).where(GuestLink.room_id == room.id)).scalar()
    token = token or add_link(room.app, room.id)
    client = room.app.test_client()
    join(client, token, name=name, email=f"{name.split()[0].lower()}@example.org")
    with room.app.app_context():
        guest_id = db.session.execute(select(Guest.id).where(Guest.name == name)).scalar_one()
    return GuestUser(guest_id, client, name)


@pytest.mark.parametrize("role", ["viewer", "speaker", "moderator"])
def test_an_invitee_is_inside_without_waiting_whatever_the_admission_rule(media_room, role):
    room = media_room
    room.start()
    invitee, _ = invite(room, role)
    state = room.state(invitee).get_json()
    assert state["you"]["invited_role"] == role
    assert state["you"]["can_chat"] is True
    assert room.call(invitee, "POST", "/chat", {"body": "Hello from an invitee"}).status_code == 200
    (row,) = room.state(room.host).get_json()["guests"]
    assert (row["link_name"], row["status"]) == (f"Invited · {role.capitalize()}", "admitted")
    assert room.state(room.host).get_json()["participants"] == [
        {"name": "Hannah Host", "role": "host", "is_moderator": True}
    ]  # invitees are listed apart from the Sakai participants


def test_a_viewer_watches_and_chats_but_may_not_publish_or_moderate(media_room, media_app, janus_server, webrtc):
    room = media_room
    room.start()
    viewer, _ = invite(room, "viewer")
    other = link_guest(room, "Walt Waiting")
    assert room.state(viewer).get_json()["you"]["can_publish"] is False
    _, sdp = webrtc.offer()
    refused = room.call(viewer, "POST", "/media/publish", {"sdp": sdp})
    assert (refused.status_code, refused.get_json()["code"]) == (403, "not_speaker")
    for method, path in [
        ("POST", f"/guests/{other.id}/admit"),
        ("POST", f"/guests/{other.id}/decline"),
        ("POST", "/guests/admit-all"),
        ("POST", f"/guests/{other.id}/remove"),
        ("POST", "/media/speakers"),
        ("DELETE", "/media/speakers/x"),
        ("POST", "/media/members/x/mute"),
    ]:
        response = room.call(viewer, method, path, {"hand_id": 1})
        assert response.status_code == 403, (method, path, response.get_json())
    assert publishers(media_app, janus_server.entry, room.id) == []


def test_a_speaker_publishes_audio_and_video_in_janus_and_can_be_stopped(media_room, media_app, janus_server, webrtc):
    room = media_room
    room.start()
    speaker, _ = invite(room, "speaker", name="Sam Speaker")
    assert room.state(speaker).get_json()["you"]["can_publish"] is True
    publish(room, speaker, webrtc)
    wait_for(lambda: publishers(media_app, janus_server.entry, room.id), 10, message="the speaker in Janus")
    (feed,) = wait_for(lambda: feeds(room, room.host)["feeds"], 5, message="the speaker's feed")
    assert (feed["name"], feed["is_guest"], feed["guest_id"]) == ("Sam Speaker", True, speaker.id)
    # A speaker does not moderate.
    assert room.call(speaker, "DELETE", f"/media/speakers/{feed['member']}").status_code == 403
    # The host's Stop speaking wins over the invitation's role.
    assert room.call(room.host, "DELETE", f"/media/speakers/{feed['member']}").status_code == 200
    wait_for(lambda: publishers(media_app, janus_server.entry, room.id) == [], 2, message="no publisher in Janus")
    assert room.state(speaker).get_json()["you"]["can_publish"] is False


def test_a_moderator_admits_declines_allows_and_stops_speaking_and_removes_guests(
    media_room, media_app, janus_server, webrtc
):
    room = media_room
    room.start()
    moderator, _ = invite(room, "moderator", name="Mona Moderator")
    state = room.state(moderator).get_json()
    assert state["you"]["can_manage"] is True and state["you"]["can_run_session"] is False
    assert state["you"]["can_publish"] is True
    waiting = [link_guest(room, "Walt Waiting"), link_guest(room, "Dora Declined")]
    listed = {g["name"]: g for g in room.state(moderator).get_json()["guests"]}
    assert listed["Walt Waiting"]["status"] == "waiting"
    assert listed["Walt Waiting"]["email"] is None  # an invited moderator sees names, not others' emails

    assert room.call(moderator, "POST", f"/guests/{waiting[0].id}/admit").status_code == 200
    assert room.call(moderator, "POST", f"/guests/{waiting[1].id}/decline").status_code == 200
    admitted = waiting[0]
    assert room.state(admitted).status_code == 200

    assert room.call(admitted, "POST", "/hand").status_code == 200
    (hand,) = room.state(moderator).get_json()["hands"]
    allowed = room.call(moderator, "POST", "/media/speakers", {"hand_id": hand["id"]})
    assert allowed.status_code == 200, allowed.get_json()
    publish(room, admitted, webrtc)
    wait_for(lambda: publishers(media_app, janus_server.entry, room.id), 10, message="the guest in Janus")
    assert room.call(moderator, "POST", f"/media/members/{allowed.get_json()['member']}/mute").status_code == 200
    assert room.call(moderator, "DELETE", f"/media/speakers/{allowed.get_json()['member']}").status_code == 200
    wait_for(lambda: publishers(media_app, janus_server.entry, room.id) == [], 2, message="stopped in Janus")

    # Allowed again, publishing, then removed: their media ends in Janus with them.
    assert room.call(admitted, "POST", "/hand").status_code == 200
    (hand,) = room.state(moderator).get_json()["hands"]
    assert room.call(moderator, "POST", "/media/speakers", {"hand_id": hand["id"]}).status_code == 200
    publish(room, admitted, webrtc)
    wait_for(lambda: publishers(media_app, janus_server.entry, room.id), 10, message="the guest in Janus again")
    assert room.call(moderator, "POST", f"/guests/{admitted.id}/remove").status_code == 200
    wait_for(lambda: publishers(media_app, janus_server.entry, room.id) == [], 2, message="removed from Janus")
    assert room.state(admitted).get_json()["reason"] == "removed"


def test_a_moderator_gets_403_beyond_the_role(media_room, media_app, platform):
    room = media_room
    room.start()
    moderator, invitation = invite(room, "moderator")
    guest = link_guest(room, "Walt Waiting")
    message = room.call(room.host, "POST", "/chat", {"body": "Host's note"}).get_json()["id"]
    for method, path, body in [
        ("GET", "/links", None),
        ("POST", "/links", {"name": "Sneaky link"}),
        ("POST", "/guest-access", {"enabled": False}),
        ("GET", "/invitations", None),
        ("POST", "/invitations", {"name": "Friend", "email": "friend@example.org", "role": "moderator"}),
        ("POST", f"/invitations/{invitation}/revoke", None),
        ("POST", f"/invitations/{invitation}/resend", None),
        ("PATCH", "/settings", {"guest_chat_enabled": False}),
        ("PATCH", "/admission", {"required": False}),
        ("POST", "/session/end", None),
        ("POST", "/session/start", None),
        ("DELETE", f"/chat/{message}", None),
        ("DELETE", f"/guests/{guest.id}", None),
        ("GET", "/guests/waiting", None),
    ]:
        response = room.call(moderator, method, path, body)
        assert response.status_code == 403, (method, path, response.get_json())
    # Nothing changed: the session is live, the link list and settings are as they were.
    host_view = room.state(room.host).get_json()
    assert host_view["session"]["state"] == "live" and host_view["guest_chat_enabled"] is True
    assert [g["name"] for g in host_view["guests"]] == ["Ivy Invitee", "Walt Waiting"]
    assert len(Invites(room.client, room.host).list().get_json()["invitations"]) == 1


def test_a_moderator_can_do_nothing_in_another_room(media_room, media_app, platform):
    from tests.conftest import do_launch

    room = media_room
    room.start()
    moderator, _ = invite(room, "moderator")
    other = do_launch(room.client, platform, "Instructor", user="host-2", **OTHER_PLACEMENT)
    other_room = other.room_id
    assert room.client.post(f"/api/rooms/{other_room}/session/start", headers=other.headers).status_code == 200
    for method, path, body in [
        ("GET", "/state", None),
        ("POST", "/chat", {"body": "hi"}),
        ("POST", "/guests/admit-all", None),
        ("POST", "/guests/x/admit", None),
        ("POST", "/guests/x/remove", None),
        *MEDIA_ENDPOINTS,
    ]:
        response = moderator.client.open(
            f"/api/rooms/{other_room}{path}", method=method, json=body or {}, headers={"X-Requested-With": "fetch"}
        )
        assert response.status_code == 403, (method, path, response.get_json())
    assert moderator.client.get(f"/g/room/{other_room}").status_code == 403


def test_revoke_while_publishing_ends_the_feed_in_janus_within_2_s(media_room, media_app, janus_server, webrtc):
    room = media_room
    room.start()
    speaker, invitation = invite(room, "speaker", name="Sam Speaker")
    publish(room, speaker, webrtc)
    wait_for(lambda: publishers(media_app, janus_server.entry, room.id), 10, message="the speaker in Janus")

    response = Invites(room.client, room.host).action(invitation, "revoke")
    assert response.status_code == 200
    wait_for(lambda: publishers(media_app, janus_server.entry, room.id) == [], 2, message="no publisher in Janus")
    assert feeds(room, room.host)["feeds"] == []
    closed = room.state(speaker).get_json()
    assert (closed["closed"], closed["reason"]) == (True, "revoked")
    assert room.state(room.host).get_json()["guests"] == []
