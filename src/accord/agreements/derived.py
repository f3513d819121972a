"""Entitlement kept ready: the `asset_coverage` derived table (`accord.store.derived`).

For one asset, as known at one recorded instant, the answer to "is it covered on D, and
if not why?" changes only where a version of the asset, of a line that can cover it or of
such a line's contract starts or ends. `answers` cuts valid time at those points, decides
each stretch once with `coverage.find` and puts it into the desk's words; neighbouring
stretches that say the same are one row.

`refresh` (the write path calls it in the change's transaction) does this for every asset
an entry can touch: the asset itself; the assets a line names or could cover (its site
and type); every asset of a contract's lines. `rebuild` does it from nothing for every
asset of a tenant, at every instant its book changed, which is what `accord rebuild
--check` compares the live table with.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, select, text
from sqlalchemy.orm import Session

from accord.agreements import coverage
from accord.agreements.coverage import Cause, Finding, Segment
from accord.agreements.models import (
    COVERAGE_COLUMNS,
    Asset,
    AssetCoverage,
    Contract,
    ContractLine,
)
from accord.agreements.queries import Book, book_for_asset
from accord.store import derived, journal, temporal
from accord.store.db import FOREVER, driver_rows, from_micros, to_micros
from accord.store.derived import EntryReader
from accord.store.journal import Entry
from accord.store.temporal import Versioned

#: before any valid time anyone asks about
BEGINNING = datetime(1, 1, 1, tzinfo=UTC)


def refresh(session: Session, tenant_id: int, entries: Sequence[Entry], read: EntryReader) -> None:
    """Bring the coverage rows of every asset these entries can touch up to their instant."""
    # "Removed by whom" is most often the change being recorded: read it from here.
    here = {e.seq: e for e in entries}

    def known_or_read(seqs: Sequence[int]) -> list[Entry]:
        missing = [s for s in seqs if s not in here]
        found = {e.seq: e for e in read(missing)} if missing else {}
        return [here.get(s) or found[s] for s in seqs]

    update(session, tenant_id, touched(session, tenant_id, entries), entries[0].at, known_or_read)


def rebuild(session: Session, tenant_id: int, read: EntryReader) -> None:
    """Fill the (empty) table for the tenant: each asset's rows at each instant its book
    changed, in order, as the write path would have left them."""
    ids = session.scalars(
        select(Asset.entity_id).where(Asset.tenant_id == tenant_id).distinct()
    ).all()
    by_instant: dict[datetime, list[str]] = {}
    for asset_id in ids:
        for at in _instants(session, tenant_id, asset_id):
            by_instant.setdefault(at, []).append(asset_id)
    for at in sorted(by_instant):
        update(session, tenant_id, by_instant[at], at, read)


def update(
    session: Session, tenant_id: int, asset_ids: Iterable[str], now: datetime, read: EntryReader
) -> None:
    """Make the assets' rows say, from `now` on, what their books as known at `now` give."""
    ids = sorted(set(asset_ids))
    if not ids:
        return
    have = derived.known_rows(session, AssetCoverage, tenant_id, "asset_id", ids, now)

    def wanted(asset_id: str) -> list[dict[str, Any]]:
        book = book_for_asset(session, tenant_id, asset_id, now)
        return [
            {"tenant_id": tenant_id, "asset_id": asset_id, **row}
            for row in answers(session, book, tenant_id, now, read)
        ]

    derived.settle(
        session,
        AssetCoverage,
        ((have[asset_id], wanted(asset_id)) for asset_id in ids),
        columns=COVERAGE_COLUMNS,
        now=now,
    )


# --- which assets an entry can touch -------------------------------------------------------


def touched(session: Session, tenant_id: int, entries: Sequence[Entry]) -> set[str]:
    """Every asset whose coverage these entries can change, read from every recorded
    version of the lines and contracts they are about (a line that stops naming an asset
    still touches it)."""
    assets = {e.id for e in entries if e.type == Asset.entity_type}
    line_ids = {e.id for e in entries if e.type == ContractLine.entity_type}
    contract_ids = {e.id for e in entries if e.type == Contract.entity_type}
    # No DISTINCT in these: SQLite would walk the entity index to avoid sorting, a scan
    # of the tenant's whole table, rather than use the index the WHERE clause matches.
    lines = ContractLine.__table__
    if contract_ids:
        line_ids |= set(
            session.scalars(
                select(lines.c.entity_id).where(
                    lines.c.tenant_id == tenant_id, lines.c.contract_id.in_(contract_ids)
                )
            )
        )
    groups: set[tuple[str, str]] = set()
    if line_ids:
        rows: Sequence[Row[Any]] = session.execute(
            select(lines.c.asset_id, lines.c.site_id, lines.c.asset_type).where(
                lines.c.tenant_id == tenant_id, lines.c.entity_id.in_(line_ids)
            )
        ).all()
        for asset_id, site_id, asset_type in rows:
            if asset_id:
                assets.add(asset_id)
            elif site_id and asset_type:
                groups.add((site_id, asset_type))
    for site_id, asset_type in sorted(groups):
        assets |= {
            asset_id
            for (asset_id,) in driver_rows(
                session, _GROUP_SQL, {"t": tenant_id, "s": site_id, "a": asset_type}
            )
        }
    return assets


