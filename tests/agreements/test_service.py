"""Agreements through the service and query functions: entitlement and its reasons, changes
by date (past, future), cancellation and renewal rules, charges and invoices with
adjustments, budgets, lookups and roles. On SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from dateutil.relativedelta import relativedelta

from accord.access import Actor
from accord.agreements import coverage, queries, service
from accord.agreements.schemas import (
    AssetCreate,
    AssetUpdate,
    Cancellation,
    InvoiceRun,
    LineUpdate,
    PeriodCorrection,
    Renewal,
    TakeOff,
)
from accord.errors import Forbidden, Invalid, NotFound
from accord.store.db import Database, utcnow
from tests.agreements.conftest import DAY, Book, today


def month_of(t: datetime) -> tuple[datetime, datetime]:
    return coverage.period_containing("monthly", t)


def test_entitlement_says_which_line_and_level(db: Database, alice: Actor, book: Book) -> None:
    now = utcnow()
    with db.reading() as s:
        laptop = queries.entitlement(s, alice, book.laptop, on=now, known_at=now)
        assert laptop.covered and laptop.cause == "covered"
        assert laptop.line_id == book.laptop_line and laptop.service_level == "Gold"
        assert laptop.targets == {"p1": {"response": 30, "resolution": 240}}
        assert "FAB-MSP-1" in laptop.reason and "this asset" in laptop.reason
        server = queries.entitlement(s, alice, "fab-0002", on=now, known_at=now)  # by tag
        assert server.covered and server.line_id == book.server_line
        assert "every server at its site" in server.reason
        spare = queries.entitlement(s, alice, "sn-srv-2", on=now, known_at=now)  # by serial
        assert not spare.covered and spare.cause == "never_covered"
        before = queries.entitlement(s, alice, book.laptop, on=book.start - DAY, known_at=now)
        assert not before.covered and before.cause == "no_asset"
        with pytest.raises(NotFound):
            queries.entitlement(s, alice, "NO-SUCH-TAG", on=now, known_at=now)


def test_taken_off_from_tomorrow_and_as_known_before(
    db: Database, alice: Actor, book: Book
) -> None:
    tomorrow = today() + DAY
    before = utcnow()
    with db.unit_of_work() as s:
        lines = service.take_asset_off(
            s,
            actor=alice,
            asset_id=book.laptop,
            data=TakeOff(effective=tomorrow, reason="customer cancelled support for it"),
        )
    assert lines == [book.laptop_line]
    now = utcnow()
    with db.reading() as s:
        assert queries.entitlement(s, alice, book.laptop, on=now, known_at=now).covered
        later = queries.entitlement(s, alice, book.laptop, on=tomorrow, known_at=now)
        assert not later.covered and later.cause == "removed"
        assert f"from {tomorrow:%Y-%m-%d}" in later.reason and "Alice" in later.reason
        assert "customer cancelled support" in later.reason
        as_known = queries.entitlement(s, alice, book.laptop, on=tomorrow, known_at=before)
        assert as_known.covered  # what the desk knew before the change
    with db.unit_of_work() as s, pytest.raises(Invalid) as err:
        # A group-covered asset has no line of its own to take off.
        service.take_asset_off(
            s, actor=alice, asset_id=book.server, data=TakeOff(effective=tomorrow, reason="x" * 3)
        )
    assert err.value.problems[0][0] == "asset_id"


def test_cancellation_needs_notice_unless_waived_and_ends_coverage(
    db: Database, alice: Actor, book: Book
) -> None:
    soon = today() + 5 * DAY
    with db.unit_of_work() as s, pytest.raises(Invalid) as err:
        service.cancel_contract(
            s,
            actor=alice,
            contract_id=book.contract,
            data=Cancellation(effective=soon, reason="bye"),
        )
    assert "30 days' notice" in err.value.problems[0][1]
    with db.unit_of_work() as s:
        service.cancel_contract(
            s,
            actor=alice,
            contract_id=book.contract,
            data=Cancellation(effective=soon, waive_notice=True, reason="agreed early exit"),
        )
    now = utcnow()
    with db.reading() as s:
        for asset in (book.laptop, book.server):
            assert queries.entitlement(s, alice, asset, on=now, known_at=now).covered
            e = queries.entitlement(s, alice, asset, on=soon, known_at=now)
            assert not e.covered and e.cause == "cancelled"
            assert f"effective {soon:%Y-%m-%d}" in e.reason
        covered = queries.entitlement(s, alice, book.laptop, on=now, known_at=now)
        assert covered.covered_until == soon and "cancelled from that day" in covered.reason
    with db.unit_of_work() as s, pytest.raises(Invalid):
        service.cancel_contract(
            s,
            actor=alice,
            contract_id=book.contract,
            data=Cancellation(effective=soon + DAY, waive_notice=True, reason="again"),
        )
    with db.unit_of_work() as s, pytest.raises(Invalid):  # rolling: nothing to renew
        service.renew_contract(
            s, actor=alice, contract_id=book.contract, data=Renewal(reason="x" * 3)
        )


def test_price_change_mid_month_prorates_by_day(db: Database, alice: Actor, book: Book) -> None:
    start, end = month_of(book.start + relativedelta(months=2))
    mid = start + 10 * DAY
    with db.unit_of_work() as s:
        service.change_line(
            s,
            actor=alice,
            line_id=book.laptop_line,
            data=LineUpdate(price=6200, effective=mid, reason="upgraded to next-day swap"),
        )
    with db.reading() as s:
        got = queries.charges(s, alice, book.contract, start=start, end=end, known_at=utcnow())
    days = (end - start) // DAY
    laptop = sorted((c.unit_price, c.days, c.amount) for c in got if c.asset_id == book.laptop)
    assert laptop == [
        (3100, 10, coverage.prorate(3100, 10, days)),
        (6200, days - 10, coverage.prorate(6200, days - 10, days)),
    ]
    server = [c for c in got if c.asset_id == book.server]
    assert [(c.days, c.amount) for c in server] == [(days, 10000)]
    assert not any(c.asset_id == book.spare_server for c in got)


def test_invoice_run_then_a_retroactive_correction_adjusts_the_next(
    db: Database, alice: Actor, book: Book
) -> None:
    first = book.start + relativedelta(months=3)
    with db.unit_of_work() as s:
        run = service.run_invoices(s, actor=alice, data=InvoiceRun(period=first))
    assert len(run.issued) == 1
    with db.unit_of_work() as s:  # running it again changes nothing
        again = service.run_invoices(s, actor=alice, data=InvoiceRun(period=first))
    assert again.issued == [] and "already invoiced" in again.skipped[0]
    with db.reading() as s:
        issued = queries.get_invoice_for(s, alice, run.issued[0])
        assert issued.total == 3100 + 10000 and issued.number.endswith(f"/{first:%Y-%m}")
        issued_at, issued_total = issued.coverage_known_at, issued.total
    # Recorded now, true from then: the laptop came off in the middle of that month.
    start, end = month_of(first)
    with db.unit_of_work() as s:
        service.take_off(
            s,
            actor=alice,
            line_id=book.laptop_line,
            data=TakeOff(effective=start + 15 * DAY, reason="returned, found in an old email"),
        )
    with db.unit_of_work() as s:
        nxt = service.run_invoices(
            s, actor=alice, data=InvoiceRun(period=first + relativedelta(months=1))
        )
    with db.reading() as s:
        invoice = queries.get_invoice_for(s, alice, nxt.issued[0])
        adjustments = [ln for ln in invoice.lines if ln["kind"] == "adjustment"]
        days = (end - start) // DAY
        assert [(a["asset_id"], a["days_billed"], a["days_now"]) for a in adjustments] == [
            (book.laptop, days, 15)
        ]
        assert adjustments[0]["amount"] == coverage.prorate(3100, 15, days) - 3100
        # The issued invoice still says what was known when it was issued.
        then = queries.charges(s, alice, book.contract, start=start, end=end, known_at=issued_at)
        assert sum(c.amount for c in then) == issued_total


def test_corrected_start_counts_from_the_earlier_day(
    db: Database, alice: Actor, book: Book
) -> None:
    earlier = book.start - 10 * DAY
    with db.unit_of_work() as s, pytest.raises(Invalid):
        service.correct_line_period(
            s, actor=alice, line_id=book.laptop_line, data=PeriodCorrection(reason="nothing")
        )
    with db.unit_of_work() as s:
        service.correct_line_period(
            s,
            actor=alice,
            line_id=book.laptop_line,
            data=PeriodCorrection(starts=earlier, reason="signed ten days before the contract"),
        )
    with db.reading() as s:
        periods = queries.line_periods(s, alice, book.laptop_line, known_at=utcnow())
        assert periods[0].valid_from == earlier
        # The asset itself is on record only from the start: not covered before it.
        e = queries.entitlement(s, alice, book.laptop, on=earlier, known_at=utcnow())
        assert not e.covered and e.cause == "no_asset"
        assert queries.entitlement(s, alice, book.laptop, on=book.start, known_at=utcnow()).covered


def test_retired_and_moved_assets_stop_being_covered(
    db: Database, alice: Actor, bob: Actor, book: Book
) -> None:
    tomorrow, later = today() + DAY, today() + 5 * DAY
    with db.unit_of_work() as s:
        service.change_asset(
            s,
            actor=bob,
            asset_id=book.laptop,
            data=AssetUpdate(status="retired", effective=tomorrow, reason="end of life"),
        )
        service.change_asset(
            s,
            actor=bob,
            asset_id=book.server,
            data=AssetUpdate(site_id=book.other_site, effective=later, reason="moved to the depot"),
        )
    now = utcnow()
    with db.reading() as s:
        retired = queries.entitlement(s, bob, book.laptop, on=tomorrow, known_at=now)
        assert not retired.covered and retired.cause == "asset_retired"
        moved = queries.entitlement(s, bob, book.server, on=later, known_at=now)
        assert not moved.covered and moved.cause == "asset_changed"
        assert queries.entitlement(s, bob, book.server, on=later - DAY, known_at=now).covered


def test_budget_is_derived_from_what_is_covered(db: Database, alice: Actor, book: Book) -> None:
    month = book.start + relativedelta(months=2)
    start, end = month_of(month)
    with db.reading() as s:
        (before,) = queries.budget(s, alice, book.contract, months=[month], known_at=utcnow())
    assert before.budget_minutes == 60 + 120 and before.booked_minutes == 0
    with db.unit_of_work() as s:
        service.take_off(
            s,
            actor=alice,
            line_id=book.server_line,
            data=TakeOff(effective=start + 14 * DAY, reason="servers moved to the cloud"),
        )
    with db.reading() as s:
        (after,) = queries.budget(s, alice, book.contract, months=[month], known_at=utcnow())
    days = (end - start) // DAY
    assert after.budget_minutes == 60 + coverage.prorate(120, 14, days)


def test_tags_are_unique_and_found_case_insensitively(
    db: Database, alice: Actor, book: Book
) -> None:
    with db.unit_of_work() as s, pytest.raises(Invalid) as err:
        service.add_asset(
            s,
            actor=alice,
            data=AssetCreate(customer_id=book.customer, tag="fab-0001", asset_type="laptop"),
        )
    assert err.value.problems[0][0] == "tag"
    with db.reading() as s:
        assert queries.find_asset(s, alice, "Fab-0001").entity_id == book.laptop
        assert queries.find_asset(s, alice, "sn-lap-1").entity_id == book.laptop
        found, total = queries.list_assets(s, actor=alice, when=queries.AsOf.now(), q="server")
        assert total == 2 and {a.entity_id for a in found} == {book.server, book.spare_server}


def test_roles(db: Database, bob: Actor, carol: Actor, mallory: Actor, book: Book) -> None:
    with db.unit_of_work() as s, pytest.raises(Forbidden):  # the desk does not set prices
        service.change_line(
            s, actor=bob, line_id=book.laptop_line, data=LineUpdate(price=1, reason="cheaper")
        )
    with db.unit_of_work() as s, pytest.raises(Forbidden):  # auditors only read
        service.add_asset(
            s, actor=carol, data=AssetCreate(customer_id=book.customer, tag="X1", asset_type="pc")
        )
    now = utcnow()
    with db.reading() as s:
        assert queries.entitlement(s, carol, book.laptop, on=now, known_at=now).covered
        with pytest.raises(NotFound):  # another tenant's asset is not found
            queries.entitlement(s, mallory, book.laptop, on=now, known_at=now)


def test_days_are_counted_at_midnights_and_rounded_half_up() -> None:
    d = datetime(2026, 12, 1, tzinfo=UTC)
    assert coverage.days_covered(d, d + 14 * DAY) == 14
    assert coverage.days_covered(d + timedelta(hours=10), d + 14 * DAY) == 13
    assert coverage.days_covered(d, d + timedelta(hours=1)) == 1
    assert coverage.days_covered(d + timedelta(hours=1), d + timedelta(hours=23)) == 0
    assert coverage.prorate(3100, 15, 31) == 1500
    assert coverage.prorate(1, 1, 2) == 1  # half up
    assert coverage.prorate(-3, 1, 2) == -2  # half away from zero
    assert coverage.period_containing("quarterly", d) == (d - relativedelta(months=2), d + DAY * 31)


def test_contract_history_is_the_changes_to_the_contract_and_its_lines(
    db: Database, alice: Actor, mallory: Actor, book: Book
) -> None:
    before_change = utcnow()
    with db.unit_of_work() as s:
        service.change_line(
            s,
            actor=alice,
            line_id=book.laptop_line,
            data=LineUpdate(price=6200, reason="upgraded to next-day swap"),
        )
    with db.reading() as s:
        history = queries.contract_history(s, alice, book.contract)
        seqs = [c["entry"].seq for c in history]
        assert seqs == sorted(seqs, reverse=True)
        newest = history[0]
        assert newest["entry"].kind == "agreements.line.changed"
        assert newest["entry"].id == book.laptop_line
        assert newest["entry"].reason == "upgraded to next-day swap"
        assert {"op": "replace", "path": "/price", "value": 6200} in newest["patch"]
        kinds = {c["entry"].kind for c in history}
        assert {"agreements.contract.created", "agreements.line.added"} <= kinds
        created = next(c for c in history if c["entry"].kind == "agreements.contract.created")
        assert created["before"] is None and created["after"]["reference"] == "FAB-MSP-1"
        as_it_stood = queries.contract_history(s, alice, book.contract, known_at=before_change)
        assert [c["entry"].seq for c in as_it_stood] == seqs[1:]
        with pytest.raises(NotFound):
            queries.contract_history(s, mallory, book.contract)
