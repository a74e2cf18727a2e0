"""Janus killed mid-session: no 5xx anywhere, chat/hands/admission go on, and media comes back by
itself after Janus restarts (the room is made again, the pages publish and watch again)."""

from __future__ import annotations

from lti_tool.media.process import janus_binary
from tests.media.conftest import media_config, wait_for
from tests.media.test_signaling import feeds, publish, watch
from tests.session.conftest import Room


def test_janus_killed_then_restarted(make_app, platform, own_janus, webrtc):
    from tests.conftest import do_launch

    app = make_app(config=media_config(platform, own_janus.entry))
    client = app.test_client()
    room = Room(app, client, lambda role="Instructor", **claims: do_launch(client, platform, role, **claims))
    room.start()
    guest = room.guest()
    waiting = room.guest(status="waiting", name="Wanda Waiting", email="w@example.org")
    _, published = publish(room, room.host, webrtc)
    wait_for(lambda: feeds(room, guest)["feeds"], 10, message="the host's feed")
    _, guest_peer = watch(room, guest, webrtc, published["feed"])

    own_janus.stop(kill=True)

    answers = []
    for who in (room.host, guest):
        body = feeds(room, who)
        assert body["status"] == "reconnecting"
        assert body["message"] == "Audio and video are reconnecting…"
    _, sdp = webrtc.offer()
    calls = [
        (room.host, "POST", "/media/publish", {"sdp": sdp}),
        (guest, "POST", "/media/subscribe", {"feed": published["feed"]}),
        (guest, "POST", f"/media/peers/{guest_peer}/answer", {"sdp": sdp}),
        (room.host, "POST", "/media/unmute", None),
        (guest, "POST", "/chat", {"body": "Can you hear me?"}),
        (guest, "POST", "/hand", None),
        (room.host, "GET", "/state", None),
        (guest, "GET", "/state", None),
        (room.host, "POST", f"/guests/{waiting.id}/remove", None),
        (guest, "DELETE", f"/media/peers/{guest_peer}", None),
    ]
    for who, method, path, body in calls:
        response = room.call(who, method, path, body)
        answers.append((path, response.status_code))
        assert response.status_code < 500, (path, response.get_json())
    statuses = dict(answers)
    assert statuses["/media/publish"] == 409 and statuses["/chat"] == 200 and statuses["/hand"] == 200
    assert room.call(room.host, "POST", "/media/publish", {"sdp": sdp}).get_json()["code"] == "media_reconnecting"

    own_janus.start(janus_binary())

    body = wait_for(lambda: (b := feeds(room, room.host))["status"] == "ready" and b, 5, message="media ready")
    assert body["feeds"] == [] and body["you"]["peers"] == []  # every old peer is known dead: redo them
    _, published = publish(room, room.host, webrtc)
    wait_for(lambda: feeds(room, guest)["feeds"], 10, message="the host's feed after the restart")
    guest_pc, _ = watch(room, guest, webrtc, published["feed"])
    wait_for(lambda: webrtc.stats(guest_pc)["framesDecoded"] > 10, 10, message="video again at the guest")
    assert room.state(guest).get_json()["chat"]["messages"][-1]["body"] == "Can you hear me?"


def test_ending_the_session_while_janus_is_down_still_ends_it(make_app, platform, own_janus, webrtc):
    from tests.conftest import do_launch

    app = make_app(config=media_config(platform, own_janus.entry))
    client = app.test_client()
    room = Room(app, client, lambda role="Instructor", **claims: do_launch(client, platform, role, **claims))
    room.start()
    publish(room, room.host, webrtc)
    own_janus.stop(kill=True)
    assert room.call(room.host, "POST", "/session/end").status_code == 200
    assert room.state(room.host).get_json()["session"]["state"] == "ended"


def test_without_janus_configured_the_room_says_so(make_app, platform):
    from tests.conftest import do_launch

    app = make_app(config=media_config(platform, None))
    client = app.test_client()
    room = Room(app, client, lambda role="Instructor", **claims: do_launch(client, platform, role, **claims))
    room.start()
    state = room.state(room.host).get_json()
    assert state["media"] == {"configured": False}
    body = feeds(room, room.host)
    assert body["status"] == "off" and body["message"] == "Audio and video are not set up on this server."
    response = room.call(room.host, "POST", "/media/publish", {"sdp": "v=0\r\nm=audio 9 x\r\n"})
    assert response.status_code == 409 and response.get_json()["code"] == "media_off"
