"""A real coturn for the tests, run with the hardened config `lti-tool media turn-config` prints.

It listens on the machine's own address (not loopback: Chromium's relay candidates and Janus's
host candidates are on it), and that address is the one media server the relay may reach, so the
config's `denied-peer-ip` for private and reserved ranges is in force for everything else.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from lti_tool.media.process import free_port
from lti_tool.media.turn import CoturnSetup, coturn_config, new_secret

INSTALL_HINT = "TURN tests need coturn (sudo apt-get install coturn)."


def own_address() -> str:
    """This machine's address toward the outside (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.connect(("198.51.100.1", 9))
        return sock.getsockname()[0]


def require_coturn() -> str:
    binary = shutil.which("turnserver")
    if binary is None:
        if os.environ.get("LTI_TOOL_REQUIRE_COTURN") == "1":
            pytest.fail(f"TURN tests are required here but cannot run: {INSTALL_HINT}")
        pytest.skip(INSTALL_HINT)
    return binary


@dataclass
class Coturn:
    directory: Path
    address: str
    port: int
    secret: str
    process: subprocess.Popen | None = None
    extra_args: tuple[str, ...] = ()

    @property
    def urls(self) -> list[str]:
        return [f"turn:{self.address}:{self.port}?transport=udp", f"turn:{self.address}:{self.port}?transport=tcp"]

    @property
    def entry(self) -> dict:
        """config.json `media.turn` for this server."""
        return {"urls": self.urls, "secret": self.secret, "ttl_seconds": 120}

    @property
    def log_path(self) -> Path:
        return self.directory / "turn.log"

    def start(self, binary: str, *, wait: float = 10.0) -> Coturn:
        self.directory.mkdir(parents=True, exist_ok=True)
        conf = self.directory / "turnserver.conf"
        setup = CoturnSetup(
            secret=self.secret,
            realm="lti-tool.test",
            media_ips=(self.address,),
            listening_port=self.port,
            min_port=61000,
            max_port=61999,
        )
        conf.write_text(coturn_config(setup))
        conf.chmod(0o600)
        self.process = subprocess.Popen(  # noqa: S603 - our own binary and arguments
            [
                *(binary, "-c", str(conf), "--listening-ip", self.address, "--relay-ip", self.address),
                *("--log-file", str(self.log_path), "--pidfile", str(self.directory / "turn.pid")),
                *self.extra_args,
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + wait
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"coturn exited at start (code {self.process.returncode}); see {self.log_path}")
            try:
                socket.create_connection((self.address, self.port), timeout=0.5).close()
                return self
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"coturn did not listen within {wait:.0f} s; see {self.log_path}") from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def start_coturn(directory: Path, *extra_args: str) -> Coturn:
    binary = require_coturn()
    address = own_address()
    server = Coturn(directory, address, free_port(address), new_secret(), extra_args=extra_args)
    return server.start(binary)
