"""Reading agreements as of any valid time and any recorded time: assets, contracts,
entitlement, coverage over time, charges and budgets. Scoped to the actor's tenant.

`get_asset_for` and `get_contract_for` are the access checks for their records; API,
pages and CLI all use them. Everyone in the tenant may read; auditors only read.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, func, or_, select, text, tuple_
from sqlalchemy.orm import Session

from accord.access import Actor
from accord.agreements import coverage
from accord.agreements.coverage import AssetV, Cause, ContractV, LineV, Segment
from accord.agreements.models import (
    Asset,
    Calendar,
    Contract,
    ContractLine,
    Invoice,
    ServiceLevel,
)
from accord.agreements.schemas import Entitlement
from accord.errors import NotFound
from accord.store import temporal
from accord.store.db import driver_rows, from_micros, to_micros, utcnow
from accord.store.temporal import AsOf, Versioned

__all__ = ["AsOf"]

V = TypeVar("V", bound=Versioned)


def _like(q: str) -> str:
    """A LIKE pattern for what was typed: % and _ are literal, not wildcards."""
    needle = q.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{needle}%"


def _known(model: type[V], tenant_id: int, known_at: datetime) -> Select[V]:
    """Every valid-time period of `model`'s records as known at `known_at`."""
    return select(model).where(
        model.tenant_id == tenant_id,
        model.recorded_from <= known_at,
        model.recorded_to > known_at,
    )


def _latest(session: Session, actor: Actor, model: type[V], id_: str, when: AsOf | None) -> V:
    """The record as of `when`, or else its last known version (a cancelled contract, a
    retired asset's old record), so that pages about the past still open."""
    when = when or AsOf.now()
    found = temporal.version_of(
        session, model, actor.tenant_id, id_, on=when.on, known_at=when.known_at
    )
    if found is not None:
        return found
    periods = temporal.timeline(session, model, actor.tenant_id, id_, known_at=when.known_at)
    if not periods:
        raise NotFound(f"no {model.entity_type.replace('_', ' ')} {id_}")
    before = [p for p in periods if p.valid_from <= when.on]
    return before[-1] if before else periods[0]


# --- assets ----------------------------------------------------------------------------


def get_asset_for(session: Session, actor: Actor, asset_id: str, when: AsOf | None = None) -> Asset:
    return _latest(session, actor, Asset, asset_id, when)


#: what a record id looks like (a UUID): anything else is only ever a tag or a serial
_ID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def find_asset(session: Session, actor: Actor, key: str, when: AsOf | None = None) -> Asset:
    """An asset by id, tag or serial (exact, case-insensitive), as of `when`; a tag or
    serial also finds an asset that has since changed it."""
    when = when or AsOf.now()
    return get_asset_for(session, actor, asset_id_for(session, actor, key, when), when)


# The ids of the assets whose tag (1) or serial (2) is the key, in any period as known at
# :k, with each period: on the driver, as the desk's "is TAG covered?" starts with it.
_BY_KEY_SQL = text(
    """
SELECT 1, entity_id, valid_from, valid_to FROM assets
WHERE tenant_id = :t AND lower(tag) = :key AND recorded_from <= :k AND recorded_to > :k
UNION ALL
SELECT 2, entity_id, valid_from, valid_to FROM assets
WHERE tenant_id = :t AND lower(serial) = :key AND recorded_from <= :k AND recorded_to > :k
"""
)


def asset_id_for(session: Session, actor: Actor, key: str, when: AsOf) -> str:
    """The id of the asset that `key` (its id, tag or serial) names as of `when`: the one
    with that tag on the day, else the last to have had it; then the same by serial."""
    key = key.strip()
    if _ID.fullmatch(key) and temporal.timeline(
        session, Asset, actor.tenant_id, key, known_at=when.known_at
    ):
        return key
    rows = driver_rows(
        session,
        _BY_KEY_SQL,
        {"t": actor.tenant_id, "key": key.lower(), "k": to_micros(when.known_at)},
    )
    on = to_micros(when.on)
    for kind in (1, 2):
        found = sorted((r for r in rows if r[0] == kind), key=lambda r: r[2])
        if found:
            on_day = [r for r in found if r[2] <= on < r[3]]
            return str((on_day or found[-1:])[0][1])
    raise NotFound(f"no asset with the id, tag or serial {key!r}")


