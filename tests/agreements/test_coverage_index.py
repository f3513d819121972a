"""`asset_coverage`, the entitlement answer the write path keeps ready: what it says after
the changes that touch it from afar (a contract's cancellation, a group line), how long a
covering run lasts, and that upgrading an existing database fills it exactly as the
write path would have."""

from __future__ import annotations

from typing import Any

from alembic import command
from sqlalchemy import select

from accord.access import Actor
from accord.agreements import queries, service
from accord.agreements.models import COVERAGE_COLUMNS, AssetCoverage
from accord.agreements.schemas import (
    AssetCreate,
    AssetUpdate,
    Cancellation,
    LineUpdate,
    TakeOff,
)
from accord.store import migrate
from accord.store.db import Database, utcnow
from tests.agreements.conftest import DAY, Book, today


def rows(db: Database, tenant_id: int) -> list[tuple[Any, ...]]:
    t = AssetCoverage.__table__
    cols = [t.c.asset_id, t.c.recorded_from, t.c.recorded_to, *(t.c[c] for c in COVERAGE_COLUMNS)]
    with db.reading() as s:
        return [
            tuple(r)
            for r in s.execute(
                select(*cols).where(t.c.tenant_id == tenant_id).order_by(*cols[:3], t.c.valid_from)
            )
        ]


def test_a_price_change_does_not_end_coverage(db: Database, alice: Actor, book: Book) -> None:
    """A new price from a date splits the line's versions, not its coverage."""
    day = today() + 10 * DAY
    with db.unit_of_work() as s:
        service.change_line(
            s,
            actor=alice,
            line_id=book.laptop_line,
            data=LineUpdate(price=4000, effective=day, reason="new price list"),
        )
    with db.reading() as s:
        now = queries.entitlement(s, alice, "FAB-0001", on=today(), known_at=utcnow())
    assert now.covered and now.covered_until is None and now.next_covered_from is None
    assert "until" not in now.reason and "Gold service level" in now.reason


def test_covered_until_names_the_end_of_the_run_and_why(
    db: Database, alice: Actor, book: Book
) -> None:
    """A price change, then a take-off: covered until the take-off, not the price change;
    once the take-off is corrected away, covered without end again."""
    price_day, off_day = today() + 10 * DAY, today() + 30 * DAY
    with db.unit_of_work() as s:
        service.change_line(
            s,
            actor=alice,
            line_id=book.laptop_line,
            data=LineUpdate(price=4000, effective=price_day, reason="new price list"),
        )
    with db.unit_of_work() as s:
        service.take_off(
            s,
            actor=alice,
            line_id=book.laptop_line,
            data=TakeOff(effective=off_day, reason="laptop sold to staff"),
        )
    taken_off = utcnow()
    with db.reading() as s:
        before = queries.entitlement(s, alice, book.laptop, on=today(), known_at=taken_off)
        after = queries.entitlement(s, alice, book.laptop, on=off_day, known_at=taken_off)
    assert before.covered and before.covered_until == off_day
    assert f"until {off_day:%Y-%m-%d}, when it comes off the contract" in before.reason
    assert not after.covered and after.cause == "removed" and "sold to staff" in after.reason


def test_a_cancellation_reaches_every_asset_of_the_contract(
    db: Database, alice: Actor, book: Book
) -> None:
    """One entry about the contract changes the answers of the assets its lines cover,
    per asset and as a group, and of none other."""
    day = today() + 40 * DAY
    with db.unit_of_work() as s:
        service.cancel_contract(
            s,
            actor=alice,
            contract_id=book.contract,
            data=Cancellation(effective=day, reason="moving in-house"),
        )
    with db.reading() as s:
        for asset in (book.laptop, book.server):
            today_ = queries.entitlement(s, alice, asset, on=today(), known_at=utcnow())
            later = queries.entitlement(s, alice, asset, on=day, known_at=utcnow())
            assert today_.covered and today_.covered_until == day
            assert "the contract is cancelled from that day" in today_.reason
            assert later.cause == "cancelled" and "moving in-house" in later.reason
        spare = queries.entitlement(s, alice, book.spare_server, on=day, known_at=utcnow())
    assert spare.cause == "never_covered"


def test_an_asset_moved_into_a_group_lines_site_is_covered_from_the_move(
    db: Database, alice: Actor, book: Book
) -> None:
    """A new server at the site is covered by the group line from the day it is added; the
    spare moved to the site from a date, from that date."""
    move = today() + 5 * DAY
    with db.unit_of_work() as s:
        new = service.add_asset(
            s,
            actor=alice,
            data=AssetCreate(
                customer_id=book.customer,
                site_id=book.site,
                tag="FAB-0009",
                asset_type="server",
                effective=today(),
            ),
        )
        service.change_asset(
            s,
            actor=alice,
            asset_id=book.spare_server,
            data=AssetUpdate(site_id=book.site, effective=move, reason="moved to HQ"),
        )
    with db.reading() as s:
        assert queries.entitlement(s, alice, new, on=today(), known_at=utcnow()).covered
        before = queries.entitlement(s, alice, "FAB-0003", on=today(), known_at=utcnow())
        after = queries.entitlement(s, alice, "FAB-0003", on=move, known_at=utcnow())
    assert not before.covered and before.next_covered_from == move
    assert after.covered and after.line_id == book.server_line


def test_upgrading_fills_the_table_as_the_write_path_did(
    db: Database, alice: Actor, book: Book
) -> None:
    """Revision 0010 computes the table from the version tables of a database that had
    none; it must be row for row what the write path kept, past instants included."""
    with db.unit_of_work() as s:
        service.change_line(
            s,
            actor=alice,
            line_id=book.laptop_line,
            data=LineUpdate(price=4000, effective=today() + 3 * DAY, reason="new price"),
        )
    with db.unit_of_work() as s:
        service.cancel_contract(
            s,
            actor=alice,
            contract_id=book.contract,
            data=Cancellation(effective=today() + 40 * DAY, reason="moving in-house"),
        )
    kept = rows(db, alice.tenant_id)
    assert len(kept) > 6 and any(r[2] != r[1] for r in kept)  # some closed since
    cfg = migrate.alembic_config()
    try:
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0009")
    finally:
        migrate.upgrade(db.engine)
    assert rows(db, alice.tenant_id) == kept
