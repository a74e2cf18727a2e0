"""Two real Janus processes behind one tool: rooms spread across them, a room's participants all land
on its server, and when one server is killed its rooms move to the other and media comes back."""

from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import select

from lti_tool.extensions import db
from lti_tool.media import servers
from lti_tool.media.janus import Janus
from lti_tool.models import MediaRoom
from tests.conftest import do_launch, tool_config
from tests.media.conftest import start_janus_for_test, wait_for
from tests.media.test_signaling import feeds, publish, watch
from tests.session.conftest import Room

C = "https://purl.imsglobal.org/spec/lti/claim/"


@pytest.fixture
def second_janus(tmp_path):
    server = start_janus_for_test(tmp_path / "janus-2")
    yield server
    server.stop(kill=True)


def two_server_app(make_app, platform, first, second, weights=(1, 1), database="sqlite"):
    entries = [{**first.entry, "weight": weights[0]}, {**second.entry, "weight": weights[1]}]
    return make_app(config=tool_config(platform, media={"janus": entries}), database=database)


@pytest.fixture
def stop_monitors():
    apps = []
    yield apps.append
    for app in apps:
        servers.stop_monitor(app)


def room_on(app, platform, n: int) -> Room:
    """The n-th room (a placement of its own), live, its host launched."""
    client = app.test_client()
    link = {C + "resource_link": {"id": f"content:{n}", "title": f"Room {n}"}}
    room = Room(app, client, lambda role="Instructor", **claims: do_launch(client, platform, role, **claims, **link))
    room.start()
    return room


def placement(app) -> dict[str, str]:
    with app.app_context():
        return dict(db.session.execute(select(MediaRoom.room_id, MediaRoom.server)).all())


def janus_rooms(entry) -> set[int]:
    janus = Janus(entry["url"], entry["api_secret"], entry["admin_key"])
    return {r["room"] for r in janus.control({"request": "list", "admin_key": janus.admin_key})["list"]}


def janus_room_id(app, room_id) -> int:
    with app.app_context():
        return db.session.get(MediaRoom, room_id).janus_room


@pytest.mark.parametrize(("weights", "expected"), [((1, 1), (2, 2)), ((3, 1), (3, 1))])
def test_rooms_spread_across_the_servers_by_weight(
    make_app, platform, janus_server, second_janus, stop_monitors, weights, expected
):
    app = two_server_app(make_app, platform, janus_server, second_janus, weights)
    stop_monitors(app)
    rooms = [room_on(app, platform, n) for n in range(4)]
    for room in rooms:
        assert feeds(room, room.host)["status"] == "ready"
    placed = placement(app)
    counts = tuple(list(placed.values()).count(s.entry["url"]) for s in (janus_server, second_janus))
    assert counts == expected
    for room in rooms:  # each VideoRoom exists on its own server only
        on = next(s for s in (janus_server, second_janus) if s.entry["url"] == placed[room.id])
        off = second_janus if on is janus_server else janus_server
        assert janus_room_id(app, room.id) in janus_rooms(on.entry)
        assert janus_room_id(app, room.id) not in janus_rooms(off.entry)


def test_every_participant_of_a_room_lands_on_its_server(
    make_app, platform, janus_server, second_janus, stop_monitors, webrtc
):
    app = two_server_app(make_app, platform, janus_server, second_janus)
    stop_monitors(app)
    first_room, second_room = room_on(app, platform, 1), room_on(app, platform, 2)
    for room in (first_room, second_room):
        guest = room.guest()
        _, published = publish(room, room.host, webrtc)
        wait_for(lambda r=room, g=guest: feeds(r, g)["feeds"], 10, message="the host's feed")
        guest_pc, _ = watch(room, guest, webrtc, published["feed"])
        wait_for(lambda pc=guest_pc: webrtc.stats(pc)["framesDecoded"] > 10, 10, message="video at the guest")
    placed = placement(app)
    assert placed[first_room.id] == janus_server.entry["url"] and placed[second_room.id] == second_janus.entry["url"]
    for room, server, other in ((first_room, janus_server, second_janus), (second_room, second_janus, janus_server)):
        janus = Janus(server.entry["url"], server.entry["api_secret"], server.entry["admin_key"])
        listed = janus.control({"request": "listparticipants", "room": janus_room_id(app, room.id)})["participants"]
        assert [p["publisher"] for p in listed] == [True]  # the host publishes there; the guest watches there
        assert janus_room_id(app, room.id) not in janus_rooms(other.entry)


