"""Bitemporal versions: valid time (true in the world) x recorded time (known to Accord).

Each versioned table holds rows ``[valid_from, valid_to) x [recorded_from, recorded_to)``.
A journal entry closes (sets ``recorded_to`` of) the currently-known rows it overlaps and
writes their untouched remainders and its own row, all stamped with its recorded time.
Nothing else changes a row, and ``apply_entry`` is the only code that does, both when
recording and when rebuilding from the journal, so the two cannot drift.

An entity type that records only what happened, once (the steps of an offer's journey),
is a ``Fact`` instead: the journal holds it whole and its table a narrow row to find it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, TypeVar

import jsonpatch
from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Select,
    String,
    and_,
    bindparam,
    func,
    insert,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import Mapped, Session, declared_attr, mapped_column

from accord.store import journal
from accord.store.db import FOREVER, UtcMicros, driver_rows, to_micros, utcnow
from accord.store.journal import Entry, Op

#: entity type name -> versioned model; filled by subclassing Versioned.
REGISTRY: dict[str, type[Versioned]] = {}
M = TypeVar("M", bound="Versioned")

TEMPORAL_COLUMNS = (
    "row_id",
    "tenant_id",
    "entity_id",
    "valid_from",
    "valid_to",
    "recorded_from",
    "recorded_to",
    "seq",
    "closed_by",
)


class _EntityTable:
    """What every entity table has, versions or facts: the tenant of each row, and its
    entity type registered (in `entity_types`) for the journal's entries to find it."""

    entity_type: ClassVar[str]
    entity_types: ClassVar[dict[str, Any]]

    @declared_attr
    @classmethod
    def tenant_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("tenants.id"))

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if "entity_type" in cls.__dict__:
            cls.entity_types[cls.entity_type] = cls


class Versioned(_EntityTable):
    """Mixin for a bitemporal entity table. Subclasses set ``entity_type``."""

    entity_types = REGISTRY
    #: constraints of the subclass's own, added to the indexes every versioned table has
    extra_table_args: ClassVar[tuple[Any, ...]] = ()
    #: data fields entries once carried that the table no longer keeps: a replay of an old
    #: journal skips them, and a PATCH of nothing else changes nothing
    retired_fields: ClassVar[frozenset[str]] = frozenset()

    row_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entity_id: Mapped[str] = mapped_column(String(36))
    valid_from: Mapped[datetime] = mapped_column(UtcMicros)
    valid_to: Mapped[datetime] = mapped_column(UtcMicros)
    recorded_from: Mapped[datetime] = mapped_column(UtcMicros)
    recorded_to: Mapped[datetime] = mapped_column(UtcMicros)
    #: the journal entry that wrote this row
    seq: Mapped[int] = mapped_column(BigInteger)
    #: the journal entry that closed it (set with `recorded_to`), so that an entity's rows
    #: name every entry that changed it: its history needs no index of its own
    closed_by: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    @declared_attr.directive
    @classmethod
    def __table_args__(cls) -> tuple[Any, ...]:
        name = cls.__tablename__  # type: ignore[attr-defined]
        return (
            Index(f"ix_{name}_entity", "tenant_id", "entity_id", "recorded_to", "valid_from"),
            Index(f"ix_{name}_current", "tenant_id", "recorded_to", "valid_to"),
            *cls.extra_table_args,
        )

    @classmethod
    def data_fields(cls) -> list[str]:
        cols = cls.__table__.columns  # type: ignore[attr-defined]
        return [c.key for c in cols if c.key not in TEMPORAL_COLUMNS]

    def data(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.data_fields()}


@dataclass(frozen=True)
class AsOf:
    """The two times every read takes: true on `on` (valid), as known at `known_at` (recorded)."""

    on: datetime
    known_at: datetime

    @classmethod
    def now(cls) -> AsOf:
        t = utcnow()
        return cls(t, t)

    @classmethod
    def of(cls, on: datetime | None, known_at: datetime | None) -> AsOf:
        t = utcnow()
        return cls(on or t, known_at or t)


# --- facts ----------------------------------------------------------------------------

#: entity type name -> fact model; filled by subclassing Fact.
FACTS: dict[str, type[Fact]] = {}


