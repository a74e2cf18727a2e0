"""Who may publish, watch and moderate, enforced on the server and checked in the real Janus.

Hostile clients call the endpoints directly (no page): what the page would never send is refused,
and Janus itself shows that nothing was published.
"""

from __future__ import annotations

import pytest
import requests
from sqlalchemy import select

from lti_tool.extensions import db
from lti_tool.media.janus import Janus, JanusError, RoomGone, SessionGone
from lti_tool.models import Guest, GuestLink, MediaPeer, MediaRoom
from tests.media.conftest import wait_for
from tests.media.test_signaling import feeds, publish, watch

MEDIA_ENDPOINTS = [
    ("GET", "/media", None),
    ("POST", "/media/publish", {"sdp": "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"}),
    ("POST", "/media/subscribe", {"feed": "x"}),
    ("POST", "/media/peers/x/answer", {"sdp": "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"}),
    ("DELETE", "/media/peers/x", None),
    ("POST", "/media/leave", None),
    ("POST", "/media/unmute", None),
    ("POST", "/media/speakers", {"hand_id": 1}),
    ("DELETE", "/media/speakers/x", None),
    ("POST", "/media/members/x/mute", None),
]


def janus_participants(app, entry, room_id):
    """Janus's own list for the room (None when Janus has no such room)."""
    with app.app_context():
        row = db.session.get(MediaRoom, room_id)
        janus_room = row.janus_room if row else None
    if janus_room is None:
        return None
    janus = Janus(entry["url"], entry["api_secret"], entry["admin_key"])
    session = janus.create_session()
    try:
        handle = janus.attach(session)
        data = janus.request(session, handle, {"request": "listparticipants", "room": janus_room})
    except RoomGone:
        return None
    finally:
        janus.destroy_session(session)
    return data["participants"]


def publishers(app, entry, room_id):
    return [p for p in janus_participants(app, entry, room_id) or [] if p.get("publisher")]


def peer_sessions(app, room_id, participant_key=None):
    with app.app_context():
        query = select(MediaPeer.janus_session).where(MediaPeer.room_id == room_id)
        return list(db.session.execute(query).scalars())


def speaking_link_guest(room, name="Pat Panelist"):
    """An admitted guest who came through a link set to "Guests can speak"."""
    guest = room.guest(name=name)
    with room.app.app_context():
        link = GuestLink(room_id=room.id, slot=1, token="t" * 40, name="Panel", guests_can_speak=True, created_by="h")
        db.session.add(link)
        db.session.flush()
        db.session.get(Guest, guest.id).link_id = link.id
        db.session.commit()
    return guest


def allow(room, who, name=None):
    assert room.call(who, "POST", "/hand").status_code == 200
    (hand,) = [h for h in room.state(room.host).get_json()["hands"] if h["name"] == (name or who.name)]
    response = room.call(room.host, "POST", "/media/speakers", {"hand_id": hand["id"]})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["member"]


# --- publishing rights --------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["viewer", "guest"])
def test_a_non_speaker_who_calls_publish_directly_is_refused_and_nothing_is_published(
    media_room, media_app, janus_server, webrtc, who
):
    room = media_room
    room.start()
    person = room.launch() if who == "viewer" else room.guest()
    assert room.state(person).get_json()["you"]["can_publish"] is False
    _, sdp = webrtc.offer()
    response = room.call(person, "POST", "/media/publish", {"sdp": sdp})
    assert response.status_code == 403
    assert response.get_json()["code"] == "not_speaker"
    assert janus_participants(media_app, janus_server.entry, room.id) in (None, [])
    assert peer_sessions(media_app, room.id) == []


def test_a_waiting_guest_gets_403_on_every_media_endpoint(media_room, media_app):
    room = media_room
    room.start()
    waiting = room.guest(status="waiting")
    for method, path, body in MEDIA_ENDPOINTS:
        response = room.call(waiting, method, path, body)
        assert response.status_code == 403, (method, path, response.get_json())
    with media_app.app_context():
        assert db.session.execute(select(MediaRoom)).all() == []


