"""Journey steps are facts: the journal holds each one, `journey_events` only finds it, and
an offer's outcome is its last step. A forged, missing or extra step row is found by the
rebuild check and put right by `rebuild.repair`; a step cannot be changed or ended; an
outcome PATCH of the offer from before revision 0011 replays as no change; and the
revision goes down and up again without losing a step. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import select, text

from accord.access import Actor
from accord.evidence import queries
from accord.evidence.models import JourneyEvent, Offer
from accord.store import journal, migrate, rebuild, temporal
from accord.store.checkpoints import Verifier, load_key
from accord.store.db import FOREVER, Database, utcnow
from accord.store.journal import Draft, Entry, Op
from accord.store.tenancy import Tenant
from accord.store.verify import VerificationError, rebuild_check
from accord.store.writes import record
from tests.evidence.conftest import Book, journey, read
from tests.evidence.test_service import capture


def steps(db: Database) -> list[tuple[int, int, int, str, int]]:
    with db.engine.connect() as c:
        rows = c.execute(
            text(
                "SELECT tenant_id, parent_seq, n, kind, seq FROM journey_events "
                "ORDER BY tenant_id, parent_seq, n"
            )
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


def check(db: Database, tenant: Tenant) -> None:
    with db.reading() as s:
        rebuild_check(s, tenant)


def test_a_step_row_is_its_offer_place_kind_and_entry(
    db: Database, erin: Actor, book: Book, northwind: tuple[Tenant, Actor, object]
) -> None:
    capture(db, book, journey(contact=book.other_contact))
    with read(db) as s:
        offer = queries.get_offer_for(s, erin, book.offer)
        events = queries.journey(s, erin, book.offer)
        versions = s.scalars(select(Offer).where(Offer.entity_id == book.offer)).all()
    assert len(versions) == 1 and offer.status == "accepted"
    assert offer.outcome_seq == events[-1].seq
    assert steps(db) == [(erin.tenant_id, offer.seq, e.n, e.kind, e.seq) for e in events]
    check(db, northwind[0])


@pytest.mark.parametrize(
    "forgery",
    [
        "UPDATE journey_events SET kind = 'declined' WHERE kind = 'accepted'",
        "DELETE FROM journey_events WHERE n = 2",
        "UPDATE journey_events SET seq = seq + 1 WHERE n = 0",
        "INSERT INTO journey_events (tenant_id, parent_seq, n, kind, seq) "
        "SELECT tenant_id, parent_seq, 99, 'accepted', seq FROM journey_events WHERE n = 0",
    ],
)
def test_a_forged_step_row_is_found_and_repaired_from_the_journal(
    db: Database,
    erin: Actor,
    book: Book,
    northwind: tuple[Tenant, Actor, object],
    key_dir: Path,
    forgery: str,
) -> None:
    capture(db, book, journey())
    honest = steps(db)
    with db.engine.begin() as c:
        c.execute(text(forgery))
    tenant = northwind[0]
    with pytest.raises(VerificationError, match="journey_event facts differ from the journal"):
        check(db, tenant)
    verifier = Verifier.parse(load_key(key_dir, tenant.slug).verifier_key())
    with db.unit_of_work() as s:
        plan = rebuild.repair(s, tenant, verifier)
    assert [t.table for t in plan.tables if t.differs] == ["journey_events"]
    assert steps(db) == honest
    check(db, tenant)


@pytest.mark.parametrize("op", [Op.PATCH, Op.END])
def test_a_step_is_never_changed_or_ended(db: Database, erin: Actor, book: Book, op: Op) -> None:
    capture(db, book, journey()[:1])
    with read(db) as s:
        first = queries.journey(s, erin, book.offer)[0]
    change = Draft(
        kind="evidence.journey.screen",
        op=op,
        type="journey_event",
        id=first.entity_id,
        valid_from=utcnow(),
        valid_to=FOREVER,
        data={"offer_id": book.offer, "n": 0, "kind": "screen"},
    )
    with (
        pytest.raises(ValueError, match="a fact is asserted once, for all time"),
        db.unit_of_work() as s,
    ):
        record(s, tenant_id=erin.tenant_id, actor="erin", drafts=[change])
    assert len(steps(db)) == 1


def test_an_outcome_patch_from_before_0011_replays_as_no_change(
    db: Database, erin: Actor, book: Book
) -> None:
    """Until 0011 an outcome also PATCHed the offer's status and decided_* fields; those
    entries stay in the journal for ever, and a replay must leave the offer as it is."""
    with db.unit_of_work() as s:
        offer = queries.get_offer_for(s, erin, book.offer)
        old = Entry(
            seq=journal.tree_size(s, erin.tenant_id),
            tenant="northwind",
            at=utcnow(),
            actor="capture.js",
            kind="evidence.offer.accepted",
            op=Op.PATCH,
            type="offer",
            id=book.offer,
            valid_from=offer.valid_from + timedelta(minutes=1),
            valid_to=FOREVER,
            data={"status": "accepted", "decided_at": "2026-01-01T00:00:00Z", "decided_by": None},
        )
        assert temporal.apply_entry(s, erin.tenant_id, old) is False
        assert len(s.scalars(select(Offer).where(Offer.entity_id == book.offer)).all()) == 1


def test_0011_goes_down_to_version_rows_and_up_to_facts_again(
    db: Database, erin: Actor, book: Book, northwind: tuple[Tenant, Actor, object]
) -> None:
    capture(db, book, journey(contact=book.other_contact))
    facts = steps(db)
    with read(db) as s:
        offer_seq = queries.get_offer_for(s, erin, book.offer).seq
    cfg = migrate.alembic_config()
    try:
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0010")
        with db.engine.begin() as conn:
            events = conn.execute(
                text("SELECT n, kind, seq, screen FROM journey_events ORDER BY n")
            ).all()
            decided = conn.execute(
                text("SELECT status, decided_by, decided_ip FROM offers WHERE entity_id = :o"),
                {"o": book.offer},
            ).one()
            # as the old code left a decided offer: a second version written by its PATCH
            conn.execute(
                text(
                    "INSERT INTO offers (tenant_id, entity_id, valid_from, valid_to, "
                    "recorded_from, recorded_to, seq, customer_id, customer_seq, contact_id, "
                    "product, parameters, terms_version_id, status, capture_token_hash) "
                    "SELECT tenant_id, entity_id, valid_from, valid_to, recorded_from, "
                    "recorded_to, seq + 1000, customer_id, customer_seq, contact_id, product, "
                    "parameters, terms_version_id, status, capture_token_hash FROM offers "
                    "WHERE entity_id = :o"
                ),
                {"o": book.offer},
            )
            conn.execute(
                text("UPDATE offers SET closed_by = seq + 1000 WHERE seq = :s"), {"s": offer_seq}
            )
    finally:
        migrate.upgrade(db.engine)
    assert [(e[0], e[1], e[2]) for e in events] == [(f[2], f[3], f[4]) for f in facts]
    assert events[0][3] == "offer"  # the step's content came back from its entry
    assert decided == ("accepted", book.other_contact, "203.0.113.7")
    assert steps(db) == facts
    with read(db) as s:
        assert len(s.scalars(select(Offer).where(Offer.entity_id == book.offer)).all()) == 1
        assert s.scalar(select(JourneyEvent.kind).where(JourneyEvent.n == 4)) == "accepted"
    check(db, northwind[0])
