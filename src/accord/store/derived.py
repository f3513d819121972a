"""Derived tables: answers computed from the version tables, kept in step by the write path.

Some questions are asked far more often than the facts behind them change: "is this asset
covered on D, as known at K?" is asked on every desk call, and answering it from the
version tables means reading the asset's whole book and deciding in Python. A derived
table holds the answer itself, bitemporally, so that the question is one index lookup.

A derived table is never written by capability code. A capability registers a
`Derivation` (its table, the entity types whose entries can change it, and a `refresh`
function); then

- `writes.record`, the one write path, calls `follow` in the same transaction right after
  the entries are applied: the derived rows change with the facts or not at all;
- `accord rebuild` and `verify.rebuild_check`, having replayed the journal into empty
  version tables, call its `rebuild`, which computes the whole table from them, recorded
  instant by recorded instant. The live table must be identical to it, so a refresh
  that missed a subject it should have followed is found like a tampered row.

Both see the version tables as known at an instant and read journal entries by place
through the `EntryReader` they are given (the live, verified journal). Rows carry
`recorded_from` / `recorded_to` like version rows: at an instant, the rows that stop
being true are closed and the new ones inserted (`settle`). Two refreshes at one instant
end where one would: a row recorded and closed at the same instant is deleted, and a row
closed at the instant that is wanted again is reopened.
"""

from __future__ import annotations

import functools
import importlib
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Insert, Table, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from accord.store.db import FOREVER, UtcMicros, driver_executemany, to_micros
from accord.store.journal import Entry

#: entries by their places in the tenant's log
EntryReader = Callable[[Sequence[int]], list[Entry]]
Refresh = Callable[[Session, int, Sequence[Entry], EntryReader], None]


@dataclass(frozen=True)
class Derivation:
    """A derived table and how to keep it. `refresh` is called with the entries, of the
    types in `follows`, recorded at one instant, after they are applied; `rebuild` fills
    the table for a tenant from nothing, from the version tables. Both are "module:function"
    paths, imported on first use, so that a capability's models module can register them
    without an import cycle."""

    name: str
    model: type[Any]
    follows: frozenset[str]
    refresh: str
    rebuild: str
    #: the columns rows are compared in, for `accord rebuild` (besides `row_id`, all are)
    order: tuple[str, ...]

    def call(self, which: str, *args: Any) -> None:
        module, _, name = getattr(self, which).partition(":")
        getattr(importlib.import_module(module), name)(*args)


#: name -> derivation; filled by the capabilities' models modules
DERIVATIONS: dict[str, Derivation] = {}


def register(d: Derivation) -> None:
    DERIVATIONS[d.name] = d


def follow(session: Session, tenant_id: int, entries: Sequence[Entry], read: EntryReader) -> None:
    """Refresh every derivation that follows some of `entries` (all recorded at one instant)."""
    for d in DERIVATIONS.values():
        mine = [e for e in entries if e.type in d.follows]
        if mine:
            d.call("refresh", session, tenant_id, mine, read)


def rebuild(session: Session, tenant_id: int, read: EntryReader) -> None:
    """Fill every derived table of the tenant (empty in `session`) from its version tables."""
    for d in DERIVATIONS.values():
        d.call("rebuild", session, tenant_id, read)


def settle(
    session: Session,
    model: type[Any],
    subjects: Iterable[tuple[list[dict[str, Any]], list[dict[str, Any]]]],
    *,
    columns: Sequence[str],
    now: datetime,
) -> None:
    """For each subject (an asset, say), make its currently-known rows (open, or closed at
    `now`: `known_rows`) say what is wanted (dicts of `columns` and the tenant's and
    subject's keys) from `now` on, with one statement of each kind for all of them.

    A wanted row already open stays as it is; one closed at `now` is reopened; one absent
    is inserted, recorded from `now`. A row open and not wanted is closed at `now`, or
    deleted when it was itself recorded at `now` (it was never known at any instant).
    """
    t = model.__table__
    close: list[int] = []
    drop: list[int] = []
    reopen: list[int] = []
    inserts: list[dict[str, Any]] = []

    def key(r: dict[str, Any]) -> Hashable:
        return tuple(r[c] for c in columns)

    for rows, wanted in subjects:
        need = Counter(key(w) for w in wanted)
        for r in sorted(rows, key=lambda r: r["recorded_to"] != FOREVER):  # open ones first
            k = key(r)
            if need[k] > 0:
                need[k] -= 1
                if r["recorded_to"] != FOREVER:
                    reopen.append(r["row_id"])
            elif r["recorded_to"] == FOREVER:
                (drop if r["recorded_from"] == now else close).append(r["row_id"])
        for w in wanted:
            k = key(w)
            if need[k] > 0:
                need[k] -= 1
                inserts.append({**w, "recorded_from": now, "recorded_to": FOREVER})
    if drop:
        session.execute(delete(t).where(t.c.row_id.in_(drop)))
    for ids, to in ((close, now), (reopen, FOREVER)):
        if ids:
            session.execute(
                update(t).where(t.c.row_id == bindparam("r")).values(recorded_to=to),
                [{"r": i} for i in ids],
            )
    if inserts:
        stmt, columns, micros = _insert_for(t)
        driver_executemany(
            session,
            stmt,
            columns,
            [
                [to_micros(r[c]) if c in micros and r[c] is not None else r[c] for c in columns]
                for r in inserts
            ],
        )


@functools.cache
def _insert_for(t: Table) -> tuple[Insert, tuple[str, ...], frozenset[str]]:
    """A derived table's INSERT of every column but `row_id`, for the driver's executemany
    (SQLAlchemy's per-row parameter handling cost more than the database here)."""
    columns = tuple(c.key for c in t.columns if c.key != "row_id")
    micros = frozenset(c.key for c in t.columns if isinstance(c.type, UtcMicros))
    return insert(t).values({c: bindparam(c) for c in columns}), columns, micros


def known_rows(
    session: Session, model: type[Any], tenant_id: int, key: str, ids: Sequence[str], now: datetime
) -> dict[str, list[dict[str, Any]]]:
    """The rows of these subjects (by column `key`) that are open, or were closed at `now`:
    what `settle` works on."""
    t = model.__table__
    out: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
    ids = list(out)
    for k in range(0, len(ids), 500):
        stmt = select(t).where(
            t.c.tenant_id == tenant_id,
            t.c[key].in_(ids[k : k + 500]),
            t.c.recorded_to.in_([FOREVER, now]),
        )
        for row in session.execute(stmt).mappings():
            out[row[key]].append(dict(row))
    return out