def test_a_guest_of_another_room_can_not_see_or_watch_this_rooms_feeds(media_room, media_app, platform, webrtc):
    from tests.links.conftest import OTHER_PLACEMENT

    room_b = media_room
    room_b.start()
    _, published = publish(room_b, room_b.host, webrtc)
    # Room A: another placement of the same course, with its own admitted guest.
    host_a = room_b._launch("Instructor", user="host-a", name="Ann Other", **OTHER_PLACEMENT)
    assert host_a.room_id != room_b.id
    guest_a = room_b.guest(room_id=host_a.room_id)
    # The feed id copied from room B, asked through room A's own endpoint: not a feed of room A.
    client = guest_a.client
    response = client.post(f"/api/rooms/{host_a.room_id}/media/subscribe", json={"feed": published["feed"]})
    assert response.status_code in (404, 409)
    # Room B's endpoints with room A's cookie: refused.
    for method, path, body in MEDIA_ENDPOINTS:
        url = f"/api/rooms/{room_b.id}{path.replace('/x', '/' + published['peer'])}"
        response = client.open(url, method=method, json=body if body is not None else {})
        assert response.status_code == 403, (method, path, response.get_json())


def test_janus_refuses_requests_without_the_api_secret(janus_server):
    url = janus_server.entry["url"]
    answer = requests.post(url, json={"janus": "create", "transaction": "t1"}, timeout=3).json()
    assert answer["janus"] == "error" and answer["error"]["code"] == 403
    wrong = requests.post(url, json={"janus": "create", "transaction": "t2", "apisecret": "guess"}, timeout=3).json()
    assert wrong["janus"] == "error" and wrong["error"]["code"] == 403
    janus = Janus(url, janus_server.entry["api_secret"], "not-the-admin-key")
    session = janus.create_session()
    try:
        handle = janus.attach(session)
        with pytest.raises(JanusError) as refused:  # only the tool (with the admin key) creates rooms
            janus.request(session, handle, {"request": "create", "room": 42, "admin_key": "not-the-admin-key"})
        assert refused.value.code == 433  # Unauthorized (wrong admin_key)
    finally:
        janus.destroy_session(session)


def test_a_guest_of_a_guests_can_speak_link_publishes_after_admission(media_room, media_app, janus_server, webrtc):
    room = media_room
    room.start()
    guest = speaking_link_guest(room)
    assert room.state(guest).get_json()["you"]["can_publish"] is True
    _pc, _published = publish(room, guest, webrtc)
    wait_for(lambda: publishers(media_app, janus_server.entry, room.id), 10, message="the guest publishing")
    (feed,) = wait_for(lambda: feeds(room, room.host)["feeds"], 5, message="the guest's feed")
    assert feed["name"] == "Pat Panelist" and feed["is_guest"] is True and feed["guest_id"] == guest.id
    assert "member" in feed
    (seen_by_guest,) = feeds(room, guest)["feeds"]
    assert seen_by_guest["is_you"] is True and "member" not in seen_by_guest and "guest_id" not in seen_by_guest


# --- allow to speak, stop speaking, mute, remove, end ----------------------------------------------------


