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

import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from hashlib import sha256
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any, cast

import rfc8785
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Integer,
    LargeBinary,
    Row,
    Select,
    String,
    Table,
    Text,
    bindparam,
    literal_column,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.sql.elements import BindParameter, ClauseElement

from accord.store import merkle
from accord.store.checkpoints import Signer, checkpoint_text
from accord.store.db import EPOCH, FOREVER, Base, UtcMicros, driver_executemany, driver_rows


class Op(StrEnum):
    """What an entry does to an entity's versions over its valid interval."""

    ASSERT = "assert"  # the entity is exactly `data` over [valid_from, valid_to)
    PATCH = "patch"  # the fields in `data` change over the interval; others stay
    END = "end"  # the entity does not exist over the interval


@functools.lru_cache(maxsize=4096)
def iso(t: datetime) -> str:
    """Timestamps in entries: UTC, four-digit year, always six fractional digits, 'Z'.

    Fixed width, so comparing two of these strings compares the instants. Cached: the
    entries of one change share their recorded time, and often their valid times.
    """
    if t.tzinfo is None:
        raise ValueError("naive datetime: Accord stores UTC instants only")
    if t.tzinfo is not UTC:
        t = t.astimezone(UTC)
    # isoformat pads the year to four digits, where strftime("%Y") does not below 1000.
    return t.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


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
        """RFC 8785 bytes of `to_json()`, assembled directly: this is every append's hot path.

        Keys are written in RFC 8785 order (all ASCII, so code point order); the data is
        canonicalised by `canonical`. Equal to ``canonical(self.to_json())``, which the tests
        check on random entries.
        """
        if not (
            type(self.actor) is str
            and type(self.id) is str
            and type(self.kind) is str
            and type(self.reason) is str
            and type(self.tenant) is str
            and type(self.type) is str
            and type(self.seq) is int
        ):
            return canonical(self.to_json())
        data = self.data if type(self.data) is dict else dict(self.data)
        valid_to = "null" if self.valid_to == FOREVER else f'"{iso(self.valid_to)}"'
        text = (
            f'{{"actor":{encode_basestring(self.actor)},"at":"{iso(self.at)}",'
            f'"data":{_canonical_text(data)},"id":{encode_basestring(self.id)},'
            f'"kind":{encode_basestring(self.kind)},"op":{encode_basestring(str(self.op))},'
            f'"reason":{encode_basestring(self.reason)},"seq":{self.seq},'
            f'"tenant":{encode_basestring(self.tenant)},"type":{encode_basestring(self.type)},'
            f'"v":1,"valid_from":"{iso(self.valid_from)}","valid_to":{valid_to}}}'
        )
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError:
            return canonical(self.to_json())  # lone surrogates: let RFC 8785 refuse them

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
    try:
        return _canonical_text(obj).encode("utf-8")
    except UnicodeEncodeError:
        return rfc8785.dumps(obj)  # raises its CanonicalizationError for lone surrogates


# The reference implementation (rfc8785) is pure Python and was most of an append's time.
# For the JSON Accord writes (objects with BMP-only keys, strings, safe integers, booleans
# and nulls) the json module's C encoder with sorted keys and no whitespace writes the same
# bytes: it escapes exactly '"', '\\' and U+0000-U+001F, with the same short forms and
# lowercase \u00XX, and sorts keys by code point, which is UTF-16 order for BMP keys.
# Floats, large integers, non-BMP keys and subclasses go to the reference implementation.
# The C encoder is made once (json.dumps makes one per call): no circular-reference
# markers (the walk in _plain would not end either), sorted keys, no whitespace, no NaN.
_encoder = (
    c_make_encoder(None, None, encode_basestring, None, ":", ",", True, False, False)
    if c_make_encoder is not None
    else None  # an interpreter without the json accelerator
)
_fallback = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _encode(obj: Any) -> str:
    if _encoder is None:  # pragma: no cover
        return _fallback.encode(obj)
    return "".join(_encoder(obj, 0))


_MAX_SAFE_INT = 2**53 - 1


def _canonical_text(obj: Any) -> str:
    if _plain(obj):
        return _encode(obj)
    return rfc8785.dumps(obj).decode("utf-8")


