"""Turning what people type into instants: dates are midnight UTC, times must be UTC or
carry an offset. Shared by schemas, pages and the CLI so they read time the same way."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator


def as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_instant(text: str | date | datetime) -> datetime:
    """'2026-12-01' -> 2026-12-01T00:00Z; '2026-12-01T09:30' -> UTC; offsets honoured."""
    if isinstance(text, datetime):
        return as_utc(text)
    if isinstance(text, date):
        return datetime.combine(text, time(0), tzinfo=UTC)
    text = text.strip()
    if len(text) == 10:
        return datetime.combine(date.fromisoformat(text), time(0), tzinfo=UTC)
    return as_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))


#: Instants from this one on are reserved: FOREVER (the open end of every interval) is the
#: last microsecond of 9999, and a change must be able to start before it.
LATEST = datetime(9999, 12, 31, tzinfo=UTC)


def _before(v: object) -> object:
    if isinstance(v, str | date | datetime):
        try:
            return parse_instant(v)
        except (ValueError, OverflowError):
            raise ValueError("not a date (YYYY-MM-DD) or date and time (ISO 8601)") from None
    return v


def _in_range(v: datetime) -> datetime:
    v = as_utc(v)
    if v >= LATEST:
        raise ValueError("must be before 9999-12-31")
    return v


#: A pydantic field type for valid-time and recorded-time inputs.
Instant = Annotated[datetime, BeforeValidator(_before), AfterValidator(_in_range)]
