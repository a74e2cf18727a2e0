"""Stop speaking, Remove and End session racing a publish of the same person (PostgreSQL, real
Janus): whichever commits first, nobody is left publishing once both have answered."""

from __future__ import annotations

import threading

import pytest

from tests.media.conftest import media_config, wait_for
from tests.media.test_rules import allow, publishers
from tests.session.conftest import Room

pytestmark = pytest.mark.postgres


@pytest.mark.parametrize("action", ["stop speaking", "remove", "end session"])
def test_a_moderator_action_racing_a_publish_leaves_nobody_publishing(make_app, platform, janus_server, webrtc, action):
    from tests.conftest import do_launch

    app = make_app(config=media_config(platform, janus_server.entry), database="postgres")
    client = app.test_client()
    room = Room(app, client, lambda role="Instructor", **claims: do_launch(client, platform, role, **claims))
    for attempt in range(3):
        room.start()
        guest = room.guest(name=f"Guest {attempt}", email=f"g{attempt}@example.org")
        member = allow(room, guest)
        _, sdp = webrtc.offer()
        path, method = {
            "stop speaking": (f"/media/speakers/{member}", "DELETE"),
            "remove": (f"/guests/{guest.id}/remove", "POST"),
            "end session": ("/session/end", "POST"),
        }[action]
        answers = race(app, room, guest, sdp, path, method)
        assert answers["action"].status_code == 200, answers["action"].get_json()
        assert answers["publish"].status_code in (200, 403, 409), answers["publish"].get_json()
        wait_for(lambda: publishers(app, janus_server.entry, room.id) == [], 2, message="nobody publishing")
        if action != "end session":
            assert room.call(room.host, "POST", "/session/end").status_code == 200


def race(app, room, guest, sdp, path, method):
    """The guest's publish and the host's action, released together; both answers."""
    answers = {}
    start = threading.Barrier(2)
    host_client = app.test_client()

    def publish():
        start.wait()
        answers["publish"] = guest.client.post(f"/api/rooms/{room.id}/media/publish", json={"sdp": sdp})

    def moderate():
        start.wait()
        answers["action"] = host_client.open(
            f"/api/rooms/{room.id}{path}", method=method, json={}, headers=room.host.headers
        )

    threads = [threading.Thread(target=publish), threading.Thread(target=moderate)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return answers
