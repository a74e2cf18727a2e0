"""TURN through a real coturn: who gets a credential, what coturn makes of it, and the configs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import time

import pytest

from lti_tool.clock import utcnow
from lti_tool.config import ConfigError, TurnServer, load_settings
from lti_tool.media import turn
from tests.conftest import do_launch, tool_config
from tests.media.conftest import media_config, wait_for
from tests.session.conftest import Room

GOOD = {"urls": ["turn:turn.example.edu:3478?transport=udp", "turns:turn.example.edu:443"], "secret": "s" * 32}


def _settings(platform, value):
    return load_settings({"TESTING": True, "config": tool_config(platform, media={"turn": value})})


def test_media_turn_is_read_with_a_short_default_lifetime(platform):
    settings = _settings(platform, GOOD)
    assert settings.turn.urls == tuple(GOOD["urls"]) and settings.turn.ttl_seconds == 300
    assert "s" * 32 not in repr(settings.turn)
    assert _settings(platform, {**GOOD, "ttl_seconds": 3600}).turn.ttl_seconds == 3600
    assert load_settings({"TESTING": True, "config": tool_config(platform)}).turn is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("turn:x", "media.turn: must be an object"),
        ({**GOOD, "user": "x"}, "unknown key 'user'"),
        ({**GOOD, "urls": []}, "media.turn.urls: must be a non-empty list"),
        ({**GOOD, "urls": ["stun:host:3478"]}, "'stun:host:3478' is not a TURN URL"),
        ({**GOOD, "urls": ["turn:host:99999"]}, "is not a TURN URL"),
        ({**GOOD, "urls": ["turns:host:443?transport=udp"]}, "is not a TURN URL"),
        ({**GOOD, "urls": ["turn:bad host"]}, "is not a TURN URL"),
        ({**GOOD, "secret": "short"}, "media.turn.secret: must be coturn's static-auth-secret"),
        ({"urls": GOOD["urls"]}, "media.turn.secret"),
        ({**GOOD, "ttl_seconds": 10}, "media.turn.ttl_seconds: must be a whole number of seconds from 60"),
        ({**GOOD, "ttl_seconds": "3600"}, "ttl_seconds"),
        ({**GOOD, "ttl_seconds": True}, "ttl_seconds"),
    ],
)
def test_a_bad_media_turn_is_one_clear_line(platform, value, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        _settings(platform, value)


@pytest.fixture
def turn_app(make_app, platform, janus_server, coturn_server):
    config = media_config(platform, janus_server.entry)
    config["media"]["turn"] = coturn_server.entry
    return make_app(config=config)


@pytest.fixture
def turn_room(turn_app, platform):
    client = turn_app.test_client()
    return Room(turn_app, client, lambda role="Instructor", **claims: do_launch(client, platform, role, **claims))


def ice(room, who):
    response = room.call(who, "GET", "/media")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_an_admitted_guest_gets_a_short_lived_credential_that_coturn_relays(turn_room, coturn_server, webrtc):
    room = turn_room
    room.start()
    guest = room.guest()
    before = int(time.time())
    body = ice(room, guest)
    assert body["status"] == "ready"
    [server] = body["ice_servers"]
    assert server["urls"] == coturn_server.urls
    expiry, opaque = server["username"].split(":")
    # No longer than ttl_seconds (120 here) plus the rounding minute; nothing about the person in it.
    assert before + 120 <= int(expiry) <= before + 120 + 61 == before + 181
    assert body["ice_expires_at"] == int(expiry)
    assert "grace" not in opaque.lower() and guest.id not in opaque
    expected = base64.b64encode(
        hmac.new(coturn_server.secret.encode(), server["username"].encode(), hashlib.sha1).digest()
    )
    assert server["credential"] == expected.decode()
    assert "relay" in webrtc.relay_candidates(body["ice_servers"])
    # Everyone in the session gets one, the host too, under an opaque id of their own.
    host_name = ice(room, room.host)["ice_servers"][0]["username"]
    assert host_name.split(":")[1] != opaque and "relay" in webrtc.relay_candidates(ice(room, room.host)["ice_servers"])


def test_coturn_refuses_a_wrong_or_expired_credential(coturn_server, webrtc):
    expired = f"{int(time.time()) - 5}:someone"
    for username, password in [
        (f"{int(time.time()) + 600}:someone", "d3JvbmcgcGFzc3dvcmQ="),  # wrong password
        (expired, turn.password(coturn_server.secret, expired)),  # right password, expired
        (f"{int(time.time()) + 600}:someone", turn.password("another secret entirely", "x")),
    ]:
        servers = [{"urls": coturn_server.urls, "username": username, "credential": password}]
        assert webrtc.relay_candidates(servers) == []
    settings = TurnServer(urls=tuple(coturn_server.urls), secret=coturn_server.secret, ttl_seconds=120)
    fresh = turn.credential(settings, "someone", utcnow())
    good = [{"urls": coturn_server.urls, "username": fresh.username, "credential": fresh.password}]
    assert "relay" in webrtc.relay_candidates(good)  # the same probe does gather with a good one


def test_a_relay_made_before_its_credential_expires_keeps_running_after(coturn_server, webrtc):
    """coturn checks a REST credential's expiry when a relay is allocated; a relay already running
    goes on after it, while no new relay can be made with the expired credential. Here for 10 s;
    by hand, the same pair for 10 minutes (coturn 4.6.1, --verbose): Chromium's CreatePermission
    and ChannelBind at 4 and 8 minutes and its allocation Refresh at 9 minutes, all with the expired
    username, were accepted and data kept flowing."""
    username = f"{int(time.time()) + 8}:someone"
    password = turn.password(coturn_server.secret, username)
    servers = [{"urls": coturn_server.urls[:1], "username": username, "credential": password}]
    webrtc.relay_pair(servers)
    wait_for(webrtc.echo, 10, interval=0.2, message="the relayed data channel open")
    # coturn compares whole seconds: expired once its clock is past the expiry second
    wait_for(lambda: int(username.split(":")[0]) + 1.5 < time.time(), 15, interval=0.5, message="expiry")
    assert webrtc.relay_candidates(servers) == []  # expired: no new relay with it
    until = time.time() + 10
    while time.time() < until:
        assert webrtc.echo(), "the running relay stopped after its credential expired"
        time.sleep(1)
    assert webrtc.stats("relayed")["state"] == "connected"


@pytest.mark.parametrize("status", ["waiting", "declined", "removed"])
def test_guests_not_in_the_session_get_no_credential(turn_room, coturn_server, status):
    room = turn_room
    room.start()
    guest = room.guest(status=status)
    response = room.call(guest, "GET", "/media")
    assert response.status_code == 403
    text = response.get_data(as_text=True)
    assert "ice_servers" not in text and "credential" not in text and coturn_server.address not in text
    if status == "waiting":  # what the waiting page polls holds none either
        polled = guest.client.get("/g/api/status")
        assert polled.get_json() == {"status": "waiting"}


def test_no_credential_outside_a_live_session_or_after_removal(turn_room):
    room = turn_room
    assert "ice_servers" not in ice(room, room.host)  # not live yet
    room.start()
    guest = room.guest()
    assert ice(room, guest)["ice_servers"]
    assert room.call(room.host, "POST", f"/guests/{guest.id}/remove").status_code == 200
    assert room.call(guest, "GET", "/media").status_code == 403
    assert room.call(room.host, "POST", "/session/end").status_code == 200
    body = ice(room, room.host)
    assert body["status"] == "not_live" and "ice_servers" not in body


def test_credentials_and_the_secret_are_never_logged(turn_room, coturn_server, caplog):
    room = turn_room
    caplog.set_level(logging.DEBUG)
    room.start()
    guest = room.guest()
    server = ice(room, guest)["ice_servers"][0]
    ice(room, room.host)
    logged = caplog.text + "".join(str(r.__dict__) for r in caplog.records)
    for secret in (server["credential"], server["username"], coturn_server.secret):
        assert secret not in logged


# --- the configs the tool writes for coturn and Janus ------------------------------------------------


def test_turn_config_prints_a_hardened_coturn_config(make_app, platform):
    config = tool_config(platform, media={"turn": GOOD})
    result = (
        make_app(config=config)
        .test_cli_runner()
        .invoke(
            args=[
                "lti",
                "media",
                "turn-config",
                "--media-ip",
                "10.1.2.3",
                "--media-ip",
                "10.1.2.4",
                "--realm",
                "video.example.edu",
            ]
        )
    )
    assert result.exit_code == 0, result.output
    lines = set(result.output.splitlines())
    for line in (
        "use-auth-secret",
        f"static-auth-secret={GOOD['secret']}",
        "realm=video.example.edu",
        "no-multicast-peers",
        f"user-quota={turn.USER_QUOTA}",
        "no-cli",
        "denied-peer-ip=10.0.0.0-10.255.255.255",
        "denied-peer-ip=172.16.0.0-172.31.255.255",
        "denied-peer-ip=192.168.0.0-192.168.255.255",
        "denied-peer-ip=127.0.0.0-127.255.255.255",
        "denied-peer-ip=fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        "allowed-peer-ip=10.1.2.3",
        "allowed-peer-ip=10.1.2.4",
    ):
        assert line in lines, line
    assert not any(line.startswith(("user=", "lt-cred-mech", "allow-loopback-peers")) for line in lines)


def test_turn_config_without_media_turn_makes_a_secret_and_says_where_it_goes(make_app, platform):
    janus = [{"url": "http://10.9.8.7:8088/janus", "api_secret": "a", "admin_key": "b"}]
    runner = make_app(config=tool_config(platform, media={"janus": janus})).test_cli_runner()
    result = runner.invoke(args=["lti", "media", "turn-config"])
    assert result.exit_code == 0, result.output
    secret = re.search(r"^static-auth-secret=(\S+)$", result.stdout, re.MULTILINE)[1]
    assert len(secret) >= 40 and "allowed-peer-ip=10.9.8.7" in result.stdout.splitlines()
    assert json.loads(result.stderr[result.stderr.index("{") :])["media"]["turn"]["secret"] == secret


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--media-ip", "not-an-ip"], "--media-ip: 'not-an-ip' is not an IP address"), ([], "--media-ip")],
)
def test_turn_config_refuses_what_it_cannot_use(make_app, platform, args, message):
    janus = [{"url": "http://127.0.0.1:8088/janus", "api_secret": "a", "admin_key": "b"}]
    result = (
        make_app(config=tool_config(platform, media={"janus": janus}))
        .test_cli_runner()
        .invoke(args=["lti", "media", "turn-config", *args])
    )
    assert result.exit_code != 0 and message in result.output


def test_janus_config_with_turn_gives_janus_a_credential_coturn_accepts(
    make_app, platform, tmp_path, coturn_server, webrtc
):
    from lti_tool.media.process import JanusProcess, free_port
    from tests.media.conftest import _require_janus

    binary = _require_janus()
    app = make_app(config=tool_config(platform, media={"turn": coturn_server.entry}))
    out = tmp_path / "janus-conf"
    result = app.test_cli_runner().invoke(
        args=["lti", "media", "janus-config", str(out), "--port", str(free_port()), "--turn"]
    )
    assert result.exit_code == 0, result.output
    core = (out / "janus.jcfg").read_text()
    values = dict(re.findall(r'^\s*(turn_\w+) = "?([^"\n]*)"?$', core, re.MULTILINE))
    assert values["turn_server"] == coturn_server.address and values["turn_port"] == str(coturn_server.port)
    assert values["turn_type"] == "udp"
    assert int(values["turn_user"].split(":")[0]) > time.time() + 300 * 86400
    servers = [{"urls": coturn_server.urls, "username": values["turn_user"], "credential": values["turn_pwd"]}]
    assert "relay" in webrtc.relay_candidates(servers)
    entry = json.loads(result.output[result.output.index("{") :])["media"]["janus"][0]
    JanusProcess(directory=out, entry=entry).start(binary).stop()  # Janus starts with it


def test_janus_config_turn_needs_media_turn(make_app, platform, tmp_path):
    result = (
        make_app(config=tool_config(platform))
        .test_cli_runner()
        .invoke(args=["lti", "media", "janus-config", str(tmp_path / "j"), "--turn"])
    )
    assert result.exit_code != 0 and "config.json has no media.turn" in result.output


# --- the admin page: servers, and the connectivity test ------------------------------------------------


def test_admin_page_runs_a_connectivity_test_that_finds_host_and_relay_candidates(turn_app, platform, webrtc):
    client = turn_app.test_client()
    token = do_launch(client, platform, "Admin").token
    html = client.post("/lti/admin", data={"launch_token": token}).get_data(as_text=True)
    base = "http://127.0.0.1:9"

    def proxy(route):
        request = route.request
        path = request.url[len(base) :]
        if path == "/admin":
            return route.fulfill(status=200, content_type="text/html", body=html)
        answer = client.open(path, method=request.method, headers=dict(request.headers), data=request.post_data)
        route.fulfill(status=answer.status_code, headers=dict(answer.headers), body=answer.get_data())

    def run(_browser):
        page = webrtc.page
        page.route(base + "/**", proxy)
        page.goto(base + "/admin")
        page.get_by_role("button", name="Run connectivity test").click()
        result = page.locator("#connectivity-result")
        result.get_by_text("Relay candidates").wait_for(timeout=15000)
        return result.inner_text()

    report = webrtc._chromium.call(run, timeout=40)
    assert "Direct (host) candidates: work" in report
    assert "Relay candidates (through TURN): work" in report
    assert "Server-reflexive candidates" in report  # on this one machine there is no NAT: srflx may be none


def test_connectivity_servers_are_for_admins_only(turn_app, platform, coturn_server):
    client = turn_app.test_client()
    admin = do_launch(client, platform, "Admin").token
    response = client.post("/lti/admin/connectivity", headers={"X-Launch-Token": admin})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    stun, *relays = response.get_json()["ice_servers"]
    assert stun == {"urls": [f"stun:{coturn_server.address}:{coturn_server.port}"]}
    assert [r["urls"] for r in relays] == [[url] for url in coturn_server.urls]
    instructor = do_launch(client, platform, "Instructor").token
    assert client.post("/lti/admin/connectivity", headers={"X-Launch-Token": instructor}).status_code == 403
    assert client.post("/lti/admin/connectivity").status_code == 401


def test_admin_page_lists_the_janus_servers_without_their_addresses(
    make_app, platform, janus_server, tmp_path, coturn_server
):
    down = {"url": "http://127.0.0.1:9/janus", "api_secret": "x-secret-x", "admin_key": "y-key-y", "weight": 2}
    config = tool_config(platform, media={"janus": [janus_server.entry, down], "turn": coturn_server.entry})
    app = make_app(config=config)
    client = app.test_client()
    html = client.post("/lti/admin", data={"launch_token": do_launch(client, platform, "Admin").token})
    text = " ".join(html.get_data(as_text=True).split())
    assert '<th scope="row">Server 1</th><td>Reachable</td><td>In placement</td><td>0</td><td>0</td><td>1</td>' in text
    assert '<th scope="row">Server 2</th><td>Not reachable</td>' in text and "<td>2</td></tr>" in text
    for secret in (
        janus_server.entry["url"],
        janus_server.entry["api_secret"],
        "x-secret-x",
        "y-key-y",
        coturn_server.secret,
    ):
        assert secret not in text
    from lti_tool.media import servers

    servers.stop_monitor(app)
