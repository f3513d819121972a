"""The journal: one RFC 9162 Merkle log per tenant, stored so proofs cost O(log n) reads.

Rows:
- ``journal_entries``: leaf ``seq`` of a tenant's log, its canonical JSON entry (RFC 8785)
  and ``SHA-256(0x00 || entry)``. Level 0 of the tree lives here.
- ``merkle_nodes``: every complete aligned subtree of level >= 1, written when its last
  leaf is appended and never changed.
- ``log_heads``: the tenant's size, last recorded time and right-edge frontier, so an
  append reads one row; a cache of what the leaves imply, rechecked by ``accord verify``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import rfc8785
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    insert,
    select,
    tuple_,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from accord.store import merkle
from accord.store.checkpoints import Signer, checkpoint_text
from accord.store.db import FOREVER, Base, UtcMicros, from_micros, to_micros


class Op(StrEnum):
    """What an entry does to an entity's versions over its valid interval."""

    ASSERT = "assert"  # the entity is exactly `data` over [valid_from, valid_to)
    PATCH = "patch"  # the fields in `data` change over the interval; others stay
    END = "end"  # the entity does not exist over the interval


def iso(t: datetime) -> str:
    """Timestamps in entries: UTC, always six fractional digits, 'Z'."""
    return from_micros(to_micros(t)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass(frozen=True)
class Entry:
    """One journal entry: a recorded change to one entity, self-describing and replayable."""

    seq: int
    tenant: str
    at: datetime
    actor: str
    kind: str
    op: Op
    type: str
    id: str
    valid_from: datetime
    valid_to: datetime
    data: Mapping[str, Any] = field(default_factory=dict)
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "v": 1,
            "seq": self.seq,
            "tenant": self.tenant,
            "at": iso(self.at),
            "actor": self.actor,
            "kind": self.kind,
            "op": str(self.op),
            "type": self.type,
            "id": self.id,
            "valid_from": iso(self.valid_from),
            "valid_to": None if self.valid_to == FOREVER else iso(self.valid_to),
            "data": dict(self.data),
            "reason": self.reason,
        }

    def canonical(self) -> bytes:
        return canonical(self.to_json())

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Entry:
        if obj.get("v") != 1:
            raise ValueError(f"unknown entry version {obj.get('v')!r}")
        return cls(
            seq=int(obj["seq"]),
            tenant=obj["tenant"],
            at=parse_iso(obj["at"]),
            actor=obj["actor"],
            kind=obj["kind"],
            op=Op(obj["op"]),
            type=obj["type"],
            id=obj["id"],
            valid_from=parse_iso(obj["valid_from"]),
            valid_to=FOREVER if obj["valid_to"] is None else parse_iso(obj["valid_to"]),
            data=obj["data"],
            reason=obj.get("reason", ""),
        )

    @classmethod
    def from_bytes(cls, raw: bytes) -> Entry:
        return cls.from_json(json.loads(raw))


def canonical(obj: Any) -> bytes:
    """RFC 8785 JSON Canonicalization Scheme."""
    return rfc8785.dumps(obj)


class JournalEntry(Base):
    """Leaf `seq` of a tenant's log."""

    __tablename__ = "journal_entries"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    entry: Mapped[bytes] = mapped_column(LargeBinary)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    # Indexed copies of what the entry says, for reading an entity's history quickly.
    # `accord verify` checks them against the entry bytes.
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(36), index=True)


class MerkleNode(Base):
    """A complete aligned subtree: leaves [idx << level, (idx + 1) << level)."""

    __tablename__ = "merkle_nodes"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    level: Mapped[int] = mapped_column(Integer, primary_key=True)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))

    __table_args__ = (CheckConstraint("level >= 1", name="level_above_leaves"),)


class LogHead(Base):
    """The current size and right edge of a tenant's log; the row appends lock."""

    __tablename__ = "log_heads"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    last_at: Mapped[datetime] = mapped_column(UtcMicros)
    frontier: Mapped[bytes] = mapped_column(LargeBinary, default=b"")


class Checkpoint(Base):
    """A signed tree head: the C2SP signed note of (origin, size, root)."""

    __tablename__ = "checkpoints"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcMicros)


