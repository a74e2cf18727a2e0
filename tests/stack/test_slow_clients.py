"""Slow clients against the real server: gunicorn with `python:lti_tool.gunicorn_conf` (the README's
production command), whose worker reads each request whole before it takes a thread.

The attack from the security review: connections that send half a header, or a POST body that
never finishes, used to hold every thread. Here 200 of them stay open while `/healthz` and a full
LTI launch still answer within a second, and the server cuts each one once `READ_TIMEOUT` has
passed — also the ones that keep trickling a byte a second, since the deadline is for the whole
request, not an idle timer.
"""

from __future__ import annotations

import socket
import time

import pytest
import requests

from lti_tool.serving import MAX_BODY, READ_TIMEOUT

pytestmark = pytest.mark.slow

SLOW_HEADER = b"GET /healthz HTTP/1.1\r\nHost: tool\r\nX-Slow: "
SLOW_BODY = (
    b"POST /lti/launch HTTP/1.1\r\nHost: tool\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    b"Content-Length: 5000\r\n\r\nid_token="
)


def connect(stack, first_bytes: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", stack.port), timeout=5)
    sock.sendall(first_bytes)
    return sock


def answer(sock: socket.socket, deadline: float = 5.0) -> bytes:
    """Everything the server sends until it closes the connection (or `deadline` passes)."""
    sock.settimeout(deadline)
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except TimeoutError:
        pass
    return received


def cut(sock: socket.socket) -> bool:
    """Whether the server has closed this connection (EOF or reset after anything it sent)."""
    sock.setblocking(False)
    try:
        while chunk := sock.recv(65536):
            del chunk
    except BlockingIOError:
        return False
    except OSError:
        return True
    return True


def kept_alive_then_slow(stack) -> socket.socket:
    """A connection that got one full answer, then starts a second request it never finishes."""
    sock = connect(stack, b"GET /healthz HTTP/1.1\r\nHost: tool\r\n\r\n")
    sock.settimeout(5)
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(4096)
    assert head.startswith(b"HTTP/1.1 200 ") and b"connection: close" not in head.lower()
    sock.sendall(SLOW_BODY)
    return sock


def launch_lines(stack) -> int:
    """POSTs to /lti/launch that reached the app, from gunicorn's access log."""
    lines = stack.stdout_path.read_text(errors="replace").splitlines()
    return sum('"method": "POST"' in line and '"path": "/lti/launch"' in line for line in lines)


def logged_launches(stack, at_least: int) -> int:
    """`launch_lines`, once the access log holds at least `at_least` of them: a worker writes its line
    just after the answer is sent, so a line may trail the answer the test already read."""
    deadline = time.monotonic() + 5
    while launch_lines(stack) < at_least and time.monotonic() < deadline:
        time.sleep(0.05)
    return launch_lines(stack)


@pytest.mark.parametrize("stack", ["sqlite"], indirect=True)
def test_200_half_open_connections_neither_block_healthz_nor_a_launch_and_are_cut(stack, http):
    earlier = launch_lines(stack)
    assert http.launch("Instructor").status == 200  # warm: platform keys fetched, workers' caches filled
    launches_before = logged_launches(stack, earlier + 1)
    started = time.monotonic()
    slow = [connect(stack, SLOW_HEADER) for _ in range(100)] + [connect(stack, SLOW_BODY) for _ in range(100)]
    tricklers = slow[:10] + slow[100:110]  # these keep sending a byte every second
    kept = kept_alive_then_slow(stack)

    answered = []
    while time.monotonic() - started < READ_TIMEOUT - 3:
        for sock in tricklers:
            sock.send(b"x")
        t0 = time.monotonic()
        assert requests.get(stack.base + "/healthz", timeout=1).status_code == 200
        t1 = time.monotonic()
        launch = http.launch("Instructor", timeout=1)
        assert launch.status == 200 and launch.launch_token
        answered += [t1 - t0, time.monotonic() - t1]
        time.sleep(1)
    assert len(answered) >= 6 and max(answered) < 1.0, answered  # /healthz, then a whole launch, each < 1 s
    assert not any(cut(sock) for sock in slow), "slow connections were cut before READ_TIMEOUT"

    deadline = started + READ_TIMEOUT + 3
    while time.monotonic() < deadline and not all(cut(sock) for sock in slow):
        time.sleep(0.2)
    assert all(cut(sock) for sock in slow), "slow connections still open after READ_TIMEOUT"
    assert time.monotonic() - started >= READ_TIMEOUT - 0.5
    assert b"HTTP/1.1 408 " in answer(kept)  # a kept-alive connection has the same deadline
    for sock in slow:
        sock.close()
    assert requests.get(stack.base + "/healthz", timeout=1).status_code == 200
    # The cut requests never reached the app: only the real launches are in the access log.
    assert logged_launches(stack, launches_before + len(answered) // 2) == launches_before + len(answered) // 2


@pytest.mark.parametrize("stack", ["sqlite"], indirect=True)
def test_a_body_without_length_gets_411_and_a_huge_one_413(stack):
    chunked = connect(stack, b"POST /lti/launch HTTP/1.1\r\nHost: tool\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n")
    assert answer(chunked).startswith(b"HTTP/1.1 411 ")
    huge = connect(stack, f"POST /lti/launch HTTP/1.1\r\nHost: tool\r\nContent-Length: {MAX_BODY + 1}\r\n\r\n".encode())
    assert answer(huge).startswith(b"HTTP/1.1 413 ")


@pytest.mark.parametrize("stack", ["sqlite"], indirect=True)
def test_expect_100_continue_pipelining_and_keep_alive_still_work(stack):
    sock = connect(stack, b"POST /healthz HTTP/1.1\r\nHost: tool\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n")
    sock.settimeout(5)
    assert sock.recv(64).startswith(b"HTTP/1.1 100 Continue")
    sock.sendall(b"a=1")
    sock.sendall(
        b"GET /healthz HTTP/1.1\r\nHost: tool\r\n\r\nGET /healthz HTTP/1.1\r\nHost: tool\r\nConnection: close\r\n\r\n"
    )
    replies = answer(sock)
    assert replies.count(b"HTTP/1.1 405 ") + replies.count(b"HTTP/1.1 200 ") == 3, replies[:300]
