"""Store test helpers: a tenant with a signing key, and a few lines to record customer versions.

The store tests write through `writes.record` directly (the one write path) rather than a
capability's service, so they can make any bitemporal change, including retractions,
with the real `customers` table as the entity.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accord.parties.models import Customer
from accord.store import journal
from accord.store.checkpoints import Signer, Verifier
from accord.store.db import FOREVER, Database, utcnow
from accord.store.journal import Draft, Entry, JournalEntry, LogHead, MerkleNode, Op
from accord.store.tenancy import Tenant, create_tenant
from accord.store.writes import record

T0 = datetime(2030, 3, 1, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Log:
    """A tenant's log and the key that signs its checkpoints."""

    db: Database
    tenant: Tenant
    signer: Signer

    @property
    def tenant_id(self) -> int:
        return self.tenant.id

    @property
    def verifier(self) -> Verifier:
        return Verifier.parse(self.signer.verifier_key())

    def write(self, *drafts: Draft, actor: str = "Tess <tess@acme.example>") -> list[Entry]:
        """Record `drafts` as one change, in its own unit of work."""
        with self.db.unit_of_work() as s:
            return record(s, tenant_id=self.tenant_id, actor=actor, drafts=drafts)

    def checkpoint(self) -> journal.Checkpoint:
        with self.db.unit_of_work() as s:
            return journal.sign_checkpoint(
                s, tenant_id=self.tenant_id, signer=self.signer, now=utcnow()
            )


def new_log(db: Database, slug: str = "acme") -> Log:
    with db.unit_of_work() as s:
        tenant = create_tenant(s, slug=slug, name=slug.title())
    return Log(db, tenant, Signer(f"accord.test/{slug}", Ed25519PrivateKey.generate()))


def customer(
    entity_id: str,
    op: Op = Op.ASSERT,
    *,
    valid_from: datetime = T0,
    valid_to: datetime = FOREVER,
    kind: str = "test.customer",
    **data: Any,
) -> Draft:
    """A draft about customer `entity_id`; an ASSERT gets the required fields filled in."""
    if op == Op.ASSERT:
        data = {"name": f"Customer {entity_id[:8]}", "code": "C1", "status": "active", **data}
    return Draft(
        kind=kind,
        op=op,
        type="customer",
        id=entity_id,
        valid_from=valid_from,
        valid_to=valid_to,
        data=data,
    )


def new_id() -> str:
    return str(uuid.uuid4())


def build_log(log: Log, entries: int) -> list[Entry]:
    """`entries` changes to a handful of customers, one recorded change per entry."""
    ids = [new_id() for _ in range(max(1, entries // 4))]
    out: list[Entry] = []
    for i in range(entries):
        eid = ids[i % len(ids)]
        if i < len(ids):
            out += log.write(customer(eid, name=f"Customer number {i}"))
        else:
            out += log.write(customer(eid, Op.PATCH, phone=f"+44 20 7946 {i:04d}"))
    return out


def counts(db: Database, tenant_id: int) -> dict[str, Any]:
    """Everything a write can change for a tenant, to compare before and after."""
    with db.reading() as s:
        head = s.execute(
            select(LogHead.size, LogHead.last_at, LogHead.frontier).where(
                LogHead.tenant_id == tenant_id
            )
        ).first()
        return {
            "entries": _count(s, JournalEntry.tenant_id == tenant_id),
            "nodes": _count(s, MerkleNode.tenant_id == tenant_id),
            "head": tuple(head) if head else None,
            "customers": _count(s, Customer.tenant_id == tenant_id),
        }


def _count(s: Session, where: Any) -> int:
    table = where.left.table
    return s.scalar(select(func.count()).select_from(table).where(where)) or 0


def leaf_hashes(db: Database, tenant_id: int) -> list[bytes]:
    with db.reading() as s:
        return list(
            s.scalars(
                select(JournalEntry.leaf_hash)
                .where(JournalEntry.tenant_id == tenant_id)
                .order_by(JournalEntry.seq)
            )
        )


def seqs(entries: Sequence[Entry]) -> list[int]:
    return [e.seq for e in entries]
