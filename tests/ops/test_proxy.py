"""Behind a TLS-terminating proxy: X-Forwarded-* count only from `TRUSTED_PROXIES` hops."""

from __future__ import annotations

import dataclasses

import pytest
from flask import jsonify, make_response, request

from lti_tool.guest.identity import COOKIE_NAME, set_guest_cookie

FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9", "X-Forwarded-Host": "tool.example.edu"}


@pytest.fixture
def proxied_app(make_app, monkeypatch):
    def build(trusted: int):
        monkeypatch.setenv("TRUSTED_PROXIES", str(trusted))
        app = make_app()

        @app.get("/probe-cookie")
        def probe():
            response = make_response(jsonify(remote=request.remote_addr, host=request.host))
            set_guest_cookie(response, "v")
            return response

        return app

    return build


def test_one_trusted_proxy_makes_https_visible(proxied_app):
    client = proxied_app(1).test_client()
    response = client.get("/probe-cookie", headers=FORWARDED)
    assert "Strict-Transport-Security" in response.headers
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(COOKIE_NAME + "=") and "Secure" in cookie
    assert response.get_json() == {"remote": "203.0.113.9", "host": "tool.example.edu"}


def test_no_trusted_proxy_ignores_forwarded_headers(proxied_app):
    client = proxied_app(0).test_client()
    response = client.get("/probe-cookie", headers={**FORWARDED, "X-Forwarded-Proto": "http"})
    assert response.get_json() == {"remote": "127.0.0.1", "host": "localhost"}
    # The base URL is https: Secure and HSTS whatever the forwarded scheme says (or that it is ignored).
    assert "Strict-Transport-Security" in response.headers
    assert "Secure" in response.headers["Set-Cookie"]


def test_without_an_https_base_url_only_a_trusted_proxy_makes_https_visible(proxied_app):
    for trusted, secure in ((0, False), (1, True)):
        app = proxied_app(trusted)
        app.config["TOOL"] = dataclasses.replace(app.config["TOOL"], base_url="http://localhost:8000")
        response = app.test_client().get("/probe-cookie", headers=FORWARDED)
        assert ("Strict-Transport-Security" in response.headers) is secure
        assert ("Secure" in response.headers["Set-Cookie"]) is secure


def test_only_the_configured_number_of_hops_is_trusted(proxied_app):
    client = proxied_app(1).test_client()
    # A client forged the first X-Forwarded-For entry; the proxy appended the real one.
    response = client.get("/probe-cookie", headers={**FORWARDED, "X-Forwarded-For": "10.6.6.6, 198.51.100.4"})
    assert response.get_json()["remote"] == "198.51.100.4"


def test_trusted_proxies_must_be_a_number(monkeypatch, make_app):
    from lti_tool.config import ConfigError

    monkeypatch.setenv("TRUSTED_PROXIES", "yes")
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES: must be a whole number"):
        make_app()