def test_allow_to_speak_then_stop_speaking_ends_publishing_in_janus_within_2_s(
    media_room, media_app, janus_server, webrtc
):
    room = media_room
    room.start()
    guest = room.guest()
    member = allow(room, guest)
    assert room.state(guest).get_json()["you"]["can_publish"] is True
    assert room.state(room.host).get_json()["hands"] == []
    assert feeds(room, room.host)["speakers"] == [{"member": member, "name": "Grace Guest", "is_guest": True}]
    _pc, published = publish(room, guest, webrtc)
    wait_for(lambda: publishers(media_app, janus_server.entry, room.id), 10, message="the guest publishing")
    host_pc, _ = watch(room, room.host, webrtc, published["feed"])
    wait_for(lambda: webrtc.stats(host_pc)["framesDecoded"] > 5, 10, message="the host receiving the guest")

    response = room.call(room.host, "DELETE", f"/media/speakers/{member}")
    assert response.status_code == 200, response.get_json()
    wait_for(lambda: publishers(media_app, janus_server.entry, room.id) == [], 2, message="no publisher in Janus")
    assert room.state(guest).get_json()["you"]["can_publish"] is False
    after = feeds(room, room.host)
    assert after["feeds"] == [] and after["you"]["peers"] == []  # the host's watcher went with the feed
    _, sdp = webrtc.offer()
    again = room.call(guest, "POST", "/media/publish", {"sdp": sdp})
    assert again.status_code == 403 and again.get_json()["code"] == "not_speaker"


def test_only_hosts_and_moderators_allow_stop_and_mute(media_room, media_app, webrtc):
    room = media_room
    room.start()
    guest = room.guest()
    viewer = room.launch()
    assert room.call(guest, "POST", "/hand").status_code == 200
    (hand,) = room.state(room.host).get_json()["hands"]
    for who in (guest, viewer):
        assert room.call(who, "POST", "/media/speakers", {"hand_id": hand["id"]}).status_code == 403
    member = allow(room, viewer, "Sam Student")
    for who in (guest, viewer):
        assert room.call(who, "DELETE", f"/media/speakers/{member}").status_code == 403
        assert room.call(who, "POST", f"/media/members/{member}/mute").status_code == 403
    assert room.state(viewer).get_json()["you"]["can_publish"] is True


def test_a_host_can_not_be_stopped_and_mute_is_reported_to_the_muted(media_room, media_app, janus_server, webrtc):
    room = media_room
    room.start()
    moderator = room.launch("TeachingAssistant", user="ta-1", name="Tara TA")
    publish(room, room.host, webrtc)
    (feed,) = wait_for(lambda: feeds(room, moderator)["feeds"], 10, message="the host's feed")
    response = room.call(moderator, "DELETE", f"/media/speakers/{feed['member']}")
    assert response.status_code == 409 and response.get_json()["code"] == "always_speaks"
    assert room.call(moderator, "POST", f"/media/members/{feed['member']}/mute").status_code == 200
    assert room.state(room.host).get_json()["you"]["audio_muted_by_host"] is True
    assert feeds(room, moderator)["feeds"][0]["audio_muted_by_host"] is True
    assert room.call(room.host, "POST", "/media/unmute").status_code == 200
    assert room.state(room.host).get_json()["you"]["audio_muted_by_host"] is False


def test_remove_ends_the_guests_media_in_janus_and_old_credentials_get_403(media_room, media_app, janus_server, webrtc):
    room = media_room
    room.start()
    guest = speaking_link_guest(room)
    _, host_feed = publish(room, room.host, webrtc)
    wait_for(lambda: len(feeds(room, guest)["feeds"]) == 1, 10, message="the host's feed")
    watch(room, guest, webrtc, host_feed["feed"])
    _guest_pc, _ = publish(room, guest, webrtc)
    wait_for(lambda: len(publishers(media_app, janus_server.entry, room.id)) == 2, 10, message="two publishers")
    with media_app.app_context():
        guest_sessions = list(
            db.session.execute(
                select(MediaPeer.janus_session).where(MediaPeer.room_id == room.id, MediaPeer.feed_peer_id.is_(None))
            ).scalars()
        )

    response = room.call(room.host, "POST", f"/guests/{guest.id}/remove")
    assert response.status_code == 200, response.get_json()
    wait_for(lambda: len(publishers(media_app, janus_server.entry, room.id)) == 1, 2, message="guest unpublished")
    janus = Janus(**janus_server.entry)
    for session in peer_sessions_of_guest(media_app, room.id, guest.id) + guest_sessions[1:]:
        with pytest.raises(SessionGone):
            janus.keepalive(session)
    for method, path, body in MEDIA_ENDPOINTS:
        response = room.call(guest, method, path, body)
        assert response.status_code == 403, (method, path, response.get_json())


