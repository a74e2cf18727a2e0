"""A NUL byte in the address or a form is a plain 400 on every database, and SQL errors never log
their parameters (a link token, a guest's name)."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from lti_tool.extensions import db

DATABASES = ["sqlite", "postgres"]


@pytest.mark.parametrize("database", DATABASES)
@pytest.mark.parametrize(
    "method, url, form",
    [
        ("post", "/g/SECRETTOKENabc%00", {"name": "Ada Guest", "email": "ada@example.org"}),
        ("get", "/g/SECRETTOKENabc%00", None),
        ("get", "/g/SECRETTOKENabc?x=%00", None),
        ("get", "/lti/login?iss=x&login_hint%00=1", None),
        ("post", "/g/SECRETTOKENabc", {"name": "Ada\x00", "email": "ada@example.org"}),
        ("post", "/lti/launch", {"id_token": "a\x00b", "state": "x"}),
        ("post", "/lti/launch", {"id_token\x00": "ab", "state": "x"}),
    ],
)
def test_nul_byte_is_a_400_in_plain_words(make_app, caplog, database, method, url, form):
    client = make_app(database=database).test_client()
    caplog.set_level(logging.INFO)
    response = getattr(client, method)(url, data=form)
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    assert "NUL byte" in response.get_data(as_text=True)
    assert "SECRETTOKEN" not in caplog.text
    assert not [r for r in caplog.records if r.exc_info]


@pytest.mark.parametrize("database", DATABASES)
def test_sql_errors_do_not_carry_their_parameters(make_app, database):
    app = make_app(database=database)
    with app.app_context():
        assert db.engine.hide_parameters
        with pytest.raises(DBAPIError) as caught:
            db.session.execute(text("select no_such_column from room where id = :secret"), {"secret": "SECRETTOKEN"})
        assert "SECRETTOKEN" not in str(caught.value)
        db.session.rollback()
