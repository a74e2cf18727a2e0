"""`lti-tool platform …`, `lti-tool modules …` and `lti-tool info`.

Every change runs in one transaction: a refusal prints one line, exits non-zero and writes nothing.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from ..clock import utcnow
from ..errors import DomainError
from ..extensions import db
from . import service
from .info import GALLERY_CUSTOM, ToolUrls


class OneLineCommand(click.Command):
    """Usage mistakes as one clear line (not click's usage block), exit status 1."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            raise click.ClickException(exc.format_message()) from None


class OneLineGroup(AppGroup):
    command_class = OneLineCommand


platform_group = OneLineGroup("platform", help="Platforms (Sakai servers) that may launch the tool.")
modules_group = OneLineGroup("modules", help="Invitetomedia and Theming per platform.")


def settings():
    return current_app.config["TOOL"]


def runtime():
    return current_app.extensions["lti_tool"]


def actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@contextmanager
def transaction() -> Iterator[None]:
    """Commit once at the end; any refusal rolls everything back and becomes one line."""
    try:
        yield
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from None


issuer_option = click.option("--issuer", help="Only needed when the client id exists for several issuers.")


# -- platform ------------------------------------------------------------------------------------


@platform_group.command("add", help="Register a platform: --sakai URL --client-id ID --tool-id N, or every URL.")
@click.option("--sakai", "sakai_url", metavar="URL", help="Sakai server URL; fills Sakai's standard endpoints.")
@click.option("--tool-id", help="With --sakai: the number at the end of Sakai's Token URL.")
@click.option("--issuer", help="Platform issuer (Sakai: its server URL).")
@click.option("--client-id", required=True, help="The Client ID the platform shows.")
@click.option("--deployment-id", "deployment_ids", multiple=True, help="Repeat for several (Sakai: 1).")
@click.option("--auth-login-url", help="OIDC authentication URL.")
@click.option("--auth-token-url", help="OAuth2 token URL.")
@click.option("--key-set-url", help="Platform key set (JWKS) URL.")
def platform_add(sakai_url, tool_id, issuer, client_id, deployment_ids, auth_login_url, auth_token_url, key_set_url):
    given = {"auth_login_url": auth_login_url, "auth_token_url": auth_token_url, "key_set_url": key_set_url}
    with transaction():
        if sakai_url:
            if issuer:
                raise click.ClickException("Give --sakai or --issuer, not both (with --sakai the issuer is its URL).")
            filled = service.sakai_urls(sakai_url, tool_id, token_url=auth_token_url)
            issuer = filled.pop("issuer")
            given = {k: v or filled[k] for k, v in given.items()}
            deployment_ids = deployment_ids or ("1",)
        missing = [f"--{k.replace('_', '-')}" for k, v in {"issuer": issuer, **given}.items() if not v]
        if not deployment_ids:
            missing.append("--deployment-id")
        if missing:
            raise click.ClickException(f"Missing {', '.join(missing)} (or use --sakai URL for a Sakai server).")
        row = service.add_platform(
            settings(),
            issuer=issuer,
            client_id=client_id,
            deployment_ids=list(deployment_ids),
            actor=actor(),
            now=utcnow(),
            **given,
        )
    click.echo(f"Added {row.issuer} (client id {row.client_id}, deployment {', '.join(row.deployment_ids)}).")
    click.echo(f"  OIDC authentication URL: {row.auth_login_url}")
    click.echo(f"  Token URL:               {row.auth_token_url}")
    click.echo(f"  Key set URL:             {row.key_set_url}")
    _warn_if_unreachable(row.key_set_url)


def _warn_if_unreachable(url: str) -> None:
    """The key set is fetched only from addresses the outbound rules allow: say so now, not at the
    first launch."""
    from ..http import Destinations, FetchError, resolve

    parts = urlsplit(url)
    host = parts.hostname or ""
    destinations = Destinations.of(settings(), testing=current_app.testing)
    try:
        refused = [a for a in resolve(host, parts.port or 443) if not destinations.permits(url, a)]
    except FetchError:
        click.echo(f"Note: {host} does not resolve from here yet; launches need the key set at that address.")
        return
    if refused:
        click.echo(
            f"Note: {host} resolves to a private address ({refused[0]}). Launches will fail until "
            f'"outbound": {{"private_hosts": ["{host}"]}} is in config.json (then restart the tool).'
        )


@platform_group.command("list", help="Every platform, from config.json and from the database.")
def platform_list():
    entries = service.all_platforms(settings())
    if not entries:
        click.echo("No platforms yet. Add one with 'lti-tool platform add --sakai URL --client-id ID --tool-id N'.")
    for e in entries:
        state = "enabled" if e.enabled else "disabled"
        click.echo(
            f"{e.issuer}  client id {e.client_id}  deployment {', '.join(e.deployment_ids)}  "
            f"[{e.source}, {state}]  {describe_modules(e.modules)}"
        )


def _change(client_id: str, issuer: str | None, action, done: str) -> None:
    with transaction():
        entry = service.find_platform(settings(), client_id, issuer)
        action(entry)
    click.echo(f"{done} {entry.issuer} (client id {entry.client_id}).")


@platform_group.command("disable", help="Refuse launches from a platform (it stays registered).")
@click.argument("client_id")
@issuer_option
def platform_disable(client_id, issuer):
    _change(client_id, issuer, lambda e: service.set_enabled(e, False, actor=actor(), now=utcnow()), "Disabled")


@platform_group.command("enable", help="Accept launches from a disabled platform again.")
@click.argument("client_id")
@issuer_option
def platform_enable(client_id, issuer):
    _change(client_id, issuer, lambda e: service.set_enabled(e, True, actor=actor(), now=utcnow()), "Enabled")


@platform_group.command("remove", help="Delete a platform's registration (its rooms stay).")
@click.argument("client_id")
@issuer_option
def platform_remove(client_id, issuer):
    _change(client_id, issuer, lambda e: service.remove_platform(e, actor=actor(), now=utcnow()), "Removed")


@platform_group.command("invite", help="Print a one-time Dynamic Registration URL (valid 24 h).")
def platform_invite():
    with transaction():
        code, expires_at = service.create_invite(utcnow())
        service.audit("platform.invite_created", actor(), {"expires_at": expires_at.isoformat()}, now=utcnow())
    click.echo(f"{ToolUrls.of(runtime()).register}?invite={code}")
    click.echo(
        f"Paste it into Sakai (External Tools → LTI Advantage Auto Registration). It works once, until "
        f"{expires_at:%Y-%m-%d %H:%M} UTC."
    )


# -- modules ---------------------------------------------------------------------------------------


def describe_modules(modules: dict) -> str:
    def on(name: str) -> str:
        return "on" if modules.get(name, {}).get("enabled") else "off"

    return (
        f"Invitetomedia {on('invitetomedia')}, Theming {on('theming')}, "
        f"mediapage {modules.get('theming', {}).get('mediapage', 'No')}"
    )


def guest_access_line(modules: dict) -> str:
    availability = service.platform_guest_access(modules)
    return "Guest access: available" if availability.available else f"Guest access: unavailable. {availability.reason}"


@modules_group.command("show", help="Module settings: the defaults and every platform, or one platform.")
@click.argument("client_id", required=False)
@issuer_option
def modules_show(client_id, issuer):
    if client_id is None:
        click.echo(f"Defaults (config.json): {describe_modules(settings().modules)}")
        for e in service.all_platforms(settings()):
            click.echo(f"{e.issuer} (client id {e.client_id}, {e.source}): {describe_modules(e.modules)}")
        return
    with transaction():
        entry = service.find_platform(settings(), client_id, issuer)
    click.echo(f"{entry.issuer} (client id {entry.client_id}): {describe_modules(entry.modules)}")
    click.echo(guest_access_line(entry.modules))
    if entry.read_only:
        click.echo("Defined in config.json: change its 'modules' there and restart the tool.")


@modules_group.command("set", help="Switch modules for a platform from the database.")
@click.argument("client_id")
@issuer_option
@click.option("--invitetomedia", metavar="on|off")
@click.option("--theming", metavar="on|off")
@click.option("--mediapage", metavar="Yes|No")
def modules_set(client_id, issuer, invitetomedia, theming, mediapage):
    with transaction():
        changes = service.parse_switches({"invitetomedia": invitetomedia, "theming": theming, "mediapage": mediapage})
        entry = service.find_platform(settings(), client_id, issuer)
        after = service.set_modules(settings(), entry, changes, actor=actor(), now=utcnow())
    click.echo(f"{entry.issuer} (client id {entry.client_id}): {describe_modules(after)}")
    click.echo(guest_access_line(after))


# -- info ----------------------------------------------------------------------------------------


@click.command("info", cls=OneLineCommand, help="What to paste into Sakai's External Tools form.")
@with_appcontext
def info():
    urls = ToolUrls.of(runtime())
    click.echo("Sakai: Administration Workspace → External Tools → Install LTI 1.x Tool. Paste:")
    rows = [
        *urls.sakai_form(),
        ("Custom parameters (media gallery placements only)", GALLERY_CUSTOM),
    ]
    width = max(len(label) for label, _ in rows) + 1
    for label, value in rows:
        click.echo(f"  {label + ':':<{width}} {value}")
    click.echo("Or use LTI Dynamic Registration (LTI Advantage Auto Registration):")
    click.echo(f"  {'Dynamic Registration URL:':<{width}} {urls.register}?invite=<code>")
    click.echo("  Get a one-time URL with its code from 'lti-tool platform invite'.")
    click.echo("After saving the tool, Sakai shows its Client ID, Deployment ID and Token URL. Register them:")
    click.echo("  lti-tool platform add --sakai <Sakai URL> --client-id <Client ID> --tool-id <N> --deployment-id 1")
    click.echo("  (N is the number at the end of Sakai's Token URL, …/imsblis/lti13/token/N)")
