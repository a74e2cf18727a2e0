"""The gunicorn worker the tool runs on: gunicorn's `gthread`, except that each request is read
whole by the worker's event loop before it takes a thread.

Stock `gthread` hands a connection to a thread as soon as its first byte arrives, and the thread
then blocks until the header and body are complete. Eight clients that send half a header (or a
POST body that never finishes) held all 2 × 4 threads of `lti-tool serve`, and `/healthz` stopped
answering until they gave up. Here the event loop (one per worker process, next to the accept
loop) buffers the request without blocking, and only a complete request is queued for a thread:

- header and body must arrive within `READ_TIMEOUT` seconds of the connection being ready for a
  request (accepted, or readable again after keep-alive); then the connection is cut, with a 408
  when part of a request had arrived. That is a deadline for the whole request, not an idle
  timer, so a client trickling one byte a second is cut as well.
- a request body needs a `Content-Length` (RFC 9112 section 6.3); `Transfer-Encoding` is answered
  with 411, a body above `MAX_BODY` with 413, both without touching the app. Browsers, Sakai and
  `requests` always send a length for forms and JSON.
- a header over gunicorn's own limits (`limit_request_line`, `limit_request_fields`,
  `limit_request_field_size`) is passed to gunicorn's parser, which refuses it as before.

Gunicorn's parser still does the real parsing; this module only decides when a request is
complete. The alternatives tried (docs/benchmarks.md, "Slow clients"): stock gthread freezes;
granian cuts slow headers but lets a slow body hold a Python thread with no deadline; waitress
buffers whole requests but is one process (one core for the app under the GIL); gevent workers
would block every greenlet of a worker on SQLite's busy wait and the writers' `flock`.
"""

from __future__ import annotations

import contextlib
import re
import selectors
import time
from functools import partial

from gunicorn.workers.gthread import ThreadWorker

READ_TIMEOUT = 10.0
MAX_BODY = 1024 * 1024
RECV_SIZE = 64 * 1024

_HEAD_END = b"\r\n\r\n"
_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length[ \t]*:[ \t]*([^\r]*)", re.IGNORECASE)
_TRANSFER_ENCODING = re.compile(rb"\r\ntransfer-encoding[ \t]*:", re.IGNORECASE)
_EXPECT_CONTINUE = re.compile(rb"\r\nexpect[ \t]*:[ \t]*100-continue[ \t]*\r\n", re.IGNORECASE)

CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


def _reply(status: str, text: str) -> bytes:
    body = text.encode() + b"\n"
    head = f"HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n"
    return head.encode() + f"Content-Length: {len(body)}\r\n\r\n".encode() + body


TIMED_OUT = _reply("408 Request Timeout", "The request did not arrive in time.")
LENGTH_REQUIRED = _reply("411 Length Required", "Send the request body with a Content-Length.")
TOO_LARGE = _reply("413 Content Too Large", "The request body is too large.")


class Framing:
    """How far a request in a buffer has arrived: `done`, `wait`, or a refusal to send back."""

    DONE = "done"
    WAIT = "wait"

    def __init__(self, max_head: int):
        self.max_head = max_head

    def judge(self, data: bytes | bytearray) -> str | bytes:
        end = data.find(_HEAD_END)
        if end < 0:
            # Over gunicorn's limits: its parser answers, from the buffer alone.
            return self.DONE if len(data) > self.max_head else self.WAIT
        head = bytes(data[: end + 2])
        if _TRANSFER_ENCODING.search(head):
            return LENGTH_REQUIRED
        lengths = _CONTENT_LENGTH.findall(head)
        if not lengths:
            return self.DONE
        if len(lengths) > 1 or not lengths[0].strip().isdigit():
            return self.DONE  # gunicorn refuses a repeated or malformed length with 400
        length = int(lengths[0].strip())
        if length > MAX_BODY:
            return TOO_LARGE
        return self.DONE if len(data) - (end + 4) >= length else self.WAIT

    @staticmethod
    def expects_continue(data: bytes | bytearray) -> bool:
        end = data.find(_HEAD_END)
        return end >= 0 and bool(_EXPECT_CONTINUE.search(bytes(data[: end + 2])))


class ReadFirstWorker(ThreadWorker):
    """`gthread` whose threads only ever see complete requests (see the module docstring)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.reading: dict = {}  # connections still arriving, oldest deadline first
        cfg = self.cfg
        self.framing = Framing(
            cfg.limit_request_line + 2 + cfg.limit_request_fields * (cfg.limit_request_field_size + 2) + 4
        )

    @classmethod
    def check_config(cls, cfg, log):
        super().check_config(cfg, log)
        if cfg.is_ssl:
            log.warning("TLS is served by gunicorn itself: requests are not read ahead; terminate TLS in front.")

    def enqueue_req(self, conn):
        if self.cfg.is_ssl or getattr(conn, "ready", False):
            conn.ready = False
            super().enqueue_req(conn)
            return
        self._start_reading(conn)

    def _start_reading(self, conn) -> None:
        conn.sock.setblocking(False)
        conn.inbox = bytearray(conn.parser.unreader.take_buffered() if conn.parser else b"")
        conn.continued = False
        conn.read_deadline = time.monotonic() + READ_TIMEOUT
        self.reading[conn] = None
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_readable, conn))
        if conn.inbox:
            self._judge(conn)
        else:
            self._on_readable(conn, conn.sock)  # often already there: saves a turn of the loop

    def _on_readable(self, conn, _sock) -> None:
        try:
            data = conn.sock.recv(RECV_SIZE)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._drop(conn)
            return
        conn.inbox += data
        self._judge(conn)

    def _judge(self, conn) -> bool:
        """Queue, refuse or keep reading `conn`; True when it left the reading state."""
        verdict = self.framing.judge(conn.inbox)
        if verdict == Framing.WAIT:
            if not conn.continued and Framing.expects_continue(conn.inbox):
                conn.continued = True
                self._send_quietly(conn, CONTINUE)
            return False
        self._stop_reading(conn)
        if verdict == Framing.DONE:
            conn.ready = True
            conn.data_ready = True
            conn.prefetched = bytes(conn.inbox)
            conn.inbox = bytearray()
            self.enqueue_req(conn)
        else:
            self._refuse(conn, verdict)
        return True

    def handle(self, conn):
        """In a thread: the parser reads the complete request from what the loop buffered."""
        prefetched = getattr(conn, "prefetched", b"")
        if prefetched:
            conn.prefetched = b""
            conn.init()
            conn.parser.unreader.unread(prefetched)
        return super().handle(conn)

    def murder_pending(self):
        super().murder_pending()
        now = time.monotonic()
        for conn in [c for c in self.reading if c.read_deadline <= now]:
            self._stop_reading(conn)
            if conn.inbox:
                self._refuse(conn, TIMED_OUT)
            else:
                self._drop(conn, unregister=False)

    def _stop_reading(self, conn) -> None:
        self.reading.pop(conn, None)
        with contextlib.suppress(KeyError, ValueError, OSError):  # already closed
            self.poller.unregister(conn.sock)

    def _refuse(self, conn, reply: bytes) -> None:
        self._send_quietly(conn, reply)
        self._drop(conn, unregister=False)

    def _drop(self, conn, unregister: bool = True) -> None:
        if unregister:
            self._stop_reading(conn)
        self.nr_conns -= 1
        conn.close()

    @staticmethod
    def _send_quietly(conn, data: bytes) -> None:
        with contextlib.suppress(OSError):  # non-blocking: a client that does not read loses the reply
            conn.sock.send(data)
