"""Agreements pages: assets and their coverage timeline, contracts and the forms that change
them from a date, budgets, invoices (printable and CSV) and service levels; bad input kept
on the form, roles and tenants checked."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient

from accord.access import Actor
from accord.agreements import exports, queries, service
from accord.agreements.schemas import ContractCreate, LineCreate
from accord.store.db import Database, utcnow
from tests.agreements import conftest as agreements
from tests.agreements.conftest import DAY, Book, today
from tests.pages.conftest import Client
from tests.pages.helpers import location, post, read

Size = Callable[[Actor], int]

#: The small book of tests/agreements (northwind's FAB-MSP-1), as a fixture here too.
book = agreements.book


def day(offset: int) -> str:
    return (today() + timedelta(days=offset)).strftime("%Y-%m-%d")


def entitled(db: Database, actor: Actor, asset_id: str, offset: int) -> bool:
    with db.reading() as s:
        on = today() + timedelta(days=offset)
        return queries.entitlement(s, actor, asset_id, on=on, known_at=utcnow()).covered


def run_invoices(c: TestClient, period: str) -> tuple[str, str]:
    """Run invoices for the period through the form: the first issued invoice's id, and
    the text of the page that shows the run's result."""
    assert location(post(c, "/invoices/run", {"period": period})) == "/invoices"
    page = c.get("/invoices")
    ids = re.findall(r'href="/invoices/([0-9a-f-]{36})"', page.text)
    assert ids, page.text
    return ids[0], read(page).text


# --- every page renders -------------------------------------------------------------------------


def test_every_page_renders_for_alice(as_: Client, alice: Actor, book: Book) -> None:
    c = as_(alice)
    for path in (
        "/assets",
        "/assets?q=dell",
        f"/assets/{book.laptop}",
        "/assets/fab-0001",  # a tag, any case
        "/assets/SN-SRV-1",  # a serial
        f"/assets/{book.laptop}/change",
        f"/assets/{book.laptop}/take-off",
        "/contracts",
        f"/contracts?customer={book.customer}",
        "/contracts/new",
        f"/contracts/{book.contract}",
        f"/contracts/{book.contract}/budget",
        f"/contracts/{book.contract}/lines/new",
        f"/contracts/{book.contract}/cancel",
        f"/lines/{book.laptop_line}/change",
        f"/lines/{book.laptop_line}/take-off",
        f"/lines/{book.laptop_line}/correct",
        "/invoices",
        "/service-levels",
    ):
        r = c.get(path)
        assert r.status_code == 200, (path, r.text[:400])
    page = read(c.get(f"/contracts/{book.contract}"))
    assert "FAB-MSP-1" in page.text and "Fabrikam Ltd" in page.text
    assert "£31.00" in page.text and "£100.00" in page.text
    assert "Every server at HQ" in page.text and "In force" in page.text
    levels = read(c.get("/service-levels"))
    assert "Gold" in levels.text and "30 min" in levels.text and "Europe/London" in levels.text
    assert "2026-12-25" in levels.text


def test_asset_list_search_and_find_box(as_: Client, alice: Actor, book: Book) -> None:
    c = as_(alice)
    page = read(c.get("/assets?q=server"))
    assert "FAB-0002" in page.text and "FAB-0003" in page.text and "FAB-0001" not in page.text
    assert "Covered" in page.text and "Not covered" in page.text  # the spare is at the depot
    assert location(c.get("/assets/find?key=sn-lap-1")) == f"/assets/{book.laptop}"
    r = c.get("/assets/find?key=NOPE-1")
    assert r.status_code == 422
    found = read(r)
    assert found.errors["key"] == "No asset has the tag or serial 'NOPE-1'."
    assert found.values["key"] == "NOPE-1"