def list_assets(
    session: Session,
    *,
    actor: Actor,
    when: AsOf,
    q: str | None = None,
    customer_id: str | None = None,
    site_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[Asset], int]:
    """Assets as of `when`, searched by tag, serial, make, model or type; with the total."""
    stmt = temporal.as_of(Asset, actor.tenant_id, on=when.on, known_at=when.known_at)
    if q:
        like = _like(q)
        cols = (Asset.tag, Asset.serial, Asset.make, Asset.model, Asset.asset_type)
        stmt = stmt.where(or_(*(func.lower(c).like(like, escape="\\") for c in cols)))
    if customer_id:
        stmt = stmt.where(Asset.customer_id == customer_id)
    if site_id:
        stmt = stmt.where(Asset.site_id == site_id)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(Asset.tag, Asset.entity_id).limit(limit).offset(offset))
    return list(rows), total


def tag_taken(
    session: Session,
    tenant_id: int,
    tag: str,
    *,
    on: datetime,
    known_at: datetime,
    other_than: str | None,
) -> bool:
    stmt = temporal.as_of(Asset, tenant_id, on=on, known_at=known_at).where(
        func.lower(Asset.tag) == tag.lower()
    )
    return any(a.entity_id != other_than for a in session.scalars(stmt))


def asset_key_taken(session: Session, tenant_id: int, key: str, *, other_than: str | None) -> bool:
    """Whether another asset of the tenant has the external key, in any period as known
    now (a removed asset keeps its key)."""
    stmt = _known(Asset, tenant_id, utcnow()).where(Asset.external_key == key)
    return any(a.entity_id != other_than for a in session.scalars(stmt))


# --- service levels, calendars, contracts ----------------------------------------------


def list_service_levels(session: Session, *, actor: Actor, when: AsOf) -> list[ServiceLevel]:
    stmt = temporal.as_of(ServiceLevel, actor.tenant_id, on=when.on, known_at=when.known_at)
    return list(session.scalars(stmt.order_by(ServiceLevel.name)))


def list_calendars(session: Session, *, actor: Actor, when: AsOf) -> list[Calendar]:
    stmt = temporal.as_of(Calendar, actor.tenant_id, on=when.on, known_at=when.known_at)
    return list(session.scalars(stmt.order_by(Calendar.name)))


def get_service_level_for(
    session: Session, actor: Actor, id_: str, when: AsOf | None = None
) -> ServiceLevel:
    return _latest(session, actor, ServiceLevel, id_, when)


def get_calendar_for(
    session: Session, actor: Actor, id_: str, when: AsOf | None = None
) -> Calendar:
    return _latest(session, actor, Calendar, id_, when)


def get_contract_for(
    session: Session, actor: Actor, contract_id: str, when: AsOf | None = None
) -> Contract:
    return _latest(session, actor, Contract, contract_id, when)


def contract_by_reference(
    session: Session, actor: Actor, reference: str, when: AsOf | None = None
) -> Contract | None:
    when = when or AsOf.now()
    stmt = _known(Contract, actor.tenant_id, when.known_at).where(Contract.reference == reference)
    rows = list(session.scalars(stmt.order_by(Contract.valid_from)))
    return rows[-1] if rows else None


def list_contracts(
    session: Session,
    *,
    actor: Actor,
    when: AsOf,
    customer_id: str | None = None,
    q: str | None = None,
    include_ended: bool = True,
) -> list[Contract]:
    """Contracts as known at `when.known_at`: those in force on `when.on`, and with
    `include_ended` the last version of those not in force then (ended, cancelled, future)."""
    stmt = _known(Contract, actor.tenant_id, when.known_at)
    if customer_id:
        stmt = stmt.where(Contract.customer_id == customer_id)
    if q:
        like = _like(q)
        stmt = stmt.where(
            or_(
                func.lower(Contract.reference).like(like, escape="\\"),
                func.lower(Contract.title).like(like, escape="\\"),
            )
        )
    best: dict[str, Contract] = {}
    for c in session.scalars(stmt.order_by(Contract.valid_from)):
        in_force = c.valid_from <= when.on < c.valid_to
        if in_force or include_ended:
            prev = best.get(c.entity_id)
            if prev is None or not (prev.valid_from <= when.on < prev.valid_to):
                best[c.entity_id] = c
    return sorted(best.values(), key=lambda c: c.reference)


