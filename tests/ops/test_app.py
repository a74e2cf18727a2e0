"""The Flask application object itself."""

from __future__ import annotations

import inspect
from itertools import chain

import pytest


def test_no_view_or_hook_is_async(make_app):
    """ToolApp.ensure_sync calls views and hooks as they are: an `async def` one would never run."""
    app = make_app()
    handlers = (h for spec in app.error_handler_spec.values() for codes in spec.values() for h in codes.values())
    callables = list(
        chain(
            app.view_functions.values(),
            *app.before_request_funcs.values(),
            *app.after_request_funcs.values(),
            *app.teardown_request_funcs.values(),
            app.teardown_appcontext_funcs,
            *app.url_value_preprocessors.values(),
            *app.url_default_functions.values(),
            *app.template_context_processors.values(),
            handlers,
        )
    )
    assert len(callables) > 50
    assert [f for f in callables if inspect.iscoroutinefunction(inspect.unwrap(f))] == []


def test_static_addresses_in_templates_follow_the_script_root(app):
    """Templates build a static file's address once per script root (mounted under a prefix or not)."""
    from lti_tool.templating import template_url_for

    for root in ("", "/tools/rooms", ""):
        with app.test_request_context("/x", base_url=f"https://tool.test{root}"):
            assert template_url_for("static", filename="app.css") == f"{root}/static/app.css"
            assert template_url_for("ops.healthz") == f"{root}/healthz"


def test_static_fragments_render_once_and_show_nothing_of_the_request(app):
    from jinja2 import ChoiceLoader, DictLoader

    from lti_tool.templating import static_fragment

    app.jinja_env.loader = ChoiceLoader(
        [
            DictLoader(
                {
                    "fixed.html": "<link href=\"{{ url_for('static', filename='app.css') }}\"><p>Same for all</p>",
                    "personal.html": "<p>{{ room.title }} for {{ user_label }}</p>",
                    "of_request.html": "<p>{{ request.path }}</p>{% include 'personal.html' %}",
                }
            ),
            app.jinja_env.loader,
        ]
    )
    with app.test_request_context("/x"):
        first = static_fragment("fixed.html")
        assert first == '<link href="/static/app.css"><p>Same for all</p>'
        assert static_fragment("fixed.html") is first  # rendered once
        with pytest.raises(ValueError, match="room, user_label"):
            static_fragment("personal.html")
        with pytest.raises(ValueError, match="request, room, user_label"):
            static_fragment("of_request.html")
    with app.test_request_context("/x", base_url="https://tool.test/tools/rooms"):
        assert static_fragment("fixed.html") == '<link href="/tools/rooms/static/app.css"><p>Same for all</p>'


def kept_templates(app, templates: dict[str, str]) -> list[str]:
    """Serve `templates` beside the app's own; returns the log of the ones rendered."""
    from jinja2 import ChoiceLoader, DictLoader

    rendered = []
    app.jinja_env.loader = ChoiceLoader([DictLoader(templates), app.jinja_env.loader])
    from flask import before_render_template

    before_render_template.connect(lambda _app, template, **_: rendered.append(template.name), app, weak=False)
    return rendered


def test_a_kept_page_renders_once_per_context_and_fills_in_each_value(app):
    from lti_tool.templating import kept_page

    rendered = kept_templates(app, {"page.html": "<h1>{{ title }}</h1><p>{{ user_label }}</p><i>{{ user_label }}</i>"})
    with app.test_request_context("/x"):
        first = kept_page("page.html", {"user_label": "Ada <A>"}, title="Seminar")
        second = kept_page("page.html", {"user_label": "Bob & co"}, title="Seminar")
        assert rendered == ["page.html", "page.html"]  # once, checked with two sets of stand-ins
        other = kept_page("page.html", {"user_label": "Bob"}, title="Office hours")
        assert len(rendered) == 4
    assert first == "<h1>Seminar</h1><p>Ada &lt;A&gt;</p><i>Ada &lt;A&gt;</i>"
    assert second == "<h1>Seminar</h1><p>Bob &amp; co</p><i>Bob &amp; co</i>"
    assert other == "<h1>Office hours</h1><p>Bob</p><i>Bob</i>"


def test_a_kept_page_follows_the_script_root(app):
    from lti_tool.templating import kept_page

    kept_templates(app, {"page.html": "<a href=\"{{ url_for('ops.healthz') }}\">{{ user_label }}</a>"})
    for root in ("", "/tools/rooms"):
        with app.test_request_context("/x", base_url=f"https://tool.test{root}"):
            assert kept_page("page.html", {"user_label": "Ada"}) == f'<a href="{root}/healthz">Ada</a>'


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("<p>{{ user_label|upper }}</p>", "must each be printed as they are"),
        ("<p>{{ user_label[:3] }}</p>", "must each be printed as they are"),
        ("<p>nothing filled in</p>", "must each be printed as they are"),
        ("<p>{{ user_label }} {{ request.path }}</p>", "it uses request"),
        ('{% include "inner.html" %}', "it uses g"),
    ],
)
def test_a_page_that_cannot_be_kept_is_refused(app, source, words):
    from lti_tool.templating import kept_page

    kept_templates(app, {"page.html": source, "inner.html": "<p>{{ user_label }} {{ g.room }}</p>"})
    with app.test_request_context("/x"), pytest.raises(ValueError, match=words):
        kept_page("page.html", {"user_label": "Ada"})
