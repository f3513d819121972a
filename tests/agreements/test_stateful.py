"""Entitlement and invoice charges against a brute-force oracle, under random histories of
contract changes and corrections.

Hypothesis drives a small book: customers with sites, assets added, moved, retyped and
retired from dates; contracts (fixed term or rolling, billed monthly, quarterly or
yearly) with per-asset and group lines; prices changed from dates, lines taken off,
contracts cancelled and renewed, line periods corrected. The clock moves forward between
changes, so a date is in the past (a correction) or the future (planned) depending on
when the change is made. Changes the service refuses (Invalid) change nothing.

The oracle keeps each accepted change as facts (recorded time, valid interval, effect)
of the business operation it stands for, and answers by replay, day by day, without
`accord.agreements.coverage`: is the asset covered at D as known at K, and by which
lines; what does a contract charge in a billing period (each day whose midnight UTC is
covered counts; amount = price x days / period days, rounded half up).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from dateutil.relativedelta import relativedelta
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
    run_state_machine_as_test,
)

from accord.access import Actor, Role
from accord.agreements import queries, service
from accord.agreements.schemas import (
    AssetCreate,
    AssetUpdate,
    CalendarCreate,
    Cancellation,
    ContractCreate,
    LineCreate,
    LineUpdate,
    PeriodCorrection,
    Renewal,
    ServiceLevelCreate,
    TakeOff,
)
from accord.errors import Invalid, NotFound
from accord.parties import service as parties
from accord.parties.schemas import CustomerCreate, SiteCreate
from accord.store import journal
from accord.store.db import FOREVER, Database
from accord.store.journal import Op
from accord.store.tenancy import create_tenant
from accord.store.verify import rebuild_check

T0 = datetime(2031, 5, 17, 9, 30, tzinfo=UTC)
DAY = timedelta(days=1)
US = timedelta(microseconds=1)
MIDNIGHT0 = datetime(2031, 5, 17, tzinfo=UTC)
KINDS = ("laptop", "server")

# Valid times on a grid of days around the start (now and then at 10:00, which counts from
# the next midnight), so that changes overlap often; the clock moves through the same range.
days = st.builds(
    lambda d, h: MIDNIGHT0 + d * DAY + h * timedelta(hours=1),
    st.integers(-80, 100),
    st.sampled_from([0, 0, 0, 0, 10]),
)
prices = st.integers(0, 20_000)
# Where a first book starts: before most changes, so that there is coverage to change.
early = st.integers(-110, -70).map(lambda d: MIDNIGHT0 + d * DAY)


# --- the oracle ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Fact:
    at: datetime
    id: str
    op: Op
    valid_from: datetime
    valid_to: datetime
    data: dict[str, Any]


@dataclass
class Oracle:
    """Every accepted change as facts, replayed in the order recorded."""

    facts: dict[str, list[Fact]] = field(default_factory=lambda: defaultdict(list))

    def add(
        self,
        at: datetime,
        id_: str,
        op: Op,
        vf: datetime,
        vt: datetime = FOREVER,
        data: dict[str, Any] | None = None,
    ) -> None:
        self.facts[id_].append(Fact(at, id_, op, vf, vt, dict(data or {})))

    def known(self, id_: str, known_at: datetime) -> list[Fact]:
        return [f for f in self.facts.get(id_, []) if f.at <= known_at]

    @staticmethod
    def replay(facts: list[Fact], on: datetime) -> dict[str, Any] | None:
        state: dict[str, Any] | None = None
        for f in facts:
            if not f.valid_from <= on < f.valid_to:
                continue
            if f.op == Op.ASSERT:
                state = dict(f.data)
            elif f.op == Op.PATCH:
                state = None if state is None else {**state, **f.data}
            else:
                state = None
        return state

    def state(self, id_: str, on: datetime, known_at: datetime) -> dict[str, Any] | None:
        return self.replay(self.known(id_, known_at), on)

    def periods(
        self, id_: str, known_at: datetime
    ) -> list[tuple[datetime, datetime, dict[str, Any]]]:
        """The entity's valid-time pieces as known at `known_at` (constant data in each)."""
        facts = self.known(id_, known_at)
        points = sorted({f.valid_from for f in facts} | {f.valid_to for f in facts})
        out: list[tuple[datetime, datetime, dict[str, Any]]] = []
        for a, b in zip(points, points[1:], strict=False):
            here = self.replay(facts, a)
            if here is None:
                continue
            if out and out[-1][1] == a and out[-1][2] == here:
                out[-1] = (out[-1][0], b, here)
            else:
                out.append((a, b, here))
        return out

    def covering(
        self, asset_id: str, line_ids: list[str], on: datetime, known_at: datetime
    ) -> set[str]:
        """The lines that cover the asset at `on`, as known at `known_at`."""
        asset = self.state(asset_id, on, known_at)
        if asset is None or asset["status"] == "retired":
            return set()
        out = set()
        for lid in line_ids:
            ln = self.state(lid, on, known_at)
            if ln is None or self.state(ln["contract_id"], on, known_at) is None:
                continue
            if ln["asset_id"] == asset_id or (
                ln["asset_id"] is None
                and (ln["site_id"], ln["asset_type"]) == (asset["site_id"], asset["asset_type"])
            ):
                out.add(lid)
        return out

    def charges(
        self,
        contract_id: str,
        line_ids: list[str],
        asset_ids: list[str],
        start: datetime,
        end: datetime,
        known_at: datetime,
    ) -> list[tuple[str, str, int, int, int]]:
        """(line, asset, unit price, days, amount) for [start, end), day by day."""
        period_days = (end - start) // DAY
        counted: dict[tuple[str, str, int], int] = defaultdict(int)
        day = start
        while day < end:
            if self.state(contract_id, day, known_at) is not None:
                for lid in line_ids:
                    ln = self.state(lid, day, known_at)
                    if ln is None or ln["contract_id"] != contract_id:
                        continue
                    for aid in asset_ids:
                        if lid in self.covering(aid, [lid], day, known_at):
                            counted[(lid, aid, ln["price"])] += 1
            day += DAY
        return sorted(
            (lid, aid, price, n, (2 * price * n + period_days) // (2 * period_days))
            for (lid, aid, price), n in counted.items()
        )


def billing_period(kind: str, t: datetime) -> tuple[datetime, datetime]:
    months = {"monthly": 1, "quarterly": 3, "annual": 12}[kind]
    first = datetime(t.year, (t.month - 1) // months * months + 1, 1, tzinfo=UTC)
    return first, first + relativedelta(months=months)


def test_oracle_on_a_hand_worked_history() -> None:
    o = Oracle()
    t = T0
    o.add(
        t,
        "a",
        Op.ASSERT,
        MIDNIGHT0,
        data={"site_id": "s", "asset_type": "laptop", "status": "in_service"},
    )
    o.add(t, "c", Op.ASSERT, MIDNIGHT0, MIDNIGHT0 + 60 * DAY, {"x": 1})
    line = {
        "contract_id": "c",
        "asset_id": None,
        "site_id": "s",
        "asset_type": "laptop",
        "price": 3000,
    }
    o.add(t, "l", Op.ASSERT, MIDNIGHT0 + 5 * DAY, data=line)
    o.add(t + DAY, "l", Op.END, MIDNIGHT0 + 20 * DAY)  # taken off from the 20th day
    o.add(t + 2 * DAY, "l", Op.PATCH, MIDNIGHT0 + 10 * DAY, data={"price": 6000})
    assert o.covering("a", ["l"], MIDNIGHT0 + 25 * DAY, t) == {"l"}
    assert o.covering("a", ["l"], MIDNIGHT0 + 25 * DAY, t + DAY) == set()
    assert o.covering("a", ["l"], MIDNIGHT0 + 4 * DAY, t + DAY) == set()
    start, end = MIDNIGHT0, MIDNIGHT0 + 30 * DAY
    assert o.charges("c", ["l"], ["a"], start, end, t + 2 * DAY) == [
        ("l", "a", 3000, 5, 500),
        ("l", "a", 6000, 10, 2000),
    ]
    assert [(a, b) for a, b, _ in o.periods("l", t + 2 * DAY)] == [
        (MIDNIGHT0 + 5 * DAY, MIDNIGHT0 + 10 * DAY),
        (MIDNIGHT0 + 10 * DAY, MIDNIGHT0 + 20 * DAY),
    ]


# --- the machine --------------------------------------------------------------------------


@dataclass
class ContractRef:
    id: str
    customer: int
    billing: str


class Agreements(RuleBasedStateMachine):
    db: Database

    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.travel = time_machine.travel(T0, tick=False)
        self.clock = self.travel.start()
        self.oracle = Oracle()
        self.recorded: list[datetime] = []
        self.assets: list[tuple[str, int]] = []  # (id, customer)
        self.contracts: list[ContractRef] = []
        self.lines: list[str] = []
        self.n = 0
        long_ago = MIDNIGHT0 - 400 * DAY
        with self.db.unit_of_work() as s:
            tenant = create_tenant(s, slug=f"t{uuid.uuid4().hex[:12]}", name="Acme")
            self.tenant = tenant
            self.actor = Actor(
                tenant_id=tenant.id, label="Tess <tess@acme.example>", role=Role.ADMIN
            )
            a = self.actor
            self.customers = []
            self.sites: list[list[str]] = []
            for i in range(2):
                self.tick()
                cid = parties.create_customer(
                    s,
                    actor=a,
                    data=CustomerCreate(name=f"Customer {i}", code=f"C{i}", effective=long_ago),
                )
                self.customers.append(cid)
                sites = []
                for j in range(2):
                    self.tick()
                    sites.append(
                        parties.add_site(
                            s,
                            actor=a,
                            customer_id=cid,
                            data=SiteCreate(name=f"Site {j}", effective=long_ago),
                        )
                    )
                self.sites.append(sites)
            self.tick()
            cal = service.create_calendar(
                s,
                actor=a,
                data=CalendarCreate(
                    name="Hours", weekly_hours={"mon": [("09:00", "17:00")]}, effective=long_ago
                ),
            )
            self.tick()
            self.level = service.create_service_level(
                s,
                actor=a,
                data=ServiceLevelCreate(
                    name="Gold",
                    calendar_id=cal,
                    targets={"p1": {"response": 30, "resolution": 60}},
                    effective=long_ago,
                ),
            )

    def tick(self) -> None:
        """A second passes: every change is recorded after the one before, and sees it."""
        self.now += timedelta(seconds=1)
        self.clock.move_to(self.now)

    def teardown(self) -> None:
        try:
            with self.db.reading() as s:
                rebuild_check(s, self.tenant)
        finally:
            self.travel.stop()

    # --- making changes ------------------------------------------------------------------

    def change(self, fn: Any, **kw: Any) -> tuple[bool, Any, datetime]:
        """Run one service call as one unit of work, a second after the last; whether it
        was accepted, what it returned and when it was recorded."""
        self.tick()
        try:
            with self.db.unit_of_work() as s:
                size = journal.tree_size(s, self.tenant.id)
                result = fn(s, actor=self.actor, **kw)
                found = journal.read_entry(
                    s, self.tenant.id, journal.tree_size(s, self.tenant.id) - 1
                )
        except (Invalid, NotFound):
            return False, None, self.now
        assert found is not None and found[0].seq >= size
        at = found[0].at
        assert at == self.now, "a change is recorded when it is made"
        self.recorded.append(at)
        return True, result, at

    @initialize(
        assets=st.lists(
            st.tuples(
                st.sampled_from([0, 0, 1]),
                st.sampled_from([0, 0, 1]),
                st.sampled_from(["laptop", "laptop", "server"]),
                early,
            ),
            min_size=2,
            max_size=4,
        ),
        start=early,
        term=st.one_of(st.none(), st.none(), st.integers(6, 12)),
        billing=st.sampled_from(["monthly", "quarterly", "annual"]),
        price=prices,
        after=st.integers(0, 40),
    )
    def a_book(
        self,
        assets: list[tuple[int, int, str, datetime]],
        start: datetime,
        term: int | None,
        billing: str,
        price: int,
        after: int,
    ) -> None:
        """A few assets and a contract of the first customer's with a group line and,
        when it has an asset, a line for that asset."""
        for who, site, kind, vf in assets:
            self.add_asset(who, site, kind, vf)
        self.create_contract(0, start, term, 1, billing)
        self.add_line(0, None, 0, "laptop", price, start + after * DAY, None)
        self.add_line(0, 0, 0, "laptop", price + 100, start + after * DAY, None)

    @rule(who=st.integers(0, 1), site=st.integers(0, 1), kind=st.sampled_from(KINDS), vf=days)
    def add_asset(self, who: int, site: int, kind: str, vf: datetime) -> None:
        self.n += 1
        data = AssetCreate(
            customer_id=self.customers[who],
            site_id=self.sites[who][site],
            tag=f"A-{self.n}",
            asset_type=kind,
            effective=vf,
        )
        ok, asset_id, at = self.change(service.add_asset, data=data)
        assert ok, "adding an asset to an existing customer's site is always accepted"
        self.oracle.add(
            at,
            asset_id,
            Op.ASSERT,
            vf,
            data={"site_id": self.sites[who][site], "asset_type": kind, "status": "in_service"},
        )
        self.assets.append((asset_id, who))

    @precondition(lambda m: bool(m.assets))
    @rule(
        pick=st.integers(0, 99),
        vf=days,
        what=st.sampled_from(["move", "retype", "retire", "unretire"]),
    )
    def change_asset(self, pick: int, vf: datetime, what: str) -> None:
        asset_id, who = self.assets[pick % len(self.assets)]
        now = self.oracle.state(asset_id, vf, self.now)
        if now is None:
            return
        fields: dict[str, Any]
        if what == "move":
            other = [x for x in self.sites[who] if x != now["site_id"]][0]
            fields = {"site_id": other}
        elif what == "retype":
            fields = {"asset_type": [k for k in KINDS if k != now["asset_type"]][0]}
        else:
            fields = {"status": "retired" if what == "retire" else "in_service"}
        ok, _, at = self.change(
            service.change_asset,
            asset_id=asset_id,
            data=AssetUpdate(**fields, effective=vf, reason="changed in the test"),
        )
        assert ok
        self.oracle.add(at, asset_id, Op.PATCH, vf, data=fields)

    @rule(
        who=st.integers(0, 1),
        start=days,
        term=st.one_of(st.none(), st.integers(1, 8)),
        renewal=st.one_of(st.none(), st.integers(1, 3)),
        billing=st.sampled_from(["monthly", "quarterly", "annual"]),
    )
    def create_contract(
        self, who: int, start: datetime, term: int | None, renewal: int | None, billing: str
    ) -> None:
        self.n += 1
        term_end = None if term is None else start + relativedelta(months=term)
        ok, contract_id, at = self.change(
            service.create_contract,
            data=ContractCreate(
                customer_id=self.customers[who],
                reference=f"K-{self.n}",
                title="Support",
                start=start,
                term_end=term_end,
                renewal_months=renewal,
                billing_period=billing,
            ),
        )
        assert ok
        self.oracle.add(
            at,
            contract_id,
            Op.ASSERT,
            start,
            term_end or FOREVER,
            {"renewal_months": renewal, "cancelled_from": None},
        )
        self.contracts.append(ContractRef(contract_id, who, billing))

    @precondition(lambda m: bool(m.contracts))
    @rule(
        pick=st.integers(0, 99),
        asset_pick=st.one_of(st.none(), st.integers(0, 99)),
        site=st.integers(0, 1),
        kind=st.sampled_from(KINDS),
        price=prices,
        vf=days,
        span=st.one_of(st.none(), st.integers(1, 90)),
    )
    def add_line(
        self,
        pick: int,
        asset_pick: int | None,
        site: int,
        kind: str,
        price: int,
        vf: datetime,
        span: int | None,
    ) -> None:
        c = self.contracts[pick % len(self.contracts)]
        own = [a for a, who in self.assets if who == c.customer]
        until = None if span is None else vf + span * DAY
        if asset_pick is not None and own:
            asset_id: str | None = own[asset_pick % len(own)]
            covers = {"asset_id": asset_id, "site_id": None, "asset_type": None}
        else:
            asset_id = None
            covers = {"asset_id": None, "site_id": self.sites[c.customer][site], "asset_type": kind}
        ok, line_id, at = self.change(
            service.add_line,
            contract_id=c.id,
            data=LineCreate(
                **covers,
                service_level_id=self.level,
                price=price,
                budget_minutes=60,
                effective=vf,
                until=until,
            ),
        )
        if ok:
            self.oracle.add(
                at,
                line_id,
                Op.ASSERT,
                vf,
                until or FOREVER,
                {**covers, "contract_id": c.id, "price": price},
            )
            self.lines.append(line_id)

    @precondition(lambda m: bool(m.lines))
    @rule(pick=st.integers(0, 99), price=prices, vf=days)
    def change_price(self, pick: int, price: int, vf: datetime) -> None:
        line_id = self.lines[pick % len(self.lines)]
        ok, _, at = self.change(
            service.change_line,
            line_id=line_id,
            data=LineUpdate(price=price, effective=vf, reason="new price"),
        )
        if ok:
            self.oracle.add(at, line_id, Op.PATCH, vf, data={"price": price})

    @precondition(lambda m: bool(m.lines))
    @rule(pick=st.integers(0, 99), vf=days)
    def take_off(self, pick: int, vf: datetime) -> None:
        line_id = self.lines[pick % len(self.lines)]
        ok, _, at = self.change(
            service.take_off, line_id=line_id, data=TakeOff(effective=vf, reason="taken off")
        )
        if ok:
            self.oracle.add(at, line_id, Op.END, vf)

    @precondition(lambda m: bool(m.contracts))
    @rule(pick=st.integers(0, 99), eff=days)
    def cancel(self, pick: int, eff: datetime) -> None:
        c = self.contracts[pick % len(self.contracts)]
        periods = self.oracle.periods(c.id, self.now)
        ok, _, at = self.change(
            service.cancel_contract,
            contract_id=c.id,
            data=Cancellation(effective=eff, waive_notice=True, reason="customer cancelled"),
        )
        if ok:
            self.oracle.add(at, c.id, Op.PATCH, periods[0][0], eff, {"cancelled_from": eff})
            self.oracle.add(at, c.id, Op.END, eff)

    @precondition(lambda m: bool(m.contracts))
    @rule(pick=st.integers(0, 99), months=st.one_of(st.none(), st.integers(1, 4)))
    def renew(self, pick: int, months: int | None) -> None:
        c = self.contracts[pick % len(self.contracts)]
        periods = self.oracle.periods(c.id, self.now)
        old_end, last = periods[-1][1], periods[-1][2]
        term_end = None
        if months is not None and old_end != FOREVER:
            term_end = old_end + relativedelta(months=months)
        ok, new_end, at = self.change(
            service.renew_contract,
            contract_id=c.id,
            data=Renewal(term_end=term_end, reason="renewed"),
        )
        if not ok:
            return
        assert old_end != FOREVER and last["cancelled_from"] is None
        want = term_end or old_end + relativedelta(months=last["renewal_months"])
        assert new_end == want
        self.oracle.add(at, c.id, Op.ASSERT, old_end, new_end, last)

    @precondition(lambda m: bool(m.lines))
    @rule(
        pick=st.integers(0, 99),
        starts=st.one_of(st.none(), days),
        ends=st.one_of(st.none(), days, st.just(FOREVER)),
    )
    def correct_period(self, pick: int, starts: datetime | None, ends: datetime | None) -> None:
        line_id = self.lines[pick % len(self.lines)]
        periods = self.oracle.periods(line_id, self.now)
        if not periods:
            return
        data = PeriodCorrection(
            reason="corrected",
            starts=starts,
            ends=None if ends == FOREVER else ends,
            open_ended=ends == FOREVER,
        )
        ok, _, at = self.change(service.correct_line_period, line_id=line_id, data=data)
        if not ok:
            return
        (first_from, _, first), (_, last_to, last) = periods[0], periods[-1]
        if starts is not None and starts != first_from:
            if starts < first_from:
                self.oracle.add(at, line_id, Op.ASSERT, starts, first_from, first)
            else:
                self.oracle.add(at, line_id, Op.END, first_from, starts)
        if ends is not None and ends != last_to:
            if ends > last_to:
                self.oracle.add(at, line_id, Op.ASSERT, last_to, ends, last)
            else:
                self.oracle.add(at, line_id, Op.END, ends)

    @rule(step=st.sampled_from([timedelta(hours=1), DAY, 5 * DAY, 20 * DAY]))
    def time_passes(self, step: timedelta) -> None:
        self.now += step
        self.clock.move_to(self.now)

    # --- checks against the oracle -------------------------------------------------------

    @precondition(lambda m: bool(m.assets))
    @rule(data=st.data())
    def entitlement_matches(self, data: st.DataObject) -> None:
        for _ in range(4):
            self.one_entitlement(data)

    def ever_covered(self, asset_id: str) -> bool:
        """Whether some line names the asset, or its site and type, at some time."""
        facts = [f.data for lid in self.lines for f in self.oracle.facts[lid] if f.data]
        mine = [f.data for f in self.oracle.facts[asset_id] if f.data]
        return any(
            ln.get("asset_id") == asset_id
            or any(
                (ln.get("site_id"), ln.get("asset_type")) == (a.get("site_id"), a.get("asset_type"))
                for a in mine
            )
            for ln in facts
        )

    def one_entitlement(self, data: st.DataObject) -> None:
        every = [a for a, _ in self.assets]
        likely = [a for a in every if self.ever_covered(a)]
        asset_id = data.draw(
            st.one_of(st.sampled_from(every), *([st.sampled_from(likely)] * bool(likely))),
            label="asset",
        )
        known_at = data.draw(
            st.one_of(
                st.just(self.now),
                st.sampled_from(self.recorded[-6:]),
                st.sampled_from(self.recorded),
                st.sampled_from(self.recorded).map(lambda t: t - US),
            ),
            label="known_at",
        )
        # Near where lines and assets start and end, where answers change.
        edges = sorted(
            {f.valid_from for facts in self.oracle.facts.values() for f in facts}
            | {f.valid_to for facts in self.oracle.facts.values() for f in facts}
        )[:-1]
        near = st.tuples(st.sampled_from(edges), st.sampled_from([-DAY, -US, 0 * DAY, DAY]))
        on = data.draw(
            st.one_of(days, days.map(lambda t: t - US), near.map(lambda p: p[0] + p[1])),
            label="on",
        )
        with self.db.reading() as s:
            if not self.oracle.known(asset_id, known_at):
                with pytest.raises(NotFound):
                    queries.entitlement(s, self.actor, asset_id, on=on, known_at=known_at)
                return
            got = queries.entitlement(s, self.actor, asset_id, on=on, known_at=known_at)
        want = self.oracle.covering(asset_id, self.lines, on, known_at)
        assert got.covered == bool(want), (got, want)
        if want:
            assert got.line_id in want, (got, want)
            assert got.cause == "covered"
        else:
            assert got.cause != "covered"
        # Coverage only changes where some fact's valid interval starts or ends: where it
        # stops after `on` (if it holds), and where it starts again.
        later = sorted(
            t
            for facts in self.oracle.facts.values()
            for f in facts
            for t in (f.valid_from, f.valid_to)
            if on < t < FOREVER
        )

        def first(covered: bool, after: datetime) -> datetime | None:
            return next(
                (
                    t
                    for t in later
                    if t > after
                    and bool(self.oracle.covering(asset_id, self.lines, t, known_at)) == covered
                ),
                None,
            )

        until = first(False, on) if want else None
        assert got.covered_until == until, (got, until)
        again = first(True, until or on) if (until or not want) else None
        assert got.next_covered_from == again, (got, again)

    @precondition(lambda m: bool(m.contracts))
    @rule(data=st.data())
    def charges_match(self, data: st.DataObject) -> None:
        c = data.draw(st.sampled_from(self.contracts), label="contract")
        start, end = billing_period(c.billing, data.draw(days, label="in period"))
        with self.db.reading() as s:
            got = queries.charges(s, self.actor, c.id, start=start, end=end, known_at=self.now)
        want = self.oracle.charges(
            c.id, self.lines, [a for a, _ in self.assets], start, end, self.now
        )
        assert sorted((g.line_id, g.asset_id, g.unit_price, g.days, g.amount) for g in got) == want
        assert all(g.period_days == (end - start) // DAY for g in got)


SETTINGS = settings(max_examples=30, stateful_step_count=30, deadline=None)


def test_entitlement_and_charges_match_the_oracle(db: Database) -> None:
    machine = type(f"AgreementsOn{db.dialect.title()}", (Agreements,), {"db": db})
    run_state_machine_as_test(machine, settings=SETTINGS)
