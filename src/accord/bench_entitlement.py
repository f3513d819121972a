"""The entitlement benchmark: is this asset covered on D, as known at K, at scale.

On a throwaway database (`accord.bench.fresh_database`) it builds a synthetic book of
`assets` assets through the journal, the one write path, in batches of drafts per unit of
work: contracts of a hundred assets each, a line per asset for most of them and a group
line ("every desktop at the site") for the rest, then, recorded later, about one change
per line: a future-dated take-off, a retroactive price correction, a price change from a
future date, or a start corrected to earlier. That gives about three coverage versions
per asset as known over time.

It then times random entitlement(asset, on, known_at) calls through the service layer
(`accord.agreements.queries.entitlement`), and the same lookups as one hand-written SQL
query on the same tables, which must agree with the service on every answer. Targets on
SQLite: p99 under 2 ms, service p99 at most 1.5 x the SQL's.

The service answers from `asset_coverage`, the answer the write path keeps ready
(`accord.agreements.derived`); the yardstick answers from the book's own tables (assets,
lines, contracts), as a DBA would without that table, so building the book pays for
keeping the answers. The run also times the service's own statement alone (`lookup_*`):
what the service adds over it is the Python that turns a row into an answer.

The SQL is timed on the DB-API cursor, as the service runs its own statement
(`accord.store.db.driver_rows`): that is the query's cost. It is also timed through
SQLAlchemy's `Session.execute(text(...))`, reported as `sql_orm_*` for information only:
that path adds about 0.14 ms of per-statement machinery, which once made the ratio look
three times better than it is.
"""

from __future__ import annotations

import random
import statistics
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import make_url, text
from sqlalchemy.orm import Session

from accord.access import Actor, Role
from accord.agreements import queries
from accord.bench import Progress, fresh_database
from accord.store.db import FOREVER, Database, driver_rows, to_micros, utcnow
from accord.store.journal import Draft, Op, iso
from accord.store.tenancy import create_tenant
from accord.store.writes import record

BATCH = 1000  # assets per unit of work
PER_CONTRACT = 100  # assets per contract
LOOKUPS = 2000
DAY = timedelta(days=1)

# One SELECT: the lines covering the asset on :d, of contracts in force on :d, all as
# known at :k. The yardstick the service layer is measured against, written as a DBA would:
# the lines naming the asset and the group lines of its site and type are two index
# lookups glued with UNION ALL (one join with an OR between them was planned as a scan of
# the tenant's lines: 19 ms at p99 on a million assets, a yardstick anything beats).
_ASSET = """
FROM assets a
JOIN contract_lines l
  ON l.tenant_id = a.tenant_id
 AND l.recorded_from <= :k AND l.recorded_to > :k
 AND l.valid_from <= :d AND l.valid_to > :d
 AND {match}
JOIN contracts c
  ON c.tenant_id = a.tenant_id AND c.entity_id = l.contract_id
 AND c.recorded_from <= :k AND c.recorded_to > :k
 AND c.valid_from <= :d AND c.valid_to > :d
WHERE a.tenant_id = :t AND a.entity_id = :id
  AND a.recorded_from <= :k AND a.recorded_to > :k
  AND a.valid_from <= :d AND a.valid_to > :d
  AND a.status <> 'retired'
"""
_COLUMNS = "SELECT l.entity_id, l.service_level_id, c.reference"
SQL = text(
    _COLUMNS
    + _ASSET.format(match="l.asset_id = a.entity_id")
    + " UNION ALL "
    + _COLUMNS
    + _ASSET.format(
        match="COALESCE(l.asset_id, '') = '' AND l.site_id = a.site_id "
        "AND l.asset_type = a.asset_type"
    )
)

_MAKES = (("laptop", "Dell", "Latitude 5440"), ("server", "HPE", "ProLiant DL360"))


def _draft(
    kind: str, op: Op, type_: str, id_: str, vf: datetime, vt: datetime = FOREVER, **data: Any
) -> Draft:
    return Draft(
        kind=f"bench.{kind}",
        op=op,
        type=type_,
        id=id_,
        valid_from=vf,
        valid_to=vt,
        data=data,
        reason="benchmark",
    )