class Page:
    """What media.js does, from the test: poll, and redo its publisher or subscriber when it is gone."""

    def __init__(self, room, who, webrtc, publishes: bool):
        self.room, self.who, self.webrtc, self.publishes = room, who, webrtc, publishes
        self.pc = None

    def poll(self) -> dict:
        body = feeds(self.room, self.who)
        if body["status"] != "ready":
            return body
        mine = body["you"]["peers"]
        if self.publishes and not mine:
            self.pc, _ = publish(self.room, self.who, self.webrtc)
        elif not self.publishes and not mine and body["feeds"]:
            self.pc, _ = watch(self.room, self.who, self.webrtc, body["feeds"][0]["id"])
        return body

    def frames(self) -> int:
        return self.webrtc.stats(self.pc)["framesDecoded"] if self.pc else 0


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_killing_a_server_moves_its_rooms_and_media_resumes_within_15_s(
    make_app, platform, janus_server, second_janus, stop_monitors, webrtc, database
):
    app = two_server_app(make_app, platform, janus_server, second_janus, database=database)
    stop_monitors(app)
    healthy_room, doomed_room = room_on(app, platform, 1), room_on(app, platform, 2)
    pages = {}
    for room in (healthy_room, doomed_room):
        host, guest = Page(room, room.host, webrtc, True), Page(room, room.guest(), webrtc, False)
        pages[room.id] = (host, guest)
        wait_for(lambda h=host, g=guest: (h.poll(), g.poll()) and g.frames() > 10, 15, message="video at the guest")
    assert placement(app)[doomed_room.id] == second_janus.entry["url"]
    healthy_peers = {p["id"] for page in pages[healthy_room.id] for p in page.poll()["you"]["peers"]}

    second_janus.stop(kill=True)
    killed_at = time.monotonic()
    host, guest = pages[doomed_room.id]
    before = guest.pc

    def resumed():
        host.poll()
        guest.poll()
        return guest.pc is not before and guest.frames() > 10

    wait_for(resumed, 15, interval=0.5, message="media back in the moved room")
    took = time.monotonic() - killed_at
    print(f"media back in the moved room {took:.1f} s after the kill")
    assert took <= 15
    assert placement(app)[doomed_room.id] == janus_server.entry["url"]
    assert janus_room_id(app, doomed_room.id) in janus_rooms(janus_server.entry)
    # The room on the healthy server was left alone: same peers, video still flowing.
    healthy_host, healthy_guest = pages[healthy_room.id]
    assert {p["id"] for page in (healthy_host, healthy_guest) for p in page.poll()["you"]["peers"]} == healthy_peers
    frames = healthy_guest.frames()
    wait_for(lambda: healthy_guest.frames() > frames + 10, 5, message="video still flowing in the healthy room")

    # `lti-tool media status` tells the admin.
    result = app.test_cli_runner().invoke(args=["lti", "media", "status"])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines() if line.startswith("http")}
    assert "unreachable" in lines[second_janus.entry["url"]] and "out of placement" in lines[second_janus.entry["url"]]
    assert "2 rooms" in lines[janus_server.entry["url"]] and "reachable" in lines[janus_server.entry["url"]]


def test_a_server_is_out_of_placement_within_10_s_and_back_when_it_answers(
    make_app, platform, janus_server, second_janus, stop_monitors
):
    app = two_server_app(make_app, platform, janus_server, second_janus)
    stop_monitors(app)
    with app.app_context():
        servers.fleet()  # starts the monitor
    url = second_janus.entry["url"]

    def out():
        with app.app_context():
            return url in servers.down()

    second_janus.stop(kill=True)
    stopped = time.monotonic()
    wait_for(out, 10, interval=0.1, message="the dead server out of placement")
    took = time.monotonic() - stopped
    print(f"out of placement {took:.1f} s after the kill")
    assert took <= 10
    rooms = [room_on(app, platform, n) for n in range(3)]
    for room in rooms:
        feeds(room, room.host)
    assert set(placement(app).values()) == {janus_server.entry["url"]}  # nothing new goes there

    from tests.media.conftest import _require_janus

    second_janus.start(_require_janus())
    wait_for(lambda: not out(), 10, interval=0.1, message="the server back in placement")


