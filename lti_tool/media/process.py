"""Run Janus as a child process (demo mode and tests): hardened config, free port, stopped with us."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .janus import Janus, JanusUnavailable
from .janusconf import SESSION_TIMEOUT, JanusSetup, write_config

INSTALL_HINT = "Audio and video are off: Janus is not installed (sudo apt-get install janus)."


def janus_binary() -> str | None:
    return shutil.which("janus")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@dataclass
class JanusProcess:
    """A running Janus: its config folder, the config.json entry that reaches it, the process."""

    directory: Path
    entry: dict[str, str]
    process: subprocess.Popen | None = None
    log_path: Path | None = None

    def start(self, binary: str, *, wait: float = 15.0) -> JanusProcess:
        self.log_path = self.directory / "janus.log"
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - our own binary path and arguments
            [binary, "-F", str(self.directory), "-C", str(self.directory / "janus.jcfg"), "-o"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        client = Janus(self.entry["url"], self.entry["api_secret"], self.entry["admin_key"])
        deadline = time.monotonic() + wait
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"Janus exited at start (code {self.process.returncode}); see {self.log_path}")
            try:
                client.info()
                return self
            except JanusUnavailable:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"Janus did not answer within {wait:.0f} s; see {self.log_path}") from None
                time.sleep(0.1)

    def stop(self, *, kill: bool = False) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def prepare(
    directory: Path,
    *,
    rtp_port_range: str = "20000-40000",
    nat_1_1_mapping: str | None = None,
    port: int | None = None,
    session_timeout: int = SESSION_TIMEOUT,
) -> JanusProcess:
    """Write a fresh hardened config for a Janus on a free loopback port (new secrets each time)."""
    setup = JanusSetup(
        http_ip="127.0.0.1",
        http_port=port or free_port(),
        rtp_port_range=rtp_port_range,
        nat_1_1_mapping=nat_1_1_mapping,
        session_timeout=session_timeout,
    )
    return JanusProcess(directory=directory, entry=write_config(directory, setup))


def start_janus(directory: Path, **kwargs) -> JanusProcess:
    binary = janus_binary()
    if binary is None:
        raise RuntimeError(INSTALL_HINT)
    return prepare(directory, **kwargs).start(binary)


def start_for_demo(instance_dir: Path, settings, echo) -> JanusProcess | None:
    """`serve --demo`: a Janus of our own under instance/janus (new secrets, a free loopback port),
    unless config.json already names one. Without the binary: one line saying how to install it."""
    if settings.janus:
        return None
    binary = janus_binary()
    if binary is None:
        echo(INSTALL_HINT)
        return None
    process = prepare(
        Path(instance_dir) / "janus", rtp_port_range=settings.rtp_port_range, nat_1_1_mapping=settings.nat_1_1_mapping
    )
    try:
        process.start(binary)
    except RuntimeError as exc:
        echo(f"Audio and video are off: {exc}")
        return None
    os.environ["LTI_TOOL_MEDIA_JANUS"] = json.dumps([process.entry])
    echo(f"Started Janus for audio and video ({process.entry['url']}, log {process.log_path}).")
    return process


def exec_supervised(program: str, argv: list[str], janus: JanusProcess | None) -> None:
    """Run the web server. Without a Janus of ours, become it (exec); with one, run it as a child,
    pass it SIGINT/SIGTERM, and stop Janus when it exits."""
    if janus is None:
        os.execv(program, argv)
    child = subprocess.Popen(argv, executable=program)  # noqa: S603

    def forward(signum, _frame):
        child.send_signal(signum)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, forward)
    try:
        code = child.wait()
    finally:
        janus.stop()
    sys.exit(code)
