"""Outbound HTTP (lti_tool/http.py): the deadline is a total one, and redirects are never followed."""

from __future__ import annotations

import threading
import time

import pytest

from lti_tool.http import FetchError, fetch_limited
from lti_tool.lti.keyset import KeySetError, fetch_jwks
from lti_tool.platforms import registration
from tests.loopback import QuietHandler, serve

DEADLINE = 1.0


class Handler(QuietHandler):
    hits: list[str] = []
    stop = threading.Event()

    def do_GET(self):
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.1:{self.server.server_port}/internal")
            self.end_headers()
        elif self.path == "/internal":
            self.hits.append(self.path)
            self.reply(200, b'{"keys": []}')
        elif self.path == "/big":
            self.reply(200, b" " * 20000)
        elif self.path == "/silent":  # headers, then nothing
            self.send_response(200)
            self.send_header("Content-Length", "10")
            self.end_headers()
            self.wfile.flush()
            self.stop.wait(10)
        else:  # /drip: one byte every half second, for ever
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            try:
                while not self.stop.wait(0.5):
                    self.wfile.write(b" ")
                    self.wfile.flush()
            except OSError:
                pass

    do_POST = do_GET


@pytest.fixture(scope="module")
def server():
    srv = serve(Handler)
    yield f"http://127.0.0.1:{srv.server_port}"
    Handler.stop.set()
    srv.shutdown()


@pytest.mark.parametrize("path", ["/drip", "/silent"])
def test_a_dripping_or_silent_server_cannot_outlast_the_deadline(server, path):
    started = time.monotonic()
    with pytest.raises(FetchError) as caught:
        fetch_limited(server + path, deadline=DEADLINE, max_bytes=1024)
    assert caught.value.reason == "timeout"
    assert time.monotonic() - started < DEADLINE + 1


def test_redirects_are_not_followed(server):
    Handler.hits.clear()
    assert fetch_limited(server + "/redirect", deadline=DEADLINE, max_bytes=1024).status == 302
    assert Handler.hits == []


def test_size_cap(server):
    with pytest.raises(FetchError) as caught:
        fetch_limited(server + "/big", deadline=DEADLINE, max_bytes=10000)
    assert caught.value.reason == "too_large"
    assert fetch_limited(server + "/big", deadline=DEADLINE, max_bytes=20000).body == b" " * 20000


def test_key_set_fetch_keeps_its_deadline_and_does_not_follow_redirects(server):
    started = time.monotonic()
    with pytest.raises(KeySetError, match="timeout"):
        fetch_jwks(server + "/drip", deadline=DEADLINE)
    assert time.monotonic() - started < DEADLINE + 1
    Handler.hits.clear()
    with pytest.raises(KeySetError, match="HTTP 302"):
        fetch_jwks(server + "/redirect", deadline=DEADLINE)
    assert Handler.hits == []


def test_registration_calls_keep_their_deadline(server):
    started = time.monotonic()
    with pytest.raises(registration.RegistrationFailed):
        registration._call("POST", server + "/drip", DEADLINE, "The answer")
    assert time.monotonic() - started < DEADLINE + 1
