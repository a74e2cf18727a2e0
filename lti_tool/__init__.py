"""An LTI 1.3 tool for Sakai: a room per placement, and guest links for people without an account."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask
from flask.sessions import SessionInterface

from .config import PROJECT_ROOT, load_settings
from .templating import init_templating


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Application factory: configuration → extensions → blueprints → error handlers → CLI."""
    settings = load_settings(overrides)
    app = ToolApp(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        instance_path=str(PROJECT_ROOT / "instance"),
    )
    configure(app, settings)
    register_extensions(app, settings)
    register_blueprints(app, settings)
    register_error_handlers(app)
    register_cli(app)
    return app


class ToolApp(Flask):
    def ensure_sync(self, func):
        """Every view and hook of this app is synchronous (tests/ops/test_app.py checks), so each is
        called as it is; Flask's own check (`inspect.iscoroutinefunction`) ran for every view and
        hook of every request."""
        return func


def configure(app: Flask, settings) -> None:
    from .database import engine_options

    app.config.update(
        SECRET_KEY=settings.secret_key,
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=engine_options(settings.database_url),
        MAX_CONTENT_LENGTH=256 * 1024,
        TOOL=settings,
        **{k: v for k, v in settings.extra.items() if k.isupper()},
    )
    init_templating(app, settings.title)
    app.session_interface = NoSessions()


class NoSessions(SessionInterface):
    """No Flask cookie session (inside Sakai's iframe it would be a third-party cookie): the launch
    token and the guest cookie carry what a request needs. Flask's default interface still built a
    signing serializer on every request; here `session` is a NullSession that refuses writes."""

    def open_session(self, app: Flask, request) -> None:
        return None

    def save_session(self, app: Flask, session, response) -> None:
        pass


def register_extensions(app: Flask, settings) -> None:
    from .database import init_database
    from .logging_setup import init_logging
    from .lti.tool import ToolRuntime
    from .security import init_security

    init_logging(app)
    init_database(app)
    keys_dir = Path(app.config.get("KEYS_DIR") or os.environ.get("LTI_TOOL_KEYS_DIR") or PROJECT_ROOT / "keys")
    if settings.demo:
        from .demo.platform import add_demo_platform

        add_demo_platform(settings, keys_dir)
    app.extensions["lti_tool"] = ToolRuntime(settings, keys_dir)
    init_security(app, settings)


def register_blueprints(app: Flask, settings) -> None:
    from .guest import init_app as init_guest
    from .invites.views import bp as invites_bp
    from .invites.views import entry_bp as invite_entry_bp
    from .links.views import bp as links_bp
    from .lti.views import bp as lti_bp
    from .media.present import bp as present_bp
    from .media.views import bp as media_bp
    from .ops import bp as ops_bp
    from .platforms.views import bp as platforms_bp
    from .session.views import bp as session_bp

    app.register_blueprint(lti_bp)
    app.register_blueprint(ops_bp)
    app.register_blueprint(links_bp)
    app.register_blueprint(platforms_bp)
    app.register_blueprint(session_bp)
    app.register_blueprint(media_bp)
    app.register_blueprint(present_bp)
    app.register_blueprint(invites_bp)
    app.register_blueprint(invite_entry_bp)
    init_guest(app)
    if settings.demo:
        from .demo.views import bp as demo_bp

        app.register_blueprint(demo_bp)


def register_error_handlers(app: Flask) -> None:
    from .errors import register_error_handlers as register

    register(app)


def register_cli(app: Flask) -> None:
    from .cli import lti_group

    app.cli.add_command(lti_group)
