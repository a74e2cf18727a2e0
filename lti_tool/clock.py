"""The one place that reads the wall clock. Tests freeze it with the `frozen_clock` fixture."""

from __future__ import annotations

from datetime import UTC, datetime


def _system_now() -> datetime:
    return datetime.now(UTC)


_now = _system_now


def utcnow() -> datetime:
    """An aware UTC datetime; everything stored is UTC."""
    return _now()


def set_clock(func=None) -> None:
    """Replace the clock (tests only); `None` restores the system clock."""
    global _now
    _now = func or _system_now


def as_utc(value: datetime | None) -> datetime | None:
    """Databases such as SQLite hand back naive datetimes; they are UTC by convention here."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)
