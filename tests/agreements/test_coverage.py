"""The pure arithmetic of coverage: days, periods, proration, budgets, causes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from accord.agreements import coverage
from accord.agreements.coverage import AssetV, Cause, ContractV, LineV
from accord.store.db import FOREVER


def d(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "end", "days"),
    [
        ("2026-12-01", "2026-12-15", 14),
        ("2026-12-01", "2027-01-01", 31),
        ("2026-12-01T10:00", "2026-12-03", 1),  # counts from the next midnight
        ("2026-12-01", "2026-12-01T00:00:01", 1),  # covered at the day's midnight
        ("2026-12-01T00:00:01", "2026-12-02", 0),
        ("2026-12-05", "2026-12-01", 0),
        ("2026-02-01", "2026-03-01", 28),
    ],
)
def test_days_are_counted_at_midnights(start: str, end: str, days: int) -> None:
    assert coverage.days_covered(d(start), d(end)) == days


@pytest.mark.parametrize(
    ("period", "when", "start", "end"),
    [
        ("monthly", "2026-11-23T15:00", "2026-11-01", "2026-12-01"),
        ("monthly", "2026-12-31", "2026-12-01", "2027-01-01"),
        ("quarterly", "2026-11-23", "2026-10-01", "2027-01-01"),
        ("quarterly", "2026-01-01", "2026-01-01", "2026-04-01"),
        ("annual", "2026-07-04", "2026-01-01", "2027-01-01"),
    ],
)
def test_periods_are_calendar_aligned(period: str, when: str, start: str, end: str) -> None:
    assert coverage.period_containing(period, d(when)) == (d(start), d(end))


def test_proration_rounds_half_up_in_minor_units() -> None:
    assert coverage.prorate(3100, 23, 30) == 2377  # 2376.67
    assert coverage.prorate(100, 1, 8) == 13  # 12.5 rounds up
    assert coverage.prorate(10000, 30, 30) == 10000
    assert coverage.prorate(0, 5, 30) == 0


A = AssetV("a1", d("2026-01-01"), FOREVER, "c1", "s1", "laptop", "in_service", "T-1", "Dell")
C = ContractV("k1", d("2026-01-01"), FOREVER, "c1", "REF", "monthly", "GBP", None, None, 1)


def line(vf: str, vt: datetime | str = FOREVER, price: int = 3000, **kw: object) -> LineV:
    fields: dict[str, object] = {
        "asset_id": "a1",
        "site_id": None,
        "asset_type": None,
        "service_level_id": "g",
        "budget_minutes": 60,
        "seq": 7,
    }
    fields.update(kw)
    end = d(vt) if isinstance(vt, str) else vt
    return LineV("l1", "k1", d(vf), end, price=price, **fields)  # type: ignore[arg-type]


def test_a_price_change_mid_month_gives_two_prorated_lines() -> None:
    segs = coverage.segments(
        [A], [line("2026-01-01", "2026-11-16", 3000), line("2026-11-16", price=6000)], [C]
    )
    got = coverage.charges(segs, d("2026-11-01"), d("2026-12-01"))
    assert [(c.unit_price, c.days, c.amount) for c in got] == [(3000, 15, 1500), (6000, 15, 3000)]


def test_budget_follows_coverage() -> None:
    segs = coverage.segments([A], [line("2026-01-01", "2026-11-16")], [C])
    assert coverage.budget_minutes(segs, d("2026-10-01"), d("2026-11-01")) == 60
    assert coverage.budget_minutes(segs, d("2026-11-01"), d("2026-12-01")) == 30
    assert coverage.budget_minutes(segs, d("2026-12-01"), d("2027-01-01")) == 0


def test_a_group_line_covers_assets_of_its_type_at_its_site_and_not_retired_ones() -> None:
    group = line("2026-01-01", asset_id=None, site_id="s1", asset_type="laptop")
    other_site = AssetV("a2", A.valid_from, FOREVER, "c1", "s2", "laptop", "in_service", "T-2")
    retired = AssetV("a3", A.valid_from, FOREVER, "c1", "s1", "laptop", "retired", "T-3")
    assert coverage.covers(group, A)
    assert not coverage.covers(group, other_site)
    assert not coverage.covers(group, retired)


def test_causes_in_the_desks_terms() -> None:
    on = d("2026-12-10")
    assert coverage.find([A], [], [C], on).cause == Cause.NEVER
    later = coverage.find([A], [line("2027-01-01")], [C], on)
    assert (later.cause, later.next_start) == (Cause.NOT_YET, d("2027-01-01"))
    removed = coverage.find([A], [line("2026-01-01", "2026-12-01")], [C], on)
    assert (removed.cause, removed.at) == (Cause.REMOVED, d("2026-12-01"))
    ended = ContractV(
        "k1", C.valid_from, d("2026-12-01"), "c1", "REF", "monthly", "GBP", d("2026-12-01"), None, 3
    )
    assert coverage.find([A], [line("2026-01-01")], [ended], on).cause == Cause.CONTRACT_ENDED
    cancelled = ContractV(
        "k1", C.valid_from, d("2026-12-01"), "c1", "REF", "monthly", "GBP", None, d("2026-12-01"), 9
    )
    found = coverage.find([A], [line("2026-01-01")], [cancelled], on)
    assert (found.cause, found.at) == (Cause.CANCELLED, d("2026-12-01"))
    moved = [
        AssetV("a1", A.valid_from, d("2026-12-01"), "c1", "s1", "laptop", "in_service", "T-1"),
        AssetV("a1", d("2026-12-01"), FOREVER, "c1", "s2", "laptop", "in_service", "T-1"),
    ]
    group = line("2026-01-01", asset_id=None, site_id="s1", asset_type="laptop")
    assert coverage.find(moved, [group], [C], on).cause == Cause.MOVED
    covered = coverage.find(moved, [group], [C], d("2026-11-30"))
    assert covered.cause == Cause.COVERED and covered.segment is not None
    assert covered.segment.end == d("2026-12-01")


def test_a_per_asset_line_wins_over_a_group_line() -> None:
    group = LineV("g1", "k1", d("2026-01-01"), FOREVER, None, "s1", "laptop", "s", 10, 0, 1)
    found = coverage.find([A], [group, line("2026-01-01")], [C], d("2026-06-01"))
    assert found.segment is not None and found.segment.line.line_id == "l1"