# --- the frontier: complete subtrees along the right edge -------------------------------


def frontier_nodes(size: int, frontier: bytes) -> list[tuple[int, int, bytes]]:
    """Decode the frontier into (level, idx, hash), largest subtree first."""
    hashes = [frontier[i : i + 32] for i in range(0, len(frontier), 32)]
    nodes = merkle.complete_subtrees(0, size)
    if len(nodes) != len(hashes):
        raise ValueError("log head frontier does not match its size")
    return [(lvl, idx, h) for (lvl, idx), h in zip(nodes, hashes, strict=True)]


def fold_root(hashes: Sequence[bytes]) -> bytes:
    if not hashes:
        return merkle.EMPTY_ROOT
    acc = hashes[-1]
    for left in reversed(hashes[:-1]):
        acc = merkle.node_hash(left, acc)
    return acc


class Frontier:
    """Appends leaves, yielding the completed nodes to store. Pure; used by append and verify."""

    def __init__(self, size: int = 0, frontier: bytes = b"") -> None:
        self.size = size
        self.stack = frontier_nodes(size, frontier)

    def push(self, leaf: bytes, out: list[tuple[int, int, bytes]]) -> None:
        stack = self.stack
        stack.append((0, self.size, leaf))
        self.size += 1
        while len(stack) > 1 and stack[-1][0] == stack[-2][0]:
            lvl, ridx, right = stack.pop()
            _, lidx, left = stack.pop()
            node = (lvl + 1, lidx >> 1, merkle.node_hash(left, right))
            stack.append(node)
            out.append(node)

    def root(self) -> bytes:
        return fold_root([h for _, _, h in self.stack])

    def encode(self) -> bytes:
        return b"".join(h for _, _, h in self.stack)


# --- appending ----------------------------------------------------------------------------


@dataclass
class Draft:
    """An entry before the log gives it its place, time and actor."""

    kind: str
    op: Op
    type: str
    id: str
    valid_from: datetime
    valid_to: datetime = FOREVER
    data: Mapping[str, Any] = field(default_factory=dict)
    reason: str = ""


def lock_head(session: Session, tenant_id: int, now: datetime) -> LogHead:
    """The tenant's head row, locked for this transaction (created on first use)."""
    stmt = select(LogHead).where(LogHead.tenant_id == tenant_id).with_for_update()
    head = session.scalar(stmt)
    if head is None:
        head = LogHead(tenant_id=tenant_id, size=0, last_at=now, frontier=b"")
        session.add(head)
        session.flush()
    return head


def append(
    session: Session,
    *,
    tenant_id: int,
    tenant_public_id: str,
    actor: str,
    drafts: Sequence[Draft],
    now: datetime,
) -> list[Entry]:
    """Give `drafts` their places in the log and write leaves, nodes and the new head.

    All entries of one call share one recorded time, never earlier than the log's last one,
    so recorded time never runs backwards in a log even if the clock does.
    """
    head = lock_head(session, tenant_id, now)
    at = max(now, head.last_at)
    frontier = Frontier(head.size, head.frontier)
    entries: list[Entry] = []
    leaf_rows: list[dict[str, Any]] = []
    node_rows: list[dict[str, Any]] = []
    completed: list[tuple[int, int, bytes]] = []
    for d in drafts:
        e = Entry(
            seq=frontier.size,
            tenant=tenant_public_id,
            at=at,
            actor=actor,
            kind=d.kind,
            op=d.op,
            type=d.type,
            id=d.id,
            valid_from=d.valid_from,
            valid_to=d.valid_to,
            data=d.data,
            reason=d.reason,
        )
        raw = e.canonical()
        lh = merkle.leaf_hash(raw)
        leaf_rows.append(
            {"tenant_id": tenant_id, "seq": e.seq, "entry": raw, "leaf_hash": lh,
             "entity_type": e.type, "entity_id": e.id}
        )
        frontier.push(lh, completed)
        entries.append(e)
    node_rows = [{"tenant_id": tenant_id, "level": lv, "idx": ix, "hash": h} for lv, ix, h in completed]
    if leaf_rows:
        session.execute(insert(JournalEntry), leaf_rows)
    if node_rows:
        session.execute(insert(MerkleNode), node_rows)
    head.size = frontier.size
    head.last_at = at
    head.frontier = frontier.encode()
    session.flush()
    return entries


