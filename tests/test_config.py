"""config.json validation: every broken case stops start-up with ONE line naming the file and
the key; `import wsgi` (gunicorn's start) prints that line and exits 2, never a traceback."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from lti_tool.config import DEMO_SECRET_FILE, PROJECT_ROOT, ConfigError, load_settings

ISSUER = "https://sakai.example.edu"


def valid() -> dict:
    return {
        "tool": {"title": "Guest access for rooms", "base_url": "https://tool.example.edu"},
        "modules": {"invitetomedia": {"enabled": True}, "theming": {"enabled": True, "mediapage": "Yes"}},
        "roles": {"host": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"]},
        "platforms": {
            ISSUER: [
                {
                    "client_id": "c1",
                    "auth_login_url": ISSUER + "/imsoidc/lti13/oidc_auth",
                    "auth_token_url": ISSUER + "/imsblis/lti13/token/7",
                    "key_set_url": ISSUER + "/imsblis/lti13/keyset",
                    "deployment_ids": ["1"],
                    "default": True,
                }
            ]
        },
    }


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for name in (
        "LTI_TOOL_CONFIG",
        "LTI_TOOL_BASE_URL",
        "LTI_TOOL_DEMO",
        "SECRET_KEY",
        "DATABASE_URL",
        "LTI_TOOL_MEDIA_JANUS",
    ):
        monkeypatch.delenv(name, raising=False)


def write(tmp_path: Path, data) -> Path:
    path = tmp_path / "tool-config.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def load(tmp_path: Path, data, **overrides):
    return load_settings({"config_path": write(tmp_path, data), "secret_key": "s", **overrides})


def reg(config: dict) -> dict:
    return config["platforms"][ISSUER][0]


def broken(mutate):
    config = valid()
    mutate(config)
    return config


CASES = {
    "invalid_json": ('{"tool": {"base_url": "https://x.edu",}}', "not valid JSON (line 1"),
    "not_an_object": ("[1, 2]", "must hold one JSON object"),
    "missing_base_url": (broken(lambda c: c["tool"].pop("base_url")), "tool.base_url: missing"),
    "bad_base_url": (broken(lambda c: c["tool"].update(base_url="tool.example.edu")), "tool.base_url: 'tool.exa"),
    "ftp_base_url": (broken(lambda c: c["tool"].update(base_url="ftp://tool.example.edu")), "tool.base_url"),
    "empty_title": (broken(lambda c: c["tool"].update(title=" ")), "tool.title: must be a non-empty string"),
    "tool_not_object": (broken(lambda c: c.update(tool=[])), "tool: must be an object"),
    "platform_missing_client_id": (broken(lambda c: reg(c).pop("client_id")), "[0].client_id: missing"),
    "platform_missing_key_set_url": (broken(lambda c: reg(c).pop("key_set_url")), "[0].key_set_url: missing"),
    "platform_bad_auth_login_url": (
        broken(lambda c: reg(c).update(auth_login_url="/imsoidc")),
        "[0].auth_login_url: '/imsoidc' is not an http(s) URL",
    ),
    "platform_missing_deployment_ids": (
        broken(lambda c: reg(c).pop("deployment_ids")),
        "[0].deployment_ids: must be a non-empty list of strings",
    ),
    "platform_deployment_ids_numbers": (
        broken(lambda c: reg(c).update(deployment_ids=[1])),
        "[0].deployment_ids: must be a non-empty list of strings",
    ),
    "platform_issuer_not_url": (
        broken(lambda c: c["platforms"].update({"sakai": c["platforms"].pop(ISSUER)})),
        "platforms key 'sakai'",
    ),
    "platforms_empty_list": (broken(lambda c: c["platforms"].update({ISSUER: []})), "must be a list of registrations"),
    "unknown_module": (broken(lambda c: c["modules"].update(recording={"enabled": True})), "modules.recording"),
    "mediapage_maybe": (
        broken(lambda c: c["modules"]["theming"].update(mediapage="Maybe")),
        'modules.theming.mediapage: must be "Yes" or "No"',
    ),
    "enabled_string": (
        broken(lambda c: c["modules"]["invitetomedia"].update(enabled="yes")),
        "modules.invitetomedia.enabled: must be true or false",
    ),
    "platform_module_override_bad": (
        broken(lambda c: reg(c).update(modules={"theming": {"mediapage": "yes"}})),
        '[0].modules.theming.mediapage: must be "Yes" or "No"',
    ),
    "roles_not_a_list": (
        broken(lambda c: c["roles"].update(host="http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor")),
        "roles.host: must be a list of role URIs",
    ),
    "unknown_role_name": (broken(lambda c: c["roles"].update(viewer=[])), "roles.viewer: unknown role"),
    "private_hosts_not_a_list": (
        broken(lambda c: c.update(outbound={"private_hosts": "sakai.example.edu"})),
        "outbound.private_hosts: must be a list of host names or origins",
    ),
    "private_hosts_a_url_with_a_path": (
        broken(lambda c: c.update(outbound={"private_hosts": ["https://sakai.example.edu/portal"]})),
        "outbound.private_hosts[0]: 'https://sakai.example.edu/portal' is neither a host name",
    ),
    "janus_not_a_list": (
        broken(lambda c: c.update(media={"janus": {"url": "http://127.0.0.1:8088/janus"}})),
        "media.janus: must be a list of Janus servers",
    ),
    "janus_bad_url": (
        broken(lambda c: c.update(media={"janus": [{"url": "127.0.0.1:8088", "api_secret": "a", "admin_key": "b"}]})),
        "media.janus[0].url: '127.0.0.1:8088' is not an http(s) URL",
    ),
    "janus_missing_api_secret": (
        broken(lambda c: c.update(media={"janus": [{"url": "http://127.0.0.1:8088/janus", "admin_key": "b"}]})),
        "media.janus[0].api_secret: missing; 'lti-tool media janus-config DIR' prints the matching entry",
    ),
    "janus_unknown_key": (
        broken(
            lambda c: c.update(
                media={"janus": [{"url": "http://j/janus", "api_secret": "a", "admin_key": "b", "x": 1}]}
            )
        ),
        "media.janus[0]: unknown key 'x'",
    ),
    "rtp_port_range_backwards": (
        broken(lambda c: c.update(media={"rtp_port_range": "40000-20000"})),
        'media.rtp_port_range: must be "LOW-HIGH" UDP ports',
    ),
    "nat_mapping_not_an_ip": (
        broken(lambda c: c.update(media={"nat_1_1_mapping": "janus.example.edu"})),
        "media.nat_1_1_mapping: must be the public IP address",
    ),
    "private_hosts_not_a_name": (
        broken(lambda c: c.update(outbound={"private_hosts": ["sakai example"]})),
        "outbound.private_hosts[0]: 'sakai example' is neither",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_broken_config_is_one_clear_line(tmp_path, case):
    data, words = CASES[case]
    with pytest.raises(ConfigError) as info:
        load(tmp_path, data)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("tool-config.json: "), message
    assert words in message, message


def test_media_janus_is_read_and_its_secrets_never_printed(tmp_path, monkeypatch):
    monkeypatch.delenv("LTI_TOOL_MEDIA_JANUS", raising=False)
    config = valid()
    config["media"] = {"janus": [{"url": "http://10.0.0.5:8088/janus/", "api_secret": "s3cr3t", "admin_key": "k3y"}]}
    settings = load(tmp_path, config)
    (server,) = settings.janus
    assert (server.url, server.api_secret, server.admin_key) == ("http://10.0.0.5:8088/janus", "s3cr3t", "k3y")
    assert "s3cr3t" not in repr(settings) and "k3y" not in repr(settings)
    assert load(tmp_path, valid()).janus == ()


def test_media_janus_from_the_environment_wins(tmp_path, monkeypatch):
    entry = {"url": "http://127.0.0.1:9/janus", "api_secret": "a", "admin_key": "b"}
    monkeypatch.setenv("LTI_TOOL_MEDIA_JANUS", json.dumps([entry]))
    assert load(tmp_path, valid()).janus[0].url == "http://127.0.0.1:9/janus"
    monkeypatch.setenv("LTI_TOOL_MEDIA_JANUS", "[not json")
    with pytest.raises(ConfigError, match=r"^LTI_TOOL_MEDIA_JANUS: not valid JSON"):
        load(tmp_path, valid())


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_settings({"config_path": tmp_path / "nope.json", "secret_key": "s"})


def test_secret_key_is_required_outside_demo_and_tests(tmp_path):
    with pytest.raises(ConfigError, match=r"^SECRET_KEY: not set"):
        load_settings({"config_path": write(tmp_path, valid())})


def test_secret_key_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "from-env")
    assert load_settings({"config_path": write(tmp_path, valid())}).secret_key == "from-env"


def test_demo_refuses_a_non_loopback_base_url(tmp_path):
    with pytest.raises(ConfigError, match="demo mode only runs on a loopback address"):
        load(tmp_path, valid(), demo=True)


@pytest.mark.parametrize("base", ["http://localhost:8000", "http://127.0.0.1:5000", "http://[::1]:8000"])
def test_demo_runs_on_loopback_without_secret(tmp_path, base):
    config = broken(lambda c: c["tool"].update(base_url=base))
    settings = load_settings({"config_path": write(tmp_path, config), "demo": True, "instance_dir": tmp_path})
    assert settings.demo and settings.secret_key


def demo_settings(tmp_path, instance_dir, config_path=None):
    config = broken(lambda c: c["tool"].update(base_url="http://localhost:8000"))
    config_path = config_path or write(tmp_path, config)
    return load_settings({"config_path": config_path, "demo": True, "instance_dir": instance_dir})


def test_demo_secret_is_random_made_once_and_kept_under_instance_mode_0600(tmp_path):
    first = demo_settings(tmp_path, tmp_path / "instance").secret_key
    assert demo_settings(tmp_path, tmp_path / "instance").secret_key == first  # kept across restarts
    path = tmp_path / "instance" / DEMO_SECRET_FILE
    assert path.read_text().strip() == first and len(first) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "localhost" not in first
    # Another instance folder (another machine) gets another key, for the same base URL.
    assert demo_settings(tmp_path, tmp_path / "elsewhere").secret_key != first
    assert [p.name for p in (tmp_path / "instance").iterdir()] == [DEMO_SECRET_FILE]  # nothing left aside


def test_workers_starting_at_once_agree_on_one_demo_secret(tmp_path):
    config_path = write(tmp_path, broken(lambda c: c["tool"].update(base_url="http://localhost:8000")))
    with ThreadPoolExecutor(8) as pool:
        secrets = set(
            pool.map(lambda _: demo_settings(tmp_path, tmp_path / "instance", config_path).secret_key, range(16))
        )
    assert len(secrets) == 1


def test_a_truncated_demo_secret_stops_the_tool_with_one_line(tmp_path):
    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / DEMO_SECRET_FILE).write_text("short")
    with pytest.raises(ConfigError, match="demo secret is shorter than 32 characters"):
        demo_settings(tmp_path, tmp_path / "instance")


def test_demo_is_off_by_default(tmp_path):
    assert load(tmp_path, valid()).demo is False


def test_environment_overrides(tmp_path, monkeypatch):
    monkeypatch.setenv("LTI_TOOL_CONFIG", str(write(tmp_path, valid())))
    monkeypatch.setenv("LTI_TOOL_BASE_URL", "https://other.example.edu/")
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://db/tool")
    monkeypatch.setenv("SECRET_KEY", "k")
    settings = load_settings()
    assert settings.base_url == "https://other.example.edu"
    assert settings.database_url == "postgresql+psycopg://db/tool"


def test_default_database_is_sqlite_under_instance(tmp_path):
    assert load(tmp_path, valid()).database_url == f"sqlite:///{PROJECT_ROOT / 'instance' / 'lti_tool.sqlite3'}"


def test_shipped_config_json_is_valid():
    settings = load_settings({"config_path": PROJECT_ROOT / "config.json", "secret_key": "s"})
    assert settings.demo is False


def test_roles_section_overrides_defaults(tmp_path):
    settings = load(tmp_path, valid())
    assert settings.roles["host"] == ("http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor",)
    assert "http://purl.imsglobal.org/vocab/lis/v2/membership#ContentDeveloper" in settings.roles["moderator"]


def test_wsgi_start_with_broken_config_prints_one_error_line(tmp_path):
    env = {**os.environ, "LTI_TOOL_CONFIG": str(write(tmp_path, broken(lambda c: reg(c).pop("client_id"))))}
    env.pop("SECRET_KEY", None)
    done = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: tool-config.json: platforms['https://sakai.example.edu'][0].client_id")


def test_wsgi_start_without_secret_key_prints_one_error_line(tmp_path):
    env = {**os.environ, "LTI_TOOL_CONFIG": str(write(tmp_path, valid()))}
    env.pop("SECRET_KEY", None)
    env.pop("LTI_TOOL_DEMO", None)
    done = subprocess.run(
        [sys.executable, "-c", "import wsgi"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stderr.strip()) == (
        2,
        "error: SECRET_KEY: not set; the tool refuses to start without it outside demo mode",
    )


def test_bad_database_url_is_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres is on db1")
    with pytest.raises(ConfigError, match=r"^DATABASE_URL: not a database URL"):
        load(tmp_path, valid())


def test_private_hosts_are_host_names_or_origins_written_one_way(tmp_path):
    config = valid()
    config["outbound"] = {"private_hosts": ["Sakai.Campus.edu.", "https://lms.campus.edu/", "http://10.0.0.5:8080"]}
    settings = load_settings({"config_path": write(tmp_path, config), "secret_key": "s"})
    assert settings.private_hosts == ("sakai.campus.edu", "https://lms.campus.edu:443", "http://10.0.0.5:8080")
    assert load_settings({"config_path": write(tmp_path, valid()), "secret_key": "s"}).private_hosts == ()
