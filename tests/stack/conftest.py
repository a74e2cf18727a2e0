"""Fixtures for the real-stack tests: gunicorn (4 workers) on SQLite and on PostgreSQL."""

from __future__ import annotations

import json

import pytest

from tests import sakai
from tests.conftest import TEST_DATABASE_URL, _reset_postgres
from tests.stack.harness import Gunicorn, StackClient, migrate

# A Sakai-like platform whose keys get cached, and three that are never fetched before their key
# set endpoint misbehaves. They share one key-set server; the query string makes each URL (and so
# each throttle row) distinct.
NO_GUEST_LIMITS = {"post_per_ip": 100_000, "post_per_link": 100_000, "unknown_per_ip": 100_000}
FLAKY_ISSUERS = {mode: f"https://{mode}.sakai.test" for mode in ("down", "slow", "garbage")}


@pytest.fixture(scope="module")
def stack_keyset():
    server = sakai.KeySetServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def stack_platform(platform_key, stack_keyset):
    return sakai.SakaiPlatform(key=platform_key, keyset=stack_keyset)


def flaky_platform(stack_platform, mode: str) -> sakai.SakaiPlatform:
    return sakai.SakaiPlatform(key=stack_platform.key, keyset=stack_platform.keyset, issuer=FLAKY_ISSUERS[mode])


def registration(platform: sakai.SakaiPlatform, tag: str) -> dict:
    return {**platform.registration(), "key_set_url": f"{platform.keyset.url}?for={tag}"}


def stack_config(stack_platform) -> dict:
    platforms = {stack_platform.issuer: [registration(stack_platform, "sakai")]}
    for mode, issuer in FLAKY_ISSUERS.items():
        platforms[issuer] = [registration(flaky_platform(stack_platform, mode), mode)]
    return {"tool": {"title": "Stack", "base_url": sakai.TOOL_BASE}, "platforms": platforms}


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def stack(request, tmp_path_factory, stack_platform):
    """A migrated database and gunicorn with 4 workers in front of it."""
    workdir = tmp_path_factory.mktemp("stack")
    keys_dir = workdir / "keys"
    from lti_tool.lti.keys import generate_key

    generate_key(keys_dir)
    config_path = workdir / "config.json"
    config_path.write_text(json.dumps(stack_config(stack_platform)))
    if request.param == "postgres":
        if not TEST_DATABASE_URL:
            pytest.skip("PostgreSQL stack tests need TEST_DATABASE_URL (CI sets it)")
        _reset_postgres(TEST_DATABASE_URL)
        url = TEST_DATABASE_URL
    else:
        url = f"sqlite:///{workdir / 'stack.sqlite3'}"
    migrate(url, keys_dir, config_path)
    # Every simulated guest comes from 127.0.0.1: the per-address limits would refuse most of them.
    overrides = {"GUEST_RATE_LIMITS": NO_GUEST_LIMITS}
    server = Gunicorn(
        workdir=workdir, database_url=url, keys_dir=keys_dir, config_path=config_path, overrides=overrides
    ).start()
    server.backend = request.param
    yield server
    server.stop()


@pytest.fixture
def http(stack, stack_platform):
    stack_platform.keyset.mode = "ok"
    return StackClient(stack.base, stack_platform)
