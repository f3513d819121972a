"""Bitemporal reads against a brute-force oracle, under random histories of changes.

Hypothesis drives creations, patches of some fields, retractions, future-dated changes and
retroactive corrections on a few customers, while a frozen clock moves forward by random
amounts (sometimes none) and now and then backwards. The oracle keeps every change with
the recorded time the log gave it, and answers "what was true on `on` as known at
`known_at`" by replaying, in log order, the changes recorded by then. Every answer of
`as_of`, `version_of` and `timeline` must be the oracle's, for past recorded times too,
and at the end the journal must verify and replay into the same tables.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
import time_machine
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test

from accord.parties.models import Customer
from accord.store import temporal
from accord.store.db import FOREVER, Database
from accord.store.journal import Draft, Entry, Op
from accord.store.verify import rebuild_check, verify_log
from tests.store.helpers import T0, new_log

FIELDS = ("name", "code", "status", "email", "phone", "notes")
US = timedelta(microseconds=1)
DAY = timedelta(days=1)

names = st.sampled_from(["Ada Ltd", "Bea plc", "Cyd GmbH", "Dot SA"])
optional = st.one_of(st.none(), st.sampled_from(["a", "b", "c\u00e9"]))
full_data = st.fixed_dictionaries(
    {
        "name": names,
        "code": st.sampled_from(["A1", "B2", "C3"]),
        "status": st.sampled_from(["prospect", "active", "former"]),
        "email": optional,
        "phone": optional,
        "notes": optional,
    }
)
# Valid times on a grid of days around T0 (with an hour off now and then), so that
# intervals overlap often; the clock moves through the same range, so a change is
# retroactive or future-dated depending on when it is made.
valid_times = st.builds(
    lambda d, h: T0 + d * DAY + h * timedelta(hours=1),
    st.integers(-20, 30),
    st.sampled_from([0, 0, 0, 7]),
)
spans = st.one_of(st.none(), st.integers(1, 25).map(lambda d: d * DAY))
clock_steps = st.sampled_from(
    [timedelta(0), timedelta(0), US, timedelta(seconds=1), timedelta(hours=5), DAY, 3 * DAY]
)


@dataclass(frozen=True)
class Fact:
    at: datetime
    seq: int
    op: Op
    id: str
    valid_from: datetime
    valid_to: datetime
    data: dict[str, Any]


def replay(
    facts: list[Fact], entity_id: str, on: datetime, known_at: datetime
) -> dict[str, Any] | None:
    """The oracle: the entity's data on `on`, from the facts recorded by `known_at`."""
    state: dict[str, Any] | None = None
    for f in facts:
        if f.at > known_at:
            break  # facts are in log order, and recorded time never decreases along it
        if f.id != entity_id or not f.valid_from <= on < f.valid_to:
            continue
        if f.op == Op.ASSERT:
            state = {k: f.data.get(k) for k in FIELDS}
        elif f.op == Op.PATCH:
            state = None if state is None else {**state, **f.data}
        else:
            state = None
    return state


