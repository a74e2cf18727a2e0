"""The entry form's rules, through HTTP (errors beside the fields, values kept, no click used)
and at the service level (the full matrix)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from lti_tool.extensions import db
from lti_tool.guest.validation import check_entry, clean_email, clean_name
from lti_tool.models import Guest, GuestLink
from tests.guest.conftest import join

RLO = "\u202e"

NAME_REFUSED = {
    "empty": "",
    "only spaces": "   \t  ",
    "script tag": "<script>alert(1)</script>",
    "right-to-left override": f"Ada {RLO}ecalevol",
    "left-to-right isolate": "Ada \u2066x\u2069",
    "zero width space": "Ada\u200bLovelace",
    "newline": "Ada\nLovelace",
    "NUL": "Ada\x00",
    "bell": "Ada\x07",
    "81 characters": "a" * 81,
    "500 combining marks": "a" + "\u0301" * 500,
    "12 marks on one letter": "Zo" + "\u0336" * 12 + "e",
    "line separator": "Ada\u2028Lovelace",
}
NAME_ACCEPTED = {
    "plain": ("Ada Lovelace", "Ada Lovelace"),
    "trimmed": ("  Ada  ", "Ada"),
    "80 characters": ("b" * 80, "b" * 80),
    "NFC composes": ("Jose\u0301", "José"),
    "80 after NFC": ("e\u0301" * 80, "é" * 80),
    "Persian with ZWNJ": ("می\u200cخواهم", "می\u200cخواهم"),
    "CJK": ("山田太郎", "山田太郎"),
    "apostrophe and hyphen": ("Zoë O'Brien-Smith", "Zoë O'Brien-Smith"),
    "Vietnamese stacked marks": ("Nguyê\u0303n", "Nguyễn"),
}
EMAIL_REFUSED = {
    "empty": "",
    "no at": "ada.example.org",
    "CR/LF header injection": "ada@example.org\r\nBcc: all@example.org",
    "LF only": "ada@example.org\nx",
    "two addresses with comma": "ada@example.org, bob@example.org",
    "two addresses with semicolon": "ada@example.org;bob@example.org",
    "two addresses with space": "ada@example.org bob@example.org",
    "display name form": "Ada <ada@example.org>",
    "script": "<script>@example.org",
    "too long": "a" * 64 + "@" + ("b" * 60 + ".") * 3 + "example.org",
    "double dot": "ada..l@example.org",
    "no domain dot": "ada@localhost",
}
EMAIL_ACCEPTED = {
    "plain": ("ada@example.org", "ada@example.org"),
    "trimmed": ("  ada@example.org ", "ada@example.org"),
    "plus tag": ("ada+seminar@example.org", "ada+seminar@example.org"),
    "domain lower-cased": ("Ada@Example.ORG", "Ada@example.org"),
    "international": ("josé@exämple.de", "josé@exämple.de"),
}


@pytest.mark.parametrize("value", NAME_REFUSED.values(), ids=NAME_REFUSED.keys())
def test_name_refused(value):
    with pytest.raises(ValueError):
        clean_name(value)


@pytest.mark.parametrize(("value", "expected"), NAME_ACCEPTED.values(), ids=NAME_ACCEPTED.keys())
def test_name_accepted(value, expected):
    assert clean_name(value) == expected


@pytest.mark.parametrize("value", EMAIL_REFUSED.values(), ids=EMAIL_REFUSED.keys())
def test_email_refused(value):
    with pytest.raises(ValueError):
        clean_email(value)


@pytest.mark.parametrize(("value", "expected"), EMAIL_ACCEPTED.values(), ids=EMAIL_ACCEPTED.keys())
def test_email_accepted(value, expected):
    assert clean_email(value) == expected


def test_both_fields_get_their_own_error():
    form = check_entry("", "nope")
    assert set(form.errors) == {"name", "email"}


def _clicks_and_guests(app) -> tuple[int, int]:
    with app.app_context():
        used = db.session.execute(select(func.sum(GuestLink.used_clicks))).scalar_one()
        return used, db.session.execute(select(func.count()).select_from(Guest)).scalar_one()


@pytest.mark.parametrize(
    ("name", "email", "field", "message"),
    [
        ("<script>alert(1)</script>", "ada@example.org", "name", "can&#39;t contain &lt; or &gt;"),
        (f"Ada {RLO}ecalevol", "ada@example.org", "name", "invisible or control characters"),
        ("a" + "\u0301" * 500, "ada@example.org", "name", "at most 80 characters"),
        ("Ada", "ada@example.org\r\nBcc: x@example.org", "email", "single line"),
        ("Ada", "ada@example.org, bob@example.org", "email", "one email address only"),
        ("", "ada@example.org", "name", "Enter your name."),
        ("Ada", "", "email", "Enter your email address."),
    ],
    ids=["script", "rtl-override", "500-combining-marks", "crlf-email", "two-addresses", "no-name", "no-email"],
)
def test_invalid_entry_shows_error_beside_field_keeps_values_and_uses_no_click(
    app, link, browser, name, email, field, message
):
    response = join(browser(), link, name=name, email=email)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="guest-{field}-error"' in html and message in html
    assert f'aria-describedby="guest-{field}-error"' in html
    assert "guest_session" not in response.headers.get("Set-Cookie", "")
    assert _clicks_and_guests(app) == (0, 0)


def test_typed_values_come_back_escaped(link, browser):
    html = join(browser(), link, name="<script>alert(1)</script>", email="ada@example.org").get_data(as_text=True)
    assert "<script>alert(1)" not in html
    assert 'value="&lt;script&gt;alert(1)&lt;/script&gt;"' in html
    assert 'value="ada@example.org"' in html


def test_a_post_without_the_pages_form_token_uses_no_click(app, link, browser):
    guest = browser()
    response = guest.post(f"/g/{link}", data={"name": "Ada", "email": "ada@example.org"})
    assert response.status_code == 400
    assert "Please check your details and join again" in response.get_data(as_text=True)
    assert 'value="Ada"' in response.get_data(as_text=True)
    assert _clicks_and_guests(app) == (0, 0)


def test_stored_guest_has_cleaned_values(app, link, browser):
    assert join(browser(), link, name="  Jose\u0301 ", email=" Jose@Example.ORG ").status_code == 303
    with app.app_context():
        guest = db.session.execute(select(Guest)).scalar_one()
        assert (guest.name, guest.email) == ("José", "Jose@example.org")
