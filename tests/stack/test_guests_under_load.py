"""Guest links and guest entry on the real stack: gunicorn with 4 workers, SQLite (WAL) and PostgreSQL.

Every guest is its own `requests.Session` (its own cookies), opens the entry page and submits the
form with the form token from that page, as a browser does. Hosts use the JSON API with their
launch token. Counts are read back from the database, not only from the HTTP answers.
"""

from __future__ import annotations

import itertools
import os
import re
import secrets
import signal
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
import requests
from sqlalchemy import create_engine, func, select

from lti_tool.models import Guest, GuestLink
from tests import sakai
from tests.stack.harness import EMAIL, StackClient, json_log_lines

pytestmark = pytest.mark.slow

FORM_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')
_rooms = itertools.count(100)


@dataclass
class Host:
    base: str
    room_id: str
    headers: dict[str, str]

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        url = f"{self.base}/api/rooms/{self.room_id}{path}"
        return requests.request(method, url, headers=self.headers, timeout=30, **kwargs)

    def create_link(self, name: str = "Visitors", max_clicks: int | None = None) -> requests.Response:
        return self.api("POST", "/links", json={"name": name, "max_clicks": max_clicks})

    def state(self) -> dict:
        response = self.api("GET", "/links")
        assert response.status_code == 200, response.text
        return response.json()


def new_room(http: StackClient, *, enable: bool = True) -> Host:
    """An instructor launched into a fresh placement (a room of its own), guest access on."""
    n = next(_rooms)
    link = {"id": f"content:{n}", "title": f"Stack room {n}", "description": ""}
    launched = http.launch("Instructor", **{sakai.C + "resource_link": link})
    assert launched.status == 200 and launched.room_id, launched.html[:300]
    host = Host(http.base, launched.room_id, {"X-Launch-Token": launched.launch_token})
    if enable:
        response = host.api("POST", "/guest-access", json={"enabled": True})
        assert response.status_code == 200, response.text
    return host


def new_link(host: Host, max_clicks: int | None = None) -> str:
    response = host.create_link(max_clicks=max_clicks)
    assert response.status_code == 201, response.text
    url = response.json()["link"]["url"]
    return url.rsplit("/g/", 1)[1]


class GuestBrowser:
    """One guest's browser: its own cookie jar, entry page first, then the form."""

    def __init__(self, base: str, token: str):
        self.base = base
        self.token = token
        self.session = requests.Session()
        self.form_token: str | None = None

    def cookies(self) -> dict[str, str]:
        """The jar's cookies, Secure ones included: the stack's base URL is https, so the tool marks
        them Secure, and a jar would not send them over this loopback http (the TLS proxy's part)."""
        return self.session.cookies.get_dict()

    def open(self) -> int:
        page = self.session.get(f"{self.base}/g/{self.token}", cookies=self.cookies(), timeout=60)
        match = FORM_TOKEN.search(page.text)
        self.form_token = match.group(1) if match else None
        return page.status_code

    def submit(self, name: str, email: str) -> int:
        data = {"name": name, "email": email, "form_token": self.form_token or ""}
        response = self.session.post(
            f"{self.base}/g/{self.token}", data=data, cookies=self.cookies(), allow_redirects=False, timeout=60
        )
        return response.status_code

    def status(self) -> str:
        response = self.session.get(f"{self.base}/g/api/status", cookies=self.cookies(), timeout=30)
        assert response.status_code == 200, response.text
        return response.json()["status"]


