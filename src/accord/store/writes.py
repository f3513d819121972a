"""The one write path: every change of every capability goes through `record`.

In the caller's transaction it appends the entries to the tenant's log (leaves, nodes,
head) and applies each to the version tables. The caller commits once; a failure
anywhere rolls all of it back, so the journal and the tables never disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from accord.store import journal, temporal
from accord.store.db import utcnow
from accord.store.journal import Draft, Entry
from accord.store.tenancy import Tenant


@dataclass(frozen=True)
class Actor:
    """Who makes a change: kept in the journal as text so history outlives accounts."""

    tenant_id: int
    label: str
    role: str
    user_id: str | None = None
    customer_id: str | None = None


def record(session: Session, *, tenant: Tenant, drafts: Sequence[Draft]) -> list[Entry]:
    for d in drafts:
        model = temporal.model_for(d.type)
        temporal.check_data(model, d.data)
        if d.valid_to <= d.valid_from:
            raise ValueError("valid_to: must be later than valid_from")
    entries = journal.append(
        session, tenant_id=tenant.id, tenant_public_id=tenant.public_id, drafts=drafts, now=utcnow()
    )
    for e in entries:
        temporal.apply_entry(session, tenant.id, e)
    return entries
