"""The Flask application object itself."""

from __future__ import annotations

import inspect
from itertools import chain


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
    from lti_tool import template_url_for

    for root in ("", "/tools/rooms", ""):
        with app.test_request_context("/x", base_url=f"https://tool.test{root}"):
            assert template_url_for("static", filename="app.css") == f"{root}/static/app.css"
            assert template_url_for("ops.healthz") == f"{root}/healthz"
