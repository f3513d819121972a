"""The agreements API: assets, calendars, service levels, contracts, lines, entitlement,
coverage, budgets, charges and invoices over valid and recorded time, with tenant and role
checks, problem documents for bad input, and nothing changed on refusal."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from dateutil.relativedelta import relativedelta
from fastapi.testclient import TestClient

from accord.access import Actor
from accord.store.db import utcnow
from tests.api.conftest import Client
from tests.api.helpers import invalid_fields, problem

Size = Callable[[Actor], int]


def today() -> date:
    return utcnow().date()


def day(offset: int) -> str:
    """A date `offset` days from today (UTC), as people type it."""
    return (today() + timedelta(days=offset)).isoformat()


def midnight(d: str | date) -> str:
    """The instant a date means, as the API renders it."""
    return f"{d}T00:00:00Z"


def month_start(months: int = 0) -> date:
    """The first day of this month, or of `months` months from it."""
    return today().replace(day=1) + relativedelta(months=months)


def created(r: Any) -> dict[str, Any]:
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def ok(r: Any) -> Any:
    assert r.status_code == 200, r.text
    return r.json()


@dataclass
class Book:
    """One customer with a site, a laptop, office hours, a Gold level and a rolling monthly
    contract since the start of last year that covers the laptop at 31.00 a month."""

    customer: str
    site: str
    laptop: str
    calendar: str
    gold: str
    contract: str
    line: str
    start: str


def new_book(api: TestClient) -> Book:
    start = date(today().year - 1, 1, 1).isoformat()
    customer = created(
        api.post(
            "/api/customers",
            json={"name": "Fabrikam Ltd", "code": "FAB", "effective": start},
        )
    )["id"]
    site = created(
        api.post(f"/api/customers/{customer}/sites", json={"name": "HQ", "effective": start})
    )["id"]
    laptop = created(
        api.post(
            "/api/assets",
            json={
                "customer_id": customer,
                "site_id": site,
                "tag": "FAB-0001",
                "serial": "SN-LAP-1",
                "asset_type": "laptop",
                "make": "Dell",
                "model": "Latitude 7440",
                "effective": start,
                "reason": "onboarding",
            },
        )
    )["id"]
    calendar = created(
        api.post(
            "/api/calendars",
            json={
                "name": "UK office hours",
                "time_zone": "Europe/London",
                "weekly_hours": {d: [["08:00", "18:00"]] for d in ("mon", "tue", "wed", "thu")},
                "holidays": ["2026-12-25"],
                "effective": start,
            },
        )
    )["id"]
    gold = created(
        api.post(
            "/api/service-levels",
            json={
                "name": "Gold",
                "calendar_id": calendar,
                "targets": {"p1": {"response": 30, "resolution": 240}},
                "effective": start,
            },
        )
    )["id"]
    contract = created(
        api.post(
            "/api/contracts",
            json={
                "customer_id": customer,
                "reference": "FAB-MSP-1",
                "title": "Managed support",
                "start": start,
                "notice_days": 30,
                "billing_period": "monthly",
                "currency": "GBP",
                "reason": "signed",
            },
        )
    )["id"]
    line = created(
        api.post(
            f"/api/contracts/{contract}/lines",
            json={
                "asset_id": laptop,
                "service_level_id": gold,
                "price": 3100,
                "budget_minutes": 60,
                "effective": start,
                "reason": "laptop support",
            },
        )
    )["id"]
    return Book(customer, site, laptop, calendar, gold, contract, line, start)


# --- assets -------------------------------------------------------------------------------


def test_assets_are_found_by_id_tag_or_serial_in_any_case_and_searched(
    as_: Client, alice: Actor
) -> None:
    api = as_(alice)
    b = new_book(api)
    r = api.post(
        "/api/assets",
        json={
            "customer_id": b.customer,
            "site_id": b.site,
            "tag": "HQ/SRV-1",
            "serial": "CZ J 123",
            "asset_type": "server",
            "make": "HPE",
            "model": "ProLiant DL20",
        },
    )
    server = created(r)
    assert r.headers["location"] == f"/api/assets/{server['id']}"
    assert server["status"] == "in_service" and server["version"]["valid_to"] is None

    laptop = ok(api.get(f"/api/assets/{b.laptop}"))
    assert laptop["tag"] == "FAB-0001" and laptop["model"] == "Latitude 7440"
    for key in ("FAB-0001", "fab-0001", "sn-lap-1", " SN-LAP-1 "):
        assert ok(api.get(f"/api/assets/{key}"))["id"] == b.laptop, key
    # A tag with a slash still names one asset, as do its entitlement and coverage.
    assert ok(api.get("/api/assets/hq/srv-1"))["id"] == server["id"]
    assert ok(api.get("/api/assets/cz j 123"))["id"] == server["id"]
    assert ok(api.get("/api/assets/HQ/SRV-1/entitlement"))["cause"] == "never_covered"
    assert ok(api.get("/api/assets/HQ/SRV-1/coverage")) == []
    assert "no asset" in problem(api.get("/api/assets/FAB-9999"), 404)["detail"]

    def tags(**params: Any) -> tuple[list[str], int]:
        body = ok(api.get("/api/assets", params=params))
        return [a["tag"] for a in body["items"]], body["total"]

    assert tags() == (["FAB-0001", "HQ/SRV-1"], 2)
    assert tags(q="proliant") == (["HQ/SRV-1"], 1)
    assert tags(q="LAPTOP") == (["FAB-0001"], 1)
    assert tags(customer_id=b.customer, limit=1) == (["FAB-0001"], 2)
    assert tags(customer_id=b.customer, limit=1, offset=1) == (["HQ/SRV-1"], 2)
    assert tags(site_id=str(uuid.uuid4())) == ([], 0)
    # Before it was put on record, the laptop is not in the list.
    assert tags(on=date(today().year - 2, 6, 1).isoformat()) == ([], 0)


def test_asset_change_planned_for_a_date_shows_from_that_date(as_: Client, alice: Actor) -> None:
    api = as_(alice)
    b = new_book(api)
    r = api.patch(
        f"/api/assets/{b.laptop}",
        json={"status": "retired", "effective": day(10), "reason": "end of life"},
    )
    changed = ok(r)
    assert changed["status"] == "retired"
    assert changed["version"]["valid_from"] == midnight(day(10))

    assert ok(api.get(f"/api/assets/{b.laptop}"))["status"] == "in_service"
    assert ok(api.get("/api/assets/fab-0001", params={"on": day(10)}))["status"] == "retired"
    later = ok(api.get("/api/assets/FAB-0001/entitlement", params={"on": day(11)}))
    assert later["covered"] is False and later["cause"] == "asset_retired"
    assert day(10) in later["reason"]
    # As known before the change was recorded, nothing was planned.
    before = changed["version"]["recorded_from"]
    as_known = api.get(
        "/api/assets/FAB-0001/entitlement",
        params={
            "on": day(11),
            "known_at": (datetime.fromisoformat(before) - timedelta(microseconds=1)).isoformat(),
        },
    )
    assert ok(as_known)["covered"] is True


# --- calendars and service levels ----------------------------------------------------------


def test_calendars_and_service_levels_are_created_listed_and_read(
    as_: Client, alice: Actor
) -> None:
    api = as_(alice)
    b = new_book(api)
    calendars = ok(api.get("/api/calendars"))
    assert [c["name"] for c in calendars] == ["UK office hours"]
    assert calendars[0]["weekly_hours"]["mon"] == [["08:00", "18:00"]]
    assert calendars[0]["holidays"] == ["2026-12-25"]
    assert ok(api.get(f"/api/calendars/{b.calendar}")) == calendars[0]

    r = api.post(
        "/api/service-levels",
        json={
            "name": "Bronze",
            "calendar_id": b.calendar,
            "targets": {"p1": {"response": 120, "resolution": 960}},
        },
    )
    bronze = created(r)
    assert r.headers["location"] == f"/api/service-levels/{bronze['id']}"
    assert ok(api.get(r.headers["location"])) == bronze
    levels = ok(api.get("/api/service-levels"))
    assert [(x["name"], x["targets"]["p1"]["response"]) for x in levels] == [
        ("Bronze", 120),
        ("Gold", 30),
    ]


# --- contracts and lines -------------------------------------------------------------------


def test_contract_is_read_with_its_lines_and_periods_and_changed_from_a_date(
    as_: Client, alice: Actor
) -> None:
    api = as_(alice)
    b = new_book(api)
    contract = ok(api.get(f"/api/contracts/{b.contract}"))
    assert contract["reference"] == "FAB-MSP-1" and contract["in_force"] is True
    assert contract["start"] == midnight(b.start) and contract["term_end"] is None
    assert contract["periods"] == [{"start": midnight(b.start), "end": None}]
    assert [(ln["id"], ln["asset_id"], ln["price"]) for ln in contract["lines"]] == [
        (b.line, b.laptop, 3100)
    ]

    renamed = ok(
        api.patch(
            f"/api/contracts/{b.contract}",
            json={"title": "Managed support plus", "effective": day(5), "reason": "upgrade"},
        )
    )
    assert renamed["title"] == "Managed support plus"
    assert ok(api.get(f"/api/contracts/{b.contract}"))["title"] == "Managed support"
    # A title change is a new version, not a new period in force.
    assert renamed["periods"] == [{"start": midnight(b.start), "end": None}]

    listed = ok(api.get("/api/contracts", params={"customer_id": b.customer}))
    assert [c["id"] for c in listed] == [b.contract]
    assert ok(api.get("/api/contracts", params={"q": "msp-1"}))[0]["id"] == b.contract
    assert ok(api.get("/api/contracts", params={"q": "nothing like it"})) == []
    assert ok(api.get("/api/contracts", params={"on": day(6)}))[0]["title"] == (
        "Managed support plus"
    )

    # A fixed-term contract renews by its renewal term.
    r = api.post(
        "/api/contracts",
        json={
            "customer_id": b.customer,
            "reference": "FAB-PROJ-2",
            "title": "Network refresh",
            "start": day(-30),
            "term_end": day(30),
            "renewal_months": 12,
        },
    )
    fixed = created(r)
    assert r.headers["location"] == f"/api/contracts/{fixed['id']}"
    assert fixed["periods"] == [{"start": midnight(day(-30)), "end": midnight(day(30))}]
    renewed = ok(api.post(f"/api/contracts/{fixed['id']}/renew", json={"reason": "renewed"}))
    new_end = (date.fromisoformat(day(30)) + relativedelta(months=12)).isoformat()
    assert renewed["periods"] == [{"start": midnight(day(-30)), "end": midnight(new_end)}]
    later = ok(api.get(f"/api/contracts/{fixed['id']}", params={"on": day(31)}))
    assert later["term_end"] == midnight(new_end) and later["in_force"] is True


def test_line_price_change_take_off_and_correction(as_: Client, alice: Actor) -> None:
    api = as_(alice)
    b = new_book(api)
    r = api.get(f"/api/lines/{b.line}")
    assert ok(r)["periods"] == [{"start": midnight(b.start), "end": None}]

    next_month = month_start(1).isoformat()
    changed = ok(
        api.patch(
            f"/api/lines/{b.line}",
            json={"price": 3500, "effective": next_month, "reason": "price rise"},
        )
    )
    assert changed["price"] == 3500 and changed["version"]["valid_from"] == midnight(next_month)
    assert ok(api.get(f"/api/lines/{b.line}"))["price"] == 3100
    charges = ok(api.get(f"/api/contracts/{b.contract}/charges", params={"period": next_month}))
    assert [(c["tag"], c["unit_price"], c["amount"]) for c in charges["lines"]] == [
        ("FAB-0001", 3500, 3500)
    ]
    assert charges["period_start"] == midnight(next_month) and charges["currency"] == "GBP"

    off = ok(
        api.post(
            f"/api/lines/{b.line}/take-off",
            json={"effective": day(20), "reason": "customer returned it"},
        )
    )
    assert off["periods"] == [{"start": midnight(b.start), "end": midnight(day(20))}]
    gone = ok(api.get("/api/assets/FAB-0001/entitlement", params={"on": day(21)}))
    assert gone["cause"] == "removed" and day(20) in gone["reason"]
    assert "Alice" in gone["reason"] and "customer returned it" in gone["reason"]

    fixed = ok(
        api.post(
            f"/api/lines/{b.line}/correct",
            json={"starts": day(-40), "reason": "it came on later than we typed"},
        )
    )
    assert fixed["periods"] == [{"start": midnight(day(-40)), "end": midnight(day(20))}]
    segments = ok(api.get("/api/assets/FAB-0001/coverage"))
    assert segments[0]["start"] == midnight(day(-40)) and segments[-1]["end"] == midnight(day(20))
    assert {s["line_id"] for s in segments} == {b.line}
    assert all(s["per_asset"] and s["service_level"] == "Gold" for s in segments)


def test_entitlement_and_coverage_over_time(as_: Client, alice: Actor) -> None:
    api = as_(alice)
    b = new_book(api)
    now = ok(api.get("/api/assets/fab-0001/entitlement"))
    assert now["covered"] is True and now["cause"] == "covered"
    assert now["contract_id"] == b.contract and now["line_id"] == b.line
    assert now["service_level"] == "Gold" and now["targets"]["p1"]["response"] == 30
    assert "FAB-MSP-1" in now["reason"]
    before = ok(
        api.get(
            f"/api/assets/{b.laptop}/entitlement",
            params={"on": date(today().year - 2, 6, 1).isoformat()},
        )
    )
    assert before["covered"] is False and before["cause"] == "no_asset"

    segments = ok(api.get("/api/assets/SN-LAP-1/coverage"))
    assert [
        (s["start"], s["end"], s["contract_reference"], s["price"], s["per_asset"])
        for s in segments
    ] == [(midnight(b.start), None, "FAB-MSP-1", 3100, True)]


def test_budget_counts_time_booked_to_the_contract(as_: Client, alice: Actor, bob: Actor) -> None:
    b = new_book(as_(alice))
    desk = as_(bob)
    r = desk.post(
        "/api/time",
        json={
            "customer_id": b.customer,
            "contract_id": b.contract,
            "asset_id": b.laptop,
            "worked_on": today().isoformat(),
            "minutes": 45,
            "reason": "replaced the keyboard",
        },
    )
    booked = created(r)
    assert booked["worked_on"] == today().isoformat() and booked["minutes"] == 45

    months = ok(
        desk.get(
            f"/api/contracts/{b.contract}/budget",
            params={"from": f"{month_start(-1):%Y-%m}", "months": 3},
        )
    )
    assert [(m["month"], m["budget_minutes"], m["booked_minutes"]) for m in months] == [
        (f"{month_start(-1):%Y-%m}", 60, 0),
        (f"{month_start():%Y-%m}", 60, 45),
        (f"{month_start(1):%Y-%m}", 60, 0),
    ]
    assert months[1]["remaining_minutes"] == 15
    # The default is this month alone.
    this = ok(desk.get(f"/api/contracts/{b.contract}/budget"))
    assert [(m["month"], m["booked_minutes"]) for m in this] == [(f"{month_start():%Y-%m}", 45)]


def test_invoice_run_issues_once_and_exports_csv(as_: Client, alice: Actor) -> None:
    api = as_(alice)
    b = new_book(api)
    last_month = month_start(-1)
    run = ok(api.post("/api/invoice-runs", json={"period": last_month.isoformat()}))
    assert len(run["issued"]) == 1 and run["skipped"] == []
    again = ok(api.post("/api/invoice-runs", json={"period": last_month.isoformat()}))
    assert again == {
        "issued": [],
        "skipped": [f"FAB-MSP-1: already invoiced for {last_month:%Y-%m}"],
    }

    invoice_id = run["issued"][0]
    invoice = ok(api.get(f"/api/invoices/{invoice_id}"))
    assert invoice["number"] == f"FAB-MSP-1/{last_month:%Y-%m}"
    assert invoice["total"] == 3100 and invoice["currency"] == "GBP"
    assert [
        (ln["kind"], ln["tag"], ln["amount"], ln["service_level"]) for ln in invoice["lines"]
    ] == [("charge", "FAB-0001", 3100, "Gold")]
    listed = ok(api.get("/api/invoices", params={"contract_id": b.contract}))
    assert [(i["id"], i["total"]) for i in listed] == [(invoice_id, 3100)]
    assert ok(api.get("/api/invoices")) == listed

    r = api.get(f"/api/invoices/{invoice_id}.csv")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert f"FAB-MSP-1_{last_month:%Y-%m}.csv" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert rows == [
        {
            "number": f"FAB-MSP-1/{last_month:%Y-%m}",
            "period": f"{last_month:%Y-%m}",
            "kind": "charge",
            "tag": "FAB-0001",
            "description": "Dell Latitude 7440",
            "service_level": "Gold",
            "days": str(invoice["lines"][0]["period_days"]),
            "period_days": str(invoice["lines"][0]["period_days"]),
            "unit_price": "31.00",
            "amount": "31.00",
            "currency": "GBP",
        }
    ]


# --- who may do what -----------------------------------------------------------------------


def writes(b: Book) -> list[tuple[str, str, dict[str, Any]]]:
    """One valid request for every write endpoint, against book `b`."""
    return [
        (
            "POST",
            "/api/assets",
            {"customer_id": b.customer, "tag": "FAB-0099", "asset_type": "printer"},
        ),
        ("PATCH", f"/api/assets/{b.laptop}", {"model": "Latitude 9", "reason": "typo"}),
        ("POST", f"/api/assets/{b.laptop}/take-off", {"effective": day(40), "reason": "gone"}),
        (
            "POST",
            "/api/calendars",
            {"name": "24x7", "weekly_hours": {"mon": [["00:00", "24:00"]]}},
        ),
        (
            "POST",
            "/api/service-levels",
            {
                "name": "Silver",
                "calendar_id": b.calendar,
                "targets": {"p2": {"response": 60, "resolution": 480}},
            },
        ),
        (
            "POST",
            "/api/contracts",
            {
                "customer_id": b.customer,
                "reference": "FAB-X",
                "title": "More",
                "start": day(0),
            },
        ),
        ("PATCH", f"/api/contracts/{b.contract}", {"title": "Mine", "reason": "mine now"}),
        ("POST", f"/api/contracts/{b.contract}/renew", {"reason": "again", "term_end": day(900)}),
        (
            "POST",
            f"/api/contracts/{b.contract}/cancel",
            {"effective": day(60), "reason": "leaving"},
        ),
        (
            "POST",
            f"/api/contracts/{b.contract}/lines",
            {
                "site_id": b.site,
                "asset_type": "server",
                "service_level_id": b.gold,
                "price": 100,
            },
        ),
        ("PATCH", f"/api/lines/{b.line}", {"price": 1, "reason": "discount"}),
        ("POST", f"/api/lines/{b.line}/take-off", {"effective": day(40), "reason": "gone"}),
        ("POST", f"/api/lines/{b.line}/correct", {"starts": day(-3), "reason": "typo"}),
        ("POST", "/api/invoice-runs", {"period": day(0)}),
    ]


CONTRACT_WRITES = ("/api/calendars", "/api/service-levels", "/api/contracts", "/api/lines")


def test_auditor_reads_everything_and_may_change_nothing(
    as_: Client, alice: Actor, carol: Actor, journal_size: Size
) -> None:
    b = new_book(as_(alice))
    invoice = ok(as_(alice).post("/api/invoice-runs", json={"period": month_start(-1).isoformat()}))
    size = journal_size(alice)
    api = as_(carol)
    for path in (
        "/api/assets",
        f"/api/assets/{b.laptop}",
        "/api/assets/fab-0001/entitlement",
        "/api/assets/fab-0001/coverage",
        "/api/calendars",
        "/api/service-levels",
        "/api/contracts",
        f"/api/contracts/{b.contract}",
        f"/api/contracts/{b.contract}/budget",
        f"/api/contracts/{b.contract}/charges",
        f"/api/lines/{b.line}",
        "/api/invoices",
        f"/api/invoices/{invoice['issued'][0]}",
        f"/api/invoices/{invoice['issued'][0]}.csv",
    ):
        assert api.get(path).status_code == 200, path

    time = {"customer_id": b.customer, "worked_on": day(0), "minutes": 10}
    for method, path, body in [*writes(b), ("POST", "/api/time", time)]:
        detail = problem(api.request(method, path, json=body), 403)["detail"]
        assert "auditor" in detail, (method, path)
    assert journal_size(alice) == size


def test_agent_keeps_assets_and_books_time_but_may_not_change_contracts(
    as_: Client, alice: Actor, bob: Actor, journal_size: Size
) -> None:
    b = new_book(as_(alice))
    api = as_(bob)
    asset_writes = [w for w in writes(b) if w[1].startswith("/api/assets")]
    contract_writes = [w for w in writes(b) if not w[1].startswith("/api/assets")]
    size = journal_size(alice)
    for method, path, body in contract_writes:
        detail = problem(api.request(method, path, json=body), 403)["detail"]
        assert "finance" in detail and "agent" in detail, (method, path)
    assert journal_size(alice) == size

    statuses = [api.request(m, p, json=body).status_code for m, p, body in asset_writes]
    assert statuses == [201, 200, 403]  # taking an asset off a contract is a contract change
    history = ok(api.get("/api/assets/FAB-0001"))
    assert history["model"] == "Latitude 9"


def test_other_tenant_gets_404_and_empty_lists(
    as_: Client, alice: Actor, mallory: Actor, journal_size: Size
) -> None:
    owner = as_(alice)
    b = new_book(owner)
    invoice_id = ok(owner.post("/api/invoice-runs", json={"period": month_start(-1).isoformat()}))[
        "issued"
    ][0]
    size = journal_size(alice)
    api = as_(mallory)

    assert ok(api.get("/api/assets")) == {"items": [], "total": 0, "limit": 100, "offset": 0}
    for path in ("/api/contracts", "/api/calendars", "/api/service-levels", "/api/invoices"):
        assert ok(api.get(path)) == [], path
    reads = [
        f"/api/assets/{b.laptop}",
        "/api/assets/FAB-0001",
        "/api/assets/SN-LAP-1",
        "/api/assets/FAB-0001/entitlement",
        f"/api/assets/{b.laptop}/entitlement",
        f"/api/assets/{b.laptop}/coverage",
        f"/api/calendars/{b.calendar}",
        f"/api/service-levels/{b.gold}",
        f"/api/contracts/{b.contract}",
        f"/api/contracts/{b.contract}/budget",
        f"/api/contracts/{b.contract}/charges",
        f"/api/lines/{b.line}",
        f"/api/invoices/{invoice_id}",
        f"/api/invoices/{invoice_id}.csv",
        f"/api/invoices?contract_id={b.contract}",
    ]
    for path in reads:
        problem(api.get(path), 404)
    targeted = [w for w in writes(b) if w[1] not in ("/api/assets", "/api/calendars")]
    targeted = [w for w in targeted if w[1] not in ("/api/service-levels", "/api/contracts")]
    targeted = [w for w in targeted if w[1] != "/api/invoice-runs"]
    assert len(targeted) == 9
    for method, path, body in targeted:
        problem(api.request(method, path, json=body), 404)
    # References to northwind's records in a body are simply unknown: bad input.
    for method, path, body in writes(b):
        if path in ("/api/assets", "/api/service-levels", "/api/contracts"):
            assert invalid_fields(api.request(method, path, json=body)), path
    run = api.post("/api/invoice-runs", json={"period": day(0), "contract_id": b.contract})
    assert set(invalid_fields(run)) == {"contract_id"}
    # The answer is the same as for an id that exists nowhere, so it reveals nothing.
    nowhere = str(uuid.uuid4())
    assert api.get(f"/api/contracts/{b.contract}").json()["detail"] == f"no contract {b.contract}"
    assert api.get(f"/api/contracts/{nowhere}").json()["detail"] == f"no contract {nowhere}"

    assert journal_size(alice) == size
    assert ok(owner.get(f"/api/assets/{b.laptop}"))["model"] == "Latitude 7440"


def test_bad_input_is_422_naming_the_field_and_changes_nothing(
    as_: Client, alice: Actor, journal_size: Size
) -> None:
    api = as_(alice)
    b = new_book(api)
    size = journal_size(alice)
    asset = {"customer_id": b.customer, "tag": "FAB-0099", "asset_type": "printer"}
    line = {"service_level_id": b.gold, "price": 100}
    cases: list[tuple[str, str, dict[str, Any], set[str]]] = [
        ("POST", "/api/assets", {"json": {**asset, "effective": "next tuesday"}}, {"effective"}),
        ("POST", "/api/assets", {"json": {**asset, "colour": "red"}}, {"colour"}),
        ("POST", "/api/assets", {"json": {**asset, "tag": "fab-0001"}}, {"tag"}),  # taken
        ("POST", "/api/assets", {"json": {**asset, "asset_type": "Printer"}}, {"asset_type"}),
        ("POST", "/api/assets", {"json": {**asset, "customer_id": b.site}}, {"customer_id"}),
        ("PATCH", f"/api/assets/{b.laptop}", {"json": {"reason": "nothing"}}, {"body"}),
        (
            "PATCH",
            f"/api/assets/{b.laptop}",
            {"json": {"status": "lost", "reason": "missing"}},
            {"status"},
        ),
        ("GET", "/api/assets/FAB-0001/entitlement", {"params": {"on": "2026-02-30"}}, {"on"}),
        ("GET", "/api/assets/FAB-0001/coverage", {"params": {"known_at": "x"}}, {"known_at"}),
        ("GET", "/api/assets", {"params": {"limit": 0}}, {"limit"}),
        ("GET", "/api/assets/a%01b", {}, {"key"}),
        (
            "POST",
            "/api/calendars",
            {"json": {"name": "X", "time_zone": "Mars/Olympus", "weekly_hours": {}}},
            {"time_zone"},
        ),
        (
            "POST",
            "/api/service-levels",
            {
                "json": {
                    "name": "X",
                    "calendar_id": b.calendar,
                    "targets": {"p9": {"response": 1, "resolution": 2}},
                }
            },
            {"targets"},
        ),
        (
            "POST",
            "/api/contracts",
            {
                "json": {
                    "customer_id": b.customer,
                    "reference": "FAB-MSP-1",  # taken
                    "title": "Again",
                    "start": day(0),
                }
            },
            {"reference"},
        ),
        (
            "POST",
            "/api/contracts",
            {"json": {"customer_id": b.customer, "reference": "X2", "title": "X", "start": "soon"}},
            {"start"},
        ),
        # A group line needs a site and an asset type.
        (
            "POST",
            f"/api/contracts/{b.contract}/lines",
            {"json": {**line, "site_id": b.site}},
            {"body"},
        ),
        (
            "POST",
            f"/api/contracts/{b.contract}/lines",
            {"json": {**line, "asset_id": b.laptop, "price": -1}},
            {"price"},
        ),
        # The laptop is on the contract already.
        (
            "POST",
            f"/api/contracts/{b.contract}/lines",
            {"json": {**line, "asset_id": b.laptop}},
            {"asset_id"},
        ),
        ("PATCH", f"/api/lines/{b.line}", {"json": {"price": -100, "reason": "oops"}}, {"price"}),
        ("PATCH", f"/api/lines/{b.line}", {"json": {"price": 1}}, {"reason"}),
        # Cancelling from tomorrow is inside the 30 days' notice unless it is waived.
        (
            "POST",
            f"/api/contracts/{b.contract}/cancel",
            {"json": {"effective": day(1), "reason": "leaving"}},
            {"effective"},
        ),
        (
            "POST",
            f"/api/contracts/{b.contract}/cancel",
            {"json": {"reason": "leaving"}},
            {"effective"},
        ),
        (
            "POST",
            f"/api/contracts/{b.contract}/renew",
            {"json": {"reason": "rolling contracts have no term"}},
            {"term_end"},
        ),
        (
            "POST",
            f"/api/lines/{b.line}/take-off",
            {"json": {"effective": "31/12/2026", "reason": "gone"}},
            {"effective"},
        ),
        ("POST", f"/api/lines/{b.line}/correct", {"json": {"reason": "nothing"}}, {"body"}),
        (
            "GET",
            f"/api/contracts/{b.contract}/budget",
            {"params": {"from": "2026-13", "months": 0}},
            {"from", "months"},
        ),
        ("GET", f"/api/contracts/{b.contract}/charges", {"params": {"period": "May"}}, {"period"}),
        ("POST", "/api/invoice-runs", {"json": {"period": "last month"}}, {"period"}),
        ("GET", "/api/invoices", {"params": {"contract_id": "not an id"}}, {"contract_id"}),
        (
            "POST",
            "/api/time",
            {"json": {"customer_id": b.customer, "worked_on": day(0), "minutes": 0}},
            {"minutes"},
        ),
    ]
    for method, path, kwargs, fields in cases:
        r = api.request(method, path, **kwargs)
        reasons = invalid_fields(r)
        assert set(reasons) == fields, (method, path, kwargs, r.text)
        assert all(reasons.values())

    assert journal_size(alice) == size
    contract = ok(api.get(f"/api/contracts/{b.contract}"))
    assert contract["cancelled_from"] is None and contract["lines"][0]["price"] == 3100
    assert ok(api.get("/api/assets"))["total"] == 1


def test_times_in_answers_are_utc_instants(as_: Client, alice: Actor) -> None:
    api = as_(alice)
    b = new_book(api)
    e = ok(api.get("/api/assets/FAB-0001/entitlement", params={"on": f"{day(0)}T09:00:00+02:00"}))
    assert datetime.fromisoformat(e["on"]) == datetime.combine(
        today(), datetime.min.time(), tzinfo=UTC
    ) + timedelta(hours=7)
    assert b.contract == e["contract_id"]


def test_charges_preview_shows_the_adjustments_the_next_run_issues(
    as_: Client, alice: Actor, carol: Actor, journal_size: Size
) -> None:
    api = as_(alice)
    b = new_book(api)
    two_ago, last, this = month_start(-2), month_start(-1), month_start()
    for month in (two_ago, last):
        assert (
            len(ok(api.post("/api/invoice-runs", json={"period": month.isoformat()}))["issued"])
            == 1
        )
    before_fix = utcnow().isoformat()
    charges = f"/api/contracts/{b.contract}/charges"
    clean = ok(api.get(charges, params={"period": this.isoformat()}))
    assert clean["adjustments"] == [] and clean["invoice_total"] == clean["total"] == 3100
    assert clean["number"] == f"FAB-MSP-1/{this:%Y-%m}" and clean["skipped"] is None

    # The laptop in fact came under the contract on the 10th of the month before last:
    # recorded now, true from then.
    started = two_ago + timedelta(days=9)
    ok(
        api.post(
            f"/api/lines/{b.line}/correct",
            json={"starts": started.isoformat(), "reason": "delivered on the 10th"},
        )
    )
    days = (last - two_ago).days
    credit = int((Decimal(3100 * (days - 9)) / days).quantize(Decimal(1), ROUND_HALF_UP)) - 3100
    size = journal_size(alice)
    preview = ok(as_(carol).get(charges, params={"period": this.isoformat()}))
    assert journal_size(alice) == size  # a preview issues nothing
    assert [(ln["kind"], ln["tag"], ln["amount"]) for ln in preview["lines"]] == [
        ("charge", "FAB-0001", 3100)
    ]
    assert [
        (a["kind"], a["period"], a["period_start"], a["days_billed"], a["days_now"], a["amount"])
        for a in preview["adjustments"]
    ] == [("adjustment", f"{two_ago:%Y-%m}", two_ago.isoformat(), days, days - 9, credit)]
    assert preview["total"] == 3100 and preview["adjustments_total"] == credit < 0
    assert preview["invoice_total"] == 3100 + credit
    # As known before the correction, there was nothing to adjust.
    then = ok(api.get(charges, params={"period": this.isoformat(), "known_at": before_fix}))
    assert then["adjustments"] == [] and then["invoice_total"] == 3100

    run = ok(api.post("/api/invoice-runs", json={"period": this.isoformat()}))
    invoice = ok(api.get(f"/api/invoices/{run['issued'][0]}"))
    assert invoice["number"] == preview["number"] and invoice["total"] == preview["invoice_total"]
    issued_adjustments = [ln for ln in invoice["lines"] if ln["kind"] == "adjustment"]
    keys = ("line_id", "asset_id", "period_start", "period_end", "days_billed", "days_now")
    assert [(*(ln[k] for k in keys), ln["amount"]) for ln in issued_adjustments] == [
        (*(a[k] for k in keys), a["amount"]) for a in preview["adjustments"]
    ]

    # Now the period is invoiced: a run issues nothing more for it, and the next period
    # has nothing left to adjust.
    after = ok(api.get(charges, params={"period": this.isoformat()}))
    assert after["issued_invoice_id"] == invoice["id"]
    assert after["skipped"] == f"already invoiced for {this:%Y-%m}"
    following = ok(api.get(charges, params={"period": month_start(1).isoformat()}))
    assert following["adjustments"] == [] and following["skipped"] is None
