from __future__ import annotations

import pytest

from lti_tool.extensions import db


@pytest.fixture
def cli(app):
    """`cli("platform", "list")` runs `lti-tool platform list` against the test app."""
    runner = app.test_cli_runner()

    def run(*args: str):
        result = runner.invoke(args=["lti", *args])
        with app.app_context():
            db.session.remove()
        return result

    return run


@pytest.fixture
def in_app(app):
    """Run a query in the app's context: `in_app(lambda: db.session.scalar(...))`."""

    def run(func):
        with app.app_context():
            try:
                return func()
            finally:
                db.session.remove()

    return run
