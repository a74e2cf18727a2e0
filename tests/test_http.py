"""Outbound HTTP (lti_tool/http.py): the deadline is a total one, redirects are never followed, and
the connection goes to the address that was checked, with the host name kept for Host and TLS."""

from __future__ import annotations

import datetime
import socket
import ssl
import threading
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from lti_tool.http import Destinations, FetchError, fetch_limited
from lti_tool.lti.keyset import KeySetError, fetch_jwks
from lti_tool.platforms import registration
from tests.loopback import FakeDNS, QuietHandler, connections, listener, serve
from tests.sakai import new_key

DEADLINE = 1.0
LOOPBACK = Destinations(loopback=True)  # test mode: platforms on this machine
PUBLIC_ONLY = Destinations()


class Handler(QuietHandler):
    hits: list[str] = []
    hosts: list[str] = []
    stop = threading.Event()

    def do_GET(self):
        self.hosts.append(self.headers["Host"])
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
        fetch_limited(server + path, deadline=DEADLINE, max_bytes=1024, destinations=LOOPBACK)
    assert caught.value.reason == "timeout"
    assert time.monotonic() - started < DEADLINE + 1


def test_redirects_are_not_followed(server):
    Handler.hits.clear()
    assert fetch_limited(server + "/redirect", deadline=DEADLINE, max_bytes=1024, destinations=LOOPBACK).status == 302
    assert Handler.hits == []


def test_size_cap(server):
    with pytest.raises(FetchError) as caught:
        fetch_limited(server + "/big", deadline=DEADLINE, max_bytes=10000, destinations=LOOPBACK)
    assert caught.value.reason == "too_large"
    assert (
        fetch_limited(server + "/big", deadline=DEADLINE, max_bytes=20000, destinations=LOOPBACK).body == b" " * 20000
    )


def test_key_set_fetch_keeps_its_deadline_and_does_not_follow_redirects(server):
    started = time.monotonic()
    with pytest.raises(KeySetError, match="timeout"):
        fetch_jwks(server + "/drip", deadline=DEADLINE, destinations=LOOPBACK)
    assert time.monotonic() - started < DEADLINE + 1
    Handler.hits.clear()
    with pytest.raises(KeySetError, match="HTTP 302"):
        fetch_jwks(server + "/redirect", deadline=DEADLINE, destinations=LOOPBACK)
    assert Handler.hits == []


def test_registration_calls_keep_their_deadline(server):
    started = time.monotonic()
    with pytest.raises(registration.RegistrationFailed):
        registration._call("POST", server + "/drip", DEADLINE, "The answer", LOOPBACK)
    assert time.monotonic() - started < DEADLINE + 1


@pytest.fixture
def dns(monkeypatch):
    """Made-up host names: `dns.answers["name"] = [[first answer], [later answers]]`."""
    fake = FakeDNS({})
    monkeypatch.setattr(socket, "getaddrinfo", fake.getaddrinfo)
    return fake


def fetch(url: str, destinations: Destinations, **kwargs):
    return fetch_limited(url, deadline=DEADLINE, max_bytes=1024, destinations=destinations, **kwargs)


def test_the_connection_goes_to_the_address_that_was_checked_with_the_host_name_kept(dns):
    """The name is resolved once: a second answer (here 127.0.0.1) is never used to connect."""
    rebound = listener("127.0.0.1")
    port = rebound.getsockname()[1]
    checked = serve(Handler, "127.0.0.2", port)
    dns.answers["platform.test"] = [["127.0.0.2"], ["127.0.0.1"]]
    Handler.hosts.clear()
    try:
        assert fetch(f"http://platform.test:{port}/internal", LOOPBACK).body == b'{"keys": []}'
    finally:
        checked.shutdown()
    assert Handler.hosts == [f"platform.test:{port}"]
    assert connections(rebound) == 0
    assert dns.lookups["platform.test"] == 1


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "192.168.0.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",  # noqa: S104 (an address to refuse, not one to bind)
        "::1",
        "fd00::1",
        "fe80::1",
        "::ffff:10.1.2.3",
        "64:ff9b::a9fe:a9fe",  # NAT64 for 169.254.169.254
        "224.0.0.1",
    ],
)
def test_a_name_with_a_private_address_is_refused_before_connecting(dns, address):
    dns.answers["platform.test"] = [["93.184.215.14", address]]  # one bad address is enough
    with pytest.raises(FetchError) as caught:
        fetch("https://platform.test/x", PUBLIC_ONLY)
    assert caught.value.reason == "not_public_address"
    literal = f"[{address}]" if ":" in address else address
    with pytest.raises(FetchError) as caught:
        fetch(f"https://{literal}/x", PUBLIC_ONLY)
    assert caught.value.reason == "not_public_address"


def test_a_name_that_does_not_resolve_reads_as_dns(dns):
    dns.answers["no-such-host.test"] = [[]]
    with pytest.raises(FetchError) as caught:
        fetch("https://no-such-host.test/x", PUBLIC_ONLY)
    assert caught.value.reason == "dns"


def test_loopback_only_in_test_mode(server):
    with pytest.raises(FetchError, match="not_public_address"):
        fetch(server + "/internal", PUBLIC_ONLY)
    assert fetch(server + "/internal", LOOPBACK).status == 200


def test_an_allow_listed_host_or_origin_may_resolve_to_a_private_address(dns, server):
    """`outbound.private_hosts`: a campus Sakai on an internal address."""
    port = int(server.rsplit(":", 1)[1])
    dns.answers["sakai.campus.test"] = [["127.0.0.1"]]
    url = f"http://sakai.campus.test:{port}/internal"
    for allowed in ["sakai.campus.test", f"http://sakai.campus.test:{port}"]:
        assert fetch(url, Destinations(private=frozenset({allowed}))).status == 200
    for not_allowed in [
        "other.campus.test",
        f"http://sakai.campus.test:{port + 1}",
        f"https://sakai.campus.test:{port}",
    ]:
        with pytest.raises(FetchError, match="not_public_address"):
            fetch(url, Destinations(private=frozenset({not_allowed})))


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    """An https server on 127.0.0.1 whose certificate names sakai.tls.test only (not the address);
    it records the name each client asked for (SNI)."""
    key = new_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sakai.tls.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("sakai.tls.test")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    names: list[str | None] = []
    context.sni_callback = lambda sock, server_name, ctx: names.append(server_name)
    httpd = serve(Handler)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    yield httpd.server_port, str(cert_path), names
    httpd.shutdown()


def test_tls_names_and_verifies_the_host_name_not_the_address(dns, tls_server):
    port, ca, names = tls_server
    dns.answers["sakai.tls.test"] = [["127.0.0.1"]]
    dns.answers["other.tls.test"] = [["127.0.0.1"]]
    names.clear()
    assert fetch(f"https://sakai.tls.test:{port}/internal", LOOPBACK, verify=ca).status == 200
    assert names == ["sakai.tls.test"]
    with pytest.raises(FetchError, match="unreachable"):  # the certificate does not name this host
        fetch(f"https://other.tls.test:{port}/internal", LOOPBACK, verify=ca)