def in_force(contract: Contract, on: datetime) -> bool:
    return contract.valid_from <= on < contract.valid_to


def contract_periods(
    session: Session, actor: Actor, contract_id: str, *, known_at: datetime
) -> list[Contract]:
    return temporal.timeline(session, Contract, actor.tenant_id, contract_id, known_at=known_at)


def lines_of(session: Session, actor: Actor, contract_id: str, *, when: AsOf) -> list[ContractLine]:
    """The contract's lines as known at `when.known_at`: the version on `when.on`, or the
    last one before it (ended lines), or the first after it (lines that start later)."""
    stmt = _known(ContractLine, actor.tenant_id, when.known_at).where(
        ContractLine.contract_id == contract_id
    )
    best: dict[str, ContractLine] = {}
    for ln in session.scalars(stmt.order_by(ContractLine.valid_from)):
        prev = best.get(ln.entity_id)
        if prev is None or ln.valid_from <= when.on:
            best[ln.entity_id] = ln
    return sorted(best.values(), key=lambda ln: (ln.asset_id is None, ln.valid_from, ln.entity_id))


def line_covering(
    session: Session,
    actor: Actor,
    contract_id: str,
    asset_id: str,
    *,
    start: datetime,
    end: datetime,
) -> ContractLine | None:
    """A line of the contract for this very asset over any of [start, end), as known now."""
    stmt = _known(ContractLine, actor.tenant_id, AsOf.now().known_at).where(
        ContractLine.contract_id == contract_id,
        ContractLine.asset_id == asset_id,
        ContractLine.valid_from < end,
        ContractLine.valid_to > start,
    )
    return session.scalars(stmt.order_by(ContractLine.valid_from).limit(1)).first()


def get_line_for(
    session: Session, actor: Actor, line_id: str, when: AsOf | None = None
) -> ContractLine:
    return _latest(session, actor, ContractLine, line_id, when)


def line_periods(
    session: Session, actor: Actor, line_id: str, *, known_at: datetime
) -> list[ContractLine]:
    return temporal.timeline(session, ContractLine, actor.tenant_id, line_id, known_at=known_at)


def contract_history(
    session: Session, actor: Actor, contract_id: str, *, known_at: datetime | None = None
) -> list[dict[str, Any]]:
    """Every recorded change to the contract and to its lines, newest first: who, when
    recorded, from when true, why, and the RFC 6902 delta it made. With `known_at`, only
    the changes recorded by then (the history as it stood that day)."""
    if not temporal.exists_ever(session, Contract, actor.tenant_id, contract_id):
        raise NotFound(f"no contract {contract_id}")
    related: list[tuple[type[Versioned], str]] = [(Contract, contract_id)]
    line_ids = session.scalars(
        select(ContractLine.entity_id)
        .where(ContractLine.tenant_id == actor.tenant_id, ContractLine.contract_id == contract_id)
        .distinct()
    )
    related += [(ContractLine, i) for i in line_ids]
    out: list[dict[str, Any]] = []
    for model, entity_id in related:
        entries = temporal.entries_for(session, actor.tenant_id, entity_id, model)
        if known_at is not None:
            entries = [e for e in entries if e.at <= known_at]
        out += temporal.changes(session, model, actor.tenant_id, entries)
    out.sort(key=lambda c: c["entry"].seq, reverse=True)
    return out


# --- versions as plain values, as known at one recorded time ----------------------------


def _asset_v(a: Asset) -> AssetV:
    label = " ".join(x for x in (a.make, a.model) if x)
    return AssetV(
        a.entity_id,
        a.valid_from,
        a.valid_to,
        a.customer_id,
        a.site_id,
        a.asset_type,
        a.status,
        a.tag,
        label,
    )