class _Book:
    """The synthetic book being built, and what the lookups need to know about it."""

    def __init__(self, db: Database, assets: int, progress: Progress | None) -> None:
        self.db = db
        self.total = assets
        self.progress = progress
        self.rng = random.Random(20261123)
        today = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
        self.today = today
        self.first_day = today - 3 * 365 * DAY
        self.last_day = today + 365 * DAY
        with db.unit_of_work() as s:
            tenant = create_tenant(s, slug=f"bench-{uuid.uuid4().hex[:8]}", name="Benchmark")
            self.tenant_id = tenant.id
        self.actor = Actor(tenant_id=self.tenant_id, label="bench", role=Role.FINANCE)
        self.entries = 0
        self.level = str(uuid.uuid4())
        calendar = str(uuid.uuid4())
        self.write(
            [
                _draft(
                    "calendar",
                    Op.ASSERT,
                    "calendar",
                    calendar,
                    self.first_day - 365 * DAY,
                    name="UK office hours",
                    time_zone="Europe/London",
                    weekly_hours={"mon": [["08:30", "17:30"]]},
                    holidays=[],
                ),
                _draft(
                    "service_level",
                    Op.ASSERT,
                    "service_level",
                    self.level,
                    self.first_day - 365 * DAY,
                    name="Gold",
                    calendar_id=calendar,
                    targets={"p1": {"response": 30, "resolution": 240}},
                ),
            ]
        )
        #: (asset id, recorded time from which it is known)
        self.asset_ids: list[tuple[str, datetime]] = []

    def write(self, drafts: list[Draft]) -> datetime:
        with self.db.unit_of_work() as s:
            entries = record(s, tenant_id=self.tenant_id, actor="bench", drafts=drafts)
        self.entries += len(entries)
        return entries[0].at

    def day(self, lo: datetime, hi: datetime) -> datetime:
        return lo + self.rng.randrange(max(1, (hi - lo) // DAY)) * DAY

    def build(self) -> None:
        done = 0
        while done < self.total:
            count = min(BATCH, self.total - done)
            self.batch(done, count)
            done += count
            if self.progress:
                self.progress("building the book through the journal", done, self.total)

    def batch(self, first: int, count: int) -> None:
        rng = self.rng
        created: list[Draft] = []
        changes: list[Draft] = []
        lines: list[tuple[str, datetime, int]] = []
        lines_data: dict[str, dict[str, Any]] = {}
        ids = []
        for c0 in range(0, count, PER_CONTRACT):
            contract, customer, site = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
            start = self.day(self.first_day, self.today - 400 * DAY)
            fixed = rng.random() < 0.3
            end = start + 3 * 365 * DAY if fixed else FOREVER
            n = first + c0
            created.append(
                _draft(
                    "contract",
                    Op.ASSERT,
                    "contract",
                    contract,
                    start,
                    end,
                    customer_id=customer,
                    reference=f"B-{n // PER_CONTRACT:07d}",
                    title="Managed support",
                    start=iso(start),
                    term_end=None if end == FOREVER else iso(end),
                    renewal_months=12 if fixed else None,
                    notice_days=30,
                    billing_period="monthly",
                    currency="GBP",
                    cancelled_from=None,
                )
            )
            group = str(uuid.uuid4())
            created.append(
                _draft(
                    "line",
                    Op.ASSERT,
                    "contract_line",
                    group,
                    start,
                    contract_id=contract,
                    asset_id=None,
                    site_id=site,
                    asset_type="desktop",
                    service_level_id=self.level,
                    price=1200,
                    budget_minutes=15,
                    external_key=None,
                )
            )
            for i in range(min(PER_CONTRACT, count - c0)):
                asset = str(uuid.uuid4())
                ids.append(asset)
                grouped = rng.random() < 0.2
                kind, make, model = (
                    ("desktop", "Dell", "OptiPlex 7010") if grouped else rng.choice(_MAKES)
                )
                since = self.day(start - 60 * DAY, start + 300 * DAY)
                created.append(
                    _draft(
                        "asset",
                        Op.ASSERT,
                        "asset",
                        asset,
                        since,
                        customer_id=customer,
                        site_id=site,
                        tag=f"BN-{n + i:07d}",
                        serial=f"SN{rng.randrange(10**9):09d}",
                        asset_type=kind,
                        make=make,
                        model=model,
                        status="in_service",
                        external_key=None,
                    )
                )
                if grouped:
                    if rng.random() < 0.2:  # retired from a date, some of them future
                        changes.append(
                            _draft(
                                "asset.retired",
                                Op.PATCH,
                                "asset",
                                asset,
                                self.day(since + DAY, self.last_day),
                                status="retired",
                            )
                        )
                    continue
                line = str(uuid.uuid4())
                line_from = max(since, start)
                price = rng.choice((1500, 3500, 9500))
                created.append(
                    _draft(
                        "line",
                        Op.ASSERT,
                        "contract_line",
                        line,
                        line_from,
                        contract_id=contract,
                        asset_id=asset,
                        site_id=None,
                        asset_type=None,
                        service_level_id=self.level,
                        price=price,
                        budget_minutes=30,
                        external_key=None,
                    )
                )
                lines.append((line, line_from, price))
                lines_data[line] = dict(created[-1].data)
        for line, line_from, price in lines:
            pick = rng.random()
            if pick < 0.3:  # taken off from a future date (the day after the last)
                changes.append(
                    _draft(
                        "line.removed",
                        Op.END,
                        "contract_line",
                        line,
                        self.day(self.today, self.last_day),
                    )
                )
            elif pick < 0.6:  # a price corrected from a past date
                changes.append(
                    _draft(
                        "line.corrected",
                        Op.PATCH,
                        "contract_line",
                        line,
                        self.day(line_from + DAY, self.today),
                        price=price + 250,
                    )
                )
            elif pick < 0.85:  # a new price from a future date
                changes.append(
                    _draft(
                        "line.changed",
                        Op.PATCH,
                        "contract_line",
                        line,
                        self.day(self.today + DAY, self.last_day),
                        price=price + 500,
                    )
                )
            else:  # the start corrected to a month earlier
                changes.append(
                    _draft(
                        "line.corrected",
                        Op.ASSERT,
                        "contract_line",
                        line,
                        line_from - 30 * DAY,
                        line_from,
                        **lines_data[line],
                    )
                )
        known = self.write(created)
        self.write(changes)
        self.asset_ids += [(a, known) for a in ids]


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(p * len(ordered))) - 1))]