_GROUP_SQL = text(
    "SELECT entity_id FROM assets WHERE tenant_id = :t AND site_id = :s AND asset_type = :a"
)


# Every recorded instant at which something in one asset's book became or stopped being
# known: the versions of the asset, of the lines naming it or its (site, type) in any of
# its versions, and of those lines' contracts, whenever recorded.
_INSTANTS_SQL = text(
    """
WITH a AS (
  SELECT site_id, asset_type, recorded_from, recorded_to FROM assets
  WHERE tenant_id = :t AND entity_id = :id
), l AS (
  SELECT contract_id, recorded_from, recorded_to FROM contract_lines
  WHERE tenant_id = :t AND asset_id = :id
  UNION ALL
  SELECT contract_id, recorded_from, recorded_to FROM contract_lines
  WHERE tenant_id = :t AND COALESCE(asset_id, '') = ''
    AND (site_id, asset_type) IN (SELECT site_id, asset_type FROM a)
), v AS (
  SELECT recorded_from, recorded_to FROM a
  UNION ALL SELECT recorded_from, recorded_to FROM l
  UNION ALL SELECT recorded_from, recorded_to FROM contracts
  WHERE tenant_id = :t AND entity_id IN (SELECT contract_id FROM l)
)
SELECT recorded_from FROM v UNION SELECT recorded_to FROM v
"""
)


def _instants(session: Session, tenant_id: int, asset_id: str) -> list[datetime]:
    end = to_micros(FOREVER)
    return sorted(
        from_micros(t)
        for (t,) in driver_rows(session, _INSTANTS_SQL, {"t": tenant_id, "id": asset_id})
        if t != end
    )


# --- the answers ----------------------------------------------------------------------------


def answers(
    session: Session, book: Book, tenant_id: int, known_at: datetime, read: EntryReader
) -> list[dict[str, Any]]:
    """The asset's entitlement over all valid time, as known at `known_at`: one dict of
    `COVERAGE_COLUMNS` per stretch over which the answer is the same."""
    if not book.assets:
        return []
    versions: list[Any] = [*book.assets, *book.lines, *book.contracts]
    points = sorted({BEGINNING} | {v.valid_from for v in versions} | {v.valid_to for v in versions})
    points = [p for p in points if BEGINNING <= p < FOREVER]
    segs = coverage.segments(book.assets, book.lines, book.contracts)
    out: list[dict[str, Any]] = []
    for lo, hi in zip(points, [*points[1:], FOREVER], strict=True):
        f = coverage.find(book.assets, book.lines, book.contracts, lo, segs=segs)
        here = next((a for a in book.assets if a.valid_from <= lo < a.valid_to), book.assets[-1])
        said = _words(session, f, segs, book, lo, tenant_id, known_at, read)
        said["tag"] = here.tag
        if out and out[-1]["valid_to"] == lo and _same(out[-1], said):
            out[-1]["valid_to"] = hi
        else:
            out.append({"valid_from": lo, "valid_to": hi, **said})
    return out


def _same(row: dict[str, Any], said: dict[str, Any]) -> bool:
    return all(row[k] == v for k, v in said.items())


def _day(t: datetime | None) -> str:
    return "" if t is None else t.date().isoformat()


def _run_end(segs: Sequence[Segment], on: datetime) -> datetime:
    """Where the coverage that holds on `on` stops: the first instant no line covers."""
    t = on
    while True:
        ends = [s.end for s in segs if s.start <= t < s.end]
        if not ends:
            return t
        t = max(ends)


