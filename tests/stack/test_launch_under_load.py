"""The real stack under concurrency and failures: gunicorn, 4 workers, SQLite (WAL) and PostgreSQL."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.stack.conftest import flaky_platform
from tests.stack.harness import EMAIL, LoginRefused, StackClient, count_launches, json_log_lines
from tests.stack.test_guests_under_load import GuestBrowser, clicks_without_guests, db_counts, new_link, new_room

pytestmark = pytest.mark.slow


def test_twenty_parallel_replays_of_one_id_token_make_exactly_one_launch(stack, http):
    before = count_launches(stack.database_url)
    form, _state = http.authorize("Instructor")
    with ThreadPoolExecutor(20) as pool:
        statuses = sorted(pool.map(lambda _: http.post_launch(form).status_code, range(20)))
    assert statuses == [200] + [400] * 19
    assert count_launches(stack.database_url) == before + 1


def test_a_killed_worker_is_replaced_and_no_launch_is_lost(stack, http):
    before = count_launches(stack.database_url)
    outcomes: list[object] = []
    lock = threading.Lock()

    def user(n: int) -> None:
        for _ in range(n):
            try:
                outcome: object = http.launch("Student").status
            except requests.ConnectionError:
                outcome = "connection reset"  # the request died with its worker; a browser retries
            with lock:
                outcomes.append(outcome)

    threads = [threading.Thread(target=user, args=(15,)) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.3)  # let traffic flow, then kill a worker in the middle of it
    victim = stack.worker_pids()[0]
    os.kill(victim, signal.SIGKILL)
    for t in threads:
        t.join()

    assert set(outcomes) <= {200, "connection reset"}, outcomes
    resets = outcomes.count("connection reset")
    assert resets <= 2  # at most the request(s) in flight on the killed worker
    succeeded = outcomes.count(200)
    assert succeeded >= 58
    # Every answered launch is stored; a launch whose answer died with the worker may be too.
    stored = count_launches(stack.database_url) - before
    assert succeeded <= stored <= succeeded + resets
    # Gunicorn replaced the worker; the stack serves on.
    stack.wait_ready()
    assert victim not in stack.worker_pids()
    assert http.launch("Instructor").status == 200


def _restart_postgres() -> None:
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    pg_ctlcluster = shutil.which("pg_ctlcluster") or "pg_ctlcluster"
    subprocess.run(  # noqa: S603 - fixed arguments
        [pg_ctlcluster, "--skip-systemctl-redirect", version, "main", "restart"],
        check=True,
        capture_output=True,
        timeout=60,
    )


def test_the_app_recovers_from_a_postgres_restart_without_being_restarted(stack, http):
    if stack.backend != "postgres":
        pytest.skip("PostgreSQL restart applies to the PostgreSQL stack only")
    if not (shutil.which("pg_ctlcluster") and Path("/etc/postgresql").is_dir() and os.geteuid() == 0):
        pytest.skip("restarting PostgreSQL needs pg_ctlcluster run as root (CI container)")
    # Every worker holds pooled connections that the restart will kill.
    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(lambda _: http.launch("Student").status, range(16))) == {200}

    host = new_room(http)
    token = new_link(host)
    stop = threading.Event()
    during: list[int] = []
    joins: list[int] = []

    def guests() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            browser = GuestBrowser(stack.base, token)
            try:
                status = browser.open()
                if status == 200:
                    status = browser.submit(f"Restart guest {n}", f"restart{n}@example.org")
                joins.append(status)
            except requests.RequestException:
                joins.append(-1)

    def traffic() -> None:
        while not stop.is_set():
            try:
                during.append(http.launch("Student", timeout=15).status)
            except LoginRefused as refused:
                during.append(refused.status)
            except requests.RequestException:
                during.append(-1)

    workers = [threading.Thread(target=traffic) for _ in range(3)] + [threading.Thread(target=guests) for _ in range(3)]
    for w in workers:
        w.start()
    _restart_postgres()
    stop.set()
    for w in workers:
        w.join()
    # While PostgreSQL was down: a launch either worked or got a retryable 503; never a 500.
    assert during and set(during) <= {200, 503}, sorted(set(during))
    assert joins and set(joins) <= {303, 503}, sorted(set(joins))

    # After the restart (no gunicorn restart): pre-ping replaces every dead pooled connection.
    deadline = time.monotonic() + 20
    while requests.get(stack.base + "/readyz", timeout=5).status_code != 200:
        assert time.monotonic() < deadline, "never became ready after the PostgreSQL restart"
        time.sleep(0.2)
    with ThreadPoolExecutor(8) as pool:
        after = list(pool.map(lambda _: http.launch("Student").status, range(40)))
    assert after == [200] * 40
    browser = GuestBrowser(stack.base, token)
    assert browser.open() == 200 and browser.submit("After restart", "after@example.org") == 303
    # A click is taken in the same transaction as its guest row: none counted without its guest.
    used, guests = db_counts(stack.database_url, token)
    assert used == guests == joins.count(303) + 1
    assert clicks_without_guests(stack.database_url) == []


@pytest.mark.parametrize("mode", ["down", "garbage", "slow"])
def test_key_set_trouble_keeps_cached_launches_working_and_fails_uncached_closed(stack, http, mode):
    keyset = http.platform.keyset
    keyset.mode = "ok"
    assert http.launch("Instructor").status == 200  # the Sakai key set is now cached
    uncached = StackClient(stack.base, flaky_platform(http.platform, mode))

    keyset.mode = mode
    keyset.release.clear()
    try:
        started = time.monotonic()
        with ThreadPoolExecutor(6) as pool:
            refused = pool.submit(uncached.launch, "Instructor", 15)
            time.sleep(0.2)  # the uncached launch is now waiting on the key set
            health = [pool.submit(requests.get, stack.base + "/healthz", timeout=2) for _ in range(4)]
            cached = [pool.submit(http.launch, "Student", 15) for _ in range(4)]
            assert [h.result().status_code for h in health] == [200] * 4
            assert [c.result().status for c in cached] == [200] * 4
            result = refused.result()
        elapsed = time.monotonic() - started
    finally:
        keyset.release.set()
        keyset.mode = "ok"
    assert result.status == 503, result.html[:300]
    assert "cannot reach your Sakai server" in result.html
    assert result.launch_token is None
    assert elapsed < 5.0, f"the uncached launch took {elapsed:.1f}s to fail"


def test_logs_of_200_launches_hold_no_tokens_states_or_emails(stack, http):
    def one(i: int):
        result = http.launch("Instructor" if i % 2 else "Student", user=f"u{i}", email=f"person{i}@uni.example.edu")
        assert result.status == 200
        return result

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, range(200)))
    replay_form, _ = http.authorize()
    assert http.post_launch(replay_form).status_code == 200
    assert http.post_launch(replay_form).status_code == 400  # a refusal, logged with its reason

    # A guest link's token sits in the path; the access log must not keep it (404 until the guest routes exist).
    requests.get(stack.base + "/g/Tok9short", timeout=5)

    logs = stack.logs()
    lines = json_log_lines(logs)  # every line is one JSON object …
    assert len(lines) >= 400
    assert all(line.get("request_id") for line in lines)  # … with a request id
    assert any(line.get("reason") == "replay" for line in lines)
    secrets = [replay_form["id_token"], replay_form["state"], "Tok9short"]
    for r in results:
        secrets += [r.id_token, r.state, r.launch_token, r.id_token.split(".")[1], r.id_token.split(".")[2]]
    leaked = [s for s in secrets if s and s in logs]
    assert leaked == []
    assert EMAIL.findall(logs) == []


def access_lines(stack) -> list[dict]:
    return [x for x in json_log_lines(stack.stdout_path.read_text()) if x.get("logger") == "gunicorn.access"]


def test_forwarded_headers_are_ignored_without_trusted_proxies(stack):
    request_id = "forwarded-probe-" + os.urandom(6).hex()
    headers = {"X-Forwarded-Proto": "http", "X-Forwarded-For": "203.0.113.9", "X-Request-ID": request_id}
    response = requests.get(stack.base + "/healthz", headers=headers, timeout=5)
    assert response.headers["X-Request-ID"] == request_id
    # tool.base_url is https: HSTS is sent whatever a client claims about the scheme.
    assert "Strict-Transport-Security" in response.headers
    deadline = time.monotonic() + 5
    while not (lines := [x for x in access_lines(stack) if x["request_id"] == request_id]):
        assert time.monotonic() < deadline, "no access line for the probe"
        time.sleep(0.1)
    assert lines[0]["remote"] == "127.0.0.1"  # not the forwarded address (rate limits key on it)
