"""Full verification of a tenant's log and versions, and the rebuild check.

`verify_log` recomputes every leaf from its entry bytes and every stored node from the
leaves, checks the head, every checkpoint's signature and root, and the consistency of
consecutive checkpoints. `rebuild_check` replays the journal into empty tables and
compares them with the live version tables. Both name the first thing that is wrong.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from itertools import zip_longest
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.store import merkle
from accord.store.checkpoints import NoteError, Verifier, parse_checkpoint
from accord.store.db import Base, make_engine
from accord.store.journal import (
    Checkpoint,
    Entry,
    Frontier,
    JournalEntry,
    LogHead,
    MerkleNode,
    consistency_proof,
    fetch_nodes,
)
from accord.store.temporal import REGISTRY, apply_entry
from accord.store.tenancy import Tenant

Progress = Callable[[int], None]


class VerificationError(Exception):
    """The first thing found wrong, in words that name it."""


@dataclass
class Report:
    entries: int = 0
    entry_bytes: int = 0
    nodes: int = 0
    checkpoints: int = 0
    rows: int = 0
    notes: list[str] = field(default_factory=list)


def _entries(session: Session, tenant_id: int, batch: int = 5000) -> Iterator[tuple[int, bytes, bytes]]:
    """(seq, entry, leaf_hash) in log order, read in key ranges so memory stays flat."""
    last = -1
    while True:
        rows = session.execute(
            select(JournalEntry.seq, JournalEntry.entry, JournalEntry.leaf_hash, JournalEntry.entity_type,
                   JournalEntry.entity_id)
            .where(JournalEntry.tenant_id == tenant_id, JournalEntry.seq > last)
            .order_by(JournalEntry.seq)
            .limit(batch)
        ).all()
        if not rows:
            return
        yield from rows  # type: ignore[misc]
        last = rows[-1][0]


def verify_log(
    session: Session, tenant: Tenant, verifier: Verifier, progress: Progress | None = None
) -> Report:
    report = Report()
    level = bytearray()
    last_at = None
    for seq, raw, stored_leaf, etype, eid in _entries(session, tenant.id):
        where = f"journal entry {seq}"
        if seq != report.entries:
            raise VerificationError(f"journal entry {report.entries} is missing (next stored is {seq})")
        if merkle.leaf_hash(raw) != stored_leaf:
            raise VerificationError(f"{where}: leaf hash does not match the entry bytes")
        try:
            e = Entry.from_json(json.loads(raw))
        except (ValueError, KeyError, TypeError) as exc:
            raise VerificationError(f"{where}: entry does not parse ({exc})") from exc
        if e.seq != seq:
            raise VerificationError(f"{where}: entry says it is entry {e.seq} (moved or reordered)")
        if e.tenant != tenant.public_id:
            raise VerificationError(f"{where}: entry belongs to another tenant's log")
        if (e.type, e.id) != (etype, eid):
            raise VerificationError(f"{where}: indexed entity columns do not match the entry")
        if last_at is not None and e.at < last_at:
            raise VerificationError(f"{where}: recorded time runs backwards")
        last_at = e.at
        level += stored_leaf
        report.entries += 1
        report.entry_bytes += len(raw)
        if progress and report.entries % 1000 == 0:
            progress(1000)
    if progress:
        progress(report.entries % 1000)
    size = report.entries

    # Roots at each checkpoint size are folded from the complete subtrees they need,
    # collected while each level is in memory.
    cps = list(session.scalars(select(Checkpoint).where(Checkpoint.tenant_id == tenant.id).order_by(Checkpoint.size)))
    wanted = {n for cp in cps if 0 < cp.size <= size for n in merkle.complete_subtrees(0, cp.size)}
    kept: dict[tuple[int, int], bytes] = {n: bytes(level[n[1] * 32 : n[1] * 32 + 32]) for n in wanted if n[0] == 0}

    lvl, count = 0, size
    while count > 1:
        lvl += 1
        nxt = bytearray()
        for i in range(count // 2):
            nxt += merkle.node_hash(bytes(level[64 * i : 64 * i + 32]), bytes(level[64 * i + 32 : 64 * i + 64]))
        count //= 2
        stored = session.execute(
            select(MerkleNode.idx, MerkleNode.hash)
            .where(MerkleNode.tenant_id == tenant.id, MerkleNode.level == lvl)
            .order_by(MerkleNode.idx)
        )
        n = 0
        for idx, h in stored:
            if idx != n:
                what = "missing" if idx > n else "duplicated"
                raise VerificationError(f"tree node level {lvl} index {n} is {what}")
            if n >= count:
                raise VerificationError(f"tree node level {lvl} index {idx} is beyond the tree")
            if nxt[32 * n : 32 * n + 32] != h:
                raise VerificationError(f"tree node level {lvl} index {n} does not match the leaves below it")
            n += 1
        if n != count:
            raise VerificationError(f"tree node level {lvl} index {n} is missing")
        report.nodes += n
        level = nxt
        kept.update({nd: bytes(level[nd[1] * 32 : nd[1] * 32 + 32]) for nd in wanted if nd[0] == lvl})
    extra = session.scalar(
        select(MerkleNode.level).where(MerkleNode.tenant_id == tenant.id, MerkleNode.level > lvl).limit(1)
    )
    if extra is not None:
        raise VerificationError(f"tree node at level {extra} is beyond the tree")

    head = session.get(LogHead, tenant.id)
    head_size = head.size if head else 0
    if head_size != size:
        raise VerificationError(f"log head says {head_size} entries, the journal holds {size}")
    frontier = Frontier()
    for nd in merkle.complete_subtrees(0, size):
        frontier.stack.append((nd[0], nd[1], kept.get(nd) or _node_from(session, tenant.id, nd)))
    frontier.size = size
    if head and head.frontier != frontier.encode():
        raise VerificationError("log head frontier does not match the tree")
    if head and last_at and head.last_at < last_at:
        raise VerificationError("log head time is earlier than its last entry")

    previous: Checkpoint | None = None
    for cp in cps:
        where = f"checkpoint at size {cp.size}"
        try:
            text = verifier.open(cp.note)
            origin, cp_size, cp_root = parse_checkpoint(text)
        except NoteError as exc:
            raise VerificationError(f"{where}: {exc}") from exc
        if origin != verifier.name or cp_size != cp.size or cp_root != cp.root:
            raise VerificationError(f"{where}: signed note does not match the stored size or root")
        if cp.size > size:
            raise VerificationError(f"{where}: is beyond the journal's {size} entries")
        root = merkle.range_hash(0, cp.size, kept) if cp.size else merkle.EMPTY_ROOT
        if root != cp.root:
            raise VerificationError(f"{where}: root does not match the journal")
        if previous is not None and previous.size > 0:
            proof = consistency_proof(session, tenant.id, previous.size, cp.size)
            try:
                merkle.verify_consistency(previous.size, cp.size, proof, previous.root, cp.root)
            except merkle.ProofError as exc:
                raise VerificationError(f"{where}: not consistent with size {previous.size}: {exc}") from exc
        previous = cp
        report.checkpoints += 1
    return report


def _node_from(session: Session, tenant_id: int, node: tuple[int, int]) -> bytes:
    return fetch_nodes(session, tenant_id, [node])[node]


# --- rebuild ------------------------------------------------------------------------------


def _rows(session: Session, model: Any, tenant_id: int) -> Iterator[tuple[Any, ...]]:
    t = model.__table__
    cols = [c for c in t.columns if c.key != "row_id"]
    order = [t.c.entity_id, t.c.recorded_from, t.c.valid_from, t.c.seq, t.c.valid_to, t.c.recorded_to]
    for r in session.execute(select(*cols).where(t.c.tenant_id == tenant_id).order_by(*order)):
        yield tuple(r)


def rebuild_check(session: Session, tenant: Tenant, progress: Progress | None = None) -> Report:
    """Replay the journal into empty tables (in-memory SQLite) and compare with the live ones."""
    report = Report()
    scratch = make_engine("sqlite://")
    Base.metadata.create_all(scratch)
    with Session(scratch) as target:
        target.add(Tenant(id=tenant.id, public_id=tenant.public_id, slug=tenant.slug, name=tenant.name,
                          created_at=tenant.created_at))
        target.flush()
        for _, raw, _, _, _ in _entries(session, tenant.id):
            apply_entry(target, tenant.id, Entry.from_bytes(raw))
            report.entries += 1
            if progress and report.entries % 1000 == 0:
                progress(1000)
        if progress:
            progress(report.entries % 1000)
        for entity_type, model in sorted(REGISTRY.items()):
            live = _rows(session, model, tenant.id)
            replayed = _rows(target, model, tenant.id)
            for i, (a, b) in enumerate(zip_longest(live, replayed)):
                if a != b:
                    ident = (a or b)[1] if (a or b) else "?"
                    raise VerificationError(
                        f"{entity_type} versions differ from the journal at row {i} (entity {ident}): "
                        f"live {a!r}, journal says {b!r}"
                    )
                report.rows += 1
    scratch.dispose()
    return report
