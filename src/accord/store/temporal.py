"""Bitemporal versions: valid time (true in the world) x recorded time (known to Accord).

Each versioned table holds rows ``[valid_from, valid_to) x [recorded_from, recorded_to)``.
A journal entry closes (sets ``recorded_to`` of) the currently-known rows it overlaps and
writes their untouched remainders and its own row, all stamped with its recorded time.
Nothing else changes a row, and ``apply_entry`` is the only code that does, both when
recording and when rebuilding from the journal, so the two cannot drift.
"""

from __future__ import annotations

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
    Select,
    String,
    and_,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, declared_attr, mapped_column

from accord.store.db import FOREVER, UtcMicros, utcnow
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
)


class Versioned:
    """Mixin for a bitemporal entity table. Subclasses set ``entity_type``."""

    entity_type: ClassVar[str]
    #: constraints of the subclass's own, added to the indexes every versioned table has
    extra_table_args: ClassVar[tuple[Any, ...]] = ()

    row_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entity_id: Mapped[str] = mapped_column(String(36))
    valid_from: Mapped[datetime] = mapped_column(UtcMicros)
    valid_to: Mapped[datetime] = mapped_column(UtcMicros)
    recorded_from: Mapped[datetime] = mapped_column(UtcMicros)
    recorded_to: Mapped[datetime] = mapped_column(UtcMicros)
    #: the journal entry that wrote this row
    seq: Mapped[int] = mapped_column(BigInteger)

    @declared_attr
    @classmethod
    def tenant_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("tenants.id"))

    @declared_attr.directive
    @classmethod
    def __table_args__(cls) -> tuple[Any, ...]:
        name = cls.__tablename__  # type: ignore[attr-defined]
        return (
            Index(f"ix_{name}_entity", "tenant_id", "entity_id", "recorded_to", "valid_from"),
            Index(f"ix_{name}_current", "tenant_id", "recorded_to", "valid_to"),
            *cls.extra_table_args,
        )

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if "entity_type" in cls.__dict__:
            REGISTRY[cls.entity_type] = cls

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


def model_for(entity_type: str) -> type[Versioned]:
    try:
        return REGISTRY[entity_type]
    except KeyError:
        raise ValueError(f"unknown entity type {entity_type!r}") from None


def check_data(model: type[Versioned], data: Mapping[str, Any]) -> None:
    unknown = set(data) - set(model.data_fields())
    if unknown:
        raise ValueError(f"{model.entity_type} has no field(s) {sorted(unknown)}")


def apply_entry(session: Session, tenant_id: int, e: Entry) -> None:
    """Make the version rows say what entry `e` says. Deterministic in (prior rows, e)."""
    model = model_for(e.type)
    check_data(model, e.data)
    t = model.__table__  # type: ignore[attr-defined]
    fields = model.data_fields()
    overlapping = (
        session.execute(
            select(t)
            .where(
                t.c.tenant_id == tenant_id,
                t.c.entity_id == e.id,
                t.c.recorded_to == FOREVER,
                t.c.valid_from < e.valid_to,
                t.c.valid_to > e.valid_from,
            )
            .order_by(t.c.valid_from)
        )
        .mappings()
        .all()
    )
    if overlapping:
        session.execute(
            update(t)
            .where(t.c.row_id.in_([r["row_id"] for r in overlapping]))
            .values(recorded_to=e.at)
        )

    def row(data: Mapping[str, Any], vf: datetime, vt: datetime) -> dict[str, Any]:
        return {
            **{f: data.get(f) for f in fields},
            "tenant_id": tenant_id,
            "entity_id": e.id,
            "valid_from": vf,
            "valid_to": vt,
            "recorded_from": e.at,
            "recorded_to": FOREVER,
            "seq": e.seq,
        }

    rows: list[dict[str, Any]] = []
    for r in overlapping:
        before = {f: r[f] for f in fields}
        if r["valid_from"] < e.valid_from:
            rows.append(row(before, r["valid_from"], e.valid_from))
        if e.op == Op.PATCH:
            rows.append(
                row(
                    {**before, **e.data},
                    max(r["valid_from"], e.valid_from),
                    min(r["valid_to"], e.valid_to),
                )
            )
        if r["valid_to"] > e.valid_to:
            rows.append(row(before, e.valid_to, r["valid_to"]))
    if e.op == Op.ASSERT:
        rows.append(row(e.data, e.valid_from, e.valid_to))
    if rows:
        session.execute(insert(t), rows)


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
    start, as known just before the entry and as known by it, and the patch between."""
    out = []
    for e in entries:
        at_valid = e.valid_from
        old = version_of(session, model, tenant_id, e.id, on=at_valid, known_at=just_before(e.at))
        new = version_of(session, model, tenant_id, e.id, on=at_valid, known_at=e.at)
        out.append(
            {
                "entry": e,
                "before": old.data() if old else None,
                "after": new.data() if new else None,
                "patch": delta(old.data() if old else None, new.data() if new else None),
            }
        )
    return out
