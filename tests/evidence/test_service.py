"""The evidence service's rules, on SQLite and PostgreSQL: terms versions are stored byte
for byte and never changed, an offer pins the customer's version, the journey is recorded
once per step, the outcome once, and everything is in the journal."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from accord.access import Actor
from accord.errors import Forbidden, Invalid, NotFound
from accord.evidence import queries, service
from accord.evidence.models import JourneyEvent, Offer
from accord.evidence.schemas import (
    OfferCreate,
    TermsDocumentCreate,
    TermsVersionCreate,
    parse_events,
)
from accord.parties import service as parties
from accord.parties.schemas import CustomerUpdate
from accord.store import blobs, journal, temporal
from accord.store.db import Database, utcnow
from accord.store.tenancy import Tenant
from accord.store.verify import rebuild_check
from tests.evidence.conftest import (
    MSA_V1,
    MSA_V2,
    Book,
    journey,
    make_offer,
    outcome,
    read,
    screen,
    tick,
)

ORIGIN = service.Origin(ip="203.0.113.7", user_agent="Mozilla/5.0 (test)")


def capture(db: Database, book: Book, events: list[dict[str, Any]], token: str = "") -> Any:
    with db.unit_of_work() as s:
        return service.capture_events(
            s,
            offer_id=book.offer,
            token=token or book.token,
            events=parse_events({"events": events}),
            origin=ORIGIN,
        )


def problems(exc: pytest.ExceptionInfo[Invalid]) -> dict[str, str]:
    return dict(exc.value.problems)


# --- terms ----------------------------------------------------------------------------------


def test_a_version_reads_back_byte_for_byte_in_its_order(
    db: Database, erin: Actor, book: Book
) -> None:
    with read(db) as s:
        v1, content1 = queries.version_content(s, erin, book.v1)
        v2, content2 = queries.version_content(s, erin, book.v2)
        versions = queries.versions_of(s, erin, book.msa)
        latest = queries.latest_version(versions)
    assert (content1, content2) == (MSA_V1, MSA_V2)
    assert [v.label for v in versions] == ["v1", "v2"]
    assert latest is not None and latest.entity_id == book.v2
    assert v2.size == len(MSA_V2) and len(v2.blob) == 64


def test_a_pdf_is_kept_exactly_and_must_be_one(db: Database, erin: Actor, book: Book) -> None:
    pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    with db.unit_of_work() as s:
        vid = service.publish_terms_version(
            s,
            actor=erin,
            document_id=book.msa,
            data=TermsVersionCreate(label="v3", media_type="application/pdf"),
            content=pdf,
        )
    with read(db) as s:
        assert queries.version_content(s, erin, vid)[1] == pdf
    bad = {
        ("application/pdf", b"hello"): "content",
        ("text/plain", pdf): "media_type",
        ("text/plain", b"\xff\xfe not utf-8"): "content",
        ("text/plain", b""): "content",
    }
    for (media, content), field in bad.items():
        with pytest.raises(Invalid) as exc, db.unit_of_work() as s:
            service.publish_terms_version(
                s,
                actor=erin,
                document_id=book.msa,
                data=TermsVersionCreate(label="v9", media_type=media),
                content=content,
            )
        assert field in problems(exc), (media, content)


def test_a_label_is_used_once_and_a_version_applies_after_it_is_published(
    db: Database, erin: Actor, book: Book
) -> None:
    with pytest.raises(Invalid) as exc, db.unit_of_work() as s:
        service.publish_terms_version(
            s,
            actor=erin,
            document_id=book.msa,
            data=TermsVersionCreate(label="V2", media_type="text/plain"),
            content=b"again",
        )
    assert "already has a version" in problems(exc)["label"]
    with pytest.raises(Invalid) as exc, db.unit_of_work() as s:
        service.publish_terms_version(
            s,
            actor=erin,
            document_id=book.msa,
            data=TermsVersionCreate(
                label="v3",
                media_type="text/plain",
                published_at=utcnow(),
                effective_from=utcnow() - timedelta(days=1),
            ),
            content=b"text",
        )
    assert "effective_from" in problems(exc)
    with pytest.raises(Invalid) as exc, db.unit_of_work() as s:
        service.create_terms_document(
            s, actor=erin, data=TermsDocumentCreate(code="MSA", title="Again")
        )
    assert "code" in problems(exc)


def test_a_planned_version_is_not_the_latest_until_it_applies(
    db: Database, erin: Actor, book: Book
) -> None:
    later = utcnow() + timedelta(days=30)
    with db.unit_of_work() as s:
        v3 = service.publish_terms_version(
            s,
            actor=erin,
            document_id=book.msa,
            data=TermsVersionCreate(label="v3", media_type="text/plain", effective_from=later),
            content=MSA_V2 + b"3. Planned.\n",
        )
    with read(db) as s:
        versions = queries.versions_of(s, erin, book.msa)
        assert queries.latest_version(versions).entity_id == book.v2  # type: ignore[union-attr]
        assert queries.latest_version(versions, later).entity_id == v3  # type: ignore[union-attr]


def test_only_sales_and_admins_write(db: Database, bob: Actor, carol: Actor, book: Book) -> None:
    for who in (bob, carol):
        with pytest.raises(Forbidden), db.unit_of_work() as s:
            service.create_terms_document(
                s, actor=who, data=TermsDocumentCreate(code="DPA", title="Data processing")
            )
        with pytest.raises(Forbidden):
            make_offer(db, who, book)
        with read(db) as s:  # but they read
            assert queries.get_offer_for(s, who, book.offer).entity_id == book.offer


# --- offers ---------------------------------------------------------------------------------


def test_an_offer_pins_the_customer_version_it_was_made_to(
    db: Database, erin: Actor, book: Book
) -> None:
    with db.unit_of_work() as s:
        parties.change_customer(
            s,
            actor=erin,
            customer_id=book.customer,
            data=CustomerUpdate(name="Fabrikam Group plc", reason="renamed"),
        )
    with read(db) as s:
        offer = queries.get_offer_for(s, erin, book.offer)
        entry = journal.read_entry(s, erin.tenant_id, offer.customer_seq)
        ev = queries.offer_evidence(s, erin, book.offer)
    assert entry is not None and entry[0].id == book.customer  # the customer's own entry
    assert ev.customer_then.name == "Fabrikam Ltd"
    assert ev.customer_now.name == "Fabrikam Group plc"
    assert ev.customer_patch == [{"op": "replace", "path": "/name", "value": "Fabrikam Group plc"}]
    assert [c["kind"] for c in ev.customer_changes] == ["parties.customer.changed"]
    assert json.loads(offer.parameters) == ev.parameters
    assert offer.parameters == journal.canonical(ev.parameters).decode()  # RFC 8785 text


def test_an_offer_needs_a_real_customer_contact_and_terms_version(
    db: Database, erin: Actor, book: Book
) -> None:
    cases = {
        "customer_id": {"customer_id": "00000000-0000-0000-0000-000000000000"},
        "contact_id": {"contact_id": "00000000-0000-0000-0000-000000000000"},
        "terms_version_id": {"terms_version_id": "00000000-0000-0000-0000-000000000000"},
        "effective": {"effective": utcnow() + timedelta(days=2)},
    }
    for field, change in cases.items():
        with pytest.raises(Invalid) as exc:
            make_offer(db, erin, book, **change)
        assert field in problems(exc), field
    other = {"customer_id": book.other_customer, "contact_id": book.contact}
    with pytest.raises(Invalid) as exc:
        make_offer(db, erin, book, **other)
    assert "not one of the customer's" in problems(exc)["contact_id"]


@pytest.mark.parametrize(
    ("parameters", "field"),
    [
        ({"term": "12 months"}, "amount"),
        ({"amount": 10}, "term"),
        ({"amount": "lots", "term": 1}, "amount"),
        ({"amount": -1, "term": 1}, "amount"),
        ({"amount": 1, "term": 1, "9lives": 1}, "9lives"),
        ({"amount": 1, "term": 1, "rate": [1]}, "rate"),
    ],
)
def test_parameters_are_checked(parameters: dict[str, Any], field: str) -> None:
    data = {
        "customer_id": "c",
        "product": "p",
        "parameters": parameters,
        "terms_version_id": "t",
    }
    with pytest.raises(Exception) as exc:
        OfferCreate.model_validate(data)
    assert field in str(exc.value)


def test_the_capture_token_is_kept_only_as_its_hash(db: Database, erin: Actor, book: Book) -> None:
    with read(db) as s:
        offer = queries.get_offer_for(s, erin, book.offer)
        entries = temporal.entries_for(s, erin.tenant_id, book.offer, Offer)
    assert offer.capture_token_hash == service.token_hash(book.token)
    assert all(book.token.encode() not in e.canonical() for e in entries)


# --- journeys -----------------------------------------------------------------------------


def test_a_journey_is_recorded_in_order_with_its_outcome(
    db: Database, erin: Actor, book: Book
) -> None:
    done = capture(db, book, journey(contact=book.other_contact))
    assert (done.received, done.length) == ([0, 1, 2, 3, 4], 5)
    with read(db) as s:
        offer = queries.get_offer_for(s, erin, book.offer)
        ev = queries.offer_evidence(s, erin, book.offer)
        history = queries.offer_history(s, erin, book.offer)
        decided = queries.outcome_of(s, erin.tenant_id, offer)
    assert offer.status == "accepted" and decided is not None and decided == ev.outcome
    assert queries.decided_by(offer, decided) == decided.contact == book.other_contact
    assert (decided.ip, decided.user_agent) == ("203.0.113.7", "Mozilla/5.0 (test)")
    assert decided.at.isoformat().startswith("2026-11-23") and decided.n == 4
    assert [x.event.kind for x in ev.events] == ["screen", "screen", "tick", "screen", "accepted"]
    assert ev.events[3].form is not None and ev.events[3].form[0]["checked"] is True
    assert b"Confirm" in (ev.events[3].content or b"")
    assert ev.decided_by is not None and ev.decided_by.name == "Frank Obi"
    assert [e.kind for e in history] == ["evidence.offer.made"]
    # every record involved names its journal entry
    assert ev.seqs["offer"] == [e.seq for e in history]
    assert ev.seqs["events"] == [x.event.seq for x in ev.events]
    assert ev.seqs["terms_version"] == ev.terms.seq and ev.terms_content == MSA_V2


def test_the_same_n_again_is_acknowledged_not_stored_twice(
    db: Database, erin: Actor, book: Book
) -> None:
    capture(db, book, journey()[:3])
    with read(db) as s:
        size = journal.tree_size(s, erin.tenant_id)
    again = capture(db, book, journey()[:3])
    assert (again.received, again.length) == ([0, 1, 2], 3)
    more = capture(db, book, journey()[1:4])  # 1 and 2 again, 3 new
    assert (more.received, more.length) == ([1, 2, 3], 4)
    with read(db) as s:
        rows = s.scalar(select(func.count()).select_from(JourneyEvent))
        assert journal.tree_size(s, erin.tenant_id) == size + 1
    assert rows == 4


def test_the_outcome_is_final(db: Database, erin: Actor, book: Book) -> None:
    capture(db, book, journey())
    with pytest.raises(service.Conflict, match="already accepted"):
        capture(db, book, [outcome(5, "declined")])
    with pytest.raises(service.Conflict, match="after the outcome"):
        capture(db, book, [tick(6)])
    with pytest.raises(service.Conflict, match="after the outcome"):
        capture(db, book, [tick(5, kind="untick")])
    with read(db) as s:
        assert [e.n for e in queries.journey(s, erin, book.offer)] == [0, 1, 2, 3, 4]
        assert queries.get_offer_for(s, erin, book.offer).status == "accepted"
    # the same steps again are still acknowledged: a retry after the outcome is harmless
    assert capture(db, book, journey()).received == [0, 1, 2, 3, 4]


def test_late_steps_from_before_the_outcome_are_taken(
    db: Database, erin: Actor, book: Book
) -> None:
    events = journey()
    capture(db, book, [events[0], events[4]])  # the screen, then the outcome, first
    done = capture(db, book, events[1:4])  # the steps in between arrive later
    assert (done.received, done.length) == ([1, 2, 3], 5)
    with read(db) as s:
        assert [e.n for e in queries.journey(s, erin, book.offer)] == [0, 1, 2, 3, 4]


def test_two_outcomes_in_one_request_are_refused_and_nothing_is_kept(
    db: Database, erin: Actor, book: Book
) -> None:
    with pytest.raises(service.Conflict):
        capture(db, book, [screen(0, "offer"), outcome(1), outcome(2, "declined")])
    with pytest.raises(service.Conflict):
        capture(db, book, [outcome(1), tick(2)])
    with read(db) as s:
        assert queries.journey(s, erin, book.offer) == []
        assert queries.get_offer_for(s, erin, book.offer).status == "open"


def test_an_outcome_names_a_contact_of_the_customer(db: Database, book: Book) -> None:
    with pytest.raises(Invalid) as exc:
        capture(db, book, [outcome(0, contact="00000000-0000-0000-0000-000000000000")])
    assert "events[0].contact" in problems(exc)


def test_a_wrong_token_appends_nothing(db: Database, erin: Actor, book: Book) -> None:
    with pytest.raises(service.CaptureDenied):
        capture(db, book, journey(), token="not-the-token")
    with pytest.raises(service.CaptureDenied), db.unit_of_work() as s:
        service.capture_tenant(s, offer_id=book.offer, token=None)
    with pytest.raises(NotFound), db.unit_of_work() as s:
        service.capture_tenant(s, offer_id="no-such-offer", token=book.token)


def test_passwords_never_reach_the_record(db: Database, erin: Actor, book: Book) -> None:
    page = screen(0, "login")
    page["html"] = page["html"].replace(
        'type="password" name="pw"', 'type="password" name="pw" value="hunter2"'
    )
    page["form"][1]["value"] = "hunter2"
    change = {"n": 1, "type": "change", "at": "2026-11-23T10:00:05Z", "screen": "login",
              "field": "pw", "value": "hunter2"}  # fmt: skip
    capture(db, book, [page, change])
    with read(db) as s:
        ev = queries.offer_evidence(s, erin, book.offer)
        entries = temporal.entries_for(s, erin.tenant_id, ev.events[0].event.entity_id)
    assert b"hunter2" not in (ev.events[0].content or b"")
    assert ev.events[0].form[1] == {**page["form"][1], "value": "", "masked": True}  # type: ignore[index]
    assert ev.events[1].event.value == ""
    assert all(b"hunter2" not in e.canonical() for e in entries)


def test_a_screen_shown_again_is_stored_against_its_previous_capture(
    db: Database, erin: Actor, book: Book
) -> None:
    capture(db, book, [screen(0, "terms"), screen(1, "terms", checked=True)])
    with read(db) as s:
        first, second = queries.journey(s, erin, book.offer)
        assert first.blob != second.blob
        assert blobs.get(s, erin.tenant_id, second.blob).count(b"checked") == 1  # type: ignore[arg-type]
        assert blobs.verify_blobs(s, erin.tenant_id) == []


def test_server_side_capture_takes_the_customer_address_it_is_given(
    db: Database, erin: Actor, bob: Actor, book: Book
) -> None:
    events = journey()
    events[4] |= {"ip": "2001:db8::1", "user_agent": "Mozilla/5.0 (customer)"}
    with db.unit_of_work() as s:
        service.record_events(
            s,
            actor=erin,
            offer_id=book.offer,
            events=parse_events({"events": events}, server=True),
            origin=service.Origin(ip="10.0.0.5", user_agent="backend/1.0"),
        )
    with read(db) as s:
        offer = queries.get_offer_for(s, erin, book.offer)
        steps = queries.journey(s, erin, book.offer)
        decided = queries.outcome_of(s, erin.tenant_id, offer)
    assert decided is not None
    assert (decided.ip, decided.user_agent) == ("2001:db8::1", "Mozilla/5.0 (customer)")
    assert decided.contact == book.contact  # the offer's contact when the event names none
    assert {e.source for e in steps} == {"server"} and steps[0].ip == "10.0.0.5"
    with pytest.raises(Forbidden), db.unit_of_work() as s:
        service.record_events(
            s, actor=bob, offer_id=book.offer,
            events=parse_events({"events": events}, server=True), origin=ORIGIN,
        )  # fmt: skip


def test_the_tables_are_what_the_journal_says(
    db: Database, erin: Actor, book: Book, northwind: tuple[Tenant, Actor, Any]
) -> None:
    capture(db, book, journey())
    with read(db) as s:
        report = rebuild_check(s, northwind[0])
    assert report.rows > 0


# --- reports ------------------------------------------------------------------------------


def test_acceptances_and_who_is_not_on_the_latest_terms(
    db: Database, erin: Actor, book: Book
) -> None:
    old, old_token = make_offer(
        db, erin, book, version=book.v1, customer_id=book.other_customer, contact_id=None
    )
    with db.unit_of_work() as s:
        service.capture_events(
            s,
            offer_id=old,
            token=old_token,
            events=parse_events({"events": [outcome(0)]}),
            origin=ORIGIN,
        )
    capture(db, book, [outcome(0)])
    with read(db) as s:
        assert [a.offer.entity_id for a in queries.acceptances(s, erin, book.v1)] == [old]
        assert [a.offer.entity_id for a in queries.acceptances(s, erin, book.v2)] == [book.offer]
        assert queries.acceptance_counts(s, erin, [book.v1, book.v2]) == {book.v1: 1, book.v2: 1}
        latest, behind = queries.not_on_latest(s, erin, book.msa)
    assert latest is not None and latest.entity_id == book.v2
    assert [(b.customer_id, b.accepted.label) for b in behind] == [(book.other_customer, "v1")]
    # once Contoso accepts v2 too, nobody is behind
    newer, token = make_offer(db, erin, book, customer_id=book.other_customer, contact_id=None)
    with db.unit_of_work() as s:
        service.capture_events(
            s,
            offer_id=newer,
            token=token,
            events=parse_events({"events": [outcome(0)]}),
            origin=ORIGIN,
        )
    with read(db) as s:
        assert queries.not_on_latest(s, erin, book.msa)[1] == []


def test_offers_of_a_customer_by_status_and_terms(db: Database, erin: Actor, book: Book) -> None:
    second, _ = make_offer(db, erin, book, version=book.v1)
    capture(db, book, [outcome(0, "declined")])
    with read(db) as s:
        rows, total = queries.list_offers(s, actor=erin, customer_id=book.customer)
        assert total == 2 and {o.entity_id for o, _ in rows} == {book.offer, second}
        declined, _ = queries.list_offers(s, actor=erin, status="declined")
        assert [o.entity_id for o, _ in declined] == [book.offer]
        under_v1, _ = queries.list_offers(s, actor=erin, terms_version_id=book.v1)
        assert [o.entity_id for o, _ in under_v1] == [second]
