"""`accord offer create` on SQLite and PostgreSQL: the offer made through the same service
and schema as `POST /api/offers`, its id and capture token printed; bad input names the
option and changes nothing; another tenant's customers are not found."""

from __future__ import annotations

import json

from accord.access import Actor
from accord.evidence import queries, service
from accord.evidence.schemas import parse_events
from accord.store.db import Database
from tests.cli.conftest import Run
from tests.evidence.conftest import Book, journey, read
from tests.evidence.test_cli import fails, ok, size

BASE = ("offer", "create", "--customer", "fab", "--product", "Backup and recovery",
        "--terms-version", "MSA/v2")  # fmt: skip


def test_offer_create_prints_the_id_and_the_capture_token(
    cli_on: Run, db: Database, erin: Actor, book: Book
) -> None:
    params = ("--param", "amount=249.99", "--param", "term=12 months", "--param", "rate=",
              "--param", "seats=14")  # fmt: skip
    out = ok(cli_on, *BASE, *params, "--contact", "FIONA@fabrikam.example")
    offer_id, token = out.strip().splitlines()
    with read(db) as s:
        offer = queries.get_offer_for(s, erin, offer_id)
        params = queries.parameters_of(offer)
    assert (offer.customer_id, offer.contact_id) == (book.customer, book.contact)
    assert offer.terms_version_id == book.v2 and offer.product == "Backup and recovery"
    assert params == {"amount": "249.99", "term": "12 months", "rate": "", "seats": "14"}
    assert offer.capture_token_hash == service.token_hash(token)
    with db.unit_of_work() as s:  # the token is the offer's
        done = service.capture_events(
            s,
            offer_id=offer_id,
            token=token,
            events=parse_events({"events": journey()[:1]}),
            origin=service.Origin(ip=None, user_agent=None),
        )
    assert done.length == 1

    made = json.loads(ok(cli_on, "offer", "create", "--customer", book.customer, "--product", "X",
                         "--terms", book.v1, "--param", "amount=1", "--param", "term=1 month",
                         "--json"))  # fmt: skip
    assert set(made) == {"id", "capture_token"} and made["id"] != offer_id
    with read(db) as s:
        assert queries.get_offer_for(s, erin, made["id"]).terms_version_id == book.v1


def test_offer_create_refusals_name_the_option(
    cli_on: Run, db: Database, alice: Actor, book: Book
) -> None:
    before = size(db, alice)
    good = ("--param", "amount=1", "--param", "term=1 month")
    assert fails(cli_on, *BASE, "--param", "amount=lots", "--param", "term=1") == (
        "error: param: amount: a number, e.g. 250 or 249.99"
    )
    assert "param: term: required" in fails(cli_on, *BASE, "--param", "amount=1")
    assert "param: 'amount': give it as NAME=VALUE" in fails(cli_on, *BASE, "--param", "amount")
    assert "param: amount is given twice" in fails(cli_on, *BASE, *good, "--param", "amount=2")
    assert "param: '9lives'" in fails(cli_on, *BASE, *good, "--param", "9lives=1")
    assert fails(cli_on, *BASE, *good, "--made", "2999-01-01") == (
        "error: made: an offer cannot be made in the future"
    )
    assert fails(cli_on, *BASE, *good, "--made", "soon").startswith("error: made: not a date")
    assert "contact: no contact nobody" in fails(cli_on, *BASE, *good, "--contact", "nobody")
    other = fails(cli_on, *BASE, *good, "--contact", book.contact, "--customer", "CON")
    assert other == "error: contact: the contact is not one of the customer's"
    assert "MSA has no version 'v9'" in fails(cli_on, *BASE[:-1], "MSA/v9", *good)
    assert "no customer" in fails(cli_on, *BASE[:3], "NOPE", *BASE[4:], *good)
    result = cli_on(*BASE[:-2], *good)  # no terms version: a usage error
    assert result.exit_code == 2
    assert size(db, alice) == before


def test_another_tenant_cannot_offer_to_our_customers(
    cli_on: Run, db: Database, alice: Actor, mallory: Actor, book: Book
) -> None:
    ours, theirs = size(db, alice), size(db, mallory)
    good = ("--param", "amount=1", "--param", "term=1 month")
    found = fails(cli_on, "offer", "create", "--tenant", "contoso", "--customer", book.customer,
                  "--product", "X", "--terms-version", book.v2, *good)  # fmt: skip
    assert found.startswith("error: not found: no ")
    assert (size(db, alice), size(db, mallory)) == (ours, theirs)
    assert json.loads(ok(cli_on, "offer", "list", "--tenant", "contoso", "--json"))["total"] == 0
