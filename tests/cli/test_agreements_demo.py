"""The demo's agreements: a few hundred assets under a mix of contracts, with future-dated
cancellations, a retroactive correction that this month's invoice run adjusts for, and
`accord verify` / `rebuild --check` still holding. On SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dateutil.relativedelta import relativedelta
from sqlalchemy import func, select

from accord import demo
from accord.accounts import service as accounts
from accord.agreements import queries, service
from accord.agreements.models import Asset
from accord.agreements.schemas import InvoiceRun
from accord.desk import queries as desk
from accord.store.db import FOREVER, Database, utcnow
from tests.cli.conftest import Run, last_line


def test_demo_has_agreements_worth_showing(cli_on: Run, db: Database) -> None:
    result = cli_on("demo")
    assert result.exit_code == 0, result.output
    assert f"password for all: {demo.PASSWORD}" in result.stdout

    with db.reading() as s:
        dan = accounts.authenticate(s, email="dan@northwind.example", password=demo.PASSWORD)
        assert dan is not None
        now = utcnow()
        assets = s.scalar(
            select(func.count(func.distinct(Asset.entity_id))).where(
                Asset.tenant_id == dan.tenant_id, Asset.recorded_to == FOREVER
            )
        )
        assert assets is not None and assets >= 200
        kinds = set(s.scalars(select(Asset.asset_type).distinct()))
        assert {"laptop", "desktop", "server", "firewall", "switch", "printer"} <= kinds

        contracts = queries.list_contracts(s, actor=dan, when=queries.AsOf(now, now))
        assert {c.billing_period for c in contracts} == {"monthly", "quarterly", "annual"}
        assert any(c.renewal_months for c in contracts)
        assert any(c.term_end is None for c in contracts)

        # Covered today; not covered from next month, because of a planned change.
        month = datetime(now.year, now.month, 1, tzinfo=UTC)
        later = [month + relativedelta(months=1) + timedelta(days=d) for d in (1, 20)]
        ended = []
        stories = []  # the customers whose stories end coverage next month
        for code in ("BLACKFRIARS", "SOLENT"):
            stories += queries.list_assets(s, actor=dan, when=queries.AsOf(now, now), q=code)[0]
        assert stories
        for a in stories:
            today = queries.entitlement(s, dan, a.entity_id, on=now, known_at=now)
            if not today.covered:
                continue
            for day in later:
                e = queries.entitlement(s, dan, a.entity_id, on=day, known_at=now)
                if not e.covered and e.cause in ("removed", "cancelled"):
                    ended.append(e)
        causes = {e.cause for e in ended}
        assert causes == {"removed", "cancelled"}, causes
        assert any("Dan Whitaker" in e.reason for e in ended)

        # Invoices for the last two months are on record; booked time for the budgets.
        assert len(queries.invoices_of(s, dan)) >= 20
        hdp = next(c for c in contracts if c.reference.startswith("HDP-MSA"))
        booked = desk.booked_minutes_by_month(
            s, dan, hdp.entity_id, start=month - relativedelta(months=4), end=month + 2 * DAYS
        )
        assert sum(booked.values()) > 0

    # This month's run shows the correction made after last month's invoice.
    with db.unit_of_work() as s:
        run = service.run_invoices(s, actor=dan, data=InvoiceRun(period=utcnow()))
        assert run.issued
    with db.reading() as s:
        adjusted = [
            ln
            for inv in queries.invoices_of(s, dan)
            for ln in inv.lines
            if ln["kind"] == "adjustment"
        ]
        assert adjusted and all(ln["amount"] > 0 for ln in adjusted)

    verified = cli_on("verify")
    assert verified.exit_code == 0, verified.output
    assert last_line(verified.stdout) == "OK: 1 tenant(s) verified"
    rebuilt = cli_on("rebuild", "--check", "--tenant", "northwind")
    assert rebuilt.exit_code == 0, rebuilt.output


DAYS = timedelta(days=31)
