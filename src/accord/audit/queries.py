"""The journal seen from outside: checkpoints, entries with their proofs, the public key.

Anyone in the tenant may read these (auditors especially). Signing a new checkpoint is
a side effect of asking for the latest one when the log has grown since the last: a
checkpoint is a statement about data already committed, so it needs no journal entry.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.access import Actor
from accord.errors import Invalid, NotFound
from accord.store import journal, merkle, temporal
from accord.store.checkpoints import Signer, load_key
from accord.store.db import utcnow
from accord.store.journal import Checkpoint, Entry, JournalEntry
from accord.store.tenancy import Tenant


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def signer_for(session: Session, actor: Actor, key_dir: Path) -> Signer:
    tenant = session.get(Tenant, actor.tenant_id)
    assert tenant is not None
    return load_key(key_dir, tenant.slug)


def latest_checkpoint(session: Session, *, actor: Actor, key_dir: Path) -> Checkpoint:
    """A signed checkpoint covering every committed entry (signed now if the log grew)."""
    return journal.sign_checkpoint(
        session, tenant_id=actor.tenant_id, signer=signer_for(session, actor, key_dir), now=utcnow()
    )


def tree_size(session: Session, *, actor: Actor) -> int:
    return journal.tree_size(session, actor.tenant_id)


def recent_entries(
    session: Session, *, actor: Actor, before: int | None = None, limit: int = 50
) -> list[Entry]:
    stmt = select(JournalEntry.seq).where(JournalEntry.tenant_id == actor.tenant_id)
    if before is not None:
        stmt = stmt.where(JournalEntry.seq < before)
    seqs = session.scalars(stmt.order_by(JournalEntry.seq.desc()).limit(limit)).all()
    return journal.entries_at(session, actor.tenant_id, seqs)[::-1]


@dataclass(frozen=True)
class EntryProof:
    """An entry, its exact bytes and leaf hash, and its inclusion proof in a checkpoint."""

    entry: Entry
    raw: bytes
    leaf_hash: bytes
    checkpoint: Checkpoint
    proof: list[bytes]

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.entry.seq,
            "entry": self.entry.to_json(),
            "entry_b64": b64(self.raw),
            "leaf_hash": b64(self.leaf_hash),
            "tree_size": self.checkpoint.size,
            "root": b64(self.checkpoint.root),
            "inclusion_proof": [b64(p) for p in self.proof],
            "checkpoint": self.checkpoint.note,
        }


def entry_with_proof(session: Session, *, actor: Actor, seq: int, key_dir: Path) -> EntryProof:
    found = journal.read_entry(session, actor.tenant_id, seq)
    if found is None:
        raise NotFound(f"no journal entry {seq}")
    entry, raw, leaf = found
    cp = latest_checkpoint(session, actor=actor, key_dir=key_dir)
    proof = journal.inclusion_proof(session, actor.tenant_id, seq, cp.size)
    merkle.verify_inclusion(leaf, seq, cp.size, proof, cp.root)  # never hand out a proof that fails
    return EntryProof(entry, raw, leaf, cp, proof)


def consistency(session: Session, *, actor: Actor, old: int, new: int) -> list[bytes]:
    size = journal.tree_size(session, actor.tenant_id)
    if old < 1:
        raise Invalid.one("old", "must be at least 1: nothing is proven about the empty log")
    if old > new:
        raise Invalid.one("old", f"must not be larger than new ({new})")
    if new > size:
        raise NotFound(f"no consistency proof to size {new}: the log has {size} entries")
    return journal.consistency_proof(session, actor.tenant_id, old, new)


def public_key(session: Session, *, actor: Actor, key_dir: Path) -> str:
    return signer_for(session, actor, key_dir).verifier_key()


def bundle(session: Session, *, actor: Actor, seqs: list[int], key_dir: Path) -> dict[str, Any]:
    """An offline-verifiable bundle of these entries (see accord.verifier), proven against
    the latest checkpoint."""
    from accord.verifier import FORMAT

    cp = latest_checkpoint(session, actor=actor, key_dir=key_dir)
    items = []
    for seq in sorted(set(seqs)):
        found = journal.read_entry(session, actor.tenant_id, seq)
        if found is None or seq >= cp.size:
            raise NotFound(f"no journal entry {seq}")
        _, raw, _ = found
        proof = journal.inclusion_proof(session, actor.tenant_id, seq, cp.size)
        items.append({"seq": seq, "entry": b64(raw), "proof": [b64(p) for p in proof]})
    return {
        "format": FORMAT,
        "key": public_key(session, actor=actor, key_dir=key_dir),
        "checkpoint": cp.note,
        "entries": items,
    }


def entity_seqs(session: Session, *, actor: Actor, entity_ids: list[str]) -> list[int]:
    """Every journal entry about these entities: the material of a record's bundle."""
    return temporal.entity_seqs(session, actor.tenant_id, entity_ids)