class Fact(_EntityTable):
    """Mixin for an entity type whose entries record things that happened and are never
    changed (a screen shown, a box ticked). The journal keeps each one whole; the table
    keeps one narrow row to find it by, because a version row would only copy its entry,
    and for the steps of an offer's journey that copy was most of what an offer cost.

    A fact belongs to a parent entity (`parent`, an entity type, named by the data field
    `parent_field`) and has a place `n` among the parent's facts and a `kind`. Its row is
    (tenant, the parent's first entry, n) -> (kind, the fact's own entry), so a second
    fact at one place is refused by the primary key. A fact is asserted once, for all
    time: no PATCH, no END, no end of validity.
    """

    entity_types = FACTS
    parent: ClassVar[str]
    parent_field: ClassVar[str]
    #: every data field an entry of it may carry (its content; the row keeps `n`, `kind`)
    fields: ClassVar[tuple[str, ...]]
    #: constraints of the subclass's own
    extra_table_args: ClassVar[tuple[Any, ...]] = ()

    #: the journal entry that made the parent (its first), which never changes
    parent_seq: Mapped[int] = mapped_column(BigInteger)
    n: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    #: the journal entry that recorded the fact: the fact itself
    seq: Mapped[int] = mapped_column(BigInteger)

    @declared_attr.directive
    @classmethod
    def __table_args__(cls) -> tuple[Any, ...]:
        # Without a rowid on SQLite the key is the table: one B-tree, rows of a few bytes.
        return (
            PrimaryKeyConstraint("tenant_id", "parent_seq", "n"),
            *cls.extra_table_args,
            {"sqlite_with_rowid": False},
        )

    @classmethod
    def data_fields(cls) -> list[str]:
        return list(cls.fields)


def model_for(entity_type: str) -> type[Versioned]:
    """The version table of an entity type (not a fact's: see `entity_model`)."""
    try:
        return REGISTRY[entity_type]
    except KeyError:
        raise ValueError(f"unknown entity type {entity_type!r}") from None


def entity_model(entity_type: str) -> type[Versioned] | type[Fact]:
    """The table an entity type's entries are applied to: its versions, or its facts."""
    if entity_type in FACTS:
        return FACTS[entity_type]
    return model_for(entity_type)


def check_data(model: type[Versioned] | type[Fact], data: Mapping[str, Any]) -> None:
    known = set(model.data_fields())
    if issubclass(model, Versioned):
        known |= model.retired_fields
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"{model.entity_type} has no field(s) {sorted(unknown)}")


def apply_entry(session: Session, tenant_id: int, e: Entry) -> bool:
    """Make the version rows say what entry `e` says. Deterministic in (prior rows, e).

    False when `e` changed no row (an END or PATCH where the entity has no version): such
    an entry would be missing from the entity's history, which is read from its rows, so
    `writes.record` refuses it; a replay of an old journal accepts it.
    """
    return apply_entries(session, tenant_id, [e])[0]


#: entity ids per statement when reading the rows a batch touches
_IDS_PER_READ = 500


def apply_entries(session: Session, tenant_id: int, entries: Sequence[Entry]) -> list[bool]:
    """`apply_entry` for each entry in order, with one read, one update and one insert per
    table for the whole batch instead of per entry; the rows are the same, in the same
    order. Whether each entry changed a row.

    Each entry closes (`recorded_to`, `closed_by`) the currently-known rows of its entity
    that overlap its valid interval and writes their untouched remainders and, for ASSERT
    and PATCH, its own data, all recorded from the entry's time. A row written and closed
    within the batch is inserted closed.
    """
    changed = [False] * len(entries)
    by_model: dict[type[Versioned] | type[Fact], list[int]] = {}
    for i, e in enumerate(entries):
        model = entity_model(e.type)
        check_data(model, e.data)
        by_model.setdefault(model, []).append(i)
    for model, positions in by_model.items():
        mine = [entries[i] for i in positions]
        if issubclass(model, Fact):
            _apply_facts(session, tenant_id, model, mine, changed, positions)
        else:
            _apply_to_table(session, tenant_id, model, mine, changed, positions)
    return changed


def _apply_facts(
    session: Session,
    tenant_id: int,
    model: type[Fact],
    entries: Sequence[Entry],
    changed: list[bool],
    positions: Sequence[int],
) -> None:
    """One row per fact; a fact whose parent has no version changes nothing (refused by
    `writes.record`, like a PATCH of nothing)."""
    parent = model_for(model.parent)
    first: dict[Any, int | None] = {}
    rows: list[dict[str, Any]] = []
    for pos, e in zip(positions, entries, strict=True):
        if e.op != Op.ASSERT or e.valid_to != FOREVER:
            raise ValueError(
                f"{model.entity_type} {e.id}: a fact is asserted once, for all time "
                f"({e.op} with valid_to {e.valid_to:%Y-%m-%d} refused)"
            )
        parent_id = e.data.get(model.parent_field)
        if parent_id not in first:
            first[parent_id] = session.scalar(
                select(func.min(parent.seq)).where(
                    parent.tenant_id == tenant_id, parent.entity_id == parent_id
                )
            )
        parent_seq = first[parent_id]
        if parent_seq is None:
            continue
        rows.append(
            {
                "tenant_id": tenant_id,
                "parent_seq": parent_seq,
                "n": e.data["n"],
                "kind": e.data["kind"],
                "seq": e.seq,
            }
        )
        changed[pos] = True
    if rows:
        session.execute(insert(model.__table__), rows)  # type: ignore[attr-defined]