def _ending(
    session: Session,
    tenant_id: int,
    model: type[Versioned],
    entity_id: str,
    at: datetime,
    known_at: datetime,
    read: EntryReader,
) -> Entry | None:
    """The change, known by `known_at`, that ended the record from `at`: the latest END
    entry of the record whose interval starts at `at` (or spans it)."""
    seqs = temporal.closing_seqs(session, tenant_id, model, entity_id, on=at, known_at=known_at)
    ends = [e for e in read(seqs) if e.op == journal.Op.END and e.valid_from <= at < e.valid_to]
    exact = [e for e in ends if e.valid_from == at]
    found = exact or ends
    return max(found, key=lambda e: e.seq) if found else None


def _by(e: Entry | None) -> str:
    if e is None:
        return ""
    why = f" ({e.reason})" if e.reason else ""
    return f" by {e.actor} on {_day(e.at)}{why}"


_UNTIL = {
    Cause.CANCELLED: ": the contract is cancelled from that day",
    Cause.REMOVED: ", when it comes off the contract",
    Cause.LINE_ENDED: ", when its line ends as agreed",
    Cause.CONTRACT_ENDED: ", when the contract ends",
    Cause.RETIRED: ", when the asset is retired",
    Cause.MOVED: ", when the asset moves out of what the line covers",
}


def _words(
    session: Session,
    f: Finding,
    segs: Sequence[Segment],
    book: Book,
    on: datetime,
    tenant_id: int,
    known_at: datetime,
    read: EntryReader,
) -> dict[str, Any]:
    """One stretch's answer: everything but the service level's name and targets, which
    are joined when it is read."""
    said: dict[str, Any] = {
        "cause": str(f.cause),
        "contract_id": None,
        "contract_reference": None,
        "line_id": None,
        "service_level_id": None,
        "covered_until": None,
        "next_covered_from": f.next_start,
        "reason_end": None,
    }
    if f.segment is not None:
        s = f.segment
        end = _run_end(segs, on)
        until = None if end == FOREVER else end
        what = "this asset" if s.per_asset else f"every {s.line.asset_type} at its site"
        said |= {
            "contract_id": s.contract.contract_id,
            "contract_reference": s.contract.reference,
            "line_id": s.line.line_id,
            "service_level_id": s.line.service_level_id,
            "covered_until": until,
            "reason": f"Covered by contract {s.contract.reference} (line for {what})",
            "reason_end": ".",
        }
        if until is not None:
            after = coverage.find(book.assets, book.lines, book.contracts, until, segs=segs)
            said["next_covered_from"] = after.next_start
            said["reason_end"] = f" until {_day(until)}{_UNTIL.get(after.cause, '')}."
        else:
            said["next_covered_from"] = None
        return said
    ref = f.contract.reference if f.contract else ""
    later = f" It is covered again from {_day(f.next_start)}." if f.next_start else ""
    match f.cause:
        case Cause.NEVER:
            reason = "Never covered: no contract line has ever covered this asset."
        case Cause.NOT_YET:
            reason = f"Not covered yet: coverage starts {_day(f.next_start)}."
            later = ""
        case Cause.NO_ASSET:
            reason = f"The asset is not on record on {_day(on)}."
        case Cause.RETIRED:
            reason = f"Not covered: the asset is retired (from {_day(f.at)})."
        case Cause.REMOVED:
            assert f.line is not None and f.at is not None
            e = _ending(session, tenant_id, ContractLine, f.line.line_id, f.at, known_at, read)
            if e is None:  # set up with an end date
                said["cause"] = str(Cause.LINE_ENDED)
                reason = f"Not covered: its line on contract {ref} ended {_day(f.at)} as agreed."
            else:
                reason = f"Not covered: removed from contract {ref} from {_day(f.at)}{_by(e)}."
        case Cause.CONTRACT_ENDED:
            reason = f"Not covered: contract {ref} ended {_day(f.at)}."
        case Cause.CANCELLED:
            assert f.contract is not None and f.at is not None
            e = _ending(session, tenant_id, Contract, f.contract.contract_id, f.at, known_at, read)
            reason = f"Not covered: contract {ref} cancelled, effective {_day(f.at)}{_by(e)}."
        case Cause.MOVED:
            reason = (
                f"Not covered: from {_day(f.at)} the asset is no longer at the site or of the "
                f"type that contract {ref} covers."
            )
        case _:  # pragma: no cover - every cause is handled above
            reason = str(f.cause)
    said |= {
        "contract_id": f.contract.contract_id if f.contract else None,
        "contract_reference": ref or None,
        "line_id": f.line.line_id if f.line else None,
        "reason": reason + later,
    }
    return said