def test_asset_page_shows_entitlement_and_a_bar_per_line(
    as_: Client, alice: Actor, db: Database, book: Book
) -> None:
    # A second contract also covers the laptop, from next month: two lines, two rows.
    with db.unit_of_work() as s:
        other = service.create_contract(
            s,
            actor=alice,
            data=ContractCreate(
                customer_id=book.customer, reference="FAB-EXT-2", title="Extended", start=book.start
            ),
        )
        service.add_line(
            s,
            actor=alice,
            contract_id=other,
            data=LineCreate(
                asset_id=book.laptop,
                service_level_id=book.silver,
                price=500,
                effective=today() + 40 * DAY,
                until=today() + 200 * DAY,
            ),
        )
    c = as_(alice)
    r = c.get(f"/assets/{book.laptop}")
    page = read(r)
    assert "Today: Covered" in page.text
    assert "Covered by contract FAB-MSP-1 (line for this asset) at Gold service level." in page.text
    assert "30 min" in page.text  # the p1 response target
    svg = re.search(r"<svg class=\"timeline\".*?</svg>", r.text, re.S)
    assert svg is not None
    lines = set(re.findall(r'class="bar[^"]*" data-line="([^"]+)"', svg.group(0)))
    assert len(lines) == 2 and book.laptop_line in lines
    assert 'class="marker today"' in svg.group(0)
    assert "FAB-EXT-2" in svg.group(0)
    # The server, covered as one of every server at HQ
    server = read(c.get(f"/assets/{book.server}"))
    assert "line for every server at its site" in server.text
    # Check a date: before the contract started it was not covered yet
    before = day(-800)
    checked = read(c.get(f"/assets/{book.laptop}?check_on={before}"))
    assert "Answer: Not covered" in checked.ids["checked"]
    bad = c.get(f"/assets/{book.laptop}?check_on=soon")
    assert bad.status_code == 422 and "check_on" in read(bad).errors


# --- changes through the forms -------------------------------------------------------------------


def test_take_asset_off_from_tomorrow(
    as_: Client, alice: Actor, db: Database, book: Book, journal_size: Size
) -> None:
    c = as_(alice)
    before = journal_size(alice)
    then = utcnow().strftime("%Y-%m-%dT%H:%M:%S.%f")
    r = post(
        c,
        f"/assets/{book.laptop}/take-off",
        {"effective": day(1), "reason": "customer cancelled support for it"},
    )
    assert location(r) == f"/assets/{book.laptop}"
    assert journal_size(alice) == before + 1
    assert entitled(db, alice, book.laptop, 0) and not entitled(db, alice, book.laptop, 1)
    page = read(c.get(f"/assets/{book.laptop}?on={day(1)}"))
    assert "Not covered: removed from contract FAB-MSP-1 from " + day(1) in page.text
    assert "customer cancelled support for it" in page.text
    # As known before the change the coverage was open-ended: the timeline says so.
    as_known = c.get(f"/assets/{book.laptop}?known_at={then}")
    assert as_known.status_code == 200
    assert "As known on" in as_known.text and "open-ended" in as_known.text


def test_bad_take_off_keeps_the_form_and_changes_nothing(
    as_: Client, alice: Actor, book: Book, journal_size: Size
) -> None:
    c = as_(alice)
    before = journal_size(alice)
    r = post(c, f"/assets/{book.laptop}/take-off", {"effective": "next week", "reason": "gone"})
    assert r.status_code == 422
    page = read(r)
    assert "effective" in page.errors and page.values["effective"] == "next week"
    assert page.values["reason"] == "gone" and "Nothing was saved." in page.text
    r = post(c, f"/assets/{book.server}/take-off", {"effective": day(1), "reason": "gone now"})
    assert r.status_code == 422
    assert "Covered only as one of every server" in read(r).text
    assert journal_size(alice) == before


