"""Guests: the public, unauthenticated routes that people with a guest link use, and their rules.

`init_app` wires the package: the public pages, the moderators' admission API, the confinement
of guest sessions, the message pages, and gettext markers for the guest templates.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from . import admin, views
    from .confine import confine_guests
    from .service import GuestPageError

    app.register_blueprint(views.bp)
    app.register_blueprint(admin.bp)
    app.before_request(confine_guests)
    app.register_error_handler(GuestPageError, views.render_guest_page)
    if "gettext" not in app.jinja_env.globals:
        # Translation-ready templates; a real catalogue can replace these null translations later.
        app.jinja_env.add_extension("jinja2.ext.i18n")
        app.jinja_env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
