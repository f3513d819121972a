"""A contract's invoice preview page: what a run for a period would issue (charges and the
adjustments for earlier invoiced periods), the same as the run then issues; as known at
any time; read by every role of the tenant, by no one else."""

from __future__ import annotations

from datetime import timedelta

from accord.access import Actor
from accord.agreements import queries
from accord.store.db import Database, utcnow
from tests.agreements import conftest as agreements
from tests.agreements.conftest import DAY, Book, today
from tests.pages.conftest import Client
from tests.pages.helpers import location, post, read

#: The small book of tests/agreements (northwind's FAB-MSP-1), as a fixture here too.
book = agreements.book


def test_preview_shows_the_adjustment_the_run_then_issues(
    as_: Client, alice: Actor, carol: Actor, db: Database, book: Book
) -> None:
    c = as_(alice)
    first_of_last = (today().replace(day=1) - DAY).replace(day=1)
    assert location(post(c, "/invoices/run", {"period": f"{first_of_last:%Y-%m-%d}"})) == (
        "/invoices"
    )
    before_fix = utcnow()
    # Retroactively: the laptop was returned on the 15th of last month.
    r = post(
        c,
        f"/lines/{book.laptop_line}/correct",
        {"ends": (first_of_last + 14 * DAY).strftime("%Y-%m-%d"), "reason": "was returned"},
    )
    assert location(r) == f"/contracts/{book.contract}"
    contract = read(c.get(f"/contracts/{book.contract}"))
    path = f"/contracts/{book.contract}/invoice-preview"
    assert path in contract.links

    preview = read(as_(carol).get(path))  # an auditor reads it too
    number = f"FAB-MSP-1/{today():%Y-%m}"
    assert f"Invoice preview {number}" in preview.text and "Not issued." in preview.text
    assert f"Adjustment for {first_of_last:%Y-%m}: was " in preview.text
    assert "now 14 days" in preview.text and "-£" in preview.text
    # As known before the correction: nothing to adjust.
    then = read(c.get(path, params={"known_at": before_fix.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}))
    assert "Adjustment for" not in then.text and then.ids["total"] == "£131.00"

    assert location(post(c, "/invoices/run", {"period": f"{today():%Y-%m-%d}"})) == "/invoices"
    with db.reading() as s:
        latest = queries.invoices_of(s, alice)[0]
        invoice_id, issued_number = latest.entity_id, latest.number
    issued = read(c.get(f"/invoices/{invoice_id}"))
    assert issued_number == number and issued.ids["total"] == preview.ids["total"]
    assert issued.ids["adjustments"] == preview.ids["adjustments"]

    after = read(c.get(path))
    assert f"A run for {today():%Y-%m} issues nothing" in after.text
    assert f"/invoices/{invoice_id}" in after.links
    # The period after: nothing left to adjust.
    later = read(c.get(path, params={"on": (today().replace(day=28) + 7 * DAY).isoformat()}))
    assert "Adjustment for" not in later.text and "Not issued." in later.text


def test_preview_checks_its_input_and_the_tenant(
    as_: Client, alice: Actor, mallory: Actor, book: Book
) -> None:
    path = f"/contracts/{book.contract}/invoice-preview"
    r = as_(alice).get(path, params={"on": "next Tuesday"})
    assert r.status_code == 422 and read(r).values["on"] == "next Tuesday"
    r = as_(mallory).get(path)
    assert r.status_code == 404 and "FAB-MSP-1" not in r.text
    next_year = (today() + timedelta(days=400)).isoformat()
    assert as_(alice).get(path, params={"on": next_year}).status_code == 200
