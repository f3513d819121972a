"""Repairing the version tables from the journal: `accord rebuild` without `--check`.

The journal is the record; the version tables are what replaying it produces. When they
disagree (a row edited, deleted or added behind the write path's back, or a bug since
fixed) and the journal itself verifies, the tables are made to say again what the journal
says. `plan` replays the tenant's journal into empty tables with `temporal.apply_entry`,
the function the write path uses, and compares them with the live ones row by row;
`repair` does the same inside the caller's transaction, with the log head locked so that
no change is appended meanwhile, then deletes the live rows the replay does not have and
inserts the ones it has and the live tables lack. Rows that agree are left alone. The
derived tables (`accord.store.derived`) are recomputed from the replayed version tables
and compared and repaired the same way.

Neither touches the journal. Both first check it with `verify.verify_log` (leaves, nodes,
head, checkpoints): a journal that fails verification is no ground to rebuild from, and
they raise its VerificationError instead.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, RowMapping, delete, insert, select, tuple_
from sqlalchemy.orm import Session

from accord.store import derived, journal
from accord.store.checkpoints import Verifier
from accord.store.journal import Entry, LogHead
from accord.store.temporal import apply_entry
from accord.store.tenancy import Tenant
from accord.store.verify import (
    Replayed,
    VerificationError,
    replayed_tables,
    row_key,
    scratch_tables,
    table_rows,
    verify_log,
)

Progress = Callable[[int], None]

#: Entries replayed, and rows deleted or inserted, per statement.
BATCH = 1000


@dataclass
class TableDiff:
    """How one version table of a tenant differs from the replay of its journal.

    A row that differs in any column counts as one removed (the live row) and one added
    (the journal's row); `row_id` is an internal key and is not compared. Removed rows are
    named by their primary key (`verify.row_key`).
    """

    what: str  # "customer versions", "asset_coverage rows"
    table: str
    live: int = 0  # the tenant's rows in the live table
    replayed: int = 0  # the rows the journal's replay has
    removed: int = 0  # live rows the replay does not have
    added: int = 0  # replayed rows the live table lacks
    removed_ids: list[tuple[Any, ...]] = field(default_factory=list, repr=False)
    added_rows: list[dict[str, Any]] = field(default_factory=list, repr=False)

    @property
    def differs(self) -> bool:
        return bool(self.removed or self.added)


@dataclass
class Plan:
    """What rebuilding a tenant's version tables from its journal changes."""

    tenant: str
    entries: int
    tables: list[TableDiff]

    @property
    def differs(self) -> bool:
        return any(t.differs for t in self.tables)

    @property
    def removed(self) -> int:
        return sum(t.removed for t in self.tables)

    @property
    def added(self) -> int:
        return sum(t.added for t in self.tables)


def _columns(model: Any) -> list[str]:
    return [c.key for c in model.__table__.columns if c.key != "row_id"]


Group = tuple[tuple[Any, ...], list[RowMapping]]


def _groups(rows: Generator[RowMapping], order: Sequence[str]) -> Generator[Group]:
    """Consecutive rows with the same key (for a version table, the same entry and valid
    start): one row each, unless tampered."""
    group: list[RowMapping] = []
    key: tuple[Any, ...] = ()
    with closing(rows):
        for row in rows:
            k = tuple(row[c] for c in order)
            if group and k != key:
                yield key, group
                group = []
            key = k
            group.append(row)
    if group:
        yield key, group


def _diff(checked: Replayed, live: Session, replayed: Session, tenant_id: int) -> TableDiff:
    """Merge the two tables in their order, comparing each group of rows with one key (for
    a version table, one entry and valid start) as a multiset, so that a duplicated or
    reordered row is found as well as a changed one."""
    what, model, order = checked
    columns = _columns(model)
    key = row_key(model)
    diff = TableDiff(what, model.__tablename__)
    with (
        closing(_groups(table_rows(live, model, tenant_id, order), order)) as a_groups,
        closing(_groups(table_rows(replayed, model, tenant_id, order), order)) as b_groups,
    ):
        a, b = next(a_groups, None), next(b_groups, None)
        while a is not None or b is not None:
            if b is None or (a is not None and a[0] < b[0]):
                here, there = a[1] if a else [], []
                a = next(a_groups, None)
            elif a is None or b[0] < a[0]:
                here, there = [], b[1]
                b = next(b_groups, None)
            else:
                here, there = a[1], b[1]
                a, b = next(a_groups, None), next(b_groups, None)
            diff.live += len(here)
            diff.replayed += len(there)
            wanted = Counter(tuple(r[c] for c in columns) for r in there)
            for r in here:
                values = tuple(r[c] for c in columns)
                if wanted[values] > 0:
                    wanted[values] -= 1
                else:
                    diff.removed_ids.append(tuple(r[c] for c in key))
            for values, missing in wanted.items():
                diff.added_rows += [dict(zip(columns, values, strict=True))] * missing
    diff.removed, diff.added = len(diff.removed_ids), len(diff.added_rows)
    return diff


def _entries(session: Session, tenant_id: int, size: int) -> Iterator[list[Entry]]:
    """The first `size` entries of the log, in order, a page at a time (verified: no holes)."""
    for lo in range(0, size, BATCH):
        yield journal.entries_at(session, tenant_id, range(lo, min(lo + BATCH, size)))


def _compare(
    session: Session,
    tenant: Tenant,
    verifier: Verifier,
    *,
    verified: Progress | None,
    replayed: Progress | None,
    then: Callable[[Session, Plan], None] | None = None,
) -> Plan:
    """Verify the journal, replay it into empty tables, diff; `then` runs with the replay."""
    report = verify_log(session, tenant, verifier, progress=verified)
    engine = scratch_tables(tenant)
    try:
        with Session(engine) as target:
            for entries in _entries(session, tenant.id, report.entries):
                for e in entries:
                    apply_entry(target, tenant.id, e)
                if replayed:
                    replayed(len(entries))
            target.flush()
            derived.rebuild(
                target, tenant.id, lambda seqs: journal.entries_at(session, tenant.id, seqs)
            )
            target.flush()
            plan = Plan(
                tenant=tenant.slug,
                entries=report.entries,
                tables=[
                    _diff(checked, session, target, tenant.id) for checked in replayed_tables()
                ],
            )
            if then is not None:
                then(target, plan)
    finally:
        engine.dispose()
    return plan


def plan(
    session: Session,
    tenant: Tenant,
    verifier: Verifier,
    *,
    verified: Progress | None = None,
    replayed: Progress | None = None,
) -> Plan:
    """What `repair` would change, read from `session` (a snapshot); changes nothing.

    Raises VerificationError, naming the fault, if the journal does not verify.
    """
    return _compare(session, tenant, verifier, verified=verified, replayed=replayed)


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), BATCH):
        yield items[i : i + BATCH]