def _db_bytes(db: Database, session: Session) -> int:
    if db.dialect == "sqlite":
        path = Path(make_url(db.url).database or "")
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    return int(session.scalar(text("SELECT pg_database_size(current_database())")) or 0)


def bench_entitlement(
    database_url: str,
    assets: int = 1_000_000,
    progress: Progress | None = None,
    *,
    lookups: int = LOOKUPS,
) -> dict[str, Any]:
    """Build the book, then time `lookups` random entitlement questions both ways."""
    with fresh_database(database_url) as db:
        book = _Book(db, assets, progress)
        t0 = time.perf_counter()
        book.build()
        build_s = time.perf_counter() - t0
        end = utcnow()
        with db.reading() as s:
            counts = {
                t: s.scalar(
                    text(f"SELECT count(*) FROM {t} WHERE tenant_id = :t"), {"t": book.tenant_id}
                )
                or 0
                for t in ("assets", "contract_lines", "contracts", "asset_coverage")
            }
            rows = sum(counts.values()) - counts["asset_coverage"]
            s.execute(text("ANALYZE"))  # as a long-running instance's statistics would be
            s.commit()
            db_bytes = _db_bytes(db, s)

        rng = random.Random(6)
        samples = []
        for _ in range(lookups):
            asset, known_from = rng.choice(book.asset_ids)
            if rng.random() < 0.5:
                known_at = end
            else:
                span = (end - known_from) // timedelta(microseconds=1)
                known_at = known_from + timedelta(microseconds=rng.randrange(max(1, span)))
            samples.append((asset, book.day(book.first_day, book.last_day), known_at))

        service_ms: list[float] = []
        sql_ms: list[float] = []
        orm_ms: list[float] = []
        lookup_ms: list[float] = []
        disagree = covered = 0
        with db.reading() as s:
            for asset, on, known_at in samples[:50]:  # warm the caches and the statements
                params = _params(book.tenant_id, asset, on, known_at)
                queries.entitlement(s, book.actor, asset, on=on, known_at=known_at)
                driver_rows(s, SQL, params)
                s.execute(SQL, params).all()
                driver_rows(s, queries.ENTITLEMENT_SQL, params)
            for i, (asset, on, known_at) in enumerate(samples, 1):
                params = _params(book.tenant_id, asset, on, known_at)
                t = time.perf_counter_ns()
                e = queries.entitlement(s, book.actor, asset, on=on, known_at=known_at)
                service_ms.append((time.perf_counter_ns() - t) / 1e6)
                t = time.perf_counter_ns()
                found = driver_rows(s, SQL, params)
                sql_ms.append((time.perf_counter_ns() - t) / 1e6)
                t = time.perf_counter_ns()
                s.execute(SQL, params).all()
                orm_ms.append((time.perf_counter_ns() - t) / 1e6)
                t = time.perf_counter_ns()
                driver_rows(s, queries.ENTITLEMENT_SQL, params)
                lookup_ms.append((time.perf_counter_ns() - t) / 1e6)
                covered += e.covered
                if e.covered != bool(found) or (
                    e.covered and e.line_id not in {r[0] for r in found}
                ):
                    disagree += 1
                if progress and (i % 100 == 0 or i == lookups):
                    progress("timing lookups", i, lookups)
        p99, sql_p99 = _percentile(service_ms, 0.99), _percentile(sql_ms, 0.99)
        return {
            "benchmark": "entitlement",
            "engine": db.dialect,
            "assets": assets,
            "journal_entries": book.entries,
            "version_rows": rows,
            "coverage_rows": counts["asset_coverage"],
            "build_s": round(build_s, 1),
            "build_rows_per_s": round(rows / build_s, 1),
            "db_bytes": db_bytes,
            "lookups": lookups,
            "covered_share": round(covered / lookups, 3),
            "disagreements": disagree,
            "p50_ms": round(statistics.median(service_ms), 3),
            "p99_ms": round(p99, 3),
            "sql_p50_ms": round(statistics.median(sql_ms), 3),
            "sql_p99_ms": round(sql_p99, 3),
            "sql_orm_p50_ms": round(statistics.median(orm_ms), 3),
            "sql_orm_p99_ms": round(_percentile(orm_ms, 0.99), 3),
            "lookup_p50_ms": round(statistics.median(lookup_ms), 3),
            "lookup_p99_ms": round(_percentile(lookup_ms, 0.99), 3),
            "ratio": round(p99 / sql_p99, 2),
        }


def _params(tenant_id: int, asset: str, on: datetime, known_at: datetime) -> dict[str, Any]:
    return {"t": tenant_id, "id": asset, "d": to_micros(on), "k": to_micros(known_at)}