def _apply_to_table(
    session: Session,
    tenant_id: int,
    model: type[Versioned],
    entries: Sequence[Entry],
    changed: list[bool],
    positions: Sequence[int],
) -> None:
    t = model.__table__  # type: ignore[attr-defined]
    fields = model.data_fields()
    retired = model.retired_fields
    # The currently-known rows of every entity in the batch: read once.
    current: dict[str, list[dict[str, Any]]] = {e.id: [] for e in entries}
    ids = list(current)
    for k in range(0, len(ids), _IDS_PER_READ):
        stmt = select(t).where(
            t.c.tenant_id == tenant_id,
            t.c.entity_id.in_(ids[k : k + _IDS_PER_READ]),
            t.c.recorded_to == FOREVER,
        )
        for found in session.execute(stmt).mappings():
            current[found["entity_id"]].append(dict(found))
    closed: list[dict[str, Any]] = []  # existing rows: row_id, recorded_to, closed_by
    inserts: list[dict[str, Any]] = []  # new rows, in the order one-by-one applying writes them
    for pos, e in zip(positions, entries, strict=True):
        if retired and e.op == Op.PATCH and set(e.data) <= retired:
            continue  # an old entry's fields the table no longer keeps: nothing to change

        def row(
            data: Mapping[str, Any], vf: datetime, vt: datetime, e: Entry = e
        ) -> dict[str, Any]:
            return {
                **{f: data.get(f) for f in fields},
                "tenant_id": tenant_id,
                "entity_id": e.id,
                "valid_from": vf,
                "valid_to": vt,
                "recorded_from": e.at,
                "recorded_to": FOREVER,
                "seq": e.seq,
                "closed_by": None,
            }

        rows_now = current[e.id]
        overlapping = sorted(
            (r for r in rows_now if r["valid_from"] < e.valid_to and r["valid_to"] > e.valid_from),
            key=lambda r: r["valid_from"],
        )
        written: list[dict[str, Any]] = []
        for r in overlapping:
            before = {f: r[f] for f in fields}
            if r["valid_from"] < e.valid_from:
                written.append(row(before, r["valid_from"], e.valid_from))
            if e.op == Op.PATCH:
                vf, vt = max(r["valid_from"], e.valid_from), min(r["valid_to"], e.valid_to)
                written.append(row({**before, **e.data}, vf, vt))
            if r["valid_to"] > e.valid_to:
                written.append(row(before, e.valid_to, r["valid_to"]))
            # close it: a row of this batch is still a dict waiting to be inserted
            r["recorded_to"], r["closed_by"] = e.at, e.seq
            if "row_id" in r:
                closed.append({"r": r["row_id"], "at": e.at, "by": e.seq})
        if e.op == Op.ASSERT:
            written.append(row(e.data, e.valid_from, e.valid_to))
        if overlapping:
            gone = {id(r) for r in overlapping}
            rows_now[:] = [r for r in rows_now if id(r) not in gone]
        rows_now.extend(written)
        inserts.extend(written)
        changed[pos] = bool(overlapping or written)
    if closed:
        session.execute(
            update(t)
            .where(t.c.row_id == bindparam("r"))
            .values(recorded_to=bindparam("at"), closed_by=bindparam("by")),
            closed,
        )
    if inserts:
        session.execute(insert(t), inserts)


# --- reading --------------------------------------------------------------------------


def as_of(model: type[M], tenant_id: int, *, on: datetime, known_at: datetime) -> Select[M]:
    """Versions true on `on` as Accord knew them at `known_at`; add filters and run."""
    return select(model).where(
        model.tenant_id == tenant_id,
        model.recorded_from <= known_at,
        model.recorded_to > known_at,
        model.valid_from <= on,
        model.valid_to > on,
    )


def version_of(
    session: Session,
    model: type[M],
    tenant_id: int,
    entity_id: str,
    *,
    on: datetime,
    known_at: datetime,
) -> M | None:
    return session.scalar(
        as_of(model, tenant_id, on=on, known_at=known_at).where(model.entity_id == entity_id)
    )


def timeline(
    session: Session, model: type[M], tenant_id: int, entity_id: str, *, known_at: datetime
) -> list[M]:
    """Every valid-time period of an entity as known at `known_at`, in order."""
    return list(
        session.scalars(
            select(model)
            .where(
                model.tenant_id == tenant_id,
                model.entity_id == entity_id,
                model.recorded_from <= known_at,
                model.recorded_to > known_at,
            )
            .order_by(model.valid_from)
        )
    )