def _line_v(ln: ContractLine) -> LineV:
    return LineV(
        ln.entity_id,
        ln.contract_id,
        ln.valid_from,
        ln.valid_to,
        ln.asset_id,
        ln.site_id,
        ln.asset_type,
        ln.service_level_id,
        ln.price,
        ln.budget_minutes,
        ln.seq,
    )


def _contract_v(c: Contract) -> ContractV:
    return ContractV(
        c.entity_id,
        c.valid_from,
        c.valid_to,
        c.customer_id,
        c.reference,
        c.billing_period,
        c.currency,
        c.term_end,
        c.cancelled_from,
        c.seq,
    )


@dataclass
class Book:
    """Everything that decides one asset's coverage, as known at one recorded time."""

    assets: list[AssetV]
    lines: list[LineV]
    contracts: list[ContractV]


# Everything that decides one asset's coverage in one statement: its versions, the line
# versions that name it or its (site, type), and their contracts, all as known at :k. The
# deciding is then done in Python by `coverage.find`: for the asset page's timeline, and
# by the write path to keep `asset_coverage` (`accord.agreements.derived`).
# "COALESCE(asset_id, '') = ''" rather than "asset_id IS NULL" keeps SQLite's planner on
# the (site, type) index: with IS NULL it walks every group line of the tenant instead.
_BOOK_SQL = text(
    """
WITH a AS (
  SELECT entity_id, valid_from, valid_to, customer_id, site_id, asset_type, status, tag,
         make, model, seq
  FROM assets
  WHERE tenant_id = :t AND entity_id = :id AND recorded_from <= :k AND recorded_to > :k
), l AS (
  SELECT entity_id, valid_from, valid_to, contract_id, site_id, asset_type, asset_id,
         service_level_id, price, budget_minutes, seq
  FROM contract_lines
  WHERE tenant_id = :t AND recorded_from <= :k AND recorded_to > :k AND asset_id = :id
  UNION ALL
  SELECT entity_id, valid_from, valid_to, contract_id, site_id, asset_type, asset_id,
         service_level_id, price, budget_minutes, seq
  FROM contract_lines
  WHERE tenant_id = :t AND recorded_from <= :k AND recorded_to > :k
    AND COALESCE(asset_id, '') = ''
    AND (site_id, asset_type) IN (SELECT site_id, asset_type FROM a)
)
SELECT 'a' AS k, entity_id, valid_from, valid_to, seq, customer_id AS s1, site_id AS s2,
       asset_type AS s3, status AS s4, tag AS s5, make AS s6, model AS s7,
       CAST(NULL AS BIGINT) AS i1, CAST(NULL AS BIGINT) AS i2,
       CAST(NULL AS BIGINT) AS t1, CAST(NULL AS BIGINT) AS t2
FROM a
UNION ALL
SELECT 'l', entity_id, valid_from, valid_to, seq, contract_id, site_id, asset_type, asset_id,
       service_level_id, NULL, NULL, price, budget_minutes, NULL, NULL
FROM l
UNION ALL
SELECT 'c', entity_id, valid_from, valid_to, seq, customer_id, reference, billing_period,
       currency, NULL, NULL, NULL, NULL, NULL, term_end, cancelled_from
FROM contracts
WHERE tenant_id = :t AND recorded_from <= :k AND recorded_to > :k
  AND entity_id IN (SELECT contract_id FROM l)
"""
)


def book_for_asset(session: Session, tenant_id: int, asset_id: str, known_at: datetime) -> Book:
    # On the driver: every entitlement answer runs this, and SQLAlchemy's per-row result
    # handling cost about as much as the statement (the columns are plain integers and text).
    rows = driver_rows(
        session, _BOOK_SQL, {"t": tenant_id, "id": asset_id, "k": to_micros(known_at)}
    )
    assets: list[AssetV] = []
    lines: list[LineV] = []
    contracts: list[ContractV] = []
    for k, eid, valid_from, valid_to, seq, s1, s2, s3, s4, s5, s6, s7, i1, i2, t1, t2 in rows:
        vf, vt = from_micros(valid_from), from_micros(valid_to)
        if k == "a":
            label = " ".join(x for x in (s6, s7) if x)
            assets.append(AssetV(eid, vf, vt, s1, s2, s3, s4, s5, label))
        elif k == "l":
            lines.append(LineV(eid, s1, vf, vt, s4, s2, s3, s5, i1, i2, seq))
        else:
            contracts.append(
                ContractV(
                    eid,
                    vf,
                    vt,
                    s1,
                    s2,
                    s3,
                    s4,
                    None if t1 is None else from_micros(t1),
                    None if t2 is None else from_micros(t2),
                    seq,
                )
            )
    assets.sort(key=lambda a: a.valid_from)
    return Book(assets, lines, contracts)


