"""The journal: one RFC 9162 Merkle log per tenant, stored so proofs cost O(log n) reads.

Rows:
- ``journal_entries``: leaf ``seq`` of a tenant's log, its canonical JSON entry (RFC 8785)
  and ``SHA-256(0x00 || entry)`` (level 0 of the tree). Nothing else: an entity's history
  is read through its version rows (``temporal.entity_seqs``). The entry is kept zstd-
  compressed against a dictionary of the tenant's (``entry_codec``) once its log is a
  thousand entries long; every reader gets the canonical bytes back (``entries_at``,
  ``read_entry``, ``entry_codec.decode``).
- ``merkle_nodes``: every complete aligned subtree of the levels ``merkle.STRIDE``,
  ``2 * STRIDE``, ..., written when its last leaf is appended and never changed. A subtree
  of a level in between is folded from the few stored hashes below it when a proof needs it.
- ``log_heads``: the tenant's size, last recorded time and right-edge frontier, so an
  append reads one row; a cache of what the leaves imply, rechecked by ``accord verify``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
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
    Select,
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

from accord.store import entry_codec, merkle
from accord.store.checkpoints import Signer, checkpoint_text
from accord.store.db import (
    EPOCH,
    FOREVER,
    Base,
    UtcMicros,
    driver_executemany,
    driver_rows,
    from_micros,
    to_micros,
)


class Op(StrEnum):
    """What an entry does to an entity's versions over its valid interval."""

    ASSERT = "assert"  # the entity is exactly `data` over [valid_from, valid_to)
    PATCH = "patch"  # the fields in `data` change over the interval; others stay
    END = "end"  # the entity does not exist over the interval


_iso_cache: dict[datetime, str] = {}
_iso_dates: dict[date, str] = {}


def iso(t: datetime) -> str:
    """Timestamps in entries: UTC, four-digit year, always six fractional digits, 'Z'.

    Fixed width, so comparing two of these strings compares the instants. Cached: the
    entries of one change share their recorded time, and often their valid times.
    """
    found = _iso_cache.get(t)
    if found is not None:
        return found
    if t.tzinfo is None:
        raise ValueError("naive datetime: Accord stores UTC instants only")
    u = t if t.tzinfo is UTC else t.astimezone(UTC)
    day = u.date()
    prefix = _iso_dates.get(day)
    if prefix is None:
        if len(_iso_dates) >= 4096:
            _iso_dates.clear()
        # isoformat pads the year to four digits, where strftime("%Y") does not below 1000
        prefix = _iso_dates[day] = day.isoformat() + "T"
    # %-formatting: twice as fast as isoformat and fixing up its offset and fraction
    text = "%s%02d:%02d:%02d.%06dZ" % (prefix, u.hour, u.minute, u.second, u.microsecond)  # noqa: UP031
    if len(_iso_cache) >= 4096:
        _iso_cache.clear()
    _iso_cache[t] = text
    return text


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

        Equal to ``canonical(self.to_json())``, which the tests check on random entries.
        """
        return _entry_bytes(self, *_envelope(self.actor, self.at, self.tenant))

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


def _envelope(actor: str, at: datetime, tenant: str) -> tuple[str, str]:
    """The parts of an entry's bytes that all entries of one append share: the text before
    its data, and between its seq and its type. Empty when they need the slow path."""
    if type(actor) is not str or type(tenant) is not str:
        return "", ""
    enc = encode_basestring
    return f'{{"actor":{enc(actor)},"at":"{iso(at)}","data":', f',"tenant":{enc(tenant)},"type":'


def _entry_bytes(e: Entry, head: str, tail: str) -> bytes:
    """`e`'s RFC 8785 bytes, given its `_envelope`.

    Keys are written in RFC 8785 order (all ASCII, so code point order); the data is
    canonicalised by `canonical`. Anything but plain text in the envelope goes to the
    reference implementation.
    """
    eid, kind, reason, etype, seq = e.id, e.kind, e.reason, e.type, e.seq
    if not (
        head
        and type(eid) is str
        and type(kind) is str
        and type(reason) is str
        and type(etype) is str
        and type(seq) is int
    ):
        return canonical(e.to_json())
    data = e.data if type(e.data) is dict else dict(e.data)
    valid_to = e.valid_to
    to = "null" if valid_to is FOREVER or valid_to == FOREVER else f'"{iso(valid_to)}"'
    enc = encode_basestring
    text = (
        f'{head}{_canonical_text(data)},"id":{enc(eid)},"kind":{enc(kind)},'
        f'"op":{enc(str(e.op))},"reason":{enc(reason)},"seq":{seq}{tail}{enc(etype)},'
        f'"v":1,"valid_from":"{iso(e.valid_from)}","valid_to":{to}}}'
    )
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return canonical(e.to_json())  # lone surrogates: let RFC 8785 refuse them


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
    #: the canonical bytes, or a zstd frame of them against `dictionary_id`
    entry: Mapped[bytes] = mapped_column(LargeBinary)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    dictionary_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # No index by entity: an entity's history is found through its version rows, which
    # name the entries that wrote and closed them (`temporal.entity_seqs`). An index here
    # was a random-order B-tree insert per entry, a third of an append's cost.


class MerkleNode(Base):
    """A complete aligned subtree: leaves [idx << level, (idx + 1) << level).

    Only the levels that are multiples of `merkle.STRIDE` are stored."""

    __tablename__ = "merkle_nodes"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    level: Mapped[int] = mapped_column(Integer, primary_key=True)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))

    # Without a rowid on SQLite the primary key is the table: a node (tiny rows, read by key
    # for every proof) is one B-tree lookup, and an append writes one B-tree, not two.
    __table_args__ = (
        CheckConstraint("level >= 1", name="level_above_leaves"),
        CheckConstraint(f"level % {merkle.STRIDE} = 0", name="stored_level"),
        {"sqlite_with_rowid": False},
    )


class LogHead(Base):
    """The current size and right edge of a tenant's log; the row appends lock."""

    __tablename__ = "log_heads"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    last_at: Mapped[datetime] = mapped_column(UtcMicros)
    frontier: Mapped[bytes] = mapped_column(LargeBinary, default=b"")
    #: the dictionary new entries are compressed against (`entry_codec`); none yet: plain
    dictionary_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


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

    def extend(self, leaves: Iterable[bytes], out: list[tuple[int, int, bytes]]) -> None:
        """`push` each leaf, yielding only the completed nodes of stored levels: appends'
        loop, without a call per leaf."""
        stack, size, stride = self.stack, self.size, merkle.STRIDE
        for leaf in leaves:
            carry, level, idx, h = size, 0, size, leaf
            size += 1
            while carry & 1:
                h = sha256(b"\x01" + stack.pop()[2] + h).digest()
                level, idx, carry = level + 1, idx >> 1, carry >> 1
                if not level % stride:
                    out.append((level, idx, h))
            stack.append((level, idx, h))
        self.size = size

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