@pytest.mark.parametrize(
    ("weight", "message"),
    [(0, "weight: must be a number above 0"), (-1, "weight"), ("2", "weight"), (True, "weight"), (1001, "weight")],
)
def test_a_bad_weight_is_one_clear_line(platform, weight, message):
    from lti_tool.config import ConfigError, load_settings

    entry = {"url": "http://10.0.0.5:8088/janus", "api_secret": "a", "admin_key": "b", "weight": weight}
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings({"TESTING": True, "config": tool_config(platform, media={"janus": [entry]})})


def test_the_same_janus_listed_twice_is_refused(platform):
    from lti_tool.config import ConfigError, load_settings

    entry = {"url": "http://10.0.0.5:8088/janus", "api_secret": "a", "admin_key": "b"}
    with pytest.raises(ConfigError, match="is listed twice"):
        load_settings({"TESTING": True, "config": tool_config(platform, media={"janus": [entry, dict(entry)]})})


def test_a_room_placed_before_several_servers_moves_onto_one(
    make_app, platform, janus_server, second_janus, stop_monitors
):
    """A room row from before placement existed (no server) is put on a configured server."""
    app = two_server_app(make_app, platform, janus_server, second_janus)
    stop_monitors(app)
    room = room_on(app, platform, 1)
    assert feeds(room, room.host)["status"] == "ready"
    with app.app_context():
        db.session.get(MediaRoom, room.id).server = None
        db.session.commit()
    assert feeds(room, room.host)["status"] == "ready"
    assert placement(app)[room.id] in (janus_server.entry["url"], second_janus.entry["url"])


def _together(calls):
    """Run the calls at once (released by one barrier); their answers in order."""
    import threading

    answers = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def run(i, call):
        start.wait()
        answers[i] = call()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return answers


@pytest.mark.postgres
def test_people_arriving_at_once_agree_on_one_server_and_a_move_happens_once(
    make_app, platform, janus_server, second_janus, stop_monitors, caplog
):
    app = two_server_app(make_app, platform, janus_server, second_janus, database="postgres")
    stop_monitors(app)
    caplog.set_level("WARNING", logger="lti_tool.media")
    urls = {janus_server.entry["url"]: janus_server.entry, second_janus.entry["url"]: second_janus.entry}
    rooms = [room_on(app, platform, n) for n in range(3)]
    for room in rooms:
        people = [room.host, *(room.guest(name=f"G{i}", email=f"g{i}@example.org") for i in range(5))]
        answers = _together([lambda who=who, r=room: r.call(who, "GET", "/media") for who in people])
        assert [a.status_code for a in answers] == [200] * 6
        assert {a.get_json()["status"] for a in answers} <= {"ready", "reconnecting"}
        server = placement(app)[room.id]
        where = [url for url, entry in urls.items() if janus_room_id(app, room.id) in janus_rooms(entry)]
        moves = [r.getMessage() for r in caplog.records if "moved" in r.getMessage() or "health" in r.getMessage()]
        assert where == [server], moves  # one VideoRoom, on the server the database says
        assert all(feeds(room, who)["status"] == "ready" for who in people)

    doomed = [room for room in rooms if placement(app)[room.id] == second_janus.entry["url"]]
    assert doomed
    second_janus.stop(kill=True)
    wait_for(lambda: _is_down(app, second_janus.entry["url"]), 10, interval=0.1, message="out of placement")
    for room in doomed:
        caplog.clear()
        before = janus_room_id(app, room.id)
        people = [room.host, room.guest(name="Late", email="late@example.org")] * 3
        answers = _together([lambda who=who, r=room: r.call(who, "GET", "/media") for who in people])
        assert [a.status_code for a in answers] == [200] * 6
        assert placement(app)[room.id] == janus_server.entry["url"] and janus_room_id(app, room.id) == before
        assert before in janus_rooms(janus_server.entry)
        assert feeds(room, room.host)["status"] == "ready"
        assert sum("moved a room" in r.getMessage() for r in caplog.records) == 1  # one worker moved it


def _is_down(app, url):
    with app.app_context():
        return url in servers.down()
