"""`accord invoice run|list|show|csv`: invoice runs for a period, and the invoices issued."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy.orm import Session

from accord.access import Actor
from accord.agreements import exports, queries, service
from accord.agreements.cli.common import (
    RENAMED,
    NumberArg,
    cell,
    customer_code,
    find_contract,
    new_table,
    operator_of,
    operator_reading,
    print_json,
    time_text,
)
from accord.agreements.exports import money
from accord.agreements.models import Invoice
from accord.agreements.schemas import InvoiceRun
from accord.cli.common import JsonOpt, TenantOpt, as_options, database, err, guarded, out
from accord.errors import Invalid, parse
from accord.timeinput import parse_instant

# --- invoices -----------------------------------------------------------------------------------

MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def _period(text: str) -> datetime:
    text = text.strip()
    m = MONTH.match(text)
    try:
        if m:
            return datetime(int(m[1]), int(m[2]), 1, tzinfo=UTC)
        return parse_instant(text)
    except (ValueError, OverflowError):
        raise Invalid.one(
            "period", "a month, YYYY-MM (or a day of the period, YYYY-MM-DD)"
        ) from None


def _invoice_item(i: Invoice) -> dict[str, Any]:
    return {
        "id": i.entity_id,
        "number": i.number,
        "contract_id": i.contract_id,
        "customer_id": i.customer_id,
        "period_start": i.period_start,
        "period_end": i.period_end,
        "currency": i.currency,
        "issued": i.recorded_from,
        "coverage_known_at": i.coverage_known_at,
        "total": i.total,
        "lines": i.lines,
    }


@guarded
def invoice_run(
    period: Annotated[
        str,
        typer.Option(
            "--period",
            help="The month to invoice, YYYY-MM (quarterly and annual "
            "contracts get the quarter or year containing it).",
        ),
    ],
    contract: Annotated[
        str | None, typer.Option("--contract", help="Only this contract (reference or id).")
    ] = None,
    tenant: TenantOpt = None,
) -> None:
    """Issue each contract's invoice for the period, from coverage as known now, prorated by
    day, with adjustment lines for corrections to periods already invoiced. A contract
    already invoiced for the period is skipped, so a run can be repeated."""
    with as_options(RENAMED):
        start = _period(period)
        with database() as db, db.unit_of_work() as s:
            actor = operator_of(s, tenant)
            contract_id = find_contract(s, actor, contract).entity_id if contract else None
            data = parse(InvoiceRun, {"period": start, "contract_id": contract_id})
            result = service.run_invoices(s, actor=actor, data=data)
            issued = [queries.get_invoice_for(s, actor, i) for i in result.issued]
    for why in result.skipped:
        err.print(f"skipped {escape(why)}")
    for inv in issued:
        typer.echo(f"{inv.number}\t{money(inv.total, inv.currency)}\t{len(inv.lines)} line(s)")
    err.print(f"issued {len(issued)} invoice(s), skipped {len(result.skipped)}")


@guarded
def invoice_list(
    contract: Annotated[
        str | None, typer.Option("--contract", help="Only this contract's (reference or id).")
    ] = None,
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List issued invoices, newest period first."""
    with as_options(RENAMED), operator_reading(tenant) as (s, actor):
        contract_id = find_contract(s, actor, contract).entity_id if contract else None
        found = queries.invoices_of(s, actor, contract_id=contract_id)
    items = [_invoice_item(i) for i in found]
    if as_json:
        print_json(
            {
                "items": [{k: v for k, v in i.items() if k != "lines"} for i in items],
                "total": len(items),
            }
        )
        return
    table = new_table(
        "number",
        "period",
        "total",
        "lines",
        "issued",
        title="Invoices",
        caption=f"{len(items)} invoice(s)",
    )
    for i in items:
        table.add_row(
            cell(i["number"]), f"{time_text(i['period_start'])} to {time_text(i['period_end'])}",
            money(i["total"], i["currency"]), str(len(i["lines"])), time_text(i["issued"]),
        )  # fmt: skip
    out.print(table)


def _invoice(s: Session, actor: Actor, number: str) -> Invoice:
    number = number.strip()
    if not number or len(number) > 64 or re.search(r"[\x00-\x1f\x7f]", number):
        raise Invalid.one("number", "not an invoice number")
    return queries.invoice_by_number(s, actor, number)


@guarded
def invoice_show(number: NumberArg, tenant: TenantOpt = None, as_json: JsonOpt = False) -> None:
    """Show an invoice: its period, its lines (charges prorated by day, and adjustments for
    earlier periods) and its total."""
    with as_options(RENAMED), operator_reading(tenant) as (s, actor):
        inv = _invoice(s, actor, number)
        c = queries.get_contract_for(s, actor, inv.contract_id)
        customer = customer_code(s, actor, inv.customer_id, {})
    item = _invoice_item(inv)
    if as_json:
        print_json({**item, "contract": c.reference, "customer": customer})
        return
    out.print(f"[bold]Invoice {escape(inv.number)}[/]")
    details = Table.grid(padding=(0, 2))
    details.add_column(style="dim")
    details.add_column()
    for label, value in (
        ("customer", customer),
        ("contract", f"{c.reference} {c.title}"),
        ("period", f"{time_text(inv.period_start)} to {time_text(inv.period_end)} (exclusive)"),
        ("issued", time_text(inv.recorded_from)),
        ("coverage as known at", time_text(inv.coverage_known_at)),
    ):
        details.add_row(label, cell(value))
    out.print(details)
    table = new_table(
        "kind", "tag", "description", "service level", "unit price", "days", "amount", title="Lines"
    )
    for ln in inv.lines:
        table.add_row(
            cell(ln["kind"]), cell(ln["tag"]), cell(ln.get("label")),
            cell(ln.get("service_level")),
            money(ln["unit_price"], inv.currency), f"{ln['days']}/{ln['period_days']}",
            money(ln["amount"], inv.currency),
        )  # fmt: skip
    out.print(table)
    out.print(f"[bold]Total {money(inv.total, inv.currency)}[/]")


@guarded
def invoice_csv(number: NumberArg, tenant: TenantOpt = None) -> None:
    """Write an invoice's lines as CSV on stdout (amounts in major units, e.g. 31.00)."""
    with as_options(RENAMED), operator_reading(tenant) as (s, actor):
        inv = _invoice(s, actor, number)
    typer.echo(exports.invoice_csv(inv), nl=False)
