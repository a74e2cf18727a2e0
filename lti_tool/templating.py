"""Template helpers that spare work on every page: static addresses and static fragments built once."""

from __future__ import annotations

import functools

from flask import Flask, current_app, has_request_context, request, url_for
from jinja2 import meta
from markupsafe import Markup

# What a static fragment may use: nothing of the request, the user or the room.
FRAGMENT_NAMES = frozenset({"url_for"})


def init_templating(app: Flask, title: str) -> None:
    app.jinja_env.globals.update(tool_title=title, url_for=template_url_for, static_fragment=static_fragment)


def template_url_for(endpoint: str, **values) -> str:
    """`url_for` in templates; a static file's address is built once per script root (a page
    names several, and each build walks Werkzeug's URL map)."""
    if endpoint == "static" and values.keys() == {"filename"} and has_request_context():
        return _static_url(request.script_root, values["filename"])
    return url_for(endpoint, **values)


@functools.lru_cache(maxsize=256)
def _static_url(_script_root: str, filename: str) -> str:
    return url_for("static", filename=filename)


def static_fragment(name: str) -> Markup:
    """The template `name`, rendered once per script root: for markup that is the same on every
    page (such as a dialog that scripts fill in). Using anything but `url_for` is refused."""
    return _fragment(current_app._get_current_object(), name, request.script_root if has_request_context() else "")


@functools.lru_cache(maxsize=64)
def _fragment(app: Flask, name: str, _script_root: str) -> Markup:
    env = app.jinja_env
    source = env.loader.get_source(env, name)[0]
    used = meta.find_undeclared_variables(env.parse(source)) - FRAGMENT_NAMES
    if used:
        raise ValueError(f"{name} is not a static fragment: it uses {', '.join(sorted(used))}")
    return Markup(env.get_template(name).render())  # noqa: S704 (our own template, autoescaped)