def _named(t: Any, key: Sequence[str], values: Sequence[tuple[Any, ...]]) -> ColumnElement[bool]:
    """The rows whose primary key (`key`) is one of `values`."""
    if len(key) == 1:
        return t.c[key[0]].in_([v[0] for v in values])  # type: ignore[no-any-return]
    return tuple_(*(t.c[c] for c in key)).in_(values)


def _lock_log(session: Session, tenant_id: int) -> None:
    """Hold the tenant's log head until the transaction ends, as an append does: nothing
    can be appended between verifying the journal and rewriting the tables from it. (On
    SQLite the writing unit of work already holds the database's write lock.)"""
    session.execute(
        select(LogHead.tenant_id).where(LogHead.tenant_id == tenant_id).with_for_update()
    ).first()


def repair(
    session: Session,
    tenant: Tenant,
    verifier: Verifier,
    *,
    verified: Progress | None = None,
    replayed: Progress | None = None,
) -> Plan:
    """Make the tenant's version tables what replaying its journal gives, in the caller's
    transaction (it commits, or rolls back on any error); returns what was changed.

    Raises VerificationError, changing nothing, if the journal does not verify, and
    AssertionError if the tables still differ afterwards (a bug: roll back).
    """
    _lock_log(session, tenant.id)

    models = {model.__tablename__: model for _, model, _ in replayed_tables()}

    def replace(target: Session, found: Plan) -> None:
        for diff in found.tables:
            if not diff.differs:
                continue
            t = models[diff.table].__table__
            for keys in _chunks(diff.removed_ids):
                session.execute(delete(t).where(_named(t, row_key(models[diff.table]), keys)))
            for rows in _chunks(diff.added_rows):
                session.execute(insert(t), list(rows))
        session.flush()
        after = [_diff(checked, session, target, tenant.id) for checked in replayed_tables()]
        left = [d.table for d in after if d.differs]
        if left:
            raise AssertionError(f"tables still differ from the journal after repair: {left}")

    return _compare(session, tenant, verifier, verified=verified, replayed=replayed, then=replace)


__all__ = ["Plan", "TableDiff", "VerificationError", "plan", "repair"]
