"""Benchmarks against gunicorn (4 workers) on 127.0.0.1, each beside a bare Flask endpoint measured in
the same run on the same server configuration, so results are ratios that survive a noisy machine.

    python bench/run.py launch                      # SQLite (WAL), and PostgreSQL if BENCH_DATABASE_URL is set
    python bench/run.py launch --db sqlite --seconds 10 --clients 8
    python bench/run.py profile                     # where a launch's server time goes (pyinstrument)
    python bench/run.py profile-join                # where a guest join's server time goes (pyinstrument)
    python bench/run.py spy                         # where a gunicorn worker's launch time goes (py-spy)

`launch`: the full LTI launch cycle with cached platform keys — GET /lti/login → the platform signs
the id_token (in the bench process, with the nonce the tool just issued) → POST /lti/launch → the
media page. One launch = 2 HTTP requests + 1 RS256 signature on the client side.

    python bench/run.py join                        # guest joins: entry page GET + form POST
    python bench/run.py serving                     # launches/s per worker class, and slow clients

`serving`: the same launch cycle on SQLite under each serving setup, in one run: plain sync workers
and stock gthread (the settings before lti_tool/serving.py) beside the read-first worker that
`python:lti_tool.gunicorn_conf` now sets. For each it also opens 32 connections that send half a
header (the security review's attack) and times one `GET /healthz` meanwhile (5 s at most).

`join`: a guest opens a link's entry page (GET /g/<token>), keeps the page's cookies and form token,
and submits name and email (POST /g/<token> → 303 to the waiting room). Every join is a new guest
row and a used click on an unlimited link; the per-address rate limits are raised for the run (all
clients are 127.0.0.1). The session poll has its own script: bench/session_poll.py.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import jwt  # noqa: E402

from lti_tool.lti.views import state_cookie_name  # noqa: E402
from tests import sakai  # noqa: E402
from tests.stack.harness import Gunicorn, migrate  # noqa: E402

WORKERS = 4


# --- the load generator: closed loop, one process per client, raw http.client -------------------


def _get(host: str, port: int, path: str) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection(host, port, timeout=30)
    conn.request("GET", path)
    response = conn.getresponse()
    response.body = response.read()
    conn.close()
    return response


def _post(host: str, port: int, path: str, body: bytes, headers: dict) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection(host, port, timeout=30)
    conn.request("POST", path, body=body, headers=headers)
    response = conn.getresponse()
    response.body = response.read()
    conn.close()
    return response


class LaunchCycle:
    """One Sakai user's launch, as fast as Python can drive it."""

    def __init__(self, port: int, platform: sakai.SakaiPlatform):
        self.port = port
        self.platform = platform
        self.login_path = "/lti/login?" + urlencode(platform.login_params(lti_storage_target=None))
        self.key = platform.key  # an RSA key object: no PEM parsing per signature
        self.template = platform.claims("x", "Instructor")

    def __call__(self) -> bool:
        login = _get("127.0.0.1", self.port, self.login_path)
        if login.status != 302:
            return False
        query = parse_qs(urlsplit(login.getheader("Location")).query)
        state, nonce = query["state"][0], query["nonce"][0]
        now = int(time.time())
        claims = {**self.template, "nonce": nonce, "iat": now, "exp": now + 3600}
        id_token = jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.platform.kid})
        body = urlencode({"id_token": id_token, "state": state}).encode()
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"{state_cookie_name(state)}={state}",
        }
        page = _post("127.0.0.1", self.port, "/lti/launch", body, headers)
        return page.status == 200 and b'name="launch-token"' in page.body


FORM_TOKEN = re.compile(rb'name="form_token" value="([^"]+)"')


class JoinCycle:
    """One guest: the entry page, then the form with its token and the page's cookies."""

    def __init__(self, port: int, _platform=None):
        self.port = port
        self.path = f"/g/{_JOIN_TOKEN}"
        self.n = 0

    def __call__(self) -> bool:
        page = _get("127.0.0.1", self.port, self.path)
        match = FORM_TOKEN.search(page.body)
        if page.status != 200 or not match:
            return False
        cookies = "; ".join(c.split(";", 1)[0] for c in page.msg.get_all("Set-Cookie") or [])
        self.n += 1
        tag = f"{os.getpid()}-{self.n}"
        body = urlencode({"name": f"Bench guest {tag}", "email": f"g{tag}@bench.example", "form_token": match[1]})
        headers = {"Content-Type": "application/x-www-form-urlencoded", **({"Cookie": cookies} if cookies else {})}
        joined = _post("127.0.0.1", self.port, self.path, body.encode(), headers)
        return joined.status == 303


