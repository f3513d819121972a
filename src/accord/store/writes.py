"""The one write path: every change of every capability goes through `record`.

In the caller's transaction it appends the entries to the tenant's log (leaves, nodes,
head), applies each to the version tables and refreshes the derived tables that follow
them (`accord.store.derived`). The caller commits once; a failure
anywhere rolls all of it back, so the journal and the tables never disagree.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from accord.store import derived, journal, temporal
from accord.store.db import utcnow
from accord.store.journal import Draft, Entry
from accord.store.tenancy import Tenant


def record(session: Session, *, tenant_id: int, actor: str, drafts: Sequence[Draft]) -> list[Entry]:
    """Journal and apply `drafts` as one change by `actor` (a name kept as text)."""
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        raise LookupError(f"no tenant {tenant_id}")
    for d in drafts:
        temporal.check_data(temporal.entity_model(d.type), d.data)
        if d.valid_to <= d.valid_from:
            raise ValueError("valid_to: must be later than valid_from")
    # A savepoint makes the change all-or-nothing by itself: a caller that catches an error
    # from here and commits other work must not commit entries without their versions.
    with session.begin_nested():
        entries = journal.append(
            session,
            tenant_id=tenant.id,
            tenant_public_id=tenant.public_id,
            actor=actor,
            drafts=drafts,
            now=utcnow(),
        )
        for e, changed in zip(
            entries, temporal.apply_entries(session, tenant.id, entries), strict=True
        ):
            if not changed:
                raise ValueError(
                    f"{e.type} {e.id}: nothing to {e.op} from {e.valid_from:%Y-%m-%d %H:%M}"
                    " (no version of it in that interval)"
                )
        derived.follow(
            session,
            tenant.id,
            entries,
            lambda seqs: journal.entries_at(session, tenant.id, seqs),
        )
    return entries