def _contracts(
    session: Session, tenant_id: int, ids: Iterable[str], known_at: datetime
) -> list[ContractV]:
    ids = sorted(set(ids))
    if not ids:
        return []
    stmt = _known(Contract, tenant_id, known_at).where(Contract.entity_id.in_(ids))
    return [_contract_v(c) for c in session.scalars(stmt)]


# --- entitlement -------------------------------------------------------------------------


# The answer for the asset on :d as known at :k, kept ready by the write path, with the
# service level it names as it was on :d (a covered answer names one).
ENTITLEMENT_SQL = text(
    """
SELECT c.tag, c.cause, c.contract_id, c.contract_reference, c.line_id, c.service_level_id,
       c.covered_until, c.next_covered_from, c.reason, c.reason_end,
       s.name, CAST(s.targets AS TEXT)
FROM asset_coverage c
LEFT JOIN service_levels s
  ON s.tenant_id = c.tenant_id AND s.entity_id = c.service_level_id
 AND s.recorded_from <= :k AND s.recorded_to > :k AND s.valid_from <= :d AND s.valid_to > :d
WHERE c.tenant_id = :t AND c.asset_id = :id
  AND c.recorded_from <= :k AND c.recorded_to > :k AND c.valid_from <= :d AND c.valid_to > :d
"""
)

# A service level renamed or ended since: its last version known.
_LAST_LEVEL_SQL = text(
    """
SELECT name, CAST(targets AS TEXT) FROM service_levels
WHERE tenant_id = :t AND entity_id = :id AND recorded_from <= :k AND recorded_to > :k
ORDER BY valid_from DESC LIMIT 1
"""
)


@functools.lru_cache(maxsize=1024)
def _targets(stored: str) -> dict[str, Any]:
    """A service level's targets from their JSON text: a tenant has a few service levels
    and every covered answer carries one's (read only)."""
    return dict(json.loads(stored))


def entitlement(
    session: Session, actor: Actor, asset_key: str, *, on: datetime, known_at: datetime
) -> Entitlement:
    """Is the asset (id, tag or serial) covered on `on`, as Accord knew it at `known_at`?
    By which contract line and service level; and when not, why, in words a desk agent
    understands. One lookup in `asset_coverage`, which the write path keeps."""
    asset_id = asset_key
    params = {"t": actor.tenant_id, "id": asset_id, "d": to_micros(on), "k": to_micros(known_at)}
    rows = driver_rows(session, ENTITLEMENT_SQL, params) if _ID.fullmatch(asset_key) else []
    if not rows:  # a tag or a serial (NotFound when neither)
        asset_id = params["id"] = asset_id_for(session, actor, asset_key, AsOf(on, known_at))
        rows = driver_rows(session, ENTITLEMENT_SQL, params)
        if not rows:
            raise NotFound(
                f"no asset {asset_key!r} on record as known at {known_at:%Y-%m-%d %H:%M}"
            )
    (
        tag,
        cause,
        contract_id,
        reference,
        line_id,
        level_id,
        until,
        again,
        reason,
        reason_end,
        level,
        targets,
    ) = rows[0]
    if level_id is not None and level is None:
        last = driver_rows(session, _LAST_LEVEL_SQL, {**params, "id": level_id})
        level, targets = last[0] if last else (None, None)
    if reason_end is not None:
        reason += f" at {level or 'an unknown'} service level{reason_end}"
    return Entitlement(
        asset_id=asset_id,
        tag=tag,
        on=on,
        known_at=known_at,
        covered=cause == Cause.COVERED,
        cause=cause,
        reason=reason,
        contract_id=contract_id,
        contract_reference=reference,
        line_id=line_id,
        service_level_id=level_id,
        service_level=level,
        targets=_targets(targets) if isinstance(targets, str) else targets,
        covered_until=None if until is None else from_micros(until),
        next_covered_from=None if again is None else from_micros(again),
    )


