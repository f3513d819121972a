"""Recorded time: stamped by the log, never running backwards, one instant per change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine

from accord.parties.models import Customer
from accord.store import journal, temporal
from accord.store.journal import Op
from accord.store.verify import rebuild_check, verify_log
from tests.store.helpers import T0, Log, customer, new_id

US = timedelta(microseconds=1)


def test_recorded_time_never_runs_backwards_when_the_clock_does(log: Log) -> None:
    eid = new_id()
    with time_machine.travel(T0, tick=False) as clock:
        first = log.write(customer(eid, name="Before"))[0]
        clock.move_to(T0 - timedelta(hours=3))  # the clock is set back
        second = log.write(customer(eid, Op.PATCH, name="After"))[0]
        clock.move_to(T0 - timedelta(days=2))
        third = log.write(customer(new_id()), customer(new_id()))
    assert first.at == T0
    assert second.at == T0 + US
    assert [e.at for e in third] == [T0 + 2 * US] * 2
    with log.db.reading() as s:
        rows = temporal.timeline(s, Customer, log.tenant_id, eid, known_at=T0 + US)
        assert [(r.name, r.recorded_from) for r in rows] == [("After", T0 + US)]
        before = temporal.version_of(s, Customer, log.tenant_id, eid, on=T0, known_at=T0)
        assert before is not None and before.name == "Before"
        verify_log(s, log.tenant, log.verifier)
        rebuild_check(s, log.tenant)


def test_changes_in_the_same_instant_get_their_own_recorded_times(log: Log) -> None:
    """With a frozen clock each change is still visible as known by itself, so history shows
    each step and not only the last one."""
    eid = new_id()
    with time_machine.travel(T0, tick=False):
        log.write(customer(eid, name="One"))
        log.write(customer(eid, Op.PATCH, name="Two"))
        log.write(customer(eid, Op.PATCH, name="Three"))
    with log.db.reading() as s:
        entries = temporal.entries_for(s, log.tenant_id, eid)
        assert [e.at for e in entries] == [T0, T0 + US, T0 + 2 * US]
        history = temporal.changes(s, Customer, log.tenant_id, entries)
        names = (
            [(h["before"] or {}).get("name") for h in history],
            [h["after"]["name"] for h in history],
        )
        assert names == ([None, "One", "Two"], ["One", "Two", "Three"])
        assert history[1]["patch"] == [{"op": "replace", "path": "/name", "value": "Two"}]


def test_entries_of_one_change_share_its_recorded_time(log: Log) -> None:
    moment = datetime(2031, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    with time_machine.travel(moment, tick=False):
        entries = log.write(*(customer(new_id()) for _ in range(3)))
    assert {e.at for e in entries} == {moment}
    with log.db.reading() as s:
        found = journal.read_entry(s, log.tenant_id, 2)
        assert found is not None and found[0].at == moment
        assert b'"at":"2031-01-02T03:04:05.678901Z"' in found[1]
