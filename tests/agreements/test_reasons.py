"""The reason the desk reads names the change that stopped coverage, whatever else changed
the same record since."""

from __future__ import annotations

from accord.access import Actor
from accord.agreements import queries, service
from accord.agreements.schemas import Cancellation, ContractUpdate, LineUpdate, TakeOff
from accord.store.db import Database, utcnow
from tests.agreements.conftest import DAY, Book, today


def test_a_take_off_is_named_even_after_a_price_change_from_the_same_day(
    db: Database, alice: Actor, book: Book
) -> None:
    day = today() + 10 * DAY
    with db.unit_of_work() as s:
        service.change_line(
            s,
            actor=alice,
            line_id=book.laptop_line,
            data=LineUpdate(price=4000, effective=day, reason="new price list"),
        )
        service.take_off(
            s,
            actor=alice,
            line_id=book.laptop_line,
            data=TakeOff(effective=day, reason="laptop sold to staff"),
        )
    with db.reading() as s:
        answer = queries.entitlement(s, alice, "FAB-0001", on=day, known_at=utcnow())
    assert not answer.covered and answer.cause == "removed"
    assert "laptop sold to staff" in answer.reason
    assert "new price list" not in answer.reason


def test_a_cancellation_is_named_even_after_a_later_change_to_the_contract(
    db: Database, alice: Actor, book: Book
) -> None:
    day = today() + 40 * DAY
    with db.unit_of_work() as s:
        service.cancel_contract(
            s,
            actor=alice,
            contract_id=book.contract,
            data=Cancellation(effective=day, reason="moving in-house"),
        )
        service.change_contract(
            s,
            actor=alice,
            contract_id=book.contract,
            data=ContractUpdate(title="Managed support (ending)", reason="mark as ending"),
        )
    with db.reading() as s:
        answer = queries.entitlement(s, alice, "FAB-0002", on=day + DAY, known_at=utcnow())
    assert answer.cause == "cancelled"
    assert f"effective {day:%Y-%m-%d}" in answer.reason and "moving in-house" in answer.reason


def test_a_line_set_up_with_an_end_ends_as_agreed(db: Database, alice: Actor, book: Book) -> None:
    from accord.agreements.schemas import LineCreate

    end = today() + 5 * DAY
    with db.unit_of_work() as s:
        service.add_line(
            s,
            actor=alice,
            contract_id=book.contract,
            data=LineCreate(
                asset_id=book.spare_server,
                service_level_id=book.silver,
                price=500,
                effective=today(),
                until=end,
            ),
        )
    with db.reading() as s:
        answer = queries.entitlement(s, alice, "FAB-0003", on=end, known_at=utcnow())
    assert answer.cause == "line_ended" and "as agreed" in answer.reason
