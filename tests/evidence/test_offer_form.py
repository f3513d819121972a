"""Making an offer on the web (/offers/new), in-process on SQLite and PostgreSQL: the
customer first, then its contacts, the parameters (named and any others), the terms
version; the offer's page then shows the capture token once, in the capture.js tag; bad
input comes back with what was typed and each problem beside its field, and changes
nothing; readers and another tenant cannot use it."""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import datetime, timedelta

from fastapi.testclient import TestClient

from accord.access import Actor
from accord.store.db import utcnow
from tests.evidence.conftest import Book, Client, journey
from tests.pages.helpers import location, post, read

Capture = Callable[[str | None], TestClient]
Size = Callable[[Actor], int]


def filled(book: Book, **change: str) -> dict[str, str]:
    form = {
        "customer_id": book.customer,
        "contact_id": book.contact,
        "product": "Managed IT Support",
        "amount": "1180.00",
        "currency": "GBP",
        "term": "24 months",
        "rate": "6.9% APR",
        "param_name_0": "seats",
        "param_value_0": "14",
        "param_name_1": "service_level",
        "param_value_1": "Silver",
        "terms_version_id": book.v2,
        "effective": "",
    }
    return {**form, **change}


def test_the_offers_list_leads_to_the_form_customer_first(
    browser: Client, erin: Actor, book: Book
) -> None:
    c = browser(erin)
    assert "/offers/new" in read(c.get("/offers")).links
    assert (
        f"/offers/new?customer={book.customer}"
        in read(c.get(f"/offers?customer={book.customer}")).links
    )
    chooser = read(c.get("/offers/new"))
    assert "Fabrikam Ltd (FAB)" in chooser.text and "Contoso Dental (CON)" in chooser.text
    assert chooser.forms == ["/logout"]  # choosing the customer is a GET
    form = read(c.get(f"/offers/new?customer={book.customer}"))
    assert form.forms[-1] == "/offers"
    assert form.values["customer_id"] == book.customer
    assert "Fiona Park, Office manager, fiona@fabrikam.example" in form.text
    assert "Frank Obi" in form.text
    assert "MSA v2 (in effect)" in form.text and "MSA v1" in form.text
    assert form.values["terms_version_id"] == ""  # chosen, never assumed
    assert form.values["currency"] == "GBP"


def test_the_form_makes_an_offer_and_shows_its_capture_token_once(
    browser: Client, api: Client, capture: Capture, erin: Actor, book: Book
) -> None:
    c = browser(erin)
    made = post(c, "/offers", filled(book))
    where = location(made)
    offer_id = where.rsplit("/", 1)[1]
    assert where == f"/offers/{offer_id}"

    shown = c.get(where)
    assert shown.status_code == 200 and shown.headers["cache-control"] == "no-store"
    page = read(shown)
    assert "Offer made: Managed IT Support." in page.text
    token = page.ids["capture-token"]
    snippet = html.unescape(page.ids["capture-snippet"])
    assert f'src="http://testserver/capture.js" data-offer="{offer_id}"' in snippet
    assert f'data-token="{token}"' in snippet and f'data-contact="{book.contact}"' in snippet
    assert "data-accord-accept" in snippet and "data-accord-decline" in snippet

    # The token is the offer's: capture.js can record its journey with it.
    r = capture(token).post(f"/api/capture/{offer_id}/events", json={"events": journey()[:2]})
    assert r.status_code == 200, r.text
    # Shown once: the page again does not have it, and Accord never stored it.
    again = c.get(where)
    assert token not in again.text and "capture-token" not in again.text
    assert "CAPTURE_TOKEN" in again.text  # the tag as a template, for the pages to come

    offer = api(erin).get(f"/api/offers/{offer_id}").json()
    assert offer["parameters"] == {
        "amount": "1180.00",
        "currency": "GBP",
        "term": "24 months",
        "rate": "6.9% APR",
        "seats": "14",
        "service_level": "Silver",
    }
    assert (offer["customer_id"], offer["contact_id"]) == (book.customer, book.contact)
    assert offer["terms_version_id"] == book.v2 and offer["status"] == "open"
    assert "by Erin" in read(again).text


