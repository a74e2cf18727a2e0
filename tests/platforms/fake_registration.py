"""A Sakai-like dynamic-registration endpoint on 127.0.0.1 (shared/reference/sakai-lti13.md §4).

GET  /imsblis/lti13/well_known?key=7   → the openid-configuration
POST /imsblis/lti13/registration_endpoint/7 (Bearer token) → the stored registration with client_id

`mode`: ok | config_bad_json | config_404 | config_wrong_issuer | refuse_401 | register_bad_json | hang
| hang_register (the POST waits for `release`)
"""

from __future__ import annotations

import json
import threading
from typing import Any

from tests.loopback import QuietHandler, serve

REGISTRATION_TOKEN = "sakai-one-time-registration-token"
CLIENT_ID = "7d1c0c4e-1f7b-4b8e-9a8e-3e7f2d2c9a11"


class FakeSakaiRegistration:
    def __init__(self) -> None:
        self.mode = "ok"
        self.received: list[dict[str, Any]] = []
        self.hits = 0
        self.release = threading.Event()
        self.in_post = threading.Event()
        # Set to a Barrier to hold configuration fetches until that many registrations are in flight.
        self.gate: threading.Barrier | None = None
        server = self

        class Handler(QuietHandler):
            def do_GET(self):
                server.hits += 1
                if server.gate is not None:
                    server.gate.wait(10)
                if server.mode == "hang":
                    server.release.wait(30)
                if server.mode == "config_404":
                    return self.reply(404, b"not found")
                if server.mode == "config_bad_json":
                    return self.reply(200, b"<html>Sakai is starting</html>")
                return self.reply(200, json.dumps(server.configuration()).encode())

            def do_POST(self):
                server.hits += 1
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.received.append({"authorization": self.headers.get("Authorization"), "body": body})
                if server.mode == "hang_register":
                    server.in_post.set()
                    server.release.wait(30)
                if server.mode == "refuse_401" or self.headers.get("Authorization") != f"Bearer {REGISTRATION_TOKEN}":
                    return self.reply(401, b'{"error": "invalid registration token"}')
                if server.mode == "register_bad_json":
                    return self.reply(200, b"OK")
                answer = {
                    **body,
                    "client_id": CLIENT_ID,
                    "https://purl.imsglobal.org/spec/lti-tool-configuration": {
                        **body["https://purl.imsglobal.org/spec/lti-tool-configuration"],
                        "deployment_id": "1",
                    },
                }
                return self.reply(200, json.dumps(answer).encode())

        self.httpd = serve(Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_port}"

    @property
    def issuer(self) -> str:
        return self.base

    @property
    def configuration_url(self) -> str:
        return f"{self.base}/imsblis/lti13/well_known?key=7&clientId={CLIENT_ID}&issuerURL={self.base}&deploymentId=1"

    def configuration(self) -> dict[str, Any]:
        issuer = "https://elsewhere.example" if self.mode == "config_wrong_issuer" else self.issuer
        return {
            "issuer": issuer,
            "authorization_endpoint": f"{self.base}/imsoidc/lti13/oidc_auth",
            "token_endpoint": f"{self.base}/imsblis/lti13/token/7",
            "jwks_uri": f"{self.base}/imsblis/lti13/keyset",
            "registration_endpoint": f"{self.base}/imsblis/lti13/registration_endpoint/7",
            "scopes_supported": ["openid"],
            "response_types_supported": ["id_token"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "https://purl.imsglobal.org/spec/lti-platform-configuration": {
                "product_family_code": "sakailms.org",
                "version": "23.3",
            },
        }

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