def peer_sessions_of_guest(app, room_id, guest_id):
    from lti_tool.models import MediaMember

    with app.app_context():
        return list(
            db.session.execute(
                select(MediaPeer.janus_session)
                .join(MediaMember, MediaMember.id == MediaPeer.member_id)
                .where(MediaPeer.room_id == room_id, MediaMember.guest_id == guest_id)
            ).scalars()
        )


def test_ending_the_session_destroys_the_room_in_janus(media_room, media_app, janus_server, webrtc):
    room = media_room
    room.start()
    guest = room.guest()
    _, published = publish(room, room.host, webrtc)
    wait_for(lambda: feeds(room, guest)["feeds"], 10, message="the host's feed")
    watch(room, guest, webrtc, published["feed"])
    sessions = peer_sessions(media_app, room.id)
    assert len(sessions) == 2
    assert janus_participants(media_app, janus_server.entry, room.id) is not None
    with media_app.app_context():
        janus_room = db.session.get(MediaRoom, room.id).janus_room

    assert room.call(room.host, "POST", "/session/end").status_code == 200
    janus = Janus(**janus_server.entry)
    session = janus.create_session()
    try:
        handle = janus.attach(session)
        with pytest.raises(RoomGone):
            janus.request(session, handle, {"request": "listparticipants", "room": janus_room})
    finally:
        janus.destroy_session(session)
    for gone in sessions:
        with pytest.raises(SessionGone):
            janus.keepalive(gone)
    assert feeds(room, room.host)["status"] == "not_live"
    _, sdp = webrtc.offer()
    response = room.call(room.host, "POST", "/media/publish", {"sdp": sdp})
    assert response.status_code == 409 and response.get_json()["code"] == "not_live"


# --- input and ownership ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "sdp"),
        ({"sdp": 5}, "sdp"),
        ({"sdp": "hello"}, "sdp"),
        ({"sdp": "v=0\r\nm=audio\r\n" + "a" * 70000}, "sdp"),
        ({"sdp": "v=0\r\nm=audio 9 x\r\n", "source": "microwave"}, "source"),
    ],
)
def test_bad_publish_input_is_a_400_with_its_field(media_room, body, field):
    room = media_room
    room.start()
    response = room.call(room.host, "POST", "/media/publish", body)
    assert response.status_code == 400
    assert response.get_json()["field"] == field


def test_an_sdp_janus_can_not_use_is_a_400_not_a_500(media_room):
    room = media_room
    room.start()
    response = room.call(room.host, "POST", "/media/publish", {"sdp": "v=0\r\nm=audio 9 nonsense\r\n"})
    assert response.status_code == 400
    assert response.get_json()["code"] == "sdp_refused"


def test_nobody_can_close_or_answer_someone_elses_peer(media_room, webrtc):
    room = media_room
    room.start()
    _, published = publish(room, room.host, webrtc)
    viewer = room.launch()
    assert room.call(viewer, "DELETE", f"/media/peers/{published['peer']}").status_code == 404
    response = room.call(viewer, "POST", f"/media/peers/{published['peer']}/answer", {"sdp": "v=0\r\nm=x\r\n"})
    assert response.status_code == 404
    assert room.call(viewer, "POST", "/media/subscribe", {"feed": "guessed-feed-id"}).status_code == 404
    assert room.call(viewer, "POST", "/media/subscribe", {"feed": 12345}).status_code == 404


def test_the_media_poll_needs_a_live_session(media_room):
    room = media_room
    body = feeds(room, room.host)
    assert body["status"] == "not_live" and body["feeds"] == []
    _, sdp = "", "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
    response = room.call(room.host, "POST", "/media/publish", {"sdp": sdp})
    assert response.status_code == 409 and response.get_json()["code"] == "not_live"
