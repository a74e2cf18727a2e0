"""Exact click accounting under real concurrency: many browsers submit at the same instant against
a threaded HTTP server; the database's single UPDATE decides who gets a click."""

from __future__ import annotations

import re
import threading
from collections import Counter

import pytest
import requests
from sqlalchemy import func, select
from werkzeug.serving import make_server

from lti_tool.extensions import db
from lti_tool.models import Guest, GuestLink
from tests.conftest import do_launch
from tests.guest.conftest import add_link

NO_LIMITS = {"post_per_ip": 10_000, "post_per_link": 10_000, "unknown_per_ip": 10_000}


class Server:
    def __init__(self, app):
        self.http = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.http.server_port}"
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.http.shutdown()
        self.thread.join()


def storm(app, platform, *, joins: int, limit: int) -> tuple[Counter, int, int]:
    host = do_launch(app.test_client(), platform, "Instructor")
    token = add_link(app, host.room_id, max_clicks=limit)
    server = Server(app)
    try:
        opened = requests.get(f"{server.url}/g/{token}", timeout=10)
        # The cookies are Secure (the tool's base URL is https); this loopback server is plain http.
        cookies = opened.cookies.get_dict()
        form_token = re.search(r'name="form_token" value="([^"]+)"', opened.text).group(1)
        barrier = threading.Barrier(joins)
        statuses: list[int] = []

        def submit(i: int) -> None:
            data = {"name": f"Guest {i}", "email": f"guest{i}@example.org", "form_token": form_token}
            barrier.wait()
            try:
                response = requests.post(
                    f"{server.url}/g/{token}", data=data, cookies=cookies, allow_redirects=False, timeout=60
                )
                statuses.append(response.status_code)
            except requests.RequestException:
                statuses.append(-1)

        threads = [threading.Thread(target=submit, args=(i,)) for i in range(joins)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        server.close()
    with app.app_context():
        used = db.session.execute(select(GuestLink.used_clicks).filter_by(token=token)).scalar_one()
        guests = db.session.execute(select(func.count()).select_from(Guest)).scalar_one()
    return Counter(statuses), used, guests


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_hundred_concurrent_joins_on_a_limit_of_ten_admit_exactly_ten(make_app, platform, database):
    app = make_app(database=database, GUEST_RATE_LIMITS=NO_LIMITS)
    statuses, used, guests = storm(app, platform, joins=100, limit=10)
    assert statuses == Counter({303: 10, 404: 90})  # 404: the "link no longer valid" page; no 5xx
    assert (used, guests) == (10, 10)


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_thirty_concurrent_joins_on_a_single_use_link_admit_one(make_app, platform, database):
    app = make_app(database=database, GUEST_RATE_LIMITS=NO_LIMITS)
    statuses, used, guests = storm(app, platform, joins=30, limit=1)
    assert statuses == Counter({303: 1, 404: 29})
    assert (used, guests) == (1, 1)