def coverage_timeline(
    session: Session, actor: Actor, asset_id: str, *, known_at: datetime
) -> list[Segment]:
    """Every period the asset is covered, as known at `known_at`, for drawing over time."""
    book = book_for_asset(session, actor.tenant_id, asset_id, known_at)
    return coverage.segments(book.assets, book.lines, book.contracts)


# --- a contract's coverage: charges and budgets ----------------------------------------


def contract_segments(
    session: Session, tenant_id: int, contract_id: str, *, known_at: datetime
) -> list[Segment]:
    """Every (asset, line) coverage period of one contract, as known at `known_at`."""
    lines = [
        _line_v(ln)
        for ln in session.scalars(
            _known(ContractLine, tenant_id, known_at).where(ContractLine.contract_id == contract_id)
        )
    ]
    if not lines:
        return []
    per_asset = sorted({ln.asset_id for ln in lines if ln.asset_id})
    groups = sorted({(ln.site_id, ln.asset_type) for ln in lines if ln.asset_id is None})
    conds = []
    if per_asset:
        conds.append(Asset.entity_id.in_(per_asset))
    if groups:
        conds.append(tuple_(Asset.site_id, Asset.asset_type).in_(groups))
    assets = [
        _asset_v(a) for a in session.scalars(_known(Asset, tenant_id, known_at).where(or_(*conds)))
    ]
    contracts = _contracts(session, tenant_id, [contract_id], known_at)
    return coverage.segments(assets, lines, contracts)


def charges(
    session: Session,
    actor: Actor,
    contract_id: str,
    *,
    start: datetime,
    end: datetime,
    known_at: datetime,
) -> list[coverage.Charge]:
    segs = contract_segments(session, actor.tenant_id, contract_id, known_at=known_at)
    return coverage.charges(segs, start, end)


@dataclass(frozen=True)
class BudgetMonth:
    start: datetime
    end: datetime
    budget_minutes: int
    booked_minutes: int

    @property
    def remaining_minutes(self) -> int:
        return self.budget_minutes - self.booked_minutes


def budget(
    session: Session,
    actor: Actor,
    contract_id: str,
    *,
    months: Sequence[datetime],
    known_at: datetime,
    booked: dict[datetime, int] | None = None,
) -> list[BudgetMonth]:
    """The contract's support budget per month (derived from what it covers, as known at
    `known_at`) against the time booked to it in that month."""
    segs = contract_segments(session, actor.tenant_id, contract_id, known_at=known_at)
    out = []
    for m in months:
        start = coverage.month_start(m)
        end = coverage.period_containing("monthly", start)[1]
        out.append(
            BudgetMonth(
                start,
                end,
                coverage.budget_minutes(segs, start, end),
                (booked or {}).get(start, 0),
            )
        )
    return out


# --- invoices ----------------------------------------------------------------------------


def invoices_of(
    session: Session,
    actor: Actor,
    *,
    contract_id: str | None = None,
    known_at: datetime | None = None,
) -> list[Invoice]:
    known_at = known_at or AsOf.now().known_at
    stmt = _known(Invoice, actor.tenant_id, known_at)
    if contract_id:
        stmt = stmt.where(Invoice.contract_id == contract_id)
    return list(session.scalars(stmt.order_by(Invoice.period_start.desc(), Invoice.number.desc())))


def get_invoice_for(session: Session, actor: Actor, invoice_id: str) -> Invoice:
    return _latest(session, actor, Invoice, invoice_id, None)


def invoice_by_number(session: Session, actor: Actor, number: str) -> Invoice:
    stmt = _known(Invoice, actor.tenant_id, AsOf.now().known_at).where(Invoice.number == number)
    found = session.scalar(stmt)
    if found is None:
        raise NotFound(f"no invoice {number}")
    return found