class Bitemporal(RuleBasedStateMachine):
    db: Database

    def __init__(self) -> None:
        super().__init__()
        self.log = new_log(self.db, slug=f"t{uuid.uuid4().hex[:12]}")
        self.ids = [str(uuid.uuid4()) for _ in range(3)]
        self.facts: list[Fact] = []
        self.now = T0
        self.travel = time_machine.travel(T0, tick=False)
        self.clock = self.travel.start()

    def teardown(self) -> None:
        try:
            if self.facts:
                self.log.checkpoint()
            with self.db.reading() as s:
                assert verify_log(s, self.log.tenant, self.log.verifier).entries == len(self.facts)
                rebuild_check(s, self.log.tenant)
        finally:
            self.travel.stop()

    # --- changes -----------------------------------------------------------------------------

    def write(self, *drafts: Draft) -> None:
        entries = self.log.write(*drafts)
        self.remember(entries)

    def write_one(self, draft: Draft) -> None:
        """A PATCH or END where the entity has no version changes nothing: it is refused
        (an entity's history is read from its rows) and leaves the log as it was."""
        if draft.op != Op.ASSERT and not self.exists(draft.id, draft.valid_from, draft.valid_to):
            with pytest.raises(ValueError, match="nothing to"):
                self.log.write(draft)
            return
        self.write(draft)

    def exists(self, entity_id: str, vf: datetime, vt: datetime) -> bool:
        """Whether the oracle, as known now, has a version of the entity in [vf, vt): its
        state only changes at facts' bounds, so those inside and vf are every piece."""
        if not self.facts:
            return False
        known = self.facts[-1].at
        points = {vf} | {t for f in self.facts for t in (f.valid_from, f.valid_to) if vf < t < vt}
        return any(replay(self.facts, entity_id, p, known) is not None for p in points)

    def remember(self, entries: list[Entry]) -> None:
        assert len({e.at for e in entries}) == 1, "one change, one recorded time"
        if self.facts:
            assert entries[0].at > self.facts[-1].at, "recorded time must move forward"
        assert entries[0].at >= self.now
        for e in entries:
            self.facts.append(Fact(e.at, e.seq, e.op, e.id, e.valid_from, e.valid_to, dict(e.data)))
        assert [f.seq for f in self.facts] == list(range(len(self.facts)))

    @staticmethod
    def draft(
        op: Op, entity_id: str, vf: datetime, span: timedelta | None, data: dict[str, Any]
    ) -> Draft:
        vt = FOREVER if span is None else vf + span
        return Draft(
            kind=f"test.{op}",
            op=op,
            type="customer",
            id=entity_id,
            valid_from=vf,
            valid_to=vt,
            data=data,
        )

    @initialize(data=full_data, vf=valid_times)
    def create_first(self, data: dict[str, Any], vf: datetime) -> None:
        self.write(self.draft(Op.ASSERT, self.ids[0], vf, None, data))

    @rule(who=st.integers(0, 2), vf=valid_times, span=spans, data=full_data)
    def assert_version(
        self, who: int, vf: datetime, span: timedelta | None, data: dict[str, Any]
    ) -> None:
        self.write(self.draft(Op.ASSERT, self.ids[who], vf, span, data))

    @rule(
        who=st.integers(0, 2),
        vf=valid_times,
        span=spans,
        data=full_data,
        keep=st.sets(st.sampled_from(FIELDS), min_size=1),
    )
    def patch(
        self, who: int, vf: datetime, span: timedelta | None, data: dict[str, Any], keep: set[str]
    ) -> None:
        self.write_one(
            self.draft(
                Op.PATCH, self.ids[who], vf, span, {k: v for k, v in data.items() if k in keep}
            )
        )

    @rule(who=st.integers(0, 2), vf=valid_times, span=spans)
    def end(self, who: int, vf: datetime, span: timedelta | None) -> None:
        self.write_one(self.draft(Op.END, self.ids[who], vf, span, {}))

    @rule(
        who=st.integers(0, 2),
        vf=valid_times,
        data=full_data,
        later=st.integers(1, 10),
        phone=optional,
    )
    def two_entries_in_one_change(
        self, who: int, vf: datetime, data: dict[str, Any], later: int, phone: str | None
    ) -> None:
        """A version and a planned change to it, recorded together."""
        eid = self.ids[who]
        self.write(
            self.draft(Op.ASSERT, eid, vf, None, data),
            self.draft(Op.PATCH, eid, vf + later * DAY, None, {"phone": phone}),
        )

    @rule(step=clock_steps)
    def time_passes(self, step: timedelta) -> None:
        self.now += step
        self.clock.move_to(self.now)

    @rule(back=st.sampled_from([US, timedelta(minutes=10), DAY]))
    def clock_is_set_back(self, back: timedelta) -> None:
        self.now -= back
        self.clock.move_to(self.now)

    @rule()
    def checkpoint(self) -> None:
        self.log.checkpoint()

    # --- reads ---------------------------------------------------------------------------------

    @rule(data=st.data())
    def reads_match_the_oracle(self, data: st.DataObject) -> None:
        recorded = sorted({f.at for f in self.facts})
        known_at = data.draw(
            st.one_of(
                st.sampled_from(recorded),
                st.sampled_from(recorded).map(lambda t: t - US),
                st.just(max(self.now, recorded[-1]) + DAY),
            ),
            label="known_at",
        )
        on = data.draw(
            st.one_of(
                valid_times,
                valid_times.map(lambda t: t - US),
                st.sampled_from([f.valid_from for f in self.facts]),
            ),
            label="on",
        )
        tid = self.log.tenant_id
        with self.db.reading() as s:
            present = set()
            for eid in self.ids:
                want = replay(self.facts, eid, on, known_at)
                got = temporal.version_of(s, Customer, tid, eid, on=on, known_at=known_at)
                assert (got.data() if got else None) == want, (eid, on, known_at)
                if want is not None:
                    present.add(eid)
            rows = s.scalars(temporal.as_of(Customer, tid, on=on, known_at=known_at))
            assert {r.entity_id for r in rows} == present
            for eid in self.ids:
                self.timeline_matches(s, eid, known_at)

    def timeline_matches(self, s: Any, eid: str, known_at: datetime) -> None:
        """The timeline, read as a function of valid time, is the oracle's everywhere."""
        rows = temporal.timeline(s, Customer, self.log.tenant_id, eid, known_at=known_at)
        for a, b in zip(rows, rows[1:], strict=False):
            assert a.valid_to <= b.valid_from, "versions known at one time must not overlap"

        def at(t: datetime) -> dict[str, Any] | None:
            for r in rows:
                if r.valid_from <= t < r.valid_to:
                    return r.data()
            return None

        # Both sides are constant between the facts' boundaries, so checking there is exhaustive.
        points = {T0 - 100 * DAY} | {f.valid_from for f in self.facts}
        points |= {f.valid_to for f in self.facts if f.valid_to != FOREVER}
        for t in sorted(points):
            assert at(t) == replay(self.facts, eid, t, known_at), (eid, t, known_at)