def _draft_fields(d: Draft) -> dict[str, Any]:
    return {f: getattr(d, f) for f in _DRAFT_FIELDS}


_DRAFT_FIELDS = ("kind", "op", "type", "id", "valid_from", "valid_to", "data", "reason")
_US = timedelta(microseconds=1)
_LEAF = sha256(b"\x00")
_head = cast(Table, LogHead.__table__)
_entries_table = cast(Table, JournalEntry.__table__)
_nodes_table = cast(Table, MerkleNode.__table__)


# Appends insert with a prepared executemany on the driver: the rows are plain integers,
# bytes and text, and SQLAlchemy's per-row parameter processing cost more than SQLite.
_ENTRY_COLUMNS = ("tenant_id", "seq", "entry", "leaf_hash", "dictionary_id")
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


# The head is read and written once per append, on the driver too: through the ORM these
# two statements cost as much as a few dozen entries.
_READ_HEAD = (
    select(_head.c.size, _head.c.last_at, _head.c.frontier, _head.c.dictionary_id)
    .where(_head.c.tenant_id == bindparam("t"))
    .with_for_update()
)
_WRITE_HEAD = (
    update(_head)
    .where(_head.c.tenant_id == bindparam("t"))
    .values(
        size=bindparam("new_size"),
        last_at=bindparam("new_at"),
        frontier=bindparam("new_ends"),
        dictionary_id=bindparam("new_dict"),
    )
)
_WRITE_HEAD_COLUMNS = ("t", "new_size", "new_at", "new_ends", "new_dict")