def test_the_token_waits_for_its_own_offer_page(browser: Client, erin: Actor, book: Book) -> None:
    c = browser(erin)
    where = location(post(c, "/offers", filled(book, contact_id="")))
    assert "capture-token" not in c.get(f"/offers/{book.offer}").text  # another offer
    page = read(c.get(where))
    assert "capture-token" in page.ids and "data-contact" not in page.ids["capture-snippet"]


def test_an_offer_made_earlier_is_recorded_from_then(
    browser: Client, api: Client, erin: Actor, book: Book
) -> None:
    c = browser(erin)
    then = (utcnow() - timedelta(days=2)).replace(second=0, microsecond=0)
    where = location(post(c, "/offers", filled(book, effective=f"{then:%Y-%m-%dT%H:%M}")))
    offer = api(erin).get("/api" + where).json()
    assert datetime.fromisoformat(offer["made_at"].replace("Z", "+00:00")) == then
    # before the customer was on record: refused, beside the customer
    long_ago = filled(book, effective="2020-01-01")
    errors = read(post(c, "/offers", long_ago)).errors
    assert errors["customer_id"] == f"No customer {book.customer} on 2020-01-01 00:00 UTC"


def test_bad_input_comes_back_with_what_was_typed_beside_each_field(
    browser: Client, erin: Actor, book: Book, journal_size: Size
) -> None:
    c = browser(erin)
    before = journal_size(erin)
    typed = filled(
        book,
        amount="1,180",
        term="",
        param_name_0="9 lives",
        param_value_0="x",
        param_name_1="",
        param_value_1="orphan",
        param_name_2="amount",
        param_value_2="3",
        param_name_3="colour",
        param_value_3="",
        param_name_4="seats",
        param_value_4="1",
        param_name_5="seats",
        param_value_5="2",
    )
    r = post(c, "/offers", typed)
    assert r.status_code == 422
    page = read(r)
    assert page.errors == {
        "amount": "A number, e.g. 250 or 249.99",
        "term": "Required (the amount and the term of what is offered)",
        "param_name_0": "A name is a letter, then letters, digits or _ (64 at most)",
        "param_name_1": "Give this value a name, or empty it.",
        "param_name_2": "The name amount has a field of its own above.",
        "param_value_3": "Give colour a value, or empty its name.",
        "param_name_5": "The name seats is given twice.",
    }
    assert "Nothing was saved" in page.text
    for name, value in typed.items():  # everything as typed, nothing lost
        assert page.values[name] == value, name
    assert "param_name_6" in page.values  # and a row to spare
    assert journal_size(erin) == before

    cases = {
        "contact_id": {"contact_id": "00000000-0000-0000-0000-000000000000"},
        "terms_version_id": {"terms_version_id": ""},
        "effective": {"effective": "2999-01-01"},
        "product": {"product": " "},
    }
    for field, change in cases.items():
        r = post(c, "/offers", filled(book, **change))
        assert r.status_code == 422, field
        assert field in read(r).errors, (field, read(r).errors)
    # a contact of another customer: the service says so, beside the contact
    other = filled(book, customer_id=book.other_customer)
    errors = read(post(c, "/offers", other)).errors
    assert errors == {"contact_id": "The contact is not one of the customer's"}
    assert journal_size(erin) == before


def test_readers_cannot_make_offers(
    browser: Client, carol: Actor, book: Book, journal_size: Size
) -> None:
    c = browser(carol)
    assert "/offers/new" not in read(c.get("/offers")).links
    assert c.get("/offers/new").status_code == 403
    before = journal_size(carol)
    assert post(c, "/offers", filled(book)).status_code == 403
    assert journal_size(carol) == before


def test_another_tenant_cannot_see_or_use_our_customers(
    browser: Client, mallory: Actor, erin: Actor, book: Book, journal_size: Size
) -> None:
    c = browser(mallory)
    r = c.get(f"/offers/new?customer={book.customer}")
    assert r.status_code == 404
    assert "Fabrikam" not in r.text and "Fiona" not in r.text
    assert "MSA v2" not in r.text
    ours, theirs = journal_size(erin), journal_size(mallory)
    r = post(c, "/offers", filled(book))
    assert r.status_code == 422
    assert "Fabrikam" not in r.text and "Fiona" not in r.text
    assert read(r).errors == {"customer": "No such customer: choose one from the list."}
    assert (journal_size(erin), journal_size(mallory)) == (ours, theirs)