def _plain(obj: Any) -> bool:
    """Whether the json module writes `obj` byte for byte as RFC 8785 does."""
    t = type(obj)
    if t is str or obj is None or t is bool:
        return True
    if t is int:
        return bool(-_MAX_SAFE_INT <= obj <= _MAX_SAFE_INT)
    if t is dict:
        for k, v in obj.items():
            if type(k) is not str or not (k.isascii() or max(k) < "\U00010000"):
                return False
            tv = type(v)
            if not (tv is str or v is None or _plain(v)):
                return False
        return True
    if t is list or t is tuple:
        return all(_plain(v) for v in obj)
    return False


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

    # Without a rowid on SQLite the primary key is the table: a node (tiny rows, read by key
    # for every proof) is one B-tree lookup, and an append writes one B-tree, not two.
    __table_args__ = (
        CheckConstraint("level >= 1", name="level_above_leaves"),
        {"sqlite_with_rowid": False},
    )


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
        # Like a binary counter: the leaf completes one subtree per trailing 1 bit of size.
        stack, carry = self.stack, self.size
        level, idx, h = 0, carry, leaf
        self.size = carry + 1
        while carry & 1:
            h = sha256(b"\x01" + stack.pop()[2] + h).digest()
            level, idx, carry = level + 1, idx >> 1, carry >> 1
            out.append((level, idx, h))
        stack.append((level, idx, h))

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


_US = timedelta(microseconds=1)
_head = cast(Table, LogHead.__table__)
_entries_table = cast(Table, JournalEntry.__table__)
_nodes_table = cast(Table, MerkleNode.__table__)


# Appends insert with a prepared executemany on the driver: the rows are plain integers,
# bytes and text, and SQLAlchemy's per-row parameter processing cost more than SQLite.
_ENTRY_COLUMNS = ("tenant_id", "seq", "entry", "leaf_hash", "entity_type", "entity_id")
_INSERT_ENTRY = _entries_table.insert().values({c: bindparam(c) for c in _ENTRY_COLUMNS})
_NODE_COLUMNS = ("tenant_id", "level", "idx", "hash")
_INSERT_NODE = _nodes_table.insert().values({c: bindparam(c) for c in _NODE_COLUMNS})


def _create_head(session: Session, tenant_id: int) -> None:
    """Insert the tenant's empty head unless another transaction already has.

    Two first appends can race here: with ON CONFLICT DO NOTHING the loser waits for the
    winner's commit and then finds the row, instead of failing on the primary key.
    """
    row = {"tenant_id": tenant_id, "size": 0, "last_at": EPOCH, "frontier": b""}
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        stmt: Any = postgresql.insert(_head).values(row).on_conflict_do_nothing()
    elif dialect == "sqlite":
        stmt = sqlite.insert(_head).values(row).on_conflict_do_nothing()
    else:  # pragma: no cover - Accord runs on SQLite and PostgreSQL
        stmt = _head.insert().values(row)
    session.execute(stmt)


