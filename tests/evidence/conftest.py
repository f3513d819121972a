"""Evidence fixtures, on SQLite and PostgreSQL: northwind's sales person erin, a customer
(Fabrikam) with two contacts, a terms document (MSA) with two versions, and an offer made
to Fabrikam under MSA v2, with its capture token. `api(actor)` is a bearer-token client,
`browser(actor)` a signed-in page client, `capture(offer_id, token)` a client as the
customer's browser is (no cookies, the capture token).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from accord.access import Actor, Role
from accord.accounts import service as accounts
from accord.accounts.schemas import UserCreate
from accord.audit import queries as audit
from accord.config import Settings
from accord.evidence import service
from accord.evidence.schemas import OfferCreate, TermsDocumentCreate, TermsVersionCreate
from accord.parties import service as parties
from accord.parties.schemas import ContactCreate, CustomerCreate
from accord.store.checkpoints import Signer
from accord.store.db import Database, utcnow
from accord.store.tenancy import Tenant
from accord.web.app import create_app
from tests.api.helpers import issue_token
from tests.cli.conftest import cli_on, env  # noqa: F401 - fixtures for the CLI tests
from tests.pages.helpers import PASSWORDS, email_of, location, login

ERIN_PASSWORD = "erin's long password"

MSA_V1 = b"Managed Services Agreement v1\n\n1. Services. Northwind provides support.\n"
MSA_V2 = (
    b"Managed Services Agreement v2\n\n1. Services. Northwind provides support.\n"
    b"2. Term. The agreement runs for the term offered and renews yearly.\n"
)


@contextmanager
def read(db: Database) -> Iterator[Session]:
    """A read whose records stay readable after it ends."""
    with db.reading() as s:
        yield s
        s.expunge_all()


@pytest.fixture
def erin(db: Database, alice: Actor) -> Actor:
    """Sales: makes offers and publishes terms."""
    with db.unit_of_work() as s:
        user = accounts.add_user(
            s,
            actor=alice,
            data=UserCreate(
                email="erin@northwind.example",
                name="Erin",
                role=Role.SALES,
                password=ERIN_PASSWORD,
            ),
        )
        return Actor(
            tenant_id=alice.tenant_id,
            label="Erin <erin@northwind.example>",
            role=Role.SALES,
            user_id=user.entity_id,
        )


@dataclass
class Book:
    customer: str
    contact: str
    other_contact: str
    msa: str
    v1: str
    v2: str
    offer: str
    token: str
    other_customer: str


def make_offer(
    db: Database, actor: Actor, book: Book, *, version: str | None = None, **more: Any
) -> tuple[str, str]:
    data = {
        "customer_id": book.customer,
        "contact_id": book.contact,
        "product": "Managed IT Support",
        "parameters": {"amount": 1250, "currency": "GBP", "term": "24 months", "seats": 25},
        "terms_version_id": version or book.v2,
        **more,
    }
    with db.unit_of_work() as s:
        return service.create_offer(s, actor=actor, data=OfferCreate.model_validate(data))


@pytest.fixture
def book(db: Database, alice: Actor, erin: Actor) -> Book:
    with db.unit_of_work() as s:
        customer = parties.create_customer(
            s,
            actor=erin,
            data=CustomerCreate(
                name="Fabrikam Ltd",
                code="FAB",
                email="it@fabrikam.example",
                effective=utcnow() - timedelta(days=30),
            ),
        )
        contact = parties.add_contact(
            s,
            actor=erin,
            customer_id=customer,
            data=ContactCreate(
                name="Fiona Park",
                role="Office manager",
                email="fiona@fabrikam.example",
                effective=utcnow() - timedelta(days=30),
            ),
        )
        other_contact = parties.add_contact(
            s,
            actor=erin,
            customer_id=customer,
            data=ContactCreate(name="Frank Obi", effective=utcnow() - timedelta(days=30)),
        )
        other = parties.create_customer(
            s, actor=erin, data=CustomerCreate(name="Contoso Dental", code="CON")
        )
        msa = service.create_terms_document(
            s, actor=erin, data=TermsDocumentCreate(code="MSA", title="Managed services agreement")
        )
        v1 = service.publish_terms_version(
            s,
            actor=erin,
            document_id=msa,
            data=TermsVersionCreate(
                label="v1", media_type="text/plain", published_at=utcnow() - timedelta(days=20)
            ),
            content=MSA_V1,
        )
        v2 = service.publish_terms_version(
            s,
            actor=erin,
            document_id=msa,
            data=TermsVersionCreate(label="v2", media_type="text/plain"),
            content=MSA_V2,
        )
    b = Book(customer, contact, other_contact, msa, v1, v2, "", "", other)
    b.offer, b.token = make_offer(db, erin, b)
    return b


# --- clients ----------------------------------------------------------------------------------


@pytest.fixture
def app(db: Database, key_dir: Path, northwind: tuple[Tenant, Actor, Signer]) -> FastAPI:
    return create_app(Settings(database_url=db.url, key_dir=key_dir, secret_key="test"), db=db)


Client = Callable[[Actor], TestClient]


@pytest.fixture
def api(app: FastAPI, db: Database) -> Iterator[Client]:
    clients: list[TestClient] = []

    def client(actor: Actor) -> TestClient:
        plain, _ = issue_token(db, actor)
        c = TestClient(app, headers={"Authorization": f"Bearer {plain}"})
        clients.append(c)
        return c

    yield client
    for c in clients:
        c.close()


@pytest.fixture
def browser(app: FastAPI) -> Iterator[Client]:
    clients: list[TestClient] = []

    def client(actor: Actor) -> TestClient:
        c = TestClient(app, follow_redirects=False)
        clients.append(c)
        email = email_of(actor)
        password = ERIN_PASSWORD if email.startswith("erin@") else PASSWORDS[email]
        assert location(login(c, email, password)) == "/customers"
        return c

    yield client
    for c in clients:
        c.close()


@pytest.fixture
def capture(app: FastAPI) -> Iterator[Callable[[str | None], TestClient]]:
    """A client as capture.js in a customer's browser on another site: the capture token
    (or none), an Origin of its own, no cookies."""
    clients: list[TestClient] = []

    def client(token: str | None) -> TestClient:
        headers = {"Origin": "https://shop.fabrikam.example", "User-Agent": "Mozilla/5.0 (test)"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        c = TestClient(app, headers=headers)
        clients.append(c)
        return c

    yield client
    for c in clients:
        c.close()


@pytest.fixture
def journal_size(db: Database) -> Callable[[Actor], int]:
    def size(actor: Actor) -> int:
        with db.reading() as s:
            return audit.tree_size(s, actor=actor)

    return size


# --- journeys -----------------------------------------------------------------------------------

PAGE = """<!DOCTYPE html><html><head><title>{title}</title></head><body>
<h1>{title}</h1><form><label><input type="checkbox" name="agree" value="yes"{checked}>
I agree to the Managed services agreement v2</label>
<label>Password <input type="password" name="pw"></label></form></body></html>"""


def screen(n: int, name: str, *, checked: bool = False, at: str = "") -> dict[str, Any]:
    return {
        "n": n,
        "type": "screen",
        "at": at or f"2026-11-23T10:00:{n:02d}.000Z",
        "name": name,
        "url": f"https://shop.fabrikam.example/offer/{name}",
        "title": name.title(),
        "html": PAGE.format(title=name.title(), checked=" checked" if checked else ""),
        "form": [
            {
                "name": "agree",
                "type": "checkbox",
                "label": "I agree to the Managed services agreement v2",
                "checked": checked,
                "value": "yes",
            },
            {"name": "pw", "type": "password", "label": "Password", "value": "", "masked": True},
        ],
    }


def tick(n: int, *, field: str = "agree", kind: str = "tick") -> dict[str, Any]:
    return {
        "n": n,
        "type": kind,
        "at": f"2026-11-23T10:01:{n:02d}.000Z",
        "screen": "terms",
        "field": field,
        "label": "I agree to the Managed services agreement v2",
        "value": "yes",
    }


def outcome(n: int, kind: str = "accepted", contact: str | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {
        "n": n,
        "type": kind,
        "at": f"2026-11-23T10:02:{n:02d}.000Z",
        "screen": "confirm",
    }
    if contact:
        event["contact"] = contact
    return event


def journey(contact: str | None = None) -> list[dict[str, Any]]:
    """An offer page, the terms, a tick, the confirmation and the acceptance."""
    return [
        screen(0, "offer"),
        screen(1, "terms"),
        tick(2),
        screen(3, "confirm", checked=True),
        outcome(4, contact=contact),
    ]


# --- an rrweb recording, in rrweb's documented event shapes ---------------------------------


def _el(id_: int, tag: str, attrs: dict[str, Any], *children: dict[str, Any]) -> dict[str, Any]:
    return {"type": 2, "id": id_, "tagName": tag, "attributes": attrs, "childNodes": list(children)}


def _text(id_: int, text: str) -> dict[str, Any]:
    return {"type": 3, "id": id_, "textContent": text}


def rrweb_recording(t0: int = 1_795_000_000_000) -> list[dict[str, Any]]:
    """Meta, a FullSnapshot of a terms page with a checkbox, a password and a text field, the
    box ticked, unticked and ticked again, typing in the text field, a script (never shown),
    then a second page's snapshot and a custom `accepted` event."""
    page = {
        "type": 0,
        "id": 1,
        "childNodes": [
            {"type": 1, "id": 2, "name": "html", "publicId": "", "systemId": ""},
            _el(3, "html", {"lang": "en"},
                _el(4, "head", {}, _el(5, "title", {}, _text(6, "Your terms")),
                    _el(7, "style", {"_cssText": "body { font-family: serif; }"})),
                _el(8, "body", {"onload": "steal()"},
                    _el(9, "h1", {}, _text(10, "Managed IT Support: terms")),
                    _el(11, "label", {"for": "agree"}, _text(12, "I accept the terms v2")),
                    _el(13, "input", {"type": "checkbox", "id": "agree", "name": "agree",
                                      "value": "yes"}),
                    _el(14, "input", {"type": "password", "name": "pin", "value": "1234"}),
                    _el(15, "input", {"type": "text", "name": "po", "aria-label": "PO number",
                                      "value": ""}),
                    _el(16, "script", {}, _text(17, "SCRIPT_PLACEHOLDER")))),
        ],
    }  # fmt: skip
    confirm = {
        "type": 0,
        "id": 1,
        "childNodes": [
            _el(3, "html", {},
                _el(4, "head", {}, _el(5, "title", {}, _text(6, "Confirm"))),
                _el(8, "body", {}, _el(9, "p", {}, _text(10, "Thank you")))),
        ],
    }  # fmt: skip

    def input_(dt: int, id_: int, **data: Any) -> dict[str, Any]:
        return {"type": 3, "timestamp": t0 + dt, "data": {"source": 5, "id": id_, **data}}

    return [
        {"type": 4, "timestamp": t0, "data": {"href": "https://shop.example/offer/terms",
                                              "width": 1280, "height": 800}},
        {"type": 2, "timestamp": t0 + 5, "data": {"node": page,
                                                   "initialOffset": {"left": 0, "top": 0}}},
        {"type": 3, "timestamp": t0 + 900, "data": {"source": 1, "positions": []}},
        input_(1000, 13, text="yes", isChecked=True),
        input_(1500, 13, text="yes", isChecked=False),
        input_(2000, 13, text="yes", isChecked=True),
        input_(2500, 14, text="9999"),
        input_(3000, 15, text="P"),
        input_(3100, 15, text="PO-1"),
        input_(3200, 15, text="PO-17"),
        {"type": 4, "timestamp": t0 + 4000, "data": {"href": "https://shop.example/offer/confirm",
                                                     "width": 1280, "height": 800}},
        {"type": 2, "timestamp": t0 + 4005, "data": {"node": confirm,
                                                      "initialOffset": {"left": 0, "top": 0}}},
        {"type": 5, "timestamp": t0 + 4500, "data": {"tag": "accepted", "payload": {}}},
    ]  # fmt: skip


@pytest.fixture
def anonymous_client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as c:
        yield c
