"""The issue's story end to end, through the HTTP API only.

A customer's laptop is under a monthly support contract. The customer cancels effective
tomorrow (or takes the laptop off from tomorrow). The desk sees it covered today and not
tomorrow, and why; this month's invoice is prorated by day; the support budget drops this
month and is zero next month, because budgets, invoices and entitlement are all derived
from the one record. Then finance corrects the past, and the next invoice adjusts.
"""

from __future__ import annotations

import calendar
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
import time_machine
from dateutil.relativedelta import relativedelta
from fastapi.testclient import TestClient

from accord.access import Actor
from accord.store.db import utcnow
from tests.api.conftest import Client
from tests.api.helpers import invalid_fields

ALICE = "Alice <alice@northwind.example>"
PRICE = 3100  # £31.00 a month for the laptop
BUDGET = 120  # two hours of support a month for it


def prorated(amount: int, days: int, of_days: int) -> int:
    """The exact share, rounded half away from zero: worked out here, not by Accord."""
    return int((Decimal(amount) * days / of_days).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def at(d: date) -> str:
    return f"{d.isoformat()}T00:00:00Z"


def ok(r: Any) -> Any:
    assert r.status_code in (200, 201), r.text
    return r.json()


@dataclass
class Setup:
    customer: str
    asset: str
    contract: str
    line: str


def set_up(api: TestClient, *, start: date, line_from: date | None = None) -> Setup:
    """Customer, site, laptop, office hours, Gold, a rolling monthly contract from `start`
    and a line for the laptop from `line_from` (default `start`), all through the API."""
    begin = start.isoformat()
    customer = ok(
        api.post(
            "/api/customers",
            json={"name": "Fabrikam Ltd", "code": "FAB", "effective": begin},
        )
    )["id"]
    site = ok(
        api.post(f"/api/customers/{customer}/sites", json={"name": "HQ", "effective": begin})
    )["id"]
    asset = ok(
        api.post(
            "/api/assets",
            json={
                "customer_id": customer,
                "site_id": site,
                "tag": "FAB-0042",
                "serial": "5CG1234XYZ",
                "asset_type": "laptop",
                "make": "HP",
                "model": "EliteBook 840",
                "effective": begin,
            },
        )
    )["id"]
    hours = ok(
        api.post(
            "/api/calendars",
            json={
                "name": "UK office hours",
                "time_zone": "Europe/London",
                "weekly_hours": {d: [["08:00", "18:00"]] for d in ("mon", "tue", "wed")},
                "effective": begin,
            },
        )
    )["id"]
    gold = ok(
        api.post(
            "/api/service-levels",
            json={
                "name": "Gold",
                "calendar_id": hours,
                "targets": {"p1": {"response": 30, "resolution": 240}},
                "effective": begin,
            },
        )
    )["id"]
    contract = ok(
        api.post(
            "/api/contracts",
            json={
                "customer_id": customer,
                "reference": "FAB-MSP-1",
                "title": "Managed support",
                "start": begin,
                "notice_days": 30,
                "billing_period": "monthly",
                "currency": "GBP",
                "reason": "signed",
            },
        )
    )["id"]
    line = ok(
        api.post(
            f"/api/contracts/{contract}/lines",
            json={
                "asset_id": asset,
                "service_level_id": gold,
                "price": PRICE,
                "budget_minutes": BUDGET,
                "effective": (line_from or start).isoformat(),
                "reason": "laptop support",
            },
        )
    )["id"]
    return Setup(customer, asset, contract, line)


@pytest.fixture
def mid_month() -> Iterator[datetime]:
    """The clock on the 17th of next month at 10:00 UTC (and running), so that the story's
    month is always cut mid-way, whatever day the suite runs on. Later than any record the
    fixtures wrote, so recorded time still only moves forward."""
    first = utcnow().date().replace(day=1) + relativedelta(months=1)
    moment = datetime(first.year, first.month, 17, 10, 0, tzinfo=UTC)
    with time_machine.travel(moment, tick=True):
        yield moment


@pytest.mark.parametrize("how", ["cancel contract", "take asset off"])
def test_customer_cancels_from_tomorrow(
    as_: Client, alice: Actor, bob: Actor, mid_month: datetime, how: str
) -> None:
    api, desk = as_(alice), as_(bob)
    today = mid_month.date()
    tomorrow = today + timedelta(days=1)
    this_month, next_month = today.replace(day=1), today.replace(day=1) + relativedelta(months=1)
    month_days = calendar.monthrange(today.year, today.month)[1]
    s = set_up(api, start=date(today.year - 1, 1, 1))

    # Covered today, for the foreseeable future.
    now = ok(desk.get("/api/assets/fab-0042/entitlement"))
    assert now["covered"] is True and now["covered_until"] is None
    assert now["contract_reference"] == "FAB-MSP-1" and now["service_level"] == "Gold"

    def budget() -> list[tuple[str, int, int]]:
        months = ok(
            desk.get(
                f"/api/contracts/{s.contract}/budget",
                params={"from": f"{this_month:%Y-%m}", "months": 2},
            )
        )
        return [(m["month"], m["budget_minutes"], m["booked_minutes"]) for m in months]

    ok(
        desk.post(
            "/api/time",
            json={
                "customer_id": s.customer,
                "contract_id": s.contract,
                "asset_id": s.asset,
                "worked_on": today.isoformat(),
                "minutes": 30,
                "reason": "screen flicker",
            },
        )
    )
    before = budget()
    assert before == [(f"{this_month:%Y-%m}", BUDGET, 30), (f"{next_month:%Y-%m}", BUDGET, 0)]
    before_change = utcnow()

    # The customer leaves tomorrow. That is inside the 30 days' notice, so it is refused
    # unless the notice is waived (agreed with them); and it is the desk's agent who may
    # not make it, as it changes the contract.
    if how == "cancel contract":
        path, body = f"/api/contracts/{s.contract}/cancel", {"effective": tomorrow.isoformat()}
        refused = api.post(path, json={**body, "reason": "customer is leaving"})
        assert "notice" in invalid_fields(refused)["effective"]
        assert desk.post(path, json={**body, "reason": "x y z"}).status_code == 403
        contract = ok(
            api.post(path, json={**body, "reason": "customer is leaving", "waive_notice": True})
        )
        assert contract["cancelled_from"] == at(tomorrow)
        assert contract["periods"] == [
            {"start": at(date(today.year - 1, 1, 1)), "end": at(tomorrow)}
        ]
        cause = "cancelled"
    else:
        path = f"/api/assets/{s.asset}/take-off"
        body = {"effective": tomorrow.isoformat(), "reason": "customer is leaving"}
        assert desk.post(path, json=body).status_code == 403
        lines = ok(api.post(path, json=body))
        assert [(ln["id"], ln["periods"][-1]["end"]) for ln in lines] == [(s.line, at(tomorrow))]
        cause = "removed"

    # The desk: covered today, until tomorrow; not covered tomorrow, and why.
    now = ok(desk.get("/api/assets/FAB-0042/entitlement"))
    assert now["covered"] is True and now["covered_until"] == at(tomorrow)
    assert tomorrow.isoformat() in now["reason"]
    then = ok(desk.get("/api/assets/5cg1234xyz/entitlement", params={"on": tomorrow.isoformat()}))
    assert then["covered"] is False and then["cause"] == cause
    assert tomorrow.isoformat() in then["reason"]
    assert ALICE in then["reason"] and "customer is leaving" in then["reason"]
    assert then["contract_reference"] == "FAB-MSP-1"
    # As the desk knew it before the change, tomorrow was covered.
    known_before = ok(
        desk.get(
            "/api/assets/FAB-0042/entitlement",
            params={"on": tomorrow.isoformat(), "known_at": before_change.isoformat()},
        )
    )
    assert known_before["covered"] is True
    segments = ok(desk.get("/api/assets/FAB-0042/coverage"))
    assert segments[-1]["end"] == at(tomorrow)

    # Billing: this month's invoice is prorated, the 1st to today inclusive.
    days = today.day
    expected = prorated(PRICE, days, month_days)
    assert 0 < expected < PRICE
    run = ok(api.post("/api/invoice-runs", json={"period": today.isoformat()}))
    assert len(run["issued"]) == 1, run
    invoice = ok(api.get(f"/api/invoices/{run['issued'][0]}"))
    assert invoice["number"] == f"FAB-MSP-1/{this_month:%Y-%m}"
    assert [
        (ln["kind"], ln["tag"], ln["days"], ln["period_days"], ln["unit_price"], ln["amount"])
        for ln in invoice["lines"]
    ] == [("charge", "FAB-0042", days, month_days, PRICE, expected)]
    assert invoice["total"] == expected
    rows = list(csv.DictReader(io.StringIO(api.get(f"/api/invoices/{invoice['id']}.csv").text)))
    assert [(r["days"], r["amount"]) for r in rows] == [
        (str(days), f"{Decimal(expected) / 100:.2f}")
    ]
    # Nothing is left to invoice next month.
    later = ok(api.post("/api/invoice-runs", json={"period": next_month.isoformat()}))
    assert later["issued"] == [] and later["skipped"][0].startswith("FAB-MSP-1: ")

    # The budget follows the coverage: a share of this month, nothing next month.
    after = budget()
    assert after == [
        (f"{this_month:%Y-%m}", prorated(BUDGET, days, month_days), 30),
        (f"{next_month:%Y-%m}", 0, 0),
    ]
    assert after[0][1] < before[0][1]


def test_retroactive_start_correction_is_credited_on_the_next_invoice(
    as_: Client, alice: Actor
) -> None:
    api = as_(alice)
    today = utcnow().date()
    this_month = today.replace(day=1)
    last_month = this_month - relativedelta(months=1)
    last_days = calendar.monthrange(last_month.year, last_month.month)[1]
    s = set_up(api, start=date(today.year - 1, 1, 1), line_from=last_month)

    first = ok(api.post("/api/invoice-runs", json={"period": last_month.isoformat()}))
    issued = ok(api.get(f"/api/invoices/{first['issued'][0]}"))
    assert issued["total"] == PRICE

    # The laptop in fact came under the contract on the 11th, not the 1st: recorded now,
    # true from then.
    started = last_month + timedelta(days=10)
    line = ok(
        api.post(
            f"/api/lines/{s.line}/correct",
            json={"starts": started.isoformat(), "reason": "delivered on the 11th"},
        )
    )
    assert line["periods"][0]["start"] == at(started)
    due = prorated(PRICE, last_days - 10, last_days)

    # The issued invoice keeps what was known when it was issued; a recomputation now
    # shows the corrected amount, and as known at issue the old one.
    assert ok(api.get(f"/api/invoices/{issued['id']}")) == issued
    charges = f"/api/contracts/{s.contract}/charges"
    assert ok(api.get(charges, params={"period": last_month.isoformat()}))["total"] == due
    as_billed = {"period": last_month.isoformat(), "known_at": issued["coverage_known_at"]}
    assert ok(api.get(charges, params=as_billed))["total"] == PRICE
    entitled = ok(
        api.get("/api/assets/FAB-0042/entitlement", params={"on": last_month.isoformat()})
    )
    assert entitled["covered"] is False and entitled["cause"] == "not_yet_covered"

    run = ok(api.post("/api/invoice-runs", json={"period": this_month.isoformat()}))
    invoice = ok(api.get(f"/api/invoices/{run['issued'][0]}"))
    by_kind = {ln["kind"]: ln for ln in invoice["lines"]}
    assert set(by_kind) == {"charge", "adjustment"}
    assert by_kind["charge"]["amount"] == PRICE
    adjustment = by_kind["adjustment"]
    assert adjustment["amount"] == due - PRICE < 0  # a credit
    assert adjustment["period_start"] == last_month.isoformat()
    assert (adjustment["days_billed"], adjustment["days_now"]) == (last_days, last_days - 10)
    assert invoice["total"] == PRICE + due - PRICE

    rows = list(csv.DictReader(io.StringIO(api.get(f"/api/invoices/{invoice['id']}.csv").text)))
    assert [(r["period"], r["kind"], r["amount"]) for r in rows] == [
        (f"{this_month:%Y-%m}", "charge", f"{Decimal(PRICE) / 100:.2f}"),
        (f"{last_month:%Y-%m}", "adjustment", f"{Decimal(due - PRICE) / 100:.2f}"),
    ]
    # Run again: nothing is adjusted twice.
    again = ok(api.post("/api/invoice-runs", json={"period": this_month.isoformat()}))
    assert again["issued"] == []


def test_price_change_from_a_past_date_is_charged_on_the_next_invoice(
    as_: Client, alice: Actor
) -> None:
    api = as_(alice)
    today = utcnow().date()
    this_month = today.replace(day=1)
    last_month = this_month - relativedelta(months=1)
    s = set_up(api, start=date(today.year - 1, 1, 1))
    ok(api.post("/api/invoice-runs", json={"period": last_month.isoformat()}))

    ok(
        api.patch(
            f"/api/lines/{s.line}",
            json={
                "price": 4000,
                "effective": last_month.isoformat(),
                "reason": "rise agreed for last month, entered late",
            },
        )
    )
    run = ok(api.post("/api/invoice-runs", json={"period": this_month.isoformat()}))
    invoice = ok(api.get(f"/api/invoices/{run['issued'][0]}"))
    assert sorted((ln["kind"], ln["period_start"], ln["amount"]) for ln in invoice["lines"]) == [
        ("adjustment", last_month.isoformat(), 4000 - PRICE),
        ("charge", this_month.isoformat(), 4000),
    ]
    assert invoice["total"] == 4000 + 4000 - PRICE