def test_change_asset_retires_it(as_: Client, alice: Actor, db: Database, book: Book) -> None:
    c = as_(alice)
    form = read(c.get(f"/assets/{book.server}/change"))
    data = {k: v for k, v in form.values.items() if k != "csrf_token"}
    r = post(
        c,
        f"/assets/{book.server}/change",
        {**data, "status": "retired", "effective": day(10), "reason": "end of life"},
    )
    assert location(r) == f"/assets/{book.server}"
    assert entitled(db, alice, book.server, 9) and not entitled(db, alice, book.server, 10)
    r = post(c, f"/assets/{book.server}/change", {**data, "tag": "bad tag!", "reason": "x"})
    assert r.status_code == 422
    page = read(r)
    assert set(page.errors) >= {"tag", "reason"} and page.values["tag"] == "bad tag!"


def test_cancel_with_and_without_waiving_notice(
    as_: Client, alice: Actor, db: Database, book: Book, journal_size: Size
) -> None:
    c = as_(alice)
    before = journal_size(alice)
    typed = {"effective": day(1), "reason": "customer is leaving"}
    r = post(c, f"/contracts/{book.contract}/cancel", typed)
    assert r.status_code == 422
    page = read(r)
    assert "30 days' notice" in page.errors["effective"]
    assert page.values["effective"] == day(1) and page.values["reason"] == "customer is leaving"
    assert journal_size(alice) == before
    r = post(c, f"/contracts/{book.contract}/cancel", {**typed, "waive_notice": "on"})
    assert location(r) == f"/contracts/{book.contract}"
    assert entitled(db, alice, book.laptop, 0) and not entitled(db, alice, book.laptop, 1)
    page = read(c.get(f"/contracts/{book.contract}"))
    assert f"Cancelled from {day(1)}" in page.text
    assert "Contract cancelled" in page.text and "customer is leaving" in page.text
    assert f"/contracts/{book.contract}/cancel" not in page.links
    listing = read(c.get("/contracts"))
    assert f"Cancelled from {day(1)}" in listing.text


def test_price_change_from_a_date(as_: Client, alice: Actor, book: Book) -> None:
    c = as_(alice)
    form = read(c.get(f"/lines/{book.laptop_line}/change"))
    assert form.values["price"] == "31.00" and form.values["budget_hours"] == "1"
    data = {k: v for k, v in form.values.items() if k != "csrf_token"}
    r = post(
        c,
        f"/lines/{book.laptop_line}/change",
        {**data, "price": "35.50", "effective": day(0), "reason": "annual price review"},
    )
    assert location(r) == f"/contracts/{book.contract}"
    page = read(c.get(f"/contracts/{book.contract}"))
    assert "£35.50" in page.text
    assert "Line changed" in page.text and "price £35.50" in page.text
    # Yesterday it was still the old price
    assert "£31.00" in read(c.get(f"/contracts/{book.contract}?on={day(-1)}")).text
    r = post(c, f"/lines/{book.laptop_line}/change", {**data, "price": "3.555", "reason": "typo"})
    assert r.status_code == 422
    page = read(r)
    assert "Not an amount in GBP" in page.errors["price"] and page.values["price"] == "3.555"


def test_add_line_take_a_line_off_and_correct_it(
    as_: Client, alice: Actor, db: Database, book: Book
) -> None:
    c = as_(alice)
    r = post(
        c,
        f"/contracts/{book.contract}/lines",
        {
            "asset_id": book.spare_server,
            "service_level_id": book.silver,
            "price": "12",
            "budget_hours": "0.5",
            "effective": day(-10),
            "reason": "spare is covered too",
        },
    )
    assert location(r) == f"/contracts/{book.contract}"
    assert entitled(db, alice, book.spare_server, 0)
    with db.reading() as s:
        lines = queries.lines_of(s, alice, book.contract, when=queries.AsOf.now())
        spare = next(ln for ln in lines if ln.asset_id == book.spare_server)
        spare_id, price, budget = spare.entity_id, spare.price, spare.budget_minutes
    assert price == 1200 and budget == 30
    r = post(c, f"/lines/{spare_id}/take-off", {"effective": day(5), "reason": "sold"})
    assert location(r) == f"/contracts/{book.contract}"
    assert not entitled(db, alice, book.spare_server, 5)
    r = post(c, f"/lines/{spare_id}/correct", {"starts": day(-20), "reason": "started earlier"})
    assert location(r) == f"/contracts/{book.contract}"
    assert entitled(db, alice, book.spare_server, -15)
    r = post(c, f"/lines/{spare_id}/correct", {"reason": "nothing"})
    assert r.status_code == 422 and "Nothing to correct" in read(r).text
    # A line that names neither an asset nor a group is refused with the values kept
    r = post(
        c,
        f"/contracts/{book.contract}/lines",
        {"service_level_id": book.gold, "price": "abc", "reason": "no asset"},
    )
    assert r.status_code == 422
    page = read(r)
    assert "price" in page.errors and page.values["price"] == "abc"