class BareRequest:
    def __init__(self, port: int, _platform=None):
        self.port = port

    def __call__(self) -> bool:
        return _get("127.0.0.1", self.port, "/bare").status == 200


_PLATFORM: sakai.SakaiPlatform | None = None  # inherited by the forked clients (keys do not pickle)
_JOIN_TOKEN: str | None = None  # the link the join clients use, set before they fork


def _client(args) -> tuple[list[float], int, float]:
    kind, port, seconds = args
    action = {"launch": LaunchCycle, "join": JoinCycle, "bare": BareRequest}[kind](port, _PLATFORM)
    latencies, failures = [], 0
    cpu = time.process_time()
    deadline = time.perf_counter() + seconds
    while (started := time.perf_counter()) < deadline:
        ok = action()
        latencies.append(time.perf_counter() - started)
        failures += not ok
    return latencies, failures, time.process_time() - cpu


def cpu_seconds(server: Gunicorn) -> float:
    """User + system CPU of the gunicorn master and its workers (robust on a busy machine)."""
    total = 0
    for pid in [server.proc.pid, *server.worker_pids()]:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def measure(kind: str, server: Gunicorn, seconds: float, clients: int) -> dict:
    _client((kind, server.port, min(1.0, seconds)))  # warm up (keys cached, workers hot)
    server_cpu = cpu_seconds(server)
    with multiprocessing.get_context("fork").Pool(clients) as pool:
        started = time.perf_counter()
        results = pool.map(_client, [(kind, server.port, seconds)] * clients)
        elapsed = time.perf_counter() - started
    server_cpu = cpu_seconds(server) - server_cpu
    latencies = sorted(x for lats, _, _ in results for x in lats)
    failures = sum(f for _, f, _ in results)
    client_cpu = sum(c for _, _, c in results)
    return {
        "server_cpu_ms": server_cpu / len(latencies) * 1000,
        "client_cpu_ms": client_cpu / len(latencies) * 1000,
        "per_second": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "count": len(latencies),
        "failures": failures,
    }


# --- the servers ---------------------------------------------------------------------------------


NO_GUEST_LIMITS = {"post_per_ip": 10**9, "post_per_link": 10**9, "unknown_per_ip": 10**9}


def tool_stack(workdir: Path, database_url: str, platform: sakai.SakaiPlatform) -> Gunicorn:
    keys_dir = workdir / "keys"
    from lti_tool.lti.keys import generate_key

    generate_key(keys_dir)
    config_path = workdir / "config.json"
    config = {
        "tool": {"title": "Bench", "base_url": sakai.TOOL_BASE},
        "platforms": {platform.issuer: [platform.registration()]},
    }
    config_path.write_text(json.dumps(config))
    migrate(database_url, keys_dir, config_path)
    env = {"LOG_LEVEL": "WARNING"}
    overrides = {"GUEST_RATE_LIMITS": NO_GUEST_LIMITS}
    return Gunicorn(workdir, database_url, keys_dir, config_path, workers=WORKERS, extra_env=env, overrides=overrides)


def open_guest_link(tool: Gunicorn, platform: sakai.SakaiPlatform) -> str:
    """A host launches, turns guest access on and creates an unlimited link; returns its token."""
    import requests

    from tests.stack.harness import StackClient

    host = StackClient(tool.base, platform).launch("Instructor")
    api = f"{tool.base}/api/rooms/{host.room_id}"
    headers = {"X-Launch-Token": host.launch_token}
    requests.post(api + "/guest-access", json={"enabled": True}, headers=headers, timeout=10).raise_for_status()
    created = requests.post(api + "/links", json={"name": "Bench"}, headers=headers, timeout=10)
    created.raise_for_status()
    return created.json()["link"]["url"].rsplit("/g/", 1)[1]