SETTINGS = settings(max_examples=35, stateful_step_count=25, deadline=None)


def test_bitemporal_reads_match_the_oracle(db: Database) -> None:
    machine = type(f"BitemporalOn{db.dialect.title()}", (Bitemporal,), {"db": db})
    run_state_machine_as_test(machine, settings=SETTINGS)


def test_oracle_replays_in_log_order() -> None:
    """The oracle itself, on a hand-worked history."""
    a = "a"
    facts = [
        Fact(T0, 0, Op.ASSERT, a, T0, FOREVER, {"name": "One", "code": "A1", "status": "active"}),
        Fact(T0 + DAY, 1, Op.PATCH, a, T0 + 10 * DAY, FOREVER, {"name": "Two"}),
        Fact(T0 + 2 * DAY, 2, Op.END, a, T0 + 5 * DAY, T0 + 6 * DAY, {}),
        Fact(T0 + 3 * DAY, 3, Op.PATCH, a, T0 - DAY, T0 + 20 * DAY, {"phone": "1"}),
    ]
    assert replay(facts, a, T0 - DAY, T0 + 9 * DAY) is None
    assert replay(facts, a, T0 + 11 * DAY, T0)["name"] == "One"  # type: ignore[index]
    assert replay(facts, a, T0 + 11 * DAY, T0 + DAY)["name"] == "Two"  # type: ignore[index]
    assert replay(facts, a, T0 + 5 * DAY, T0 + DAY) is not None
    assert replay(facts, a, T0 + 5 * DAY, T0 + 2 * DAY) is None
    assert replay(facts, a, T0 + 5 * DAY, T0 + 3 * DAY) is None
    assert replay(facts, a, T0 + 6 * DAY, T0 + 3 * DAY) == {
        "name": "One",
        "code": "A1",
        "status": "active",
        "email": None,
        "phone": "1",
        "notes": None,
    }
