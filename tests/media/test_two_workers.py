"""Two workers (two app instances, one database): each signaling request of a participant may land
on either one, because every Janus session and handle the tool holds is in the database."""

from __future__ import annotations

import itertools

import pytest

from lti_tool import create_app
from lti_tool.extensions import db
from lti_tool.guest.identity import COOKIE_NAME
from tests.media.conftest import media_config, wait_for
from tests.session.conftest import Room


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_signaling_alternates_between_two_workers(make_app, platform, tool_keys_dir, janus_server, webrtc, database):
    from tests.conftest import do_launch

    config = media_config(platform, janus_server.entry)
    first = make_app(config=config, database=database)
    second = create_app(
        {
            "TESTING": True,
            "config": config,
            "database_url": first.config["SQLALCHEMY_DATABASE_URI"],
            "secret_key": "test-secret",
            "KEYS_DIR": str(tool_keys_dir),
        }
    )
    clients = [first.test_client(), second.test_client()]
    room = Room(first, clients[0], lambda role="Instructor", **c: do_launch(clients[0], platform, role, **c))
    room.start()
    guest = room.guest()
    # The guest's cookie, in a client of each worker.
    cookie = guest.client.get_cookie(COOKIE_NAME)
    guest_clients = []
    for app in (first, second):
        c = app.test_client()
        c.set_cookie(cookie.key, cookie.value)
        guest_clients.append(c)
    worker = itertools.cycle([0, 1])

    def host_call(method, path, body=None):
        return clients[next(worker)].open(
            f"/api/rooms/{room.id}{path}", method=method, json=body, headers=room.host.headers
        )

    def guest_call(method, path, body=None):
        client = guest_clients[next(worker)]
        return client.open(f"/api/rooms/{room.id}{path}", method=method, json=body if body is not None else {})

    pc, sdp = webrtc.offer()
    response = host_call("POST", "/media/publish", {"sdp": sdp})
    assert response.status_code == 200, response.get_json()
    webrtc.apply_answer(pc, response.get_json()["sdp"])
    feed = response.get_json()["feed"]
    wait_for(lambda: guest_call("GET", "/media").get_json()["feeds"], 10, message="the feed on both workers")
    assert host_call("GET", "/media").get_json()["you"]["peers"][0]["id"] == feed

    offer = guest_call("POST", "/media/subscribe", {"feed": feed}).get_json()
    guest_pc, answer = webrtc.accept(offer["sdp"])
    assert guest_call("POST", f"/media/peers/{offer['peer']}/answer", {"sdp": answer}).status_code == 200
    wait_for(lambda: webrtc.stats(guest_pc)["framesDecoded"] > 10, 10, message="video at the guest")
    for _ in range(4):  # the keepalive poll, on either worker
        body = guest_call("GET", "/media").get_json()
        assert body["status"] == "ready" and [p["id"] for p in body["you"]["peers"]] == [offer["peer"]]
    assert guest_call("DELETE", f"/media/peers/{offer['peer']}").status_code == 200
    assert guest_call("GET", "/media").get_json()["you"]["peers"] == []
    with second.app_context():
        db.engine.dispose()
