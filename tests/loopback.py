"""Small HTTP servers on loopback addresses for tests that stand in for a platform (never another
address), and a stand-in DNS for made-up host names."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that logs nothing and answers a body in one call."""

    def reply(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def serve(handler: type[BaseHTTPRequestHandler], address: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """Start `handler` on a loopback address (a free port by default) in a daemon thread;
    `.server_port` tells which."""
    httpd = ThreadingHTTPServer((address, port), handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


class FakeDNS:
    """`socket.getaddrinfo` for the names in `answers`; every other name (and IP literal) goes to the
    real resolver. `answers[name]` is a list of answers (each a list of addresses): the first
    lookup gets the first, the next lookup the next, and the last one repeats — a name that
    rebinds; an empty answer is "no such name". `lookups[name]` counts the lookups. Install with
    `monkeypatch.setattr(socket, "getaddrinfo", dns.getaddrinfo)`: the real network stack then
    connects where the answer says.
    """

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self.answers = answers
        self.lookups: dict[str, int] = {}
        self._real = socket.getaddrinfo

    def getaddrinfo(self, host, port, family=0, type=0, proto=0, flags=0):
        name = host.decode() if isinstance(host, bytes) else host
        if name not in self.answers:
            return self._real(host, port, family, type, proto, flags)
        count = self.lookups[name] = self.lookups.get(name, 0) + 1
        addresses = self.answers[name][min(count, len(self.answers[name])) - 1]
        if not addresses:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [info for address in addresses for info in self._real(address, port, family, type, proto, flags)]


def listener(address: str, port: int = 0) -> socket.socket:
    """A TCP socket that accepts nothing by itself: `connections(sock)` then tells who knocked."""
    sock = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET)
    sock.bind((address, port))
    sock.listen(8)
    sock.setblocking(False)
    return sock


def connections(sock: socket.socket) -> int:
    """How many connections reached `sock` (accepted and closed here)."""
    count = 0
    while True:
        try:
            conn, _ = sock.accept()
        except BlockingIOError:
            return count
        conn.close()
        count += 1
