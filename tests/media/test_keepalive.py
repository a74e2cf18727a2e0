"""The media poll keeps a page's Janus sessions alive; a page that stops polling (closed, crashed)
loses its media by itself when Janus's session_timeout runs out."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from lti_tool.media import service
from lti_tool.media.process import prepare
from tests.media.conftest import _require_janus, media_config, wait_for
from tests.media.test_rules import publishers, speaking_link_guest
from tests.media.test_signaling import feeds, publish
from tests.session.conftest import Room


@pytest.fixture
def quick_janus(tmp_path):
    """A Janus that drops a session after 3 s without a request (60 s in production)."""
    server = prepare(tmp_path / "janus", rtp_port_range="40000-60000", session_timeout=3).start(_require_janus())
    yield server
    server.stop(kill=True)


def test_the_poll_keeps_media_alive_and_a_silent_page_loses_it(make_app, platform, quick_janus, webrtc, monkeypatch):
    from tests.conftest import do_launch

    monkeypatch.setattr(service, "KEEPALIVE_EVERY", timedelta(seconds=1))
    app = make_app(config=media_config(platform, quick_janus.entry))
    client = app.test_client()
    room = Room(app, client, lambda role="Instructor", **claims: do_launch(client, platform, role, **claims))
    room.start()
    silent = speaking_link_guest(room)
    publish(room, room.host, webrtc)
    publish(room, silent, webrtc)
    wait_for(lambda: len(publishers(app, quick_janus.entry, room.id)) == 2, 10, message="two publishers")

    def only_the_host_left():
        assert feeds(room, room.host)["status"] == "ready"  # the host's page keeps polling
        return len(publishers(app, quick_janus.entry, room.id)) == 1

    wait_for(only_the_host_left, 10, interval=0.5, message="the silent page's media to time out")
    deadline = time.monotonic() + 4  # longer than the timeout: the polling host stays
    while time.monotonic() < deadline:
        (feed,) = feeds(room, room.host)["feeds"]
        assert feed["name"] == "Hannah Host"
        time.sleep(0.5)
    assert len(publishers(app, quick_janus.entry, room.id)) == 1
    # The silent page comes back: its peers are known dead, so it publishes again.
    assert feeds(room, silent)["you"]["peers"] == []
