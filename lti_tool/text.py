"""One rule for names people type (a guest's name, a guest link's name), wherever they are typed.

After Unicode NFC and trimming: not empty; no control, format, surrogate or line/paragraph
separator characters (Cc, Cf, Cs, Zl, Zp — which include the bidi overrides U+202A–U+202E and
isolates U+2066–U+2069 that make a name read differently from what it is, zero-width spaces and
lone surrogates that cannot even be stored), except the zero-width (non-)joiners that Persian and
emoji names need; at most `max_length` characters; no pile of combining marks on one letter.
Callers turn the `NameProblem.kind` into their own words.
"""

from __future__ import annotations

import unicodedata
from typing import Any

JOINERS = frozenset({"\u200c", "\u200d"})
REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
MAX_MARKS_PER_LETTER = 8


class NameProblem(ValueError):
    """`kind` is one of "missing", "invisible", "too_long", "marks"."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


def clean_name(value: Any, *, max_length: int) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise NameProblem("missing")
    if any(unicodedata.category(ch) == "Cs" for ch in value):
        raise NameProblem("invisible")  # a lone surrogate: NFC and the database would both fail on it
    name = unicodedata.normalize("NFC", value).strip()
    if not name:
        raise NameProblem("missing")
    if any(unicodedata.category(ch) in REFUSED_CATEGORIES and ch not in JOINERS for ch in name):
        raise NameProblem("invisible")
    if len(name) > max_length:
        raise NameProblem("too_long")
    if longest_mark_run(name) > MAX_MARKS_PER_LETTER:
        raise NameProblem("marks")
    return name


def longest_mark_run(text: str) -> int:
    longest = run = 0
    for ch in text:
        run = run + 1 if unicodedata.category(ch) in ("Mn", "Me") else 0
        longest = max(longest, run)
    return longest
