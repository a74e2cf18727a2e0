"""Template helpers that spare work on every page: static addresses, static fragments and pages
that many requests show alike, built once per worker."""

from __future__ import annotations

import functools
import re
import secrets
from collections.abc import Hashable

from flask import Flask, current_app, has_request_context, render_template, request, url_for
from jinja2 import Environment, meta, nodes
from markupsafe import Markup, escape

# What a static fragment may use: nothing of the request, the user or the room.
FRAGMENT_NAMES = frozenset({"url_for"})
# What a kept page must not use: the request's own objects are not part of what it is kept by.
REQUEST_NAMES = frozenset({"request", "session", "g", "config", "get_flashed_messages"})
_MARK = secrets.token_hex(12)  # stands in for a filled-in value while a kept page renders


def init_templating(app: Flask, title: str) -> None:
    app.jinja_env.globals.update(tool_title=title, url_for=template_url_for, static_fragment=static_fragment)
    app.extensions["kept_pages"] = functools.lru_cache(maxsize=256)(functools.partial(_kept, app))


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
    used = _names_read(env, name) - FRAGMENT_NAMES
    if used:
        raise ValueError(f"{name} is not a static fragment: it uses {', '.join(sorted(used))}")
    return Markup(env.get_template(name).render())  # noqa: S704 (our own template, autoescaped)


def kept_page(name: str, fill: dict[str, str], **context: Hashable) -> str:
    """The template `name` rendered with `context`, kept per worker for that context (and script
    root); the `fill` values (a launch token, a user's name) are escaped into each copy.

    For a page that many requests show alike (every launch of a room by its students): `context` is
    the key, so it must hold everything the page depends on, and each `fill` name must be printed
    as it is (`{{ user_label }}`, no filter or test on it). The first render checks both as far as
    it can, and refuses the request's own objects (`request`, `g`, ...).
    """
    kept = current_app.extensions["kept_pages"]
    parts, order = kept(request.script_root, name, tuple(sorted(fill)), tuple(sorted(context.items())))
    page = [parts[0]]
    for field, part in zip(order, parts[1:], strict=True):
        page += (escape(fill[field]), part)
    return "".join(page)


def _kept(app: Flask, _script_root: str, name: str, fields: tuple[str, ...], items: tuple) -> tuple[tuple, tuple]:
    used = _request_names_read(app.jinja_env, name)
    if used:
        raise ValueError(f"{name} cannot be kept: it uses {', '.join(sorted(used))}")
    # Rendered with two sets of stand-ins: the values must land verbatim in the same places.
    renders = []
    for tag in "ab":
        marks = {field: f"{tag}{_MARK}{i}z" for i, field in enumerate(fields)}
        renders.append((marks, render_template(name, **dict(items), **marks)))
    (marks, page), (other_marks, other_page) = renders
    pattern = re.compile("|".join(marks.values()))
    parts, field_of = pattern.split(page), {mark: field for field, mark in marks.items()}
    order = tuple(field_of[mark] for mark in pattern.findall(page))
    rebuilt = parts[0] + "".join(other_marks[field] + part for field, part in zip(order, parts[1:], strict=True))
    if rebuilt != other_page or set(order) != set(fields):
        raise ValueError(f"{name} cannot be kept: {', '.join(fields)} must each be printed as they are")
    return tuple(parts), order


@functools.lru_cache(maxsize=64)
def _request_names_read(env: Environment, name: str) -> frozenset[str]:
    """Checked once per template, not on every page kept from it."""
    return frozenset(_names_read(env, name) & REQUEST_NAMES)


def _names_read(env: Environment, name: str) -> set[str]:
    """Every name that the template `name`, and those it extends or includes, read from their
    context or the environment's globals (Jinja's own `find_undeclared_variables` leaves globals
    such as `request` and `g` out)."""
    names, seen, todo = set(), set(), [name]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        tree = env.parse(env.loader.get_source(env, current)[0])
        names |= meta.find_undeclared_variables(tree)
        names |= {node.name for node in tree.find_all(nodes.Name) if node.ctx == "load" and node.name in env.globals}
        todo += [ref for ref in meta.find_referenced_templates(tree) if ref]
    return names