def bare_stack(workdir: Path, like: Gunicorn) -> Gunicorn:
    env = {"PYTHONPATH": str(ROOT / "bench")}
    return Gunicorn(workdir, like.database_url, like.keys_dir, like.config_path, WORKERS, "bare_app:app", env)


def reset_postgres(url: str) -> None:
    from tests.conftest import _reset_postgres

    _reset_postgres(url)


def run_launch(args) -> None:
    global _PLATFORM, _JOIN_TOKEN
    platform = _PLATFORM = sakai.SakaiPlatform(key=sakai.new_key(), keyset=sakai.KeySetServer())
    databases = []
    if args.db in ("sqlite", "both"):
        databases.append("sqlite")
    pg_url = os.environ.get("BENCH_DATABASE_URL")
    if args.db in ("postgres", "both"):
        if pg_url:
            databases.append("postgres")
        else:
            print("PostgreSQL skipped: set BENCH_DATABASE_URL (its schema is dropped and recreated)")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for backend in databases:
            workdir = Path(tmp) / backend
            workdir.mkdir()
            if backend == "postgres":
                reset_postgres(pg_url)
                url = pg_url
            else:
                url = f"sqlite:///{workdir / 'bench.sqlite3'}"
            tool = tool_stack(workdir, url, platform).start()
            try:
                bare = bare_stack(workdir, tool).start()
                try:
                    base = measure("bare", bare, args.seconds, args.clients)
                    if args.what == "join":
                        _JOIN_TOKEN = open_guest_link(tool, platform)
                    launch = measure(args.what, tool, args.seconds, args.clients)
                finally:
                    bare.stop()
            finally:
                tool.stop()
            rows.append((backend, launch, base))
    print_table(rows, args)


def print_table(rows, args) -> None:
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "?")
    print(
        f"\n{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} · nproc {os.cpu_count()} · {cpu} · "
        f"load {os.getloadavg()[0]:.1f} · gunicorn {WORKERS} sync workers · {args.clients} clients · {args.seconds:g} s"
    )
    plural = "launches" if args.what == "launch" else "joins"
    print(
        f"| database | {plural}/s | p50 ms | p99 ms | failures | bare req/s | bare p99 ms | cost in bare requests "
        f"| server CPU ms per {args.what} / per bare | client CPU ms per {args.what} / per bare |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for backend, launch, base in rows:
        cost = base["per_second"] / launch["per_second"]
        print(
            f"| {backend} | {launch['per_second']:.0f} | {launch['p50_ms']:.1f} | {launch['p99_ms']:.1f} | "
            f"{launch['failures']} / {launch['count']} | {base['per_second']:.0f} | {base['p99_ms']:.1f} | {cost:.1f} "
            f"| {launch['server_cpu_ms']:.2f} / {base['server_cpu_ms']:.2f} "
            f"| {launch['client_cpu_ms']:.2f} / {base['client_cpu_ms']:.2f} |"
        )


SERVING_SETUPS = [  # (label, workers, extra gunicorn arguments)
    ("sync, 4 workers (README before)", 4, ("-k", "sync", "--threads", "1")),  # threads > 1 would mean gthread
    ("gthread, 2 × 4 threads (serve before)", 2, ("-k", "gthread", "--threads", "4")),
    ("read-first, 4 × 4 threads (README now)", 4, ()),
    ("read-first, 2 × 4 threads (serve now)", 2, ()),
    ("read-first, 4 × 1 thread", 4, ("--threads", "1")),
]


SLOW_CLIENTS = 32  # more than 2 × 4 threads, so that every worker has its share whatever accept() hands out


def healthz_beside_slow_clients(server: Gunicorn, count: int = SLOW_CLIENTS) -> str:
    import socket

    slow = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(count)]
    for sock in slow:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: bench\r\nX-Slow: ")
    time.sleep(0.5)  # let every worker take its connections
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request("GET", "/healthz")
        status = conn.getresponse().status
        outcome = f"{status} in {(time.perf_counter() - started) * 1000:.0f} ms"
    except TimeoutError:
        outcome = "no answer in 5 s"
    finally:
        conn.close()
        for sock in slow:
            sock.close()
    return outcome


