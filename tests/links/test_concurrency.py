"""The three-link cap under 20 simultaneous creates, through a real threaded HTTP server."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import select
from werkzeug.serving import make_server

from lti_tool.extensions import db
from lti_tool.links import service
from lti_tool.models import GuestLink
from tests.conftest import do_launch
from tests.links.conftest import Api

PARALLEL = 20


@pytest.fixture
def serve():
    servers = []

    def start(app) -> str:
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_twenty_parallel_creates_make_exactly_three_links(make_app, platform, serve, database):
    app = make_app(database=database)
    client = app.test_client()
    host = do_launch(client, platform, "Instructor")
    api = Api(client, host)
    assert api.toggle(True).status_code == 200
    base = serve(app)

    start = threading.Barrier(PARALLEL)

    def create(i: int) -> requests.Response:
        start.wait()  # all requests leave together
        return requests.post(f"{base}{api.url('/links')}", json={"name": f"Link {i}"}, headers=host.headers, timeout=60)

    with ThreadPoolExecutor(PARALLEL) as pool:
        responses = list(pool.map(create, range(PARALLEL)))

    assert Counter(r.status_code for r in responses) == {201: 3, 409: PARALLEL - 3}
    refusals = [r.json() for r in responses if r.status_code == 409]
    assert all(body["error"] == service.LIMIT_REACHED and body["code"] == "link_limit" for body in refusals)
    with app.app_context():
        links = db.session.execute(select(GuestLink).where(GuestLink.room_id == host.room_id)).scalars().all()
    assert sorted(link.slot for link in links) == [1, 2, 3]
    created = {r.json()["link"]["id"] for r in responses if r.status_code == 201}
    assert created == {link.id for link in links}
