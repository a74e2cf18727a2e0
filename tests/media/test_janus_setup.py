"""`lti-tool media janus-config DIR` and `serve --demo`'s own Janus: hardened, and really usable."""

from __future__ import annotations

import json
import re
import stat
import sys

import pytest
import requests

from lti_tool.media import process
from lti_tool.media.janus import Janus, JanusError
from lti_tool.media.process import JanusProcess, free_port
from tests.conftest import tool_config
from tests.media.conftest import _require_janus


def test_janus_config_writes_a_hardened_config_that_janus_runs(make_app, platform, tmp_path):
    binary = _require_janus()
    app = make_app(
        config=tool_config(platform, media={"rtp_port_range": "41000-41999", "nat_1_1_mapping": "192.0.2.7"})
    )
    port = free_port()
    out = tmp_path / "janus-conf"
    result = app.test_cli_runner().invoke(args=["lti", "media", "janus-config", str(out), "--port", str(port)])
    assert result.exit_code == 0, result.output
    entry = json.loads(result.output[result.output.index("{") :])["media"]["janus"][0]
    assert entry["url"] == f"http://127.0.0.1:{port}/janus"
    assert len(entry["api_secret"]) >= 40 and len(entry["admin_key"]) >= 40
    for name in ("janus.jcfg", "janus.transport.http.jcfg", "janus.plugin.videoroom.jcfg"):
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o600
    core = (out / "janus.jcfg").read_text()
    assert 'rtp_port_range = "41000-41999"' in core and 'nat_1_1_mapping = "192.0.2.7"' in core
    assert f'api_secret = "{entry["api_secret"]}"' in core
    http = (out / "janus.transport.http.jcfg").read_text()
    assert 'ip = "127.0.0.1"' in http and "admin_http = false" in http

    janus = JanusProcess(directory=out, entry=entry).start(binary)
    try:
        info = requests.get(entry["url"] + "/info", timeout=3).json()
        assert set(info["plugins"]) == {"janus.plugin.videoroom"}
        assert set(info["transports"]) == {"janus.transport.http"}
        assert info["events"] == {} and info["loggers"] == {}
        client = Janus(**entry)
        session = client.create_session()
        handle = client.attach(session)
        with pytest.raises(JanusError):  # no other plugin is loaded
            client.attach(session, "janus.plugin.echotest")
        client.request(session, handle, {"request": "create", "room": 7, "admin_key": entry["admin_key"]})
        client.destroy_session(session)
    finally:
        janus.stop()


@pytest.mark.parametrize("ip", ["0.0.0.0", "8.8.8.8", "localhost"])  # noqa: S104
def test_janus_config_refuses_a_public_or_unclear_address(app, tmp_path, ip):
    result = app.test_cli_runner().invoke(args=["lti", "media", "janus-config", str(tmp_path / "c"), "--ip", ip])
    assert result.exit_code != 0
    assert "--ip" in result.output
    assert not (tmp_path / "c").exists()


def test_demo_starts_its_own_janus_and_stops_it_with_the_server(make_app, tmp_path, monkeypatch):
    _require_janus()
    monkeypatch.delenv("LTI_TOOL_MEDIA_JANUS", raising=False)
    app = make_app()
    lines = []
    janus = process.start_for_demo(tmp_path / "instance", app.config["TOOL"], lines.append)
    try:
        assert janus is not None and re.match(
            r"Started Janus for audio and video \(http://127\.0\.0\.1:\d+/janus", lines[0]
        )
        assert json.loads(process.os.environ["LTI_TOOL_MEDIA_JANUS"]) == [janus.entry]
        Janus(**janus.entry).create_session()
        with pytest.raises(SystemExit) as exited:
            process.exec_supervised(sys.executable, [sys.executable, "-c", "raise SystemExit(3)"], janus)
        assert exited.value.code == 3
        assert janus.process.poll() is not None  # stopped with the server
    finally:
        janus.stop(kill=True)
        process.os.environ.pop("LTI_TOOL_MEDIA_JANUS", None)  # set by start_for_demo, not by monkeypatch


def test_demo_without_janus_says_how_to_install_it(make_app, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    app = make_app()
    lines = []
    assert process.start_for_demo(tmp_path / "instance", app.config["TOOL"], lines.append) is None
    assert lines == ["Audio and video are off: Janus is not installed (sudo apt-get install janus)."]
