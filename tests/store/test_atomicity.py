"""A change is recorded whole or not at all: journal, tree, head and versions together."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy.exc

from accord.store import temporal
from accord.store.journal import Entry, Op
from accord.store.verify import rebuild_check, verify_log
from accord.store.writes import record
from tests.store.helpers import Log, build_log, counts, customer, new_id


class Boom(Exception):
    pass


def assert_intact(log: Log, before: dict[str, Any]) -> None:
    assert counts(log.db, log.tenant_id) == before
    with log.db.reading() as s:
        verify_log(s, log.tenant, log.verifier)
        rebuild_check(s, log.tenant)


def test_exception_after_record_leaves_nothing(log: Log) -> None:
    build_log(log, 5)
    before = counts(log.db, log.tenant_id)
    with pytest.raises(Boom), log.db.unit_of_work() as s:
        record(
            s, tenant_id=log.tenant_id, actor="t", drafts=[customer(new_id()), customer(new_id())]
        )
        raise Boom
    assert_intact(log, before)
    # and the log goes on from where it was
    assert [e.seq for e in log.write(customer(new_id()))] == [5]


def test_exception_on_a_first_write_leaves_no_head(log: Log) -> None:
    before = counts(log.db, log.tenant_id)
    assert before["head"] is None
    with pytest.raises(Boom), log.db.unit_of_work() as s:
        record(s, tenant_id=log.tenant_id, actor="t", drafts=[customer(new_id())])
        raise Boom
    assert counts(log.db, log.tenant_id) == before


def test_database_error_in_the_middle_of_a_multi_entry_record(log: Log) -> None:
    """The third draft breaks a NOT NULL constraint after two were journaled and applied."""
    build_log(log, 3)
    before = counts(log.db, log.tenant_id)
    broken = customer(new_id(), name=None)
    with pytest.raises(sqlalchemy.exc.IntegrityError), log.db.unit_of_work() as s:
        record(
            s,
            tenant_id=log.tenant_id,
            actor="t",
            drafts=[customer(new_id()), customer(new_id()), broken, customer(new_id())],
        )
    assert_intact(log, before)


def test_failure_while_applying_the_second_entry(log: Log, monkeypatch: pytest.MonkeyPatch) -> None:
    """The versions of the first entry are written, then applying the second fails."""
    build_log(log, 4)
    before = counts(log.db, log.tenant_id)
    real = temporal.apply_entries
    calls = 0

    def second_fails(session: Any, tenant_id: int, entries: list[Entry]) -> list[bool]:
        nonlocal calls
        calls += 1
        assert real(session, tenant_id, entries[:1]) == [True]
        raise Boom

    monkeypatch.setattr(temporal, "apply_entries", second_fails)
    eid = new_id()
    with pytest.raises(Boom), log.db.unit_of_work() as s:
        record(
            s,
            tenant_id=log.tenant_id,
            actor="t",
            drafts=[customer(eid), customer(eid, Op.PATCH, phone="1"), customer(new_id())],
        )
    assert calls == 1
    monkeypatch.undo()
    assert_intact(log, before)


def test_a_caught_failure_inside_record_still_leaves_nothing(log: Log) -> None:
    """A caller that catches the error and commits other work must not commit half a change."""
    build_log(log, 2)
    before = counts(log.db, log.tenant_id)
    with log.db.unit_of_work() as s:
        with pytest.raises(sqlalchemy.exc.IntegrityError):
            record(
                s,
                tenant_id=log.tenant_id,
                actor="t",
                drafts=[customer(new_id()), customer(new_id(), status="bogus")],
            )
        kept = record(s, tenant_id=log.tenant_id, actor="t", drafts=[customer(new_id())])
    assert [e.seq for e in kept] == [2]
    after = counts(log.db, log.tenant_id)
    assert after["entries"] == before["entries"] + 1
    assert after["customers"] == before["customers"] + 1
    with log.db.reading() as s:
        verify_log(s, log.tenant, log.verifier)
        rebuild_check(s, log.tenant)


def test_bad_drafts_are_refused_before_anything_is_written(log: Log) -> None:
    build_log(log, 2)
    before = counts(log.db, log.tenant_id)
    bad = [
        customer(new_id(), colour="red"),  # no such field
        customer(new_id(), valid_to=customer("x").valid_from),  # empty interval
    ]
    for draft in bad:
        with pytest.raises(ValueError), log.db.unit_of_work() as s:
            record(s, tenant_id=log.tenant_id, actor="t", drafts=[customer(new_id()), draft])
    with pytest.raises(LookupError), log.db.unit_of_work() as s:
        record(s, tenant_id=log.tenant_id + 100, actor="t", drafts=[customer(new_id())])
    assert counts(log.db, log.tenant_id) == before
