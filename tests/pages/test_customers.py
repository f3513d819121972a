"""Customer pages: the list, the record as of any valid and recorded time, the forms that
change it (keeping what was typed on error), its history, and tenant and role checks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event

from accord.access import Actor
from accord.parties import service
from accord.parties.schemas import CustomerCreate
from accord.store.db import Database, utcnow
from tests.pages.conftest import Client
from tests.pages.helpers import location, post, read

Size = Callable[[Actor], int]


def day(offset: int) -> str:
    """A date `offset` days from today (UTC), as a date field sends it."""
    return (utcnow().date() + timedelta(days=offset)).isoformat()


def create(c: TestClient, **fields: str) -> str:
    """Create a customer through the form; its id."""
    r = post(c, "/customers", {"name": "Fabrikam Ltd", "code": "FAB", "status": "active", **fields})
    where = location(r)
    assert where.startswith("/customers/"), where
    return where.split("?")[0].rsplit("/", 1)[1]


def edit(c: TestClient, customer_id: str, **changes: str) -> Any:
    """Open the edit form, change some fields, submit it as a browser would."""
    form = read(c.get(f"/customers/{customer_id}/edit"))
    data = {k: v for k, v in form.values.items() if k != "csrf_token"}
    return post(c, f"/customers/{customer_id}/edit", {**data, **changes})


def test_create_customer_through_the_form(as_: Client, alice: Actor, journal_size: Size) -> None:
    c = as_(alice)
    form = read(c.get("/customers/new"))
    assert form.values["status"] == "active" and form.values["effective"] == ""
    before = journal_size(alice)
    customer_id = create(
        c,
        email="it@fabrikam.example",
        phone="+44 20 7946 0000",
        reason="signed the MSA",
        effective="",
        notes="",
    )
    assert journal_size(alice) == before + 1
    page = read(c.get(f"/customers/{customer_id}"))
    assert "Customer Fabrikam Ltd created." in page.text
    assert "it@fabrikam.example" in page.text and "+44 20 7946 0000" in page.text
    listing = read(c.get("/customers"))
    assert f"/customers/{customer_id}" in listing.links
    history = read(c.get(f"/customers/{customer_id}/history"))
    assert "Customer created" in history.text and "signed the MSA" in history.text


def test_invalid_form_keeps_what_was_typed_and_names_the_field(
    as_: Client, alice: Actor, journal_size: Size
) -> None:
    c = as_(alice)
    before = journal_size(alice)
    typed = {
        "name": "Fabrikam Ltd",
        "code": "fab ltd",
        "status": "prospect",
        "email": "it@",
        "phone": "call me",
        "notes": "Two offices",
        "effective": "",
        "reason": "met at the fair",
    }
    r = post(c, "/customers", typed)
    assert r.status_code == 422
    page = read(r)
    assert set(page.errors) == {"code", "email", "phone"}
    assert (
        page.errors["code"]
        == "Not in the expected form (short account code: capitals, digits, dashes)."
    )
    assert "email" in page.errors["email"].lower()
    assert "digits" in page.errors["phone"]
    for name, value in typed.items():
        assert page.values[name] == value, name
    assert "Nothing was saved." in page.text
    assert journal_size(alice) == before


def test_an_error_from_the_service_is_shown_at_its_field(as_: Client, alice: Actor) -> None:
    c = as_(alice)
    create(c)
    r = post(c, "/customers", {"name": "Another", "code": "FAB", "status": "active"})
    assert r.status_code == 422
    assert read(r).errors == {"code": "Another customer already has the code FAB"}


def test_empty_optional_fields_are_not_given(as_: Client, alice: Actor, db: Database) -> None:
    c = as_(alice)
    customer_id = create(c, email="", phone="", notes="", reason="", effective="")
    page = read(c.get(f"/customers/{customer_id}/edit"))
    assert page.values["email"] == "" and page.values["phone"] == "" and page.values["notes"] == ""


def test_edit_through_the_form_and_history_shows_the_delta(as_: Client, alice: Actor) -> None:
    c = as_(alice)
    customer_id = create(c, phone="+44 20 7946 0000")
    r = edit(c, customer_id, name="Fabrikam Group", reason="new trading name")
    assert location(r) == f"/customers/{customer_id}"
    assert "Fabrikam Group" in read(c.get(f"/customers/{customer_id}")).text
    history = c.get(f"/customers/{customer_id}/history")
    page = read(history)
    assert page.text.index("Customer changed") < page.text.index("Customer created")  # newest first
    assert "Name Fabrikam Ltd → Fabrikam Group" in page.text
    assert "new trading name" in page.text and "Alice" in page.text
    changed_part = page.text.split("Customer changed", 1)[1].split("Customer created", 1)[0]
    assert "Phone" not in changed_part  # only what changed is in the change


def test_an_emptied_field_is_cleared(as_: Client, alice: Actor) -> None:
    c = as_(alice)
    customer_id = create(c, email="it@fabrikam.example")
    assert location(edit(c, customer_id, email="")) == f"/customers/{customer_id}"
    assert read(c.get(f"/customers/{customer_id}/edit")).values["email"] == ""
    assert "it@fabrikam.example → cleared" in read(c.get(f"/customers/{customer_id}/history")).text


def test_saving_without_a_change_says_so(as_: Client, alice: Actor, journal_size: Size) -> None:
    c = as_(alice)
    customer_id = create(c)
    before = journal_size(alice)
    r = edit(c, customer_id, reason="just looking")
    assert r.status_code == 422
    page = read(r)
    assert "Nothing to change" in page.text and page.values["reason"] == "just looking"
    assert journal_size(alice) == before


def test_invalid_edit_keeps_typed_values_and_what_the_form_showed(
    as_: Client, alice: Actor
) -> None:
    c = as_(alice)
    customer_id = create(c)
    r = edit(c, customer_id, name="", code="FAB-2")
    assert r.status_code == 422
    page = read(r)
    assert page.errors == {"name": "Cannot be empty"}
    assert page.values["code"] == "FAB-2" and page.values["was_name"] == "Fabrikam Ltd"


def test_as_of_shows_the_past_version(as_: Client, alice: Actor) -> None:
    c = as_(alice)
    customer_id = create(c, effective=day(-30))
    r = edit(c, customer_id, name="Fabrikam Group", effective=day(-10), reason="renamed")
    assert location(r) == f"/customers/{customer_id}"
    now = read(c.get(f"/customers/{customer_id}"))
    assert "Fabrikam Group" in now.text and "Viewing the past" not in now.text
    past = c.get(f"/customers/{customer_id}", params={"on": day(-20)})
    page = read(past)
    assert past.status_code == 200
    assert "Viewing the past" in page.text and f"as it was on {day(-20)}" in page.text
    assert "<h1>Fabrikam Ltd</h1>" in past.text
    assert page.values["on"] == day(-20)
    before = c.get(f"/customers/{customer_id}", params={"on": day(-40)})
    assert before.status_code == 404
    assert "Not on record at that time" in read(before).text
    assert "Fabrikam Group is not on record on" in read(before).text


def test_a_future_dated_change_is_planned_and_can_be_viewed(as_: Client, alice: Actor) -> None:
    c = as_(alice)
    customer_id = create(c)
    r = edit(c, customer_id, name="Fabrikam Group", effective=day(10), reason="from the merger")
    assert location(r) == f"/customers/{customer_id}?on={day(10)}"
    planned = c.get(location(r))
    assert "Planned future" in read(planned).text and "<h1>Fabrikam Group</h1>" in planned.text
    now = c.get(f"/customers/{customer_id}")
    assert "<h1>Fabrikam Ltd</h1>" in now.text
    page = read(now)
    assert (
        "A change is planned." in page.text
        and f"/customers/{customer_id}?on={day(10)}" in page.links
    )
    assert "Planned" in page.text  # in the timeline


def test_known_at_shows_what_was_known_before_a_correction(as_: Client, alice: Actor) -> None:
    c = as_(alice)
    customer_id = create(c, effective=day(-30), phone="+44 20 7946 0001")
    between = utcnow().strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    edit(c, customer_id, phone="+44 20 7946 0000", effective=day(-30), reason="typo")
    then = read(c.get(f"/customers/{customer_id}", params={"known_at": between}))
    assert (
        "+44 20 7946 0001" in then.text and "corrections recorded later are not shown" in then.text
    )
    assert then.values["known_at"] == between
    assert "+44 20 7946 0000" in read(c.get(f"/customers/{customer_id}")).text


def test_bad_as_of_input_is_named_and_the_page_still_shows(as_: Client, alice: Actor) -> None:
    c = as_(alice)
    customer_id = create(c)
    r = c.get(f"/customers/{customer_id}", params={"on": "next tuesday"})
    assert r.status_code == 422
    page = read(r)
    assert "Not a date" in page.errors["on"] and page.values["on"] == "next tuesday"
    assert "Fabrikam Ltd" in page.text


def test_auditor_reads_but_cannot_change(
    as_: Client, alice: Actor, carol: Actor, journal_size: Size
) -> None:
    customer_id = create(as_(alice))
    c = as_(carol)
    page = read(c.get(f"/customers/{customer_id}"))
    assert "Fabrikam Ltd" in page.text
    assert "/customers/new" not in read(c.get("/customers")).links
    assert f"/customers/{customer_id}/edit" not in page.links
    assert not any(link.endswith("/contacts/new") for link in page.links)
    assert c.get("/customers/new").status_code == 403
    assert c.get(f"/customers/{customer_id}/edit").status_code == 403
    before = journal_size(alice)
    r = post(c, "/customers", {"name": "Contoso", "code": "CON", "status": "active"})
    assert r.status_code == 403 and "Not allowed" in read(r).text
    assert post(c, f"/customers/{customer_id}/edit", {"name": "Hacked"}).status_code == 403
    assert post(c, f"/customers/{customer_id}/contacts", {"name": "Eve"}).status_code == 403
    assert journal_size(alice) == before


def test_a_form_without_its_csrf_token_changes_nothing(
    as_: Client, alice: Actor, journal_size: Size
) -> None:
    c = as_(alice)
    customer_id = create(c)
    before = journal_size(alice)
    assert c.post("/customers", data={"name": "Contoso", "code": "CON"}).status_code == 403
    r = c.post("/customers", data={"name": "Contoso", "code": "CON", "csrf_token": "stale"})
    assert r.status_code == 403
    assert "security token" in read(r).text
    r = c.post(
        f"/customers/{customer_id}/edit", data={"name": "Hacked", "was_name": "Fabrikam Ltd"}
    )
    assert r.status_code == 403
    assert journal_size(alice) == before
    assert "Hacked" not in c.get(f"/customers/{customer_id}").text


def test_another_tenant_sees_nothing(as_: Client, alice: Actor, mallory: Actor) -> None:
    customer_id = create(as_(alice))
    m = as_(mallory)
    listing = m.get("/customers")
    assert listing.status_code == 200 and "Fabrikam" not in listing.text
    assert "Fabrikam" not in m.get("/customers", params={"q": "fab"}).text
    for path in ("", "/edit", "/history", "/contacts/new", "/sites/new"):
        r = m.get(f"/customers/{customer_id}{path}")
        assert r.status_code == 404, path
        assert "Fabrikam" not in r.text
    assert m.get(f"/customers/{customer_id}", params={"on": day(-5)}).status_code == 404
    assert post(m, f"/customers/{customer_id}/edit", {"name": "Mine"}).status_code == 404
    assert post(m, f"/customers/{customer_id}/contacts", {"name": "Eve"}).status_code == 404
    assert "Fabrikam Ltd" in as_(alice).get(f"/customers/{customer_id}").text


def test_list_searches_filters_and_pages(as_: Client, alice: Actor, db: Database) -> None:
    with db.unit_of_work() as s:
        for i in range(30):
            service.create_customer(
                s,
                actor=alice,
                data=CustomerCreate(
                    name=f"Customer {i:02d}",
                    code=f"C{i:02d}",
                    status="prospect" if i % 3 else "active",
                ),
            )
    c = as_(alice)
    first = read(c.get("/customers"))
    assert (
        "1–25 of 30" in first.text
        and "Customer 24" in first.text
        and "Customer 25" not in first.text
    )
    assert "/customers?page=2" in first.links
    second = read(c.get("/customers", params={"page": 2}))
    assert "26–30 of 30" in second.text and "Customer 29" in second.text
    found = read(c.get("/customers", params={"q": "c07"}))
    assert "Customer 07" in found.text and "Customer 08" not in found.text
    active = read(c.get("/customers", params={"status": "active"}))
    assert "1–10 of 10" in active.text and "Customer 01" not in active.text
    assert active.values["status"] == "active"


@contextmanager
def counting(db: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def test_customer_list_queries_do_not_grow_with_customers(
    as_: Client, alice: Actor, db: Database
) -> None:
    c = as_(alice)

    def add(n: int, start: int) -> None:
        with db.unit_of_work() as s:
            for i in range(start, start + n):
                service.create_customer(
                    s, actor=alice, data=CustomerCreate(name=f"Customer {i:03d}", code=f"C{i:03d}")
                )

    add(2, 0)
    with counting(db) as few:
        assert c.get("/customers").status_code == 200
    add(23, 2)
    with counting(db) as many:
        page = c.get("/customers")
    assert "Customer 024" in page.text
    assert len(many) == len(few), many
