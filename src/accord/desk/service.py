"""Booking time: the only writer of time entries."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from accord.access import Actor, Role, require
from accord.desk.models import TimeEntry
from accord.desk.schemas import TimeCreate
from accord.errors import Invalid, NotFound
from accord.parties import queries as parties
from accord.store import temporal
from accord.store.journal import Draft, Op, iso
from accord.store.writes import record
from accord.timeinput import parse_instant


def book_time(session: Session, *, actor: Actor, data: TimeCreate) -> str:
    """Record minutes worked for a customer on a day. Returns the entry's id."""
    require(actor, Role.AGENT, Role.FINANCE)
    try:
        parties.get_customer_for(session, actor, data.customer_id)
    except NotFound:
        raise Invalid.one("customer_id", f"no customer {data.customer_id}") from None
    if data.contract_id is not None and not temporal.exists_ever(
        session, temporal.model_for("contract"), actor.tenant_id, data.contract_id
    ):
        raise Invalid.one("contract_id", f"no contract {data.contract_id}")
    day = parse_instant(data.worked_on.date())
    entry_id = str(uuid.uuid4())
    record(
        session,
        tenant_id=actor.tenant_id,
        actor=actor.label,
        drafts=[
            Draft(
                kind="desk.time.booked",
                op=Op.ASSERT,
                type=TimeEntry.entity_type,
                id=entry_id,
                valid_from=day,
                data={
                    "customer_id": data.customer_id,
                    "contract_id": data.contract_id,
                    "asset_id": data.asset_id,
                    "worked_on": iso(day),
                    "minutes": data.minutes,
                    "by": data.by or actor.label,
                    "note": data.note,
                },
                reason=data.reason,
            )
        ],
    )
    return entry_id
