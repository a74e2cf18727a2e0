"""Command line: `lti-tool …` (console script) or `flask --app wsgi lti …`.

Bad arguments and bad configuration print one clear line and exit non-zero.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup, FlaskGroup

from .config import PROJECT_ROOT, ConfigError
from .platforms import cli as platforms_cli

lti_group = AppGroup("lti", help="Administer the LTI tool.")
keys_group = AppGroup("keys", help="The tool's signing keys in keys/.")
db_group = AppGroup("db", help="The database schema.")
lti_group.add_command(keys_group)
lti_group.add_command(db_group)
lti_group.add_command(platforms_cli.platform_group)
lti_group.add_command(platforms_cli.modules_group)
lti_group.add_command(platforms_cli.info)
media_group = AppGroup("media", help="Audio and video (the Janus media server).")
lti_group.add_command(media_group)


def keys_dir() -> Path:
    return Path(current_app.extensions["lti_tool"].keys_dir)


@keys_group.command("generate", help="Create the tool's RSA key pair if there is none.")
def keys_generate() -> None:
    from .lti.keys import generate_key, load_keys

    existing = load_keys(keys_dir())
    if existing:
        click.echo(f"A key already exists: {existing[-1].path.name} (kid {existing[-1].kid}).")
        return
    path = generate_key(keys_dir())
    click.echo(f"Created {path} (mode 0600).")


@keys_group.command("rotate", help="Add a new key that signs from now on; the previous one stays in the JWKS.")
def keys_rotate() -> None:
    from .lti.keys import RETIRE_AFTER, KeyRotationError, load_keys, rotate_key

    try:
        path = rotate_key(keys_dir())
    except KeyRotationError as exc:
        raise click.ClickException(str(exc)) from None
    hours = int(RETIRE_AFTER.total_seconds() // 3600)
    if len(load_keys(keys_dir())) == 1:
        click.echo(f"Created {path.name}; there was no key before, so it is the only one.")
        return
    click.echo(f"Created {path.name}; it signs from now on. The previous key stays in /lti/jwks.")
    click.echo(f"After {hours} h or more, run 'lti-tool keys retire' to stop publishing the previous key.")


@keys_group.command("list", help="The published keys, oldest first; the last one signs.")
def keys_list() -> None:
    from .lti.keys import created_at, load_keys

    found = load_keys(keys_dir())
    if not found:
        click.echo("No key yet. Run 'lti-tool keys generate'.")
    for i, key in enumerate(found):
        role = "signs" if i == len(found) - 1 else "published, no longer signs"
        click.echo(f"{key.path.name}  kid {key.kid}  made {created_at(key.path):%Y-%m-%d %H:%M} UTC  {role}")


@keys_group.command("retire", help="Stop publishing the keys older than the signing one (after 24 h).")
@click.option("--force", is_flag=True, help="Retire now, even inside the 24 h grace period.")
def keys_retire(force: bool) -> None:
    from .lti.keys import RETIRED_DIR, KeyRotationError, retire_keys

    try:
        retired = retire_keys(keys_dir(), force=force)
    except KeyRotationError as exc:
        raise click.ClickException(str(exc)) from None
    for key in retired:
        click.echo(f"Retired {key.path.name} (kid {key.kid}) to {RETIRED_DIR}/.")


@media_group.command("janus-config", help="Write a hardened Janus config into DIR and print the config.json entry.")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--ip", default="127.0.0.1", show_default=True, help="Address of Janus's HTTP API (loopback or private).")
@click.option("--port", default=8088, show_default=True, type=click.IntRange(1, 65535), help="Port of that API.")
@click.option(
    "--turn",
    "use_turn",
    is_flag=True,
    help="Janus relays through media.turn too (only when Janus itself is behind NAT).",
)
def media_janus_config(directory: Path, ip: str, port: int, use_turn: bool) -> None:
    import ipaddress
    import json

    from .clock import utcnow
    from .media.janusconf import JanusSetup, write_config
    from .media.turn import janus_turn

    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        raise click.ClickException(f"--ip: {ip!r} is not an IP address") from None
    if not (address.is_loopback or address.is_private) or address.is_unspecified:
        raise click.ClickException(
            f"--ip: {ip} is not a loopback or private address; Janus's API must not be reachable from browsers"
        )
    settings = current_app.config["TOOL"]
    if use_turn and settings.turn is None:
        raise click.ClickException("--turn: config.json has no media.turn (see 'lti-tool media turn-config')")
    setup = JanusSetup(
        http_ip=ip,
        http_port=port,
        rtp_port_range=settings.rtp_port_range,
        nat_1_1_mapping=settings.nat_1_1_mapping,
        turn=janus_turn(settings.turn, utcnow()) if use_turn else None,
    )
    try:
        entry = write_config(directory.resolve(), setup)
    except OSError as exc:
        raise click.ClickException(f"could not write {directory}: {exc.strerror}") from None
    click.echo(f"Wrote janus.jcfg, janus.transport.http.jcfg and janus.plugin.videoroom.jcfg to {directory}.")
    click.echo(f"Run Janus with: janus -F {directory.resolve()} -C {directory.resolve() / 'janus.jcfg'}")
    click.echo("Put this in config.json under media.janus (keep it secret):")
    click.echo(json.dumps({"media": {"janus": [entry]}}, indent=2))


@media_group.command("turn-config", help="Print a hardened coturn config (turnserver.conf) for media.turn.")
@click.option("--realm", help="coturn's realm (default: the host of tool.base_url).")
@click.option(
    "--media-ip",
    "media_ips",
    multiple=True,
    help="An address of a media server that the relay may reach (repeat; default: from media.janus).",
)
@click.option("--port", default=3478, show_default=True, type=click.IntRange(1, 65535), help="TURN port (UDP+TCP).")
@click.option("--tls-port", type=click.IntRange(1, 65535), help="TURN over TLS port (e.g. 443), with cert and pkey.")
def media_turn_config(realm: str | None, media_ips: tuple[str, ...], port: int, tls_port: int | None) -> None:
    import ipaddress
    import json
    from urllib.parse import urlsplit

    from .media import turn

    settings = current_app.config["TOOL"]
    for ip in media_ips:
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            raise click.ClickException(f"--media-ip: {ip!r} is not an IP address") from None
    ips = list(media_ips) or turn.media_ips([s.url for s in settings.janus], settings.nat_1_1_mapping)
    if not ips:
        raise click.ClickException(
            "name the media servers' addresses with --media-ip (media.janus only lists loopback addresses)"
        )
    secret = settings.turn.secret if settings.turn else turn.new_secret()
    setup = turn.CoturnSetup(
        secret=secret,
        realm=realm or urlsplit(settings.base_url).hostname or "lti-tool",
        media_ips=tuple(ips),
        listening_port=port,
        tls_port=tls_port,
    )
    click.echo(turn.coturn_config(setup), nl=False)
    if settings.turn is None:
        host = urlsplit(settings.base_url).hostname
        entry = {"urls": [f"turn:{host}:{port}?transport=udp", f"turn:{host}:{port}?transport=tcp"], "secret": secret}
        click.echo("# A new secret: put this in config.json under media.turn (keep it secret):", err=True)
        click.echo(json.dumps({"media": {"turn": entry}}, indent=2), err=True)


@media_group.command("status", help="The Janus servers: reachable, in placement, active rooms, participants.")
def media_status() -> None:
    from .clock import utcnow
    from .media import servers

    found = servers.status(servers.fleet(), utcnow(), check=True)
    if not found:
        click.echo("No Janus server is configured (media.janus in config.json).")
        return
    for server in found:
        click.echo(
            f"{server.url}  {'reachable' if server.reachable else 'unreachable'}  "
            f"{'in placement' if server.in_placement else 'out of placement'}  "
            f"{server.rooms} room{'s' if server.rooms != 1 else ''}  "
            f"{server.participants} participant{'s' if server.participants != 1 else ''}  weight {server.weight:g}"
        )


@db_group.command("upgrade", help="Apply pending migrations.")
def db_upgrade() -> None:
    from .database import upgrade_database

    upgrade_database(current_app)
    click.echo("Database is up to date.")


@lti_group.command(
    "purge", help="Delete old guest records and invitations, expired launch nonces and old rate counters (for cron)."
)
def purge() -> None:
    from .clock import utcnow
    from .extensions import db
    from .guest.ratelimit import purge_counters
    from .guest.service import purge_guests
    from .invites.service import purge_invitations
    from .lti.launch import purge_expired

    now = utcnow()
    days = current_app.config["TOOL"].retention_days
    guests = purge_guests(now, days)
    invitations = purge_invitations(now, days)
    nonces = purge_expired(now)
    counters = purge_counters(now)
    db.session.commit()
    click.echo(
        f"Deleted {guests} guest record(s) older than {days} day(s), "
        f"{invitations} invitation(s) older than {days} day(s), "
        f"{nonces} expired nonce row(s), {counters} old rate counter(s)."
    )


def _create_app_for_cli():
    from . import create_app

    return create_app()


def main() -> None:
    """Entry point of the `lti-tool` console script."""
    cli = FlaskGroup(create_app=_create_app_for_cli, add_default_commands=False, load_dotenv=False)
    for name, command in lti_group.commands.items():
        cli.add_command(command, name)
    cli.add_command(serve)
    try:
        cli.main(prog_name="lti-tool")
    except ConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)


@click.command(help="Run the tool (gunicorn); --demo adds the demo LMS on a loopback address.")
@click.option("--demo", is_flag=True, help="Mount the demo LMS at /demo (loopback only).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
def serve(demo: bool, host: str, port: int, workers: int) -> None:
    from . import create_app
    from .database import upgrade_database
    from .lti.keys import ensure_key
    from .media import process as media_process

    if demo:
        os.environ["LTI_TOOL_DEMO"] = "1"
        os.environ.setdefault("LTI_TOOL_BASE_URL", f"http://localhost:{port}")
    try:
        app = create_app()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    ensure_key(Path(app.extensions["lti_tool"].keys_dir))
    upgrade_database(app)
    base = app.config["TOOL"].base_url
    click.echo(f"Open {base}/demo/ to try the tool with the demo LMS." if demo else f"Serving {base}")
    janus = media_process.start_for_demo(app.instance_path, app.config["TOOL"], click.echo) if demo else None
    gunicorn = shutil.which("gunicorn") or str(Path(sys.executable).with_name("gunicorn"))
    os.chdir(PROJECT_ROOT)
    media_process.exec_supervised(
        gunicorn,
        [
            gunicorn,
            "-w",
            str(workers),
            # Threads: browsers open spare connections ahead of need; an idle one would hold a
            # plain sync worker until gunicorn's 30 s timeout and stall every other request.
            "--threads",
            "4",
            "-b",
            f"{host}:{port}",
            "-c",
            "python:lti_tool.gunicorn_conf",
            "wsgi:app",
        ],
        janus,
    )