def exists_ever(session: Session, model: type[Versioned], tenant_id: int, entity_id: str) -> bool:
    return (
        session.scalar(
            select(model.row_id)
            .where(and_(model.tenant_id == tenant_id, model.entity_id == entity_id))
            .limit(1)
        )
        is not None
    )


def entity_seqs(
    session: Session,
    tenant_id: int,
    entity_ids: Sequence[str],
    models: Sequence[type[Versioned]] | None = None,
) -> list[int]:
    """The places of every entry about these entities, in log order.

    Every entry wrote or closed at least one version row of its entity (`apply_entry`), and
    each row names both (`seq`, `closed_by`), so the rows are the index. Without `models`
    every versioned table is searched (by its entity index), for callers that know only ids,
    and the facts of these entities come too (an offer's journey with the offer).
    """
    if not entity_ids:
        return []
    ids = sorted(set(entity_ids))
    parts: list[Select[Any]] = []
    for model in models if models is not None else list(REGISTRY.values()):
        t = model.__table__  # type: ignore[attr-defined]
        about = and_(t.c.tenant_id == tenant_id, t.c.entity_id.in_(ids))
        parts.append(select(t.c.seq.label("seq")).where(about))
        parts.append(select(t.c.closed_by.label("seq")).where(about, t.c.closed_by.is_not(None)))
    if models is None:
        for fact in FACTS.values():
            parent = model_for(fact.parent)
            firsts = (
                select(func.min(parent.seq))
                .where(parent.tenant_id == tenant_id, parent.entity_id.in_(ids))
                .group_by(parent.entity_id)
            )
            f = fact.__table__  # type: ignore[attr-defined]
            parts.append(
                select(f.c.seq.label("seq")).where(
                    f.c.tenant_id == tenant_id, f.c.parent_seq.in_(firsts)
                )
            )
    return sorted(set(session.scalars(union_all(*parts))))


def closing_seqs(
    session: Session,
    tenant_id: int,
    model: type[Versioned],
    entity_id: str,
    *,
    on: datetime,
    known_at: datetime,
) -> list[int]:
    """The places of the entries, recorded by `known_at`, that closed a version of the
    entity true on `on`: what changed it there, such as the END that took it away. In log
    order. From the version rows alone (`closed_by`), so that it answers in replayed
    tables as in live ones; the caller reads the entries from the journal."""
    rows = driver_rows(
        session,
        _closing_statement(model.entity_type),
        {"t": tenant_id, "id": entity_id, "on": to_micros(on), "k": to_micros(known_at)},
    )
    return sorted({seq for (seq,) in rows})


@functools.cache
def _closing_statement(entity_type: str) -> Select[Any]:
    t = model_for(entity_type).__table__  # type: ignore[attr-defined]
    return select(t.c.closed_by).where(
        t.c.tenant_id == bindparam("t"),
        t.c.entity_id == bindparam("id"),
        t.c.recorded_to <= bindparam("k", type_=BigInteger),
        t.c.valid_from <= bindparam("on", type_=BigInteger),
        t.c.valid_to > bindparam("on", type_=BigInteger),
    )


def entries_for(
    session: Session, tenant_id: int, entity_id: str, model: type[Versioned] | None = None
) -> list[Entry]:
    """Every entry about one entity, in log order: its whole recorded story."""
    models = None if model is None else [model]
    return journal.entries_at(
        session, tenant_id, entity_seqs(session, tenant_id, [entity_id], models)
    )


def delta(
    before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> list[dict[str, Any]]:
    """RFC 6902 JSON Patch taking one version's data to another's."""
    patch = jsonpatch.make_patch(dict(before or {}), dict(after or {}))
    return list(patch.patch)


def just_before(t: datetime) -> datetime:
    return t - timedelta(microseconds=1)


def changes(
    session: Session, model: type[Versioned], tenant_id: int, entries: Sequence[Entry]
) -> list[dict[str, Any]]:
    """Each entry about an entity with what it changed: the record at the entry's valid
    start, as known just before the entry and as known by it, and the patch between.
    Datetimes in the records are written as the journal writes them (a JSON patch
    compares JSON values)."""
    out = []
    for e in entries:
        at_valid = e.valid_from
        old = version_of(session, model, tenant_id, e.id, on=at_valid, known_at=just_before(e.at))
        new = version_of(session, model, tenant_id, e.id, on=at_valid, known_at=e.at)
        before = _as_json(old.data()) if old else None
        after = _as_json(new.data()) if new else None
        out.append({"entry": e, "before": before, "after": after, "patch": delta(before, after)})
    return out


def _as_json(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (journal.iso(v) if isinstance(v, datetime) else v) for k, v in data.items()}