def test_new_contract_and_renewal(as_: Client, alice: Actor, book: Book) -> None:
    c = as_(alice)
    typed = {
        "customer_id": book.customer,
        "reference": "FAB-FIX-9",
        "title": "Fixed term",
        "start": day(-30),
        "term_end": day(-40),
        "renewal_months": "12",
        "notice_days": "",
        "billing_period": "quarterly",
        "currency": "EUR",
        "reason": "signed",
    }
    r = post(c, "/contracts", typed)
    assert r.status_code == 422
    page = read(r)
    assert page.errors["term_end"] == "Must be after start"
    assert page.values["reference"] == "FAB-FIX-9" and page.values["currency"] == "EUR"
    r = post(c, "/contracts", {**typed, "term_end": day(300)})
    where = location(r)
    page = read(c.get(where))
    assert "FAB-FIX-9" in page.text and f"Ends {day(300)}" in page.text
    r = post(c, f"{where}/renew", {"reason": "renewed for a year"})
    assert location(r) == where
    assert "Contract renewed" in read(c.get(where)).text


def test_budget_page(as_: Client, alice: Actor, book: Book) -> None:
    c = as_(alice)
    page = read(c.get(f"/contracts/{book.contract}/budget"))
    # One laptop (1 h) and one server at HQ (2 h) each month: 3 h a full month
    this_month = today().strftime("%b %Y")
    assert this_month in page.text and "3 h" in page.text and "This month" in page.text


def test_run_invoices_invoice_page_and_csv(as_: Client, alice: Actor, book: Book) -> None:
    c = as_(alice)
    invoice_id, listing = run_invoices(c, day(0))
    number = f"FAB-MSP-1/{today():%Y-%m}"
    assert f"Invoice run for {day(0)}" in listing and f"Issued 1: {number}" in listing
    assert "£131.00" in listing
    assert "£131.00" in read(c.get("/invoices")).text
    page = read(c.get(f"/invoices/{invoice_id}"))
    assert number in page.text and "Fabrikam Ltd" in page.text
    assert page.ids["total"] == "£131.00"
    assert "coverage as known at" in page.text.lower()
    assert f"/invoices/{invoice_id}.csv" in page.links
    r = c.get(f"/invoices/{invoice_id}.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [(x["tag"], x["amount"], x["kind"]) for x in rows] == [
        ("FAB-0001", "31.00", "charge"),
        ("FAB-0002", "100.00", "charge"),
    ]
    # Running again skips what is already invoiced
    post(c, "/invoices/run", {"period": day(0)})
    assert "already invoiced" in read(c.get("/invoices")).text
    r = post(c, "/invoices/run", {"period": "whenever"})
    assert r.status_code == 422 and read(r).values["period"] == "whenever"