def _locked_head(session: Session, tenant_id: int) -> tuple[int, datetime, bytes, int | None]:
    """(size, last_at, frontier, dictionary id) of the tenant's head, locked until the
    transaction ends."""
    rows = driver_rows(session, _READ_HEAD, {"t": tenant_id})
    if not rows:
        _create_head(session, tenant_id)
        rows = driver_rows(session, _READ_HEAD, {"t": tenant_id})
        assert rows
    size, last_at, frontier, dictionary = rows[0]
    return int(size), from_micros(last_at), bytes(frontier), dictionary


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
    size, last_at, packed, dictionary = _locked_head(session, tenant_id)
    if not drafts:
        return []
    now = now.astimezone(UTC)
    at = max(now, last_at + _US) if size else max(now, last_at)
    frontier = Frontier(size, packed)
    head, tail = _envelope(actor, at, tenant_public_id)
    entries: list[Entry] = []
    leaves: list[bytes] = []
    leaf_rows: list[tuple[int, int, bytes, bytes, int | None]] = []
    # The hot loop of every write: an entry is built without the frozen dataclass's
    # __init__ (a setattr per field), hashed from a SHA-256 state that has seen 0x00.
    new, set_fields, leaf_state = object.__new__, object.__setattr__, _LEAF
    shared = {"tenant": tenant_public_id, "at": at, "actor": actor}
    for seq, d in enumerate(drafts, size):
        e = new(Entry)
        # A Draft's fields are the entry's but for these four: a Draft's __dict__ holds them.
        fields = d.__dict__ if type(d) is Draft else _draft_fields(d)
        set_fields(e, "__dict__", {**fields, **shared, "seq": seq})
        raw = _entry_bytes(e, head, tail)
        h = leaf_state.copy()
        h.update(raw)
        leaf = h.digest()
        leaf_rows.append((tenant_id, seq, raw, leaf, None))
        leaves.append(leaf)
        entries.append(e)
    codec = _codec_for(session, tenant_id, dictionary, size, leaf_rows)
    if codec is not None:
        encode, id_ = codec.encode, codec.id
        leaf_rows = [(t, n, encode(raw), leaf, id_) for t, n, raw, leaf, _ in leaf_rows]
    completed: list[tuple[int, int, bytes]] = []
    frontier.extend(leaves, completed)
    driver_executemany(session, _INSERT_ENTRY, _ENTRY_COLUMNS, leaf_rows)
    if completed:
        nodes = [(tenant_id, lv, ix, h) for lv, ix, h in completed]
        driver_executemany(session, _INSERT_NODE, _NODE_COLUMNS, nodes)
    head_row = (
        tenant_id,
        frontier.size,
        to_micros(at),
        frontier.encode(),
        None if codec is None else codec.id,
    )
    driver_executemany(session, _WRITE_HEAD, _WRITE_HEAD_COLUMNS, [head_row])
    return entries


def _codec_for(
    session: Session,
    tenant_id: int,
    dictionary: int | None,
    size: int,
    rows: Sequence[tuple[int, int, bytes, bytes, int | None]],
) -> entry_codec.Codec | None:
    """The dictionary this append compresses with: the head's, or a new one trained on the
    log so far and these entries when it is due (`entry_codec`)."""
    current = None if dictionary is None else entry_codec.codec(session, tenant_id, dictionary)
    new_size = size + len(rows)
    if not entry_codec.due(session, tenant_id, current, new_size):
        return current
    fresh = [raw for _, _, raw, _, _ in rows[-entry_codec.SAMPLE :]]
    earlier = entry_codec.latest_entries(session, tenant_id, size, entry_codec.SAMPLE - len(fresh))
    return entry_codec.train(session, tenant_id, earlier + fresh, new_size) or current


# --- reading: sizes, roots, proofs ------------------------------------------------------


def tree_size(session: Session, tenant_id: int) -> int:
    return session.scalar(select(LogHead.size).where(LogHead.tenant_id == tenant_id)) or 0


#: Range reads per statement: well under SQLite's 500 terms of a compound SELECT.
_RANGES_PER_QUERY = 128


@functools.lru_cache(maxsize=512)
def _lookup(leaves: int, inner: int) -> ClauseElement:
    """A statement reading `leaves` ranges of leaf hashes and `inner` ranges of nodes.

    One SELECT per range, glued with UNION ALL: each is a primary-key range scan on both
    engines, where a single WHERE with many ORs made SQLite scan all of the tenant's nodes.
    Built (and compiled) once per shape.
    """
    e, n = _entries_table.c, _nodes_table.c
    tenant: BindParameter[int] = bindparam("t")
    parts: list[Select[Any, Any, Any]] = [
        select(literal_column("0").label("level"), e.seq, e.leaf_hash).where(
            e.tenant_id == tenant, e.seq >= bindparam(f"a{i}"), e.seq < bindparam(f"b{i}")
        )
        for i in range(leaves)
    ]
    parts += [
        select(n.level, n.idx, n.hash).where(
            n.tenant_id == tenant,
            n.level == bindparam(f"l{i}"),
            n.idx >= bindparam(f"c{i}"),
            n.idx < bindparam(f"d{i}"),
        )
        for i in range(inner)
    ]
    return parts[0] if len(parts) == 1 else union_all(*parts)