# --- reading: sizes, roots, proofs ------------------------------------------------------


def tree_size(session: Session, tenant_id: int) -> int:
    return session.scalar(select(LogHead.size).where(LogHead.tenant_id == tenant_id)) or 0


def fetch_nodes(session: Session, tenant_id: int, wanted: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """Stored hashes of complete subtrees, in at most two queries."""
    wanted = set(wanted)
    leaves = [idx for lvl, idx in wanted if lvl == 0]
    inner = [(lvl, idx) for lvl, idx in wanted if lvl > 0]
    out: dict[tuple[int, int], bytes] = {}
    if leaves:
        rows = session.execute(
            select(JournalEntry.seq, JournalEntry.leaf_hash).where(
                JournalEntry.tenant_id == tenant_id, JournalEntry.seq.in_(leaves)
            )
        )
        out.update({(0, seq): h for seq, h in rows})
    if inner:
        rows = session.execute(
            select(MerkleNode.level, MerkleNode.idx, MerkleNode.hash).where(
                MerkleNode.tenant_id == tenant_id,
                tuple_(MerkleNode.level, MerkleNode.idx).in_(inner),
            )
        )
        out.update({(lvl, idx): h for lvl, idx, h in rows})
    missing = wanted - out.keys()
    if missing:
        raise LookupError(f"journal is missing tree nodes {sorted(missing)[:3]}")
    return out


def root_at(session: Session, tenant_id: int, size: int) -> bytes:
    if size == 0:
        return merkle.EMPTY_ROOT
    nodes = fetch_nodes(session, tenant_id, merkle.complete_subtrees(0, size))
    return merkle.range_hash(0, size, nodes)


def inclusion_proof(session: Session, tenant_id: int, seq: int, size: int) -> list[bytes]:
    ranges = merkle.inclusion_ranges(seq, size)
    return merkle.build_proof(ranges, lambda w: fetch_nodes(session, tenant_id, w))


def consistency_proof(session: Session, tenant_id: int, old: int, new: int) -> list[bytes]:
    if old == new:
        return []
    ranges = merkle.consistency_ranges(old, new)
    return merkle.build_proof(ranges, lambda w: fetch_nodes(session, tenant_id, w))


def read_entry(session: Session, tenant_id: int, seq: int) -> tuple[Entry, bytes, bytes] | None:
    row = session.execute(
        select(JournalEntry.entry, JournalEntry.leaf_hash).where(
            JournalEntry.tenant_id == tenant_id, JournalEntry.seq == seq
        )
    ).first()
    if row is None:
        return None
    return Entry.from_bytes(row.entry), row.entry, row.leaf_hash


def entries_for(session: Session, tenant_id: int, entity_id: str) -> list[Entry]:
    """Every entry about one entity, in log order: its whole recorded story."""
    rows = session.scalars(
        select(JournalEntry.entry)
        .where(JournalEntry.tenant_id == tenant_id, JournalEntry.entity_id == entity_id)
        .order_by(JournalEntry.seq)
    )
    return [Entry.from_bytes(raw) for raw in rows]


def latest_checkpoint(session: Session, tenant_id: int) -> Checkpoint | None:
    return session.scalar(
        select(Checkpoint).where(Checkpoint.tenant_id == tenant_id).order_by(Checkpoint.size.desc()).limit(1)
    )


def sign_checkpoint(session: Session, *, tenant_id: int, signer: Signer, now: datetime) -> Checkpoint:
    """Sign the current tree head unless the latest checkpoint already covers it."""
    size = tree_size(session, tenant_id)
    last = latest_checkpoint(session, tenant_id)
    if last is not None and last.size == size:
        return last
    root = root_at(session, tenant_id, size)
    note = signer.sign(checkpoint_text(signer.name, size, root))
    cp = Checkpoint(tenant_id=tenant_id, size=size, root=root, note=note, created_at=now)
    session.add(cp)
    session.flush()
    return cp
