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
    with app.test_request_context("/x", base_url="https://tool.test/tools/rooms"):
        assert static_fragment("fixed.html") == '<link href="/tools/rooms/static/app.css"><p>Same for all</p>'
