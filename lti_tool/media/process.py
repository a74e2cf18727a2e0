"""Run Janus as a child process (demo mode and tests): hardened config, free port, stopped with us."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .janus import Janus, JanusUnavailable
from .janusconf import JanusSetup, write_config

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
    directory: Path, *, rtp_port_range: str = "20000-40000", nat_1_1_mapping: str | None = None, port: int | None = None
) -> JanusProcess:
    """Write a fresh hardened config for a Janus on a free loopback port (new secrets each time)."""
    setup = JanusSetup(
        http_ip="127.0.0.1",
        http_port=port or free_port(),
        rtp_port_range=rtp_port_range,
        nat_1_1_mapping=nat_1_1_mapping,
    )
    return JanusProcess(directory=directory, entry=write_config(directory, setup))


def start_janus(directory: Path, **kwargs) -> JanusProcess:
    binary = janus_binary()
    if binary is None:
        raise RuntimeError(INSTALL_HINT)
    return prepare(directory, **kwargs).start(binary)
