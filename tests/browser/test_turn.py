"""Guests behind a firewall (issue 17): a guest whose browser may only relay (iceTransportPolicy
"relay", as on a network that blocks everything but the TURN server) sees and hears the host through
a real coturn with the tool's credentials; with a wrong or expired credential it does not; while
waiting to be admitted the page holds no credential at all."""

from __future__ import annotations

import json
import re
import time

import pytest

from lti_tool.media import turn

from .helpers import join_as_guest
from .test_flows import US_ENGLISH, admit, watch_problems
from .test_media import (
    KEEP_PEER_CONNECTIONS,
    guest_link,
    host_on_camera,
    received,
    receives_video_and_audio,
    tile,
    tile_plays,
)

expect = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed").expect

# Test instrumentation standing in for the guest's network: every peer connection may only relay,
# optionally with a credential other than the tool's. The page's own configuration is kept.
RELAY_ONLY = """
((tamper) => {
  const Native = window.RTCPeerConnection;
  if (!Native) return;
  window.__pcs = [];
  window.__servers = [];
  window.RTCPeerConnection = class extends Native {
    constructor(config = {}, ...rest) {
      const servers = (config.iceServers || []).map((s) => (tamper ? { ...s, ...tamper } : s));
      super({ ...config, iceServers: servers, iceTransportPolicy: "relay" }, ...rest);
      window.__servers.push(config.iceServers || []);
      window.__pcs.push(this);
    }
  };
})(%s);
"""

SELECTED_CANDIDATES = """async () => {
  const types = [];
  for (const pc of window.__pcs || []) {
    if (pc.connectionState !== "connected") continue;
    const stats = await pc.getStats();
    stats.forEach((r) => {
      if (r.type !== "transport" || !r.selectedCandidatePairId) return;
      const pair = stats.get(r.selectedCandidatePairId);
      types.push(stats.get(pair.localCandidateId).candidateType);
    });
  }
  return types;
}"""


def relay_guest(new_page, tool, url: str, name: str, tamper: dict | None = None):
    """A guest on a relay-only network joins; returns (page, problems, media requests made while waiting)."""
    guest = new_page(**US_ENGLISH)
    guest.context.add_init_script(RELAY_ONLY % json.dumps(tamper))
    problems = watch_problems(guest)
    requests: list[str] = []
    guest.on("request", lambda request: requests.append(request.url))
    join_as_guest(guest, url, name)
    guests = tool.get_by_role("region", name=re.compile("^Guests"))
    expect(guests.get_by_role("button", name=f"Admit {name}")).to_be_visible()
    waiting = {"html": guest.content(), "media_requests": [u for u in requests if "/media" in u]}
    waiting["servers"] = guest.evaluate("window.__servers")
    admit(tool, guest, name)
    return guest, problems, waiting


def test_a_relay_only_guest_sees_and_hears_the_host_through_coturn(new_page, turn_tool_server, shared_coturn):
    server, coturn = turn_tool_server, shared_coturn
    host, tool, host_problems = host_on_camera(new_page, server)
    url = guest_link(host, tool)

    guest, problems, waiting = relay_guest(new_page, tool, url, "Rhea Relay")
    # While waiting, the page holds no TURN credential: none in it, none asked for, no connection.
    assert waiting["media_requests"] == [] and waiting["servers"] == []
    assert coturn.address not in waiting["html"] and "credential" not in waiting["html"]

    receives_video_and_audio(guest, 15)
    tile_plays(tile(guest.get_by_role("list", name="Video"), "Ada Instructor").locator("video"), 5)
    assert set(guest.evaluate(SELECTED_CANDIDATES)) == {"relay"}  # through coturn, nothing else
    [servers, *_] = guest.evaluate("window.__servers")
    assert servers[0]["urls"] == coturn.urls
    log = server.log_path.read_text()
    assert servers[0]["credential"] not in log and coturn.secret not in log
    assert host_problems == problems == []


@pytest.mark.parametrize("credential", ["wrong", "expired"])
def test_with_a_wrong_or_expired_credential_a_relay_only_guest_gets_no_media(
    new_page, turn_tool_server, shared_coturn, credential
):
    coturn = shared_coturn
    host, tool, _ = host_on_camera(new_page, turn_tool_server)
    url = guest_link(host, tool)
    if credential == "wrong":
        tamper = {"credential": "bm90IHRoZSByaWdodCBwYXNzd29yZA=="}
    else:  # rightly signed with the real secret, but its time is up
        username = f"{int(time.time()) - 60}:someone"
        tamper = {"username": username, "credential": turn.password(coturn.secret, username)}
    guest, _, _ = relay_guest(new_page, tool, url, "Nora Noroute", tamper)
    # The page tries (it is given the host's feed) but no connection comes up through coturn.
    deadline = time.monotonic() + 10
    tried = False
    while time.monotonic() < deadline:
        tried = tried or guest.evaluate("window.__pcs.length") > 0
        assert received(guest)["frames"] == 0
        assert guest.evaluate("window.__pcs.every(pc => pc.connectionState !== 'connected')")
        time.sleep(0.25)
    assert tried, "the guest's page never tried to watch the host"


def test_when_the_rooms_janus_dies_the_pages_move_to_the_other_one_by_themselves(
    new_page, browser_available, shared_janus, tmp_path
):
    """Two Janus servers: the room is on the first; kill it → within 15 s the guest sees and hears the
    host again, now through the second, without anyone reloading or clicking."""
    import sqlite3

    from .conftest import run_tool_server, start_janus

    doomed = start_janus(tmp_path / "janus-1")
    (tmp_path / "tool-server").mkdir()
    try:
        with run_tool_server(tmp_path / "tool-server", [doomed.entry, shared_janus.entry]) as server:
            host, tool, _ = host_on_camera(new_page, server)
            url = guest_link(host, tool)
            guest = new_page(**US_ENGLISH)
            guest.context.add_init_script(KEEP_PEER_CONNECTIONS)
            join_as_guest(guest, url, "Mo Mover")
            admit(tool, guest, "Mo Mover")
            receives_video_and_audio(guest, 10)

            def server_of_room():
                with sqlite3.connect(tmp_path / "tool-server" / "tool.sqlite3") as conn:
                    return {row[0] for row in conn.execute("SELECT server FROM media_room")}

            assert server_of_room() == {doomed.entry["url"]}
            doomed.stop(kill=True)
            killed_at = time.monotonic()
            receives_video_and_audio(guest, 15)
            assert time.monotonic() - killed_at <= 15
            assert server_of_room() == {shared_janus.entry["url"]}
            tile_plays(tile(guest.get_by_role("list", name="Video"), "Ada Instructor").locator("video"), 5)
            log = server.log_path.read_text()
            assert not re.search(r'" 5\d\d ', log), server.log_tail()
    finally:
        doomed.stop(kill=True)
