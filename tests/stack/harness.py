"""The real stack for tests and benchmarks: gunicorn with several workers as a subprocess on a free
port, a migrated database, and a Sakai-like platform driven over HTTP with `requests`.

Guest links, guest entry and the session poll plug in here: `StackClient.launch()` returns the
host's `launch_token` and `room_id`. Links are created with `POST /api/rooms/<room_id>/links` and the
`X-Launch-Token` header, guests join with `POST /g/<token>`, and the session state is
`GET /api/rooms/<room_id>/state`. `count_launches` shows the shape of a database-side check for
rows (admitted guests, clicks).
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests
from sqlalchemy import create_engine, func, select

from lti_tool.config import PROJECT_ROOT
from lti_tool.lti.views import state_cookie_name
from lti_tool.models import Launch
from tests import sakai

BOOT_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def migrate(database_url: str, keys_dir: Path, config_path: Path) -> None:
    """Bring the database to the migration head, the way `lti-tool db upgrade` does."""
    from lti_tool import create_app
    from lti_tool.database import upgrade_database
    from lti_tool.extensions import db

    app = create_app(
        {
            "config_path": str(config_path),
            "database_url": database_url,
            "secret_key": "stack-secret",
            "KEYS_DIR": str(keys_dir),
        }
    )
    upgrade_database(app)
    with app.app_context():
        db.engine.dispose()


@dataclass
class Gunicorn:
    """`gunicorn -c python:lti_tool.gunicorn_conf -w N` on 127.0.0.1, logs captured to files."""

    workdir: Path
    database_url: str
    keys_dir: Path
    config_path: Path
    workers: int = 4
    app_spec: str | None = None
    extra_env: dict | None = None
    overrides: dict | None = None
    extra_args: tuple[str, ...] = ()  # e.g. ("-k", "sync") to measure another worker class

    def start(self) -> Gunicorn:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.stdout_path = self.workdir / f"gunicorn-{self.port}.out"
        self.stderr_path = self.workdir / f"gunicorn-{self.port}.err"
        overrides = {"KEYS_DIR": str(self.keys_dir), **(self.overrides or {})}
        spec = self.app_spec or f"lti_tool:create_app({overrides!r})"
        env = {
            **os.environ,
            "LTI_TOOL_CONFIG": str(self.config_path),
            "DATABASE_URL": self.database_url,
            "SECRET_KEY": "stack-secret",
            "LOG_FORMAT": "json",
            "TRUSTED_PROXIES": "0",
            "PYTHONUNBUFFERED": "1",
            **(self.extra_env or {}),
        }
        cmd = [sys.executable, "-m", "gunicorn", "-c", "python:lti_tool.gunicorn_conf"]
        cmd += ["-w", str(self.workers), *self.extra_args, "-b", f"127.0.0.1:{self.port}", spec]
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=env, stdout=out, stderr=err)  # noqa: S603
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def wait_ready(self) -> None:
        deadline = time.monotonic() + BOOT_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.logs()[-2000:]}")
            try:
                if requests.get(self.base + "/healthz", timeout=1).status_code == 200 and len(self.worker_pids()) == (
                    self.workers
                ):
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not become ready: {self.logs()[-2000:]}")

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except FileNotFoundError:
            return []

    def logs(self) -> str:
        return self.stdout_path.read_text(errors="replace") + self.stderr_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class LoginRefused(Exception):
    """The tool did not answer the login initiation with its redirect to the platform."""

    def __init__(self, status: int, body: str):
        super().__init__(f"login answered {status}: {body}")
        self.status = status


@dataclass
class LaunchResult:
    status: int
    html: str
    id_token: str
    state: str
    launch_token: str | None
    room_id: str | None


class StackClient:
    """What a browser in Sakai's iframe does, over real HTTP: login → platform auth → launch."""

    def __init__(self, base: str, platform: sakai.SakaiPlatform):
        self.base = base
        self.platform = platform

    def authorize(self, role: str = "Instructor", **claims) -> tuple[dict[str, str], str]:
        """Login initiation at the tool, then the platform's answer: (form to post, state cookie)."""
        login = requests.get(
            self.base + "/lti/login",
            params=self.platform.login_params(lti_storage_target=None),
            allow_redirects=False,
            timeout=10,
        )
        if login.status_code != 302:
            raise LoginRefused(login.status_code, login.text[:300])
        form = self.platform.authorize(login.headers["Location"], role, **claims)
        return form, form["state"]

    def post_launch(self, form: dict[str, str], timeout: float = 30) -> requests.Response:
        cookies = {state_cookie_name(form["state"]): form["state"]}
        return requests.post(self.base + "/lti/launch", data=form, cookies=cookies, timeout=timeout)

    def launch(self, role: str = "Instructor", timeout: float = 30, **claims) -> LaunchResult:
        form, state = self.authorize(role, **claims)
        response = self.post_launch(form, timeout=timeout)
        return LaunchResult(
            status=response.status_code,
            html=response.text,
            id_token=form["id_token"],
            state=state,
            launch_token=sakai.token_from(response.text),
            room_id=sakai.room_id_from(response.text),
        )


def count_launches(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(Launch)).scalar_one()
    finally:
        engine.dispose()


def json_log_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


EMAIL = re.compile(r"[^\s@\"'<>]+@[^\s@\"'<>]+\.[A-Za-z]{2,}")
