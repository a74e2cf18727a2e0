"""Publish and watch through the tool's endpoints, against a real Janus and real WebRTC peers."""

from __future__ import annotations

from tests.media.conftest import wait_for


def publish(room, who, webrtc, source="camera"):
    pc, sdp = webrtc.offer()
    response = room.call(who, "POST", "/media/publish", {"sdp": sdp, "source": source})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["type"] == "answer" and "a=candidate" in body["sdp"]
    webrtc.apply_answer(pc, body["sdp"])
    return pc, body


def feeds(room, who):
    response = room.call(who, "GET", "/media")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def watch(room, who, webrtc, feed):
    response = room.call(who, "POST", "/media/subscribe", {"feed": feed})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["type"] == "offer"
    pc, answer = webrtc.accept(body["sdp"])
    response = room.call(who, "POST", f"/media/peers/{body['peer']}/answer", {"sdp": answer})
    assert response.status_code == 200, response.get_json()
    return pc, body["peer"]


def test_guest_receives_the_hosts_video_and_audio(media_room, webrtc):
    room = media_room
    room.start()
    guest = room.guest()
    host_pc, published = publish(room, room.host, webrtc)
    wait_for(lambda: webrtc.stats(host_pc)["state"] == "connected", 10, message="host connected to Janus")

    listed = wait_for(lambda: feeds(room, guest)["feeds"], 5, message="the host's feed listed")
    assert listed == [
        {
            "id": published["feed"],
            "name": "Hannah Host",
            "is_guest": False,
            "source": "camera",
            "is_you": False,
            "audio_muted_by_host": False,
        }
    ]
    guest_pc, _ = watch(room, guest, webrtc, published["feed"])
    stats = wait_for(
        lambda: (s := webrtc.stats(guest_pc))["framesDecoded"] > 30 and s["audioPackets"] > 0 and s,
        10,
        message="decoded video frames and audio packets at the guest",
    )
    assert stats["state"] == "connected"


def test_camera_and_screen_are_two_feeds_and_publishing_again_replaces_one(media_room, media_app, janus_server, webrtc):
    from tests.media.test_rules import publishers

    room = media_room
    room.start()
    guest = room.guest()
    _, camera = publish(room, room.host, webrtc)
    _, screen = publish(room, room.host, webrtc, source="screen")
    listed = wait_for(lambda: len(f := feeds(room, guest)["feeds"]) == 2 and f, 10, message="two feeds")
    assert [(f["id"], f["source"]) for f in listed] == [(screen["feed"], "screen"), (camera["feed"], "camera")]

    _, camera_again = publish(room, room.host, webrtc)
    assert camera_again["feed"] != camera["feed"]
    listed = wait_for(
        lambda: {f["id"] for f in feeds(room, guest)["feeds"]} == {screen["feed"], camera_again["feed"]},
        10,
        message="the new camera feed instead of the old one",
    )
    assert len(publishers(media_app, janus_server.entry, room.id)) == 2
    peers = feeds(room, room.host)["you"]["peers"]
    assert {p["id"] for p in peers} == {screen["peer"], camera_again["peer"]}
    response = room.call(guest, "POST", "/media/subscribe", {"feed": camera["feed"]})
    assert response.status_code == 404 and response.get_json()["code"] == "feed_not_found"
