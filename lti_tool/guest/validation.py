"""The entry form's rules: a guest's name and email, checked on the server.

Name: 1–80 characters after Unicode NFC and trimming; no control or format characters (which
include the bidi overrides U+202A–U+202E and isolates U+2066–U+2069 that make a name read
differently from what it is), except the zero-width joiners that Persian and emoji names need;
no angle brackets; no pile of combining marks on one letter.
Email: one address, syntax only (email-validator, no DNS lookup, no mail sent), ≤ 254 characters.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from email_validator import EmailNotValidError, validate_email

from .. import text

NAME_MAX = 80
EMAIL_MAX = 254


def _(message: str) -> str:
    """Marks a message for translation (extracted by Babel's default keywords)."""
    return message


@dataclass
class EntryForm:
    """What the guest typed, the cleaned values, and one error per field."""

    raw_name: str
    raw_email: str
    name: str = ""
    email: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return not self.errors


def check_entry(raw_name: str, raw_email: str) -> EntryForm:
    form = EntryForm(raw_name=raw_name, raw_email=raw_email)
    try:
        form.name = clean_name(raw_name)
    except ValueError as exc:
        form.errors["name"] = str(exc)
    try:
        form.email = clean_email(raw_email)
    except ValueError as exc:
        form.errors["email"] = str(exc)
    return form


def clean_name(value: str) -> str:
    """The shared name rule (lti_tool/text.py), plus no angle brackets, in the guest's own words."""
    try:
        name = text.clean_name(value, max_length=NAME_MAX)
    except text.NameProblem as problem:
        raise ValueError(_NAME_MESSAGES[problem.kind]) from None
    if "<" in name or ">" in name:
        raise ValueError(_("Your name can't contain < or >."))
    return name


_NAME_MESSAGES = {
    "missing": _("Enter your name."),
    "invisible": _("Your name contains invisible or control characters. Please type it again."),
    "too_long": _("Your name can be at most 80 characters."),
    "marks": _("Your name has too many accent marks on one letter."),
}


def clean_email(value: str) -> str:
    text = (value or "").strip()
    if not text:
        raise ValueError(_("Enter your email address."))
    if "\r" in text or "\n" in text:
        raise ValueError(_("Enter one email address on a single line."))
    if any(sep in text for sep in ",; \t"):
        raise ValueError(_("Enter one email address only."))
    if len(text) > EMAIL_MAX:
        raise ValueError(_("An email address can be at most 254 characters."))
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        raise ValueError(_("Enter a valid email address, like name@example.com.")) from None
    if len(result.normalized) > EMAIL_MAX:
        raise ValueError(_("An email address can be at most 254 characters."))
    return result.normalized
