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

lti_group = AppGroup("lti", help="Administer the LTI tool.")
keys_group = AppGroup("keys", help="The tool's signing keys in keys/.")
db_group = AppGroup("db", help="The database schema.")
lti_group.add_command(keys_group)
lti_group.add_command(db_group)


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


@db_group.command("upgrade", help="Apply pending migrations.")
def db_upgrade() -> None:
    from .database import upgrade_database

    upgrade_database(current_app)
    click.echo("Database is up to date.")


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
    gunicorn = shutil.which("gunicorn") or str(Path(sys.executable).with_name("gunicorn"))
    os.chdir(PROJECT_ROOT)
    os.execv(
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
            "--access-logfile",
            "-",
            "--access-logformat",
            '%(h)s "%(m)s %(U)s" %(s)s %(L)ss',
            "wsgi:app",
        ],
    )
