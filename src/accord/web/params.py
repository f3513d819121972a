"""Request parameters every capability's API shares: a record's public id in the path and
the two times every read takes, `on` (valid time) and `known_at` (recorded time).

A time is a date (midnight UTC) or an ISO 8601 date and time; an empty value means "not
given", that is now. Bad values are bad input (422), each named at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Path, Query

from accord.errors import Invalid
from accord.store.temporal import AsOf
from accord.timeinput import parse_instant

# Public ids are UUIDs (ULIDs allowed); anything else is bad input, not a lookup. This also
# keeps NUL bytes and other junk away from the database, where PostgreSQL would reject them.
RecordId = Annotated[
    str, Path(pattern=r"^[0-9A-Za-z-]{1,64}$", description="the record's public id")
]

TIME_HINT = (
    "a date (YYYY-MM-DD, midnight UTC) or an ISO 8601 date and time (UTC unless it has an offset)"
)
TIME_REASON = "not a date (YYYY-MM-DD) or date and time (ISO 8601, UTC or with an offset)"


def instants(**given: str | None) -> dict[str, datetime | None]:
    """Parse time query parameters, naming every one that is bad at once."""
    out: dict[str, datetime | None] = {}
    problems: list[tuple[str, str]] = []
    for name, text in given.items():
        try:
            # An empty value (a form's blank field) means "not given": now.
            out[name] = parse_instant(text) if text and text.strip() else None
        except (ValueError, OverflowError):
            problems.append((name, TIME_REASON))
    if problems:
        raise Invalid(problems)
    return out


def as_of(
    on: Annotated[str | None, Query(description=f"valid time, {TIME_HINT}; default now")] = None,
    known_at: Annotated[
        str | None, Query(description=f"recorded time, {TIME_HINT}; default now")
    ] = None,
) -> AsOf:
    t = instants(on=on, known_at=known_at)
    return AsOf.of(t["on"], t["known_at"])


def known_at_only(
    known_at: Annotated[
        str | None, Query(description=f"recorded time, {TIME_HINT}; default now")
    ] = None,
) -> AsOf:
    return AsOf.of(None, instants(known_at=known_at)["known_at"])


AsOfDep = Annotated[AsOf, Depends(as_of)]
KnownAtDep = Annotated[AsOf, Depends(known_at_only)]