# On PostgreSQL one statement of constant text with arrays: prepared once by the driver,
# where a UNION ALL of range reads cost more to plan than to run. Each range is a LATERAL
# subquery kept apart by OFFSET 0, so it is a primary-key range scan: flattened into a join
# on the ranges, it was planned as a scan of all of the tenant's rows.
_PG_LOOKUP = text(
    "SELECT 0 AS level, e.seq AS idx, e.leaf_hash AS hash "
    "FROM unnest(CAST(:seq_lo AS BIGINT[]), CAST(:seq_hi AS BIGINT[])) AS r(lo, hi), "
    "LATERAL (SELECT seq, leaf_hash FROM journal_entries "
    "WHERE tenant_id = :t AND seq >= r.lo AND seq < r.hi OFFSET 0) AS e "
    "UNION ALL "
    "SELECT m.level, m.idx, m.hash "
    "FROM unnest(CAST(:levels AS INTEGER[]), CAST(:idx_lo AS BIGINT[]), "
    "CAST(:idx_hi AS BIGINT[])) AS w(level, lo, hi), "
    "LATERAL (SELECT level, idx, hash FROM merkle_nodes "
    "WHERE tenant_id = :t AND level = w.level AND idx >= w.lo AND idx < w.hi OFFSET 0) AS m"
)


def _read_stored(
    session: Session, tenant_id: int, spans: Mapping[int, Sequence[merkle.Range]]
) -> dict[merkle.Node, bytes]:
    """The stored hashes (level 0: leaves) in the given idx ranges of each stored level."""
    leaf_spans = list(spans.get(0, ()))
    node_spans = [(lv, lo, hi) for lv, found in sorted(spans.items()) if lv for lo, hi in found]
    out: dict[merkle.Node, bytes] = {}
    if session.get_bind().dialect.name == "postgresql":
        params = {
            "t": tenant_id,
            "seq_lo": [lo for lo, _ in leaf_spans],
            "seq_hi": [hi for _, hi in leaf_spans],
            "levels": [lv for lv, _, _ in node_spans],
            "idx_lo": [lo for _, lo, _ in node_spans],
            "idx_hi": [hi for _, _, hi in node_spans],
        }
        for lvl, idx, h in driver_rows(session, _PG_LOOKUP, params):
            out[(lvl, idx)] = bytes(h)
        return out
    everything = [(0, lo, hi) for lo, hi in leaf_spans] + node_spans
    for start in range(0, len(everything), _RANGES_PER_QUERY):
        chunk = everything[start : start + _RANGES_PER_QUERY]
        values: dict[str, Any] = {"t": tenant_id}
        leaves = [(lo, hi) for lv, lo, hi in chunk if lv == 0]
        inner = [(lv, lo, hi) for lv, lo, hi in chunk if lv]
        for i, (lo, hi) in enumerate(leaves):
            values[f"a{i}"], values[f"b{i}"] = lo, hi
        for i, (lv, lo, hi) in enumerate(inner):
            values[f"l{i}"], values[f"c{i}"], values[f"d{i}"] = lv, lo, hi
        for lvl, idx, h in driver_rows(session, _lookup(len(leaves), len(inner)), values):
            out[(lvl, idx)] = bytes(h)
    return out


def fetch_nodes(
    session: Session, tenant_id: int, wanted: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], bytes]:
    """Hashes of complete subtrees (level 0: leaves): stored ones by primary key, the others
    folded from the stored ones below them (`merkle.fold`), all read in one statement.

    Every proof's hot path: integers and bytes straight from the driver.
    """
    todo = set(wanted)
    if not todo:
        return {}
    stored = _read_stored(session, tenant_id, merkle.stored_ranges(todo))
    out: dict[tuple[int, int], bytes] = {}
    missing: list[tuple[int, int]] = []
    for node in todo:
        try:
            out[node] = merkle.fold(node, stored)
        except KeyError:
            missing.append(node)
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
    """(entry, its canonical bytes, its leaf hash) at `seq`, if the log has it."""
    row = session.execute(
        select(JournalEntry.entry, JournalEntry.dictionary_id, JournalEntry.leaf_hash).where(
            JournalEntry.tenant_id == tenant_id, JournalEntry.seq == seq
        )
    ).first()
    if row is None:
        return None
    raw = entry_codec.decode(session, tenant_id, row.entry, row.dictionary_id)
    return Entry.from_bytes(raw), raw, row.leaf_hash


def raw_entries_at(
    session: Session, tenant_id: int, seqs: Iterable[int]
) -> list[tuple[int, bytes]]:
    """(seq, canonical bytes) of the entries at these places of the log, in log order."""
    wanted = sorted(set(seqs))
    if not wanted:
        return []
    rows = session.execute(
        select(JournalEntry.seq, JournalEntry.entry, JournalEntry.dictionary_id)
        .where(JournalEntry.tenant_id == tenant_id, JournalEntry.seq.in_(wanted))
        .order_by(JournalEntry.seq)
    ).all()
    raws = entry_codec.decode_rows(session, tenant_id, [(r[1], r[2]) for r in rows])
    return [(int(r[0]), raw) for r, raw in zip(rows, raws, strict=True)]


def entries_at(session: Session, tenant_id: int, seqs: Iterable[int]) -> list[Entry]:
    """The entries at these places of the log, in log order."""
    return [Entry.from_bytes(raw) for _, raw in raw_entries_at(session, tenant_id, seqs)]


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
