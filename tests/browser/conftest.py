"""Real-browser tests: the tool under gunicorn, the demo LMS on another site, Debian's Chromium.

The tool is served at http://localhost:<port> and the demo LMS at http://127.0.0.1:<port> (same
server, different site), so the tool runs in a genuinely cross-site iframe, as inside Sakai.
Without Playwright or Chromium the tests skip with the reason, unless LTI_TOOL_REQUIRE_BROWSER=1
(CI sets it), where a missing browser is an error instead of a silent skip.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from lti_tool.config import PROJECT_ROOT
from lti_tool.lti.keys import generate_key

CHROMIUM = os.environ.get("LTI_TOOL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-gpu",
    "--no-first-run",
    # One renderer process for the LMS page and the tool's frame. The frame stays cross-site in every
    # way the tests look at (origins, CSP, cookie partitions, postMessage), but Playwright loses track
    # of a frame that goes from in-process (the LMS's OIDC page) to out-of-process (the tool) about
    # one launch in ten, and then waits forever.
    "--disable-site-isolation-trials",
    "--disable-features=IsolateOrigins,site-per-process",
    # A moving test pattern and a beep for getUserMedia/getDisplayMedia, granted without a prompt.
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
SERVER_START_DEADLINE = 30.0


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Remember each phase's outcome on the item, so the page fixture can screenshot failures."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


def _browser_missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install -e '.[test]')"
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    return None


@pytest.fixture(scope="session")
def browser_available():
    reason = _browser_missing()
    if reason and os.environ.get("LTI_TOOL_REQUIRE_BROWSER") == "1":
        pytest.fail(f"browser tests are required here but cannot run: {reason}")
    if reason:
        pytest.skip(reason)


# --- the tool as a real server --------------------------------------------------------------


@dataclass(frozen=True)
class ToolServer:
    port: int
    log_path: Path

    @property
    def tool_url(self) -> str:
        return f"http://localhost:{self.port}"

    @property
    def lms_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def course_url(self, as_: str = "instructor", room: str = "room") -> str:
        return f"{self.lms_url}/demo/?as={as_}&room={room}"

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def _cli(env: dict[str, str], *args: str) -> None:
    """The real `lti-tool` command line, in a child process (Alembic reconfigures logging)."""
    subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-c", "from lti_tool.cli import main; main()", *args],
        cwd=PROJECT_ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own loopback server
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _wait_until_healthy(server: ToolServer, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + SERVER_START_DEADLINE
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}:\n{server.log_tail()}")
        try:
            if _get(server.tool_url + "/healthz")[0] == 200:
                return
        except OSError:
            pass  # not listening yet
        time.sleep(0.1)
    raise RuntimeError(f"the tool did not answer /healthz within {SERVER_START_DEADLINE}s:\n{server.log_tail()}")


@contextmanager
def run_tool_server(
    workdir: Path, janus: dict | list[dict] | None = None, turn: dict | None = None, mail: dict | None = None
):
    """gunicorn (2 workers, production config) in demo mode; own SQLite database, config and keys in `workdir`;
    `janus` is the config.json entry (or entries) of a running Janus (else the room has no audio/video),
    `turn` the `media.turn` of a running coturn, `mail` the config.json `mail` block (else invitation
    email is off)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))  # gunicorn inherits this socket: no window for another process
    port = listener.getsockname()[1]
    config = workdir / "config.json"
    settings = {"tool": {"title": "Guest access for rooms", "base_url": "http://localhost"}}
    if janus:
        settings["media"] = {"janus": janus if isinstance(janus, list) else [janus]}
    if turn:
        settings.setdefault("media", {})["turn"] = turn
    if mail:
        settings["mail"] = mail
    config.write_text(json.dumps(settings))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LTI_TOOL_", "DATABASE_URL", "REDIS_URL"))}
    env.update(
        LTI_TOOL_DEMO="1",
        LTI_TOOL_BASE_URL=f"http://localhost:{port}",
        LTI_TOOL_DEMO_LMS_URL=f"http://127.0.0.1:{port}",
        LTI_TOOL_CONFIG=str(config),
        LTI_TOOL_KEYS_DIR=str(workdir / "keys"),
        DATABASE_URL=f"sqlite:///{workdir / 'tool.sqlite3'}",
    )
    generate_key(workdir / "keys")
    _cli(env, "db", "upgrade")

    server = ToolServer(port=port, log_path=workdir / "server.log")
    # The production settings (`lti-tool serve` uses them too): a worker that reads each request
    # whole before it takes one of its threads, so Chromium's spare connections cost no thread.
    command = [sys.executable, "-m", "gunicorn", "-c", "python:lti_tool.gunicorn_conf", "-w", "2"]
    command += ["-b", f"fd://{listener.fileno()}"]
    with server.log_path.open("wb") as log:
        proc = subprocess.Popen(  # noqa: S603 - fixed argv
            [*command, "wsgi:app"],
            cwd=PROJECT_ROOT,
            env=env,
            pass_fds=[listener.fileno()],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    listener.close()
    try:
        _wait_until_healthy(server, proc)
        status, body = _get(server.tool_url + "/readyz")
        assert status == 200, f"migrations were not applied: {body}"
        yield server
    finally:
        proc.send_signal(signal.SIGINT)  # gunicorn's quick shutdown: the tests are over, no request to finish
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def tool_server(browser_available, tmp_path_factory):
    """One server for the tests that only look (they change nothing another test relies on)."""
    with run_tool_server(tmp_path_factory.mktemp("tool-server")) as server:
        yield server


@pytest.fixture
def fresh_tool_server(browser_available, tmp_path):
    """A server with an empty database, for a flow that changes the room (guest access, links,
    the session): the demo LMS has one meeting room and a room holds at most 3 links."""
    workdir = tmp_path / "tool-server"
    workdir.mkdir()
    with run_tool_server(workdir) as server:
        yield server


# --- a real Janus for the audio/video tests ------------------------------------------------------


def _janus_binary() -> str:
    from lti_tool.media.process import INSTALL_HINT, janus_binary

    binary = janus_binary()
    if binary is None:
        if os.environ.get("LTI_TOOL_REQUIRE_JANUS") == "1":
            pytest.fail(f"media tests are required here but cannot run: {INSTALL_HINT}")
        pytest.skip(INSTALL_HINT)
    return binary


def start_janus(directory: Path):
    """Janus with the tool's own hardened config (`lti_tool.media.process`), on free ports."""
    from lti_tool.media.process import prepare

    return prepare(directory, rtp_port_range="40000-60000").start(_janus_binary())


@pytest.fixture(scope="session")
def shared_janus(browser_available, tmp_path_factory):
    """One Janus for the browser tests that only use it (every tool server makes rooms of its own)."""
    server = start_janus(tmp_path_factory.mktemp("janus"))
    yield server
    server.stop()


@pytest.fixture
def media_tool_server(shared_janus, tmp_path):
    """A fresh tool server whose rooms have audio and video on the shared Janus."""
    workdir = tmp_path / "tool-server"
    workdir.mkdir()
    with run_tool_server(workdir, shared_janus.entry) as server:
        yield server


@pytest.fixture(scope="session")
def shared_coturn(browser_available, tmp_path_factory):
    """A real coturn with the tool's hardened config (tests/media/coturn.py)."""
    from tests.media.coturn import start_coturn

    server = start_coturn(tmp_path_factory.mktemp("coturn"))
    yield server
    server.stop()


@pytest.fixture
def turn_tool_server(shared_janus, shared_coturn, tmp_path):
    """A fresh tool server with audio and video on the shared Janus, relayed by the shared coturn."""
    workdir = tmp_path / "tool-server"
    workdir.mkdir()
    with run_tool_server(workdir, shared_janus.entry, shared_coturn.entry) as server:
        yield server


# --- the browser ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def playwright_instance(browser_available):
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=10_000)  # a loaded 2-core CI machine; the page default is the same
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright_instance):
    """One Chromium for the session; every test gets a fresh context (fresh cookies and storage).
    Playwright starts Chromium with a new temporary user data dir of its own."""
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