def _locked_head(session: Session, tenant_id: int) -> Row[int, datetime, bytes]:
    """(size, last_at, frontier) of the tenant's head, locked until the transaction ends."""
    stmt = (
        select(_head.c.size, _head.c.last_at, _head.c.frontier)
        .where(_head.c.tenant_id == tenant_id)
        .with_for_update()
    )
    row = session.execute(stmt).first()
    if row is None:
        _create_head(session, tenant_id)
        row = session.execute(stmt).first()
        assert row is not None
    return row


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

    All entries of one call share one recorded time, later than the log's last one even if
    the clock has gone back (or a concurrent writer stamped its change after our `now` was
    read), so recorded time only moves forward and each change is a distinct moment that
    "as known at" can see on its own.
    """
    size, last_at, packed = _locked_head(session, tenant_id)
    now = now.astimezone(UTC)
    at = max(now, last_at + _US) if size else max(now, last_at)
    frontier = Frontier(size, packed)
    entries: list[Entry] = []
    leaf_rows: list[tuple[int, int, bytes, bytes, str, str]] = []
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
        leaf = sha256(b"\x00" + raw).digest()
        leaf_rows.append((tenant_id, e.seq, raw, leaf, e.type, e.id))
        frontier.push(leaf, completed)
        entries.append(e)
    if not entries:
        return entries
    driver_executemany(session, _INSERT_ENTRY, _ENTRY_COLUMNS, leaf_rows)
    if completed:
        nodes = [(tenant_id, lv, ix, h) for lv, ix, h in completed]
        driver_executemany(session, _INSERT_NODE, _NODE_COLUMNS, nodes)
    session.execute(
        update(_head)
        .where(_head.c.tenant_id == tenant_id)
        .values(size=frontier.size, last_at=at, frontier=frontier.encode())
    )
    return entries


# --- reading: sizes, roots, proofs ------------------------------------------------------


def tree_size(session: Session, tenant_id: int) -> int:
    return session.scalar(select(LogHead.size).where(LogHead.tenant_id == tenant_id)) or 0


#: Point lookups per statement: well under SQLite's 500 terms of a compound SELECT.
_LOOKUPS_PER_QUERY = 128


@functools.lru_cache(maxsize=512)
def _lookup(leaves: int, inner: int) -> ClauseElement:
    """A statement fetching `leaves` leaf hashes and `inner` nodes by their keys.

    One SELECT per hash, glued with UNION ALL: each is a primary-key lookup on both
    engines, where a single WHERE with many ORs (or a row-value IN) made SQLite scan all of
    the tenant's nodes. Built (and compiled) once per shape.
    """
    e, n = _entries_table.c, _nodes_table.c
    tenant: BindParameter[int] = bindparam("t")
    parts: list[Select[Any, Any, Any]] = [
        select(literal_column("0").label("level"), e.seq, e.leaf_hash).where(
            e.tenant_id == tenant, e.seq == bindparam(f"s{i}")
        )
        for i in range(leaves)
    ]
    parts += [
        select(n.level, n.idx, n.hash).where(
            n.tenant_id == tenant, n.level == bindparam(f"l{i}"), n.idx == bindparam(f"i{i}")
        )
        for i in range(inner)
    ]
    return parts[0] if len(parts) == 1 else union_all(*parts)


# On PostgreSQL one statement of constant text with arrays: prepared once by the driver,
# where the UNION ALL of point lookups cost more to plan than to run.
_PG_LOOKUP = text(
    "SELECT 0 AS level, e.seq AS idx, e.leaf_hash AS hash FROM journal_entries e "
    "WHERE e.tenant_id = :t AND e.seq = ANY(CAST(:seqs AS BIGINT[])) "
    "UNION ALL "
    "SELECT m.level, m.idx, m.hash "
    "FROM unnest(CAST(:levels AS INTEGER[]), CAST(:idxs AS BIGINT[])) AS w(level, idx) "
    "JOIN merkle_nodes m ON m.tenant_id = :t AND m.level = w.level AND m.idx = w.idx"
)


def fetch_nodes(
    session: Session, tenant_id: int, wanted: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], bytes]:
    """Stored hashes of complete subtrees (level 0: leaves), by primary-key lookups.

    Every proof's hot path: integers and bytes straight from the driver.
    """
    todo = sorted(set(wanted))
    out: dict[tuple[int, int], bytes] = {}
    if not todo:
        return out
    if session.get_bind().dialect.name == "postgresql":
        inner = [(lvl, idx) for lvl, idx in todo if lvl > 0]
        params = {
            "t": tenant_id,
            "seqs": [idx for lvl, idx in todo if lvl == 0],
            "levels": [lvl for lvl, _ in inner],
            "idxs": [idx for _, idx in inner],
        }
        out = {(lvl, idx): bytes(h) for lvl, idx, h in driver_rows(session, _PG_LOOKUP, params)}
    else:
        for start in range(0, len(todo), _LOOKUPS_PER_QUERY):
            chunk = todo[start : start + _LOOKUPS_PER_QUERY]
            leaves = [idx for lvl, idx in chunk if lvl == 0]
            pairs = [(lvl, idx) for lvl, idx in chunk if lvl > 0]
            values: dict[str, Any] = {"t": tenant_id}
            for i, idx in enumerate(leaves):
                values[f"s{i}"] = idx
            for i, (lvl, idx) in enumerate(pairs):
                values[f"l{i}"], values[f"i{i}"] = lvl, idx
            stmt = _lookup(len(leaves), len(pairs))
            for lvl, idx, h in driver_rows(session, stmt, values):
                out[(lvl, idx)] = bytes(h)
    if len(out) < len(todo):
        missing = sorted(set(todo) - out.keys())
        raise LookupError(f"journal is missing tree nodes {missing[:3]}")
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
        select(Checkpoint)
        .where(Checkpoint.tenant_id == tenant_id)
        .order_by(Checkpoint.size.desc())
        .limit(1)
    )


def sign_checkpoint(
    session: Session, *, tenant_id: int, signer: Signer, now: datetime
) -> Checkpoint:
    """Sign the current tree head unless the latest checkpoint already covers it.

    Takes the head lock appends take, so concurrent signers (two requests for the latest
    checkpoint right after the log grew) wait for each other and the second finds the
    first's checkpoint instead of inserting the same one again.
    """
    size = _locked_head(session, tenant_id)[0]
    last = latest_checkpoint(session, tenant_id)
    if last is not None and last.size == size:
        return last
    root = root_at(session, tenant_id, size)
    note = signer.sign(checkpoint_text(signer.name, size, root))
    cp = Checkpoint(tenant_id=tenant_id, size=size, root=root, note=note, created_at=now)
    session.add(cp)
    session.flush()
    return cp
