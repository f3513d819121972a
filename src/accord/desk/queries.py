"""Reading booked time."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.access import Actor
from accord.desk.models import TimeEntry
from accord.store.db import FOREVER, utcnow


def booked_minutes_by_month(
    session: Session,
    actor: Actor,
    contract_id: str,
    *,
    start: datetime,
    end: datetime,
    known_at: datetime | None = None,
) -> dict[datetime, int]:
    """Minutes booked to the contract per month (keyed by the month's first day) for work
    done in [start, end), as known at `known_at`."""
    known_at = known_at or utcnow()
    rows = session.execute(
        select(TimeEntry.worked_on, TimeEntry.minutes).where(
            TimeEntry.tenant_id == actor.tenant_id,
            TimeEntry.contract_id == contract_id,
            TimeEntry.worked_on >= start,
            TimeEntry.worked_on < end,
            TimeEntry.recorded_from <= known_at,
            TimeEntry.recorded_to > known_at,
            TimeEntry.valid_to == FOREVER,
        )
    )
    out: dict[datetime, int] = defaultdict(int)
    for worked_on, minutes in rows:
        out[datetime(worked_on.year, worked_on.month, 1, tzinfo=UTC)] += minutes
    return dict(out)