def _screenshot_on_failure(request, pages) -> None:
    failed = any(
        getattr(request.node, f"report_{when}", None) and getattr(request.node, f"report_{when}").failed
        for when in ("setup", "call")
    )
    if not failed:
        return
    ARTIFACTS.mkdir(exist_ok=True)
    name = request.node.nodeid.replace("/", "_").replace("::", "__")
    for i, page in enumerate(pages):
        if not page.is_closed():
            page.screenshot(path=str(ARTIFACTS / f"{name}-{i}.png"), full_page=True)


VIEWPORT = {"width": 1280, "height": 960}


@contextmanager
def _pages(request):
    """Yields `track(context) -> page`; on exit, screenshots on failure and closes every context."""
    contexts, pages = [], []

    def track(context):
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        pages.append(page)
        return page

    try:
        yield track
    finally:
        _screenshot_on_failure(request, pages)
        for context in contexts:
            context.close()


@pytest.fixture
def new_page(request, browser):
    """`new_page()` opens a page in a fresh browser context; failures leave screenshots in test-artifacts/."""
    with _pages(request) as track:
        yield lambda **options: track(browser.new_context(**{"viewport": VIEWPORT, **options}))


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture
def persistent_page(request, playwright_instance, tmp_path):
    """A page in a Chromium whose fresh profile starts with the given preferences (cookie settings
    are profile preferences, not launch flags). `persistent_page({"profile": {...}})`."""

    def open_page(preferences: dict, **context_options):
        profile = tmp_path / "profile"
        (profile / "Default").mkdir(parents=True)
        (profile / "Default" / "Preferences").write_text(json.dumps(preferences))
        return track(
            playwright_instance.chromium.launch_persistent_context(
                str(profile),
                executable_path=CHROMIUM,
                headless=True,
                args=CHROMIUM_ARGS,
                viewport=VIEWPORT,
                **context_options,
            )
        )

    with _pages(request) as track:
        yield open_page
