from __future__ import annotations

from datetime import timedelta

import pytest

from accord.access import Actor
from accord.errors import Forbidden, Invalid, NotFound
from accord.parties import queries, service
from accord.parties.schemas import ContactCreate, CustomerCreate, CustomerUpdate, Removal
from accord.store.db import Database, utcnow


def new_customer(db: Database, actor: Actor, **kw: object) -> str:
    data = {"name": "Fabrikam Ltd", "code": "FAB", **kw}
    with db.unit_of_work() as s:
        return service.create_customer(s, actor=actor, data=CustomerCreate.model_validate(data))


def test_create_and_read_back(db: Database, alice: Actor) -> None:
    cid = new_customer(db, alice, email="it@fabrikam.example")
    with db.reading() as s:
        c = queries.get_customer_for(s, alice, cid)
        assert (c.name, c.code, c.status, c.email) == (
            "Fabrikam Ltd",
            "FAB",
            "active",
            "it@fabrikam.example",
        )


def test_future_change_is_invisible_until_it_takes_effect(db: Database, alice: Actor) -> None:
    cid = new_customer(db, alice)
    next_month = utcnow() + timedelta(days=30)
    with db.unit_of_work() as s:
        service.change_customer(
            s,
            actor=alice,
            customer_id=cid,
            data=CustomerUpdate(name="Fabrikam Group", effective=next_month, reason="rename"),
        )
    with db.reading() as s:
        assert queries.get_customer_for(s, alice, cid).name == "Fabrikam Ltd"
        later = queries.AsOf.of(next_month + timedelta(days=1), None)
        assert queries.get_customer_for(s, alice, cid, when=later).name == "Fabrikam Group"


def test_retroactive_correction_keeps_what_was_known(db: Database, alice: Actor) -> None:
    start = utcnow() - timedelta(days=100)
    cid = new_customer(db, alice, effective=start)
    before_fix = utcnow()
    with db.unit_of_work() as s:
        service.change_customer(
            s,
            actor=alice,
            customer_id=cid,
            data=CustomerUpdate(phone="+44 20 7946 0000", effective=start, reason="typo"),
        )
    with db.reading() as s:
        then = queries.AsOf.of(start + timedelta(days=1), None)
        assert queries.get_customer_for(s, alice, cid, when=then).phone == "+44 20 7946 0000"
        as_known = queries.AsOf.of(start + timedelta(days=1), before_fix)
        assert queries.get_customer_for(s, alice, cid, when=as_known).phone is None
        history = queries.customer_history(s, alice, cid)
        assert history[0]["patch"] == [
            {"op": "replace", "path": "/phone", "value": "+44 20 7946 0000"}
        ]
        assert history[0]["entry"].reason == "typo"


def test_bad_input_names_field_and_changes_nothing(db: Database, alice: Actor) -> None:
    cid = new_customer(db, alice)
    with pytest.raises(Invalid) as err, db.unit_of_work() as s:
        service.create_customer(s, actor=alice, data=CustomerCreate(name="Other", code="FAB"))
    assert err.value.problems[0][0] == "code"
    with pytest.raises(Invalid) as err, db.unit_of_work() as s:
        service.change_customer(s, actor=alice, customer_id=cid, data=CustomerUpdate())
    with db.reading() as s:
        customers, total = queries.list_customers(s, actor=alice, when=queries.AsOf.now())
        assert total == 1 and len(queries.customer_history(s, alice, cid)) == 1


def test_auditor_reads_but_cannot_write(db: Database, alice: Actor, carol: Actor) -> None:
    cid = new_customer(db, alice)
    with db.reading() as s:
        assert queries.get_customer_for(s, carol, cid).code == "FAB"
    with pytest.raises(Forbidden), db.unit_of_work() as s:
        service.change_customer(s, actor=carol, customer_id=cid, data=CustomerUpdate(name="X"))


def test_other_tenant_cannot_read_or_change(db: Database, alice: Actor, mallory: Actor) -> None:
    cid = new_customer(db, alice)
    with db.reading() as s:
        with pytest.raises(NotFound):
            queries.get_customer_for(s, mallory, cid)
        assert queries.list_customers(s, actor=mallory, when=queries.AsOf.now())[1] == 0
        with pytest.raises(NotFound):
            queries.customer_history(s, mallory, cid)
    with pytest.raises(NotFound), db.unit_of_work() as s:
        service.change_customer(
            s, actor=mallory, customer_id=cid, data=CustomerUpdate(name="Pwned")
        )
    with pytest.raises(NotFound), db.unit_of_work() as s:
        service.add_contact(s, actor=mallory, customer_id=cid, data=ContactCreate(name="Eve"))


def test_removed_contact_stays_in_history(db: Database, alice: Actor) -> None:
    cid = new_customer(db, alice)
    with db.unit_of_work() as s:
        pid = service.add_contact(
            s, actor=alice, customer_id=cid, data=ContactCreate(name="Dana", role="IT lead")
        )
    with db.unit_of_work() as s:
        service.remove_contact(
            s, actor=alice, contact_id=pid, data=Removal(reason="left the company")
        )
    with db.reading() as s:
        now = queries.AsOf.now()
        assert queries.contacts_of(s, alice, cid, when=now) == []
        kinds = [c["entry"].kind for c in queries.customer_history(s, alice, cid)]
        assert kinds == [
            "parties.contact.removed",
            "parties.contact.added",
            "parties.customer.created",
        ]