def db_counts(database_url: str, token: str) -> tuple[int, int]:
    """(clicks used, guest rows) of one link, read straight from the database."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            link_id, used = conn.execute(
                select(GuestLink.id, GuestLink.used_clicks).where(GuestLink.token == token)
            ).one()
            guests = conn.execute(select(func.count()).select_from(Guest).where(Guest.link_id == link_id)).scalar_one()
    finally:
        engine.dispose()
    return used, guests


def clicks_without_guests(database_url: str) -> list[tuple[str, int, int]]:
    """Links whose used clicks differ from their guest rows: (link id, clicks, guests)."""
    engine = create_engine(database_url)
    guests = select(func.count()).select_from(Guest).where(Guest.link_id == GuestLink.id).scalar_subquery()
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(GuestLink.id, GuestLink.used_clicks, guests)).all()
    finally:
        engine.dispose()
    return [tuple(row) for row in rows if row[1] != row[2]]


def storm(base: str, token: str, joins: int) -> tuple[Counter, list[GuestBrowser]]:
    """`joins` guests open the page, then all submit at the same instant."""
    browsers = [GuestBrowser(base, token) for _ in range(joins)]
    with ThreadPoolExecutor(16) as pool:
        assert set(pool.map(GuestBrowser.open, browsers)) == {200}
    barrier = threading.Barrier(joins)

    def submit(i: int) -> int:
        barrier.wait()
        return browsers[i].submit(f"Guest {i}", f"guest{i}@example.org")

    with ThreadPoolExecutor(joins) as pool:
        statuses = Counter(pool.map(submit, range(joins)))
    return statuses, browsers


@pytest.mark.parametrize(("joins", "limit"), [(100, 10), (30, 1)])
def test_concurrent_joins_get_exactly_the_clicks_of_the_link(stack, http, joins, limit):
    host = new_room(http)
    token = new_link(host, max_clicks=limit)
    statuses, _ = storm(stack.base, token, joins)
    # 303 to the waiting room; 404 is the "This link is no longer valid" page; never a 5xx.
    assert statuses == Counter({303: limit, 404: joins - limit})
    assert db_counts(stack.database_url, token) == (limit, limit)
    waiting = host.api("GET", "/guests/waiting").json()["guests"]
    assert len(waiting) == limit
    assert clicks_without_guests(stack.database_url) == []


def test_twenty_concurrent_link_creations_make_exactly_three(stack, http):
    host = new_room(http)
    barrier = threading.Barrier(20)

    def create(i: int) -> int:
        barrier.wait()
        return host.create_link(name=f"Link {i}").status_code

    with ThreadPoolExecutor(20) as pool:
        statuses = Counter(pool.map(create, range(20)))
    assert statuses[201] == 3
    assert sum(statuses.values()) == 20 and all(400 <= s < 500 for s in statuses if s != 201), statuses
    state = host.state()
    assert len(state["links"]) == 3 and state["can_create"] is False


def test_no_guest_gets_in_after_guest_access_is_turned_off(stack, http):
    """The room's version counts, in commit order, every join (each bumps it) and the switch-off.

    The switch-off answers with the version it committed: every guest committed before it is one
    step of that version. A join that committed after the switch-off would be a guest more than
    those steps, so `guests == version_at_off - version_before - 1` fails on exactly that race.
    """
    host = new_room(http)
    token = new_link(host)
    before = host.state()["version"]
    joins = 100
    browsers = [GuestBrowser(stack.base, token) for _ in range(joins)]
    with ThreadPoolExecutor(16) as pool:
        assert set(pool.map(GuestBrowser.open, browsers)) == {200}

    answered = threading.Semaphore(0)
    off: dict[str, requests.Response] = {}
    off_done = threading.Event()

    def switch_off() -> None:
        for _ in range(25):  # a quarter of the guests are through: the rest are in flight
            answered.acquire()
        response = host.api("POST", "/guest-access", json={"enabled": False})
        off["response"] = response
        off_done.set()

    def submit(i: int) -> tuple[int, bool]:
        sent_after_off = off_done.is_set()
        status = browsers[i].submit(f"Guest {i}", f"guest{i}@example.org")
        answered.release()
        return status, sent_after_off

    switcher = threading.Thread(target=switch_off)
    switcher.start()
    with ThreadPoolExecutor(24) as pool:
        results = list(pool.map(submit, range(joins)))
    switcher.join()

    response = off["response"]
    assert response.status_code == 200, response.text
    assert response.json()["changed"] is True
    version_at_off = response.json()["version"]
    statuses = Counter(status for status, _ in results)
    assert set(statuses) <= {303, 403, 404}, statuses  # refusals are the guest-access-off page
    joined = statuses[303]
    assert 25 <= joined < joins, statuses  # the switch really landed in the middle of the joins
    assert all(status != 303 for status, after in results if after)
    used, guests = db_counts(stack.database_url, token)
    assert used == guests == joined
    assert guests == version_at_off - before - 1, (guests, before, version_at_off)


def test_waiting_guests_survive_a_killed_worker_and_can_be_admitted(stack, http):
    host = new_room(http)
    token = new_link(host)
    browsers = [GuestBrowser(stack.base, token) for _ in range(10)]
    for i, browser in enumerate(browsers):
        assert browser.open() == 200
        assert browser.submit(f"Waiting {i}", f"waiting{i}@example.org") == 303
    assert {b.status() for b in browsers} == {"waiting"}

    victim = stack.worker_pids()[0]
    os.kill(victim, signal.SIGKILL)
    listed = host.api("GET", "/guests/waiting")
    assert listed.status_code == 200
    waiting = listed.json()["guests"]
    assert len(waiting) == 10
    deadline = time.monotonic() + 30
    while victim in stack.worker_pids():  # until gunicorn has reaped it
        assert time.monotonic() < deadline, "the killed worker was never reaped"
        time.sleep(0.05)
    stack.wait_ready()  # … and started a new one

    # Every worker (the new one included) sees the same list and can admit.
    first = waiting[0]["id"]
    assert host.api("POST", f"/guests/{first}/admit").status_code == 200
    assert host.api("POST", "/guests/admit-all").json()["admitted"] == 9
    assert {b.status() for b in browsers} == {"admitted"}
    assert host.api("GET", "/guests/waiting").json()["guests"] == []


def test_logs_of_200_joins_hold_no_link_tokens_guest_names_or_emails(stack, http):
    host = new_room(http)
    token = new_link(host)
    full = new_link(host, max_clicks=1)
    # Distinctive, never-seen-elsewhere names and emails, so a hit in the logs means a leak.
    people = [
        (f"Quorvath{secrets.token_hex(3)} Yzelmandine", f"zq{secrets.token_hex(4)}@wyvernmail-{i}.example")
        for i in range(200)
    ]

    def join(i: int) -> int:
        browser = GuestBrowser(stack.base, token if i % 20 else full)
        browser.open()
        name, email = people[i]
        if i % 50 == 7:
            return browser.submit(name, email.replace("@", " at "))  # refused: not an email address
        return browser.submit(name, email)

    with ThreadPoolExecutor(12) as pool:
        statuses = Counter(pool.map(join, range(200)))
    assert statuses[303] >= 180 and statuses[422] == 4, statuses
    assert set(statuses) <= {303, 404, 422}, statuses

    logs = stack.logs()
    assert len(json_log_lines(logs)) >= 600
    leaked = [s for s in (token, full) if s in logs]
    for name, email in people:
        leaked += [part for part in (name.split()[0], email, email.split("@")[0]) if part in logs]
    assert leaked == []
    assert "Yzelmandine" not in logs and "wyvernmail" not in logs
    assert EMAIL.findall(logs) == []