def run_serving(args) -> None:
    global _PLATFORM
    platform = _PLATFORM = sakai.SakaiPlatform(key=sakai.new_key(), keyset=sakai.KeySetServer())
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (label, workers, extra) in enumerate(SERVING_SETUPS):
            workdir = Path(tmp) / str(i)
            workdir.mkdir()
            tool = tool_stack(workdir, f"sqlite:///{workdir / 'bench.sqlite3'}", platform)
            tool.workers, tool.extra_args = workers, extra
            tool.start()
            try:
                bare = bare_stack(workdir, tool)
                bare.workers, bare.extra_args = workers, extra
                bare.start()
                try:
                    base = measure("bare", bare, args.seconds, args.clients)
                finally:
                    bare.stop()
                launch = measure("launch", tool, args.seconds, args.clients)
                slow = healthz_beside_slow_clients(tool)
            finally:
                tool.stop()
            rows.append((label, launch, base, slow))
    print(
        f"\n{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} · nproc {os.cpu_count()} · "
        f"load {os.getloadavg()[0]:.1f} · SQLite · {args.clients} clients · {args.seconds:g} s each"
    )
    print(
        "| setup | launches/s | p50 / p99 ms | failures | bare req/s | cost in bare requests "
        f"| server CPU ms per launch / per bare | /healthz beside {SLOW_CLIENTS} slow clients |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for label, launch, base, slow in rows:
        print(
            f"| {label} | {launch['per_second']:.0f} | {launch['p50_ms']:.1f} / {launch['p99_ms']:.1f} | "
            f"{launch['failures']} / {launch['count']} | {base['per_second']:.0f} | "
            f"{base['per_second'] / launch['per_second']:.1f} | "
            f"{launch['server_cpu_ms']:.2f} / {base['server_cpu_ms']:.2f} | {slow} |"
        )


# --- profile: the server side of a launch, in-process ---------------------------------------------


def bench_app(tmp: str, platform: sakai.SakaiPlatform, overrides: dict | None = None):
    """The tool in this process on a fresh SQLite file."""
    from lti_tool import create_app
    from lti_tool.extensions import db
    from lti_tool.lti.keys import generate_key

    keys_dir = Path(tmp) / "keys"
    generate_key(keys_dir)
    app = create_app(
        {
            "config": {
                "tool": {"title": "Bench", "base_url": sakai.TOOL_BASE},
                "platforms": {platform.issuer: [platform.registration()]},
            },
            "database_url": f"sqlite:///{Path(tmp) / 'profile.sqlite3'}",
            "secret_key": "bench",
            "KEYS_DIR": str(keys_dir),
            "LOG_LEVEL": "WARNING",
            **(overrides or {}),
        }
    )
    with app.app_context():
        db.create_all()
    return app


def profile_app(tmp: str, platform: sakai.SakaiPlatform, overrides: dict | None = None):
    """`bench_app` with its WSGI app wrapped in a pyinstrument profiler."""
    from pyinstrument import Profiler

    app = bench_app(tmp, platform, overrides)
    profiler = Profiler(interval=0.0002)
    inner = app.wsgi_app

    def profiled(environ, start_response):
        profiler.start()
        try:
            return inner(environ, start_response)
        finally:
            profiler.stop()

    app.wsgi_app = profiled
    return app, profiler


def run_cpu(args) -> None:
    """Server CPU per request in this process (`time.thread_time` around the WSGI app): login and
    launch separately, mean over `--launches` cycles after 100 to warm up. Steadier than the
    gunicorn runs for comparing two versions of the code, but without gunicorn's own work."""
    platform = sakai.SakaiPlatform(key=sakai.new_key(), keyset=sakai.KeySetServer())
    with tempfile.TemporaryDirectory() as tmp:
        app = bench_app(tmp, platform)
        inner, spent = app.wsgi_app, {"GET": 0, "POST": 0}

        def timed(environ, start_response):
            started = time.thread_time_ns()
            try:
                return list(inner(environ, start_response))
            finally:
                spent[environ["REQUEST_METHOD"]] += time.thread_time_ns() - started

        app.wsgi_app = timed
        for i in range(args.launches + 100):
            if i == 100:
                spent = dict.fromkeys(spent, 0)
            _launch(app.test_client(), platform)
    login, launch = (spent[method] / args.launches / 1e6 for method in ("GET", "POST"))
    print(f"server CPU per launch cycle: {login + launch:.3f} ms (login {login:.3f} ms, launch {launch:.3f} ms)")


def _launch(client, platform: sakai.SakaiPlatform) -> str:
    """One launch cycle in the test client; returns the media page's HTML."""
    login = client.get("/lti/login", query_string=platform.login_params(lti_storage_target=None))
    query = parse_qs(urlsplit(login.headers["Location"]).query)
    claims = platform.claims(query["nonce"][0], "Instructor")
    token = jwt.encode(claims, platform.key, algorithm="RS256", headers={"kid": platform.kid})
    state = query["state"][0]
    client.set_cookie(state_cookie_name(state), state)
    page = client.post("/lti/launch", data={"id_token": token, "state": state})
    assert page.status_code == 200, page.get_data(as_text=True)[:300]
    return page.get_data(as_text=True)


def run_profile(args) -> None:
    platform = sakai.SakaiPlatform(key=sakai.new_key(), keyset=sakai.KeySetServer())
    with tempfile.TemporaryDirectory() as tmp:
        app, profiler = profile_app(tmp, platform)
        for i in range(args.launches + 20):
            if i == 20:
                profiler.reset()
            _launch(app.test_client(), platform)  # a new browser each time, as in `launch`
        print(profiler.output_text(unicode=True, color=False, show_all=False))


LAUNCH_TOKEN = re.compile(r'name="launch-token" content="([^"]+)"')


def run_profile_join(args) -> None:
    """Where a guest join's server time goes: the same two requests as `join`, in-process."""
    platform = sakai.SakaiPlatform(key=sakai.new_key(), keyset=sakai.KeySetServer())
    with tempfile.TemporaryDirectory() as tmp:
        app, profiler = profile_app(tmp, platform, {"GUEST_RATE_LIMITS": NO_GUEST_LIMITS})
        host = app.test_client()
        page = _launch(host, platform)
        headers = {"X-Launch-Token": LAUNCH_TOKEN.search(page)[1]}
        api = f"/api/rooms/{sakai.room_id_from(page)}"
        assert host.post(api + "/guest-access", json={"enabled": True}, headers=headers).status_code == 200
        created = host.post(api + "/links", json={"name": "Bench"}, headers=headers)
        path = "/g/" + created.get_json()["link"]["url"].rsplit("/g/", 1)[1]
        for i in range(args.joins + 20):
            if i == 20:
                profiler.reset()
            guest = app.test_client()  # a new browser: no cookies
            entry = guest.get(path)
            form_token = FORM_TOKEN.search(entry.data)[1].decode()
            data = {"name": f"Bench guest {i}", "email": f"g{i}@bench.example", "form_token": form_token}
            assert guest.post(path, data=data).status_code == 303
        print(profiler.output_text(unicode=True, color=False, show_all=False))


# --- spy: where a gunicorn worker's time goes during launches (py-spy, sampling) ------------------

SPY_PARTS = [  # (label, py-spy function name): shares of the sampled server time
    ("login view", "login"),
    ("  login state (itsdangerous)", "issue"),
    ("launch view", "launch"),
    ("  id_token checks (pylti1p3 + ours)", "SakaiMessageLaunch.run"),
    ("    format check (pylti1p3 decodes header and body)", "SakaiMessageLaunch.validate_jwt_format"),
    ("    RS256 signature and claims (PyJWT)", "SakaiMessageLaunch.verify_signature_and_claims"),
    ("    state + one-time nonce insert (opens the transaction)", "SakaiMessageLaunch.consume_state_and_nonce"),
    ("      login state check (itsdangerous)", "read"),
    ("  room look-up + launch row insert", "_record_launch"),
    ("  media page's facts query (in the transaction)", "media_page"),
    ("  commit", "scoped_session.commit"),
    ("  page after the commit (the kept page, launch token, response)", "ToolRuntime.launch_page.<locals>.<lambda>"),
    ("    launch token (itsdangerous)", "issue_token"),
    ("    Jinja templates (only when the kept page is missing)", "Template.render"),
    ("every SQL statement and BEGIN, on the DBAPI cursor (inside the above)", "driver_execute"),
    ("Flask before-request hooks (form parsing, NUL check, request id)", "Flask.preprocess_request"),
    ("  the launch's form (Werkzeug)", "Request._load_form_data"),
    ("Flask after-request hooks (security headers)", "Flask.process_response"),
    ("gunicorn: sending the response", "Response.write"),
    ("gunicorn: access log line", "RedactingLogger.access"),
]


def run_spy(args) -> None:
    """Sequential launches against gunicorn (4 workers, SQLite) while py-spy samples the workers;
    prints each part's share of the server's sampled time and the server CPU per launch."""
    import collections
    import shutil
    import subprocess

    beside = Path(sys.executable).with_name("py-spy")
    py_spy = str(beside) if beside.exists() else shutil.which("py-spy")
    if py_spy is None:
        sys.exit("py-spy is not installed: .venv/bin/pip install py-spy")
    global _PLATFORM
    platform = _PLATFORM = sakai.SakaiPlatform(key=sakai.new_key(), keyset=sakai.KeySetServer())
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        tool = tool_stack(workdir, f"sqlite:///{workdir / 'bench.sqlite3'}", platform).start()
        try:
            cycle = LaunchCycle(tool.port, platform)
            for _ in range(200):
                assert cycle()
            raw = workdir / "spy.txt"
            spy = subprocess.Popen(
                [py_spy, "record", "--pid", str(tool.proc.pid), "--subprocesses", "--rate", "1000",
                 "--duration", str(int(args.seconds)), "--format", "raw", "-o", str(raw)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            cpu, launches = cpu_seconds(tool), 0
            while spy.poll() is None:
                assert cycle()
                launches += 1
            cpu = cpu_seconds(tool) - cpu
        finally:
            tool.stop()
        samples, total = collections.Counter(), 0
        for line in raw.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            frames = {frame.split(" (")[0] for frame in stack.split(";")}
            if "SyncWorker.handle_request" in frames:
                total += int(count)
                samples.update({name: int(count) for name in frames})
    print(
        f"{launches} sequential launches, {total} samples; server CPU {cpu / launches * 1000:.2f} ms per launch "
        "(sampling adds to it: use `launch` for costs)"
    )
    for label, name in SPY_PARTS:
        print(f"{100 * samples[name] / total:5.1f} %  {label}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    launch = sub.add_parser("launch", help="launch cycles per second vs a bare Flask endpoint")
    launch.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    launch.add_argument("--seconds", type=float, default=10.0)
    launch.add_argument("--clients", type=int, default=8)
    join = sub.add_parser("join", help="guest joins per second (entry page + submit) vs a bare Flask endpoint")
    join.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    join.add_argument("--seconds", type=float, default=10.0)
    join.add_argument("--clients", type=int, default=8)
    serving = sub.add_parser("serving", help="launches/s and slow-client resistance per gunicorn worker class")
    serving.add_argument("--seconds", type=float, default=8.0)
    serving.add_argument("--clients", type=int, default=8)
    profile = sub.add_parser("profile", help="pyinstrument profile of the server side of launches")
    profile.add_argument("--launches", type=int, default=300)
    profile_join = sub.add_parser("profile-join", help="pyinstrument profile of the server side of guest joins")
    profile_join.add_argument("--joins", type=int, default=300)
    cpu = sub.add_parser("cpu", help="server CPU per login and launch, in this process (no gunicorn)")
    cpu.add_argument("--launches", type=int, default=1000)
    spy = sub.add_parser("spy", help="py-spy shares of a gunicorn worker's time during sequential launches")
    spy.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()
    runs = {
        "launch": run_launch,
        "join": run_launch,
        "serving": run_serving,
        "profile": run_profile,
        "profile-join": run_profile_join,
        "cpu": run_cpu,
        "spy": run_spy,
    }
    runs[args.what](args)


if __name__ == "__main__":
    main()