def test_adjustment_lines_say_what_changed(
    as_: Client, alice: Actor, db: Database, book: Book
) -> None:
    c = as_(alice)
    last_month = (today().replace(day=1) - DAY).strftime("%Y-%m-%d")
    run_invoices(c, last_month)
    first_of_last = today().replace(day=1) - DAY
    first_of_last = first_of_last.replace(day=1)
    # Retroactively: the laptop was taken off on the 15th of last month
    r = post(
        c,
        f"/lines/{book.laptop_line}/correct",
        {"ends": (first_of_last + 14 * DAY).strftime("%Y-%m-%d"), "reason": "was returned"},
    )
    assert location(r) == f"/contracts/{book.contract}"
    post(c, "/invoices/run", {"period": day(0)})
    with db.reading() as s:
        latest = queries.invoices_of(s, alice)[0].entity_id
    page = read(c.get(f"/invoices/{latest}"))
    assert f"Adjustment for {first_of_last:%Y-%m}: was " in page.text and "now 14 days" in page.text
    assert "-£" in page.text


# --- roles and tenants ---------------------------------------------------------------------


def test_the_auditor_reads_but_sees_no_write_forms(
    as_: Client, carol: Actor, book: Book, journal_size: Size
) -> None:
    c = as_(carol)
    for path in (
        "/assets",
        f"/assets/{book.laptop}",
        "/contracts",
        f"/contracts/{book.contract}",
        "/invoices",
    ):
        r = c.get(path)
        assert r.status_code == 200, path
        page = read(r)
        assert page.forms == ["/logout"], (path, page.forms)
        assert not any(
            link.endswith(("/change", "/take-off", "/cancel", "/renew", "/lines/new", "/correct"))
            for link in page.links
        ), path
    for path in (f"/assets/{book.laptop}/take-off", f"/contracts/{book.contract}/cancel"):
        assert c.get(path).status_code == 403
    before = journal_size(carol)
    for path, data in (
        (f"/assets/{book.laptop}/take-off", {"effective": day(1), "reason": "nope"}),
        (f"/contracts/{book.contract}/cancel", {"effective": day(60), "reason": "nope"}),
        (f"/lines/{book.laptop_line}/change", {"price": "1", "reason": "nope"}),
        ("/invoices/run", {"period": day(0)}),
    ):
        assert post(c, path, data).status_code == 403, path
    assert journal_size(carol) == before


def test_the_agent_changes_assets_but_not_contracts(as_: Client, bob: Actor, book: Book) -> None:
    c = as_(bob)
    page = read(c.get(f"/assets/{book.laptop}"))
    assert f"/assets/{book.laptop}/change" in page.links
    assert f"/assets/{book.laptop}/take-off" not in page.links
    assert post(c, f"/contracts/{book.contract}/cancel", {"reason": "x"}).status_code == 403


def test_another_tenant_sees_nothing(as_: Client, alice: Actor, mallory: Actor, book: Book) -> None:
    invoice_id, _ = run_invoices(as_(alice), day(0))
    c = as_(mallory)
    for path in (
        f"/assets/{book.laptop}",
        "/assets/FAB-0001",
        f"/contracts/{book.contract}",
        f"/contracts/{book.contract}/budget",
        f"/lines/{book.laptop_line}/change",
        f"/invoices/{invoice_id}",
        f"/invoices/{invoice_id}.csv",
    ):
        r = c.get(path)
        assert r.status_code == 404, (path, r.status_code)
        assert "FAB" not in r.text.replace("FAB-0001", ""), path
    assert read(c.get("/assets")).text.count("FAB-000") == 0
    assert "FAB-MSP-1" not in c.get("/contracts").text
    assert "FAB-MSP-1" not in c.get("/invoices").text
    r = post(c, f"/contracts/{book.contract}/cancel", {"effective": day(60), "reason": "mine"})
    assert r.status_code == 404


def test_money_formatting() -> None:
    assert exports.money(123456, "GBP") == "£1,234.56"
    assert exports.money(-500, "EUR") == "-€5.00"
    assert exports.money(99, "USD") == "$0.99"
    assert exports.money(123456, "CHF") == "1,234.56 CHF"
    assert exports.money(1234, "JPY") == "1,234 JPY"
    assert exports.to_minor("1,234.5", "GBP") == 123450
