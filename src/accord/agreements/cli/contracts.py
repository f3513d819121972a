"""`accord contract list|show|cancel|renew` and `accord line take-off|price`: contracts and
their lines by date.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy.orm import Session

from accord.access import Actor
from accord.agreements import importer, queries, service
from accord.agreements.cli.common import (
    RENAMED,
    ContractArg,
    LineArg,
    cell,
    customer_code,
    customer_id_of,
    find_contract,
    hours_text,
    new_table,
    operator_of,
    operator_reading,
    print_json,
    record_key,
    site_name,
    time_text,
    viewing,
)
from accord.agreements.exports import money
from accord.agreements.models import Contract, ContractLine
from accord.agreements.schemas import Cancellation, LineUpdate, Renewal, TakeOff
from accord.cli.common import (
    TIME,
    FromReq,
    JsonOpt,
    KnownAtOpt,
    OnOpt,
    ReasonReq,
    TenantOpt,
    as_of,
    as_options,
    check_search,
    database,
    err,
    guarded,
    instant,
    out,
)
from accord.errors import Invalid, NotFound, parse
from accord.store.db import FOREVER
from accord.store.temporal import AsOf


def _covers(s: Session, actor: Actor, line: ContractLine, sites: dict[str, str]) -> str:
    if line.asset_id:
        try:
            return f"asset {queries.get_asset_for(s, actor, line.asset_id).tag}"
        except NotFound:
            return f"asset {line.asset_id}"
    return f"every {line.asset_type} at {site_name(s, actor, line.site_id, sites)}"


def _contract_state(c: Contract, periods: list[Contract], on: datetime) -> str:
    first, last = periods[0], periods[-1]
    if on < first.valid_from:
        return f"starts {time_text(first.valid_from)}"
    if last.cancelled_from is not None:
        return f"cancelled from {time_text(last.cancelled_from)}"
    if on >= last.valid_to:
        return f"ended {time_text(last.valid_to)}"
    if last.valid_to != FOREVER:
        return f"in force until {time_text(last.valid_to)}"
    return "in force (rolling)"


# --- contracts ----------------------------------------------------------------------------------


@guarded
def contract_list(
    customer: Annotated[
        str | None, typer.Option("--customer", help="Only this customer's (account code or id).")
    ] = None,
    search: Annotated[
        str | None, typer.Option("--search", help="Part of the reference or title.")
    ] = None,
    on: OnOpt = None,
    known_at: KnownAtOpt = None,
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List contracts as known at a time, with whether each is in force on a day."""
    with as_options(RENAMED):
        when = as_of(on, known_at)
        check_search(search)
        with operator_reading(tenant) as (s, actor):
            customer_id = customer_id_of(s, actor, customer) if customer else None
            found = queries.list_contracts(
                s, actor=actor, when=when, customer_id=customer_id, q=search
            )
            codes: dict[str, str] = {}
            items = []
            for c in found:
                periods = queries.contract_periods(s, actor, c.entity_id, known_at=when.known_at)
                items.append(
                    _contract_item(c, periods, customer_code(s, actor, c.customer_id, codes), when)
                )
    if as_json:
        print_json({"items": items, "total": len(items)})
        return
    table = new_table(
        "reference", "customer", "title", "billing", "currency", "state", "id",
        title=f"Contracts{viewing(when, on, known_at)}", caption=f"{len(items)} contract(s)",
    )  # fmt: skip
    for it in items:
        table.add_row(
            *(cell(x) for x in (it["reference"], it["customer"], it["title"], it["billing_period"],
                                 it["currency"], it["state"], it["id"]))
        )  # fmt: skip
    out.print(table)


def _contract_item(
    c: Contract, periods: list[Contract], customer: str, when: AsOf
) -> dict[str, Any]:
    last = periods[-1] if periods else c
    return {
        "id": c.entity_id,
        "reference": c.reference,
        "customer": customer,
        "title": c.title,
        "start": periods[0].valid_from if periods else c.start,
        "term_end": last.term_end,
        "renewal_months": c.renewal_months,
        "notice_days": c.notice_days,
        "billing_period": c.billing_period,
        "currency": c.currency,
        "cancelled_from": last.cancelled_from,
        "in_force": any(p.valid_from <= when.on < p.valid_to for p in periods),
        "state": _contract_state(c, periods, when.on) if periods else "",
    }


@guarded
def contract_show(
    contract: ContractArg,
    on: OnOpt = None,
    known_at: KnownAtOpt = None,
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a contract on a day (as known at a time) with its lines: what each covers, at
    which service level and price, and from when until when."""
    with as_options(RENAMED):
        when = as_of(on, known_at)
        with operator_reading(tenant) as (s, actor):
            c = find_contract(s, actor, contract, when)
            periods = queries.contract_periods(s, actor, c.entity_id, known_at=when.known_at)
            item = _contract_item(c, periods, customer_code(s, actor, c.customer_id, {}), when)
            sites: dict[str, str] = {}
            levels: dict[str, str] = {}
            lines: list[dict[str, Any]] = []
            for ln in queries.lines_of(s, actor, c.entity_id, when=when):
                spans = queries.line_periods(s, actor, ln.entity_id, known_at=when.known_at)
                if ln.service_level_id not in levels:
                    try:
                        levels[ln.service_level_id] = queries.get_service_level_for(
                            s, actor, ln.service_level_id
                        ).name
                    except NotFound:
                        levels[ln.service_level_id] = ln.service_level_id
                lines.append(
                    {
                        "id": ln.entity_id,
                        "covers": _covers(s, actor, ln, sites),
                        "service_level": levels[ln.service_level_id],
                        "price": ln.price,
                        "budget_minutes": ln.budget_minutes,
                        "external_key": ln.external_key,
                        "from": spans[0].valid_from if spans else ln.valid_from,
                        "until": None
                        if not spans or spans[-1].valid_to == FOREVER
                        else spans[-1].valid_to,
                    }
                )
    if as_json:
        print_json({"contract": item, "lines": lines})
        return
    out.print(
        f"[bold]{escape(c.reference)}[/] {escape(c.title)}{escape(viewing(when, on, known_at))}"
    )
    details = Table.grid(padding=(0, 2))
    details.add_column(style="dim")
    details.add_column()
    for label, value in (
        ("customer", item["customer"]),
        ("state", item["state"]),
        ("start", time_text(item["start"])),
        ("term end", time_text(item["term_end"]) if item["term_end"] else "rolling"),
        ("renewal", f"{c.renewal_months} months" if c.renewal_months else None),
        ("notice", f"{c.notice_days} days"),
        ("billing", f"{c.billing_period}, {c.currency}"),
        ("id", c.entity_id),
    ):
        details.add_row(label, cell(value) or "—")
    out.print(details)
    out.print()
    if not lines:
        out.print("No lines.")
        return
    per = PER[c.billing_period]
    out.print(f"[bold]Lines[/] ({len(lines)}); prices per asset per {per}")
    for row in lines:
        until = f" until {time_text(row['until'])}" if row["until"] else ""
        out.print(
            f"  [bold]{escape(row['covers'])}[/]: {escape(row['service_level'])}, "
            f"{money(row['price'], c.currency)}, budget {hours_text(row['budget_minutes'])} "
            f"a month, from {time_text(row['from'])}{until}"
        )
        out.print(f"    id {row['id']}", style="dim")


PER = {"monthly": "month", "quarterly": "quarter", "annual": "year"}


@guarded
def contract_cancel(
    contract: ContractArg,
    from_: FromReq,
    reason: ReasonReq,
    waive_notice: Annotated[
        bool,
        typer.Option("--waive-notice", help="Accept a date inside the notice period (agreed)."),
    ] = False,
    tenant: TenantOpt = None,
) -> None:
    """Cancel a contract from --from, the first day it is no longer in force. Everything it
    covered stops being covered that day, and its charges and budget with it."""
    with as_options(RENAMED):
        when = instant("from", from_)
        data = parse(
            Cancellation, {"effective": when, "reason": reason, "waive_notice": waive_notice}
        )
        with database() as db, db.unit_of_work() as s:
            actor = operator_of(s, tenant)
            c = find_contract(s, actor, contract)
            service.cancel_contract(s, actor=actor, contract_id=c.entity_id, data=data)
    err.print(f"cancelled contract {escape(c.reference)} from {time_text(data.effective)}")


@guarded
def contract_renew(
    contract: ContractArg,
    reason: ReasonReq,
    to: Annotated[
        str | None,
        typer.Option("--to", help=f"The new end of term, {TIME}. Default: one renewal term on."),
    ] = None,
    tenant: TenantOpt = None,
) -> None:
    """Renew a fixed-term contract: extend it by its renewal term, or to --to."""
    with as_options(RENAMED):
        end = instant("to", to)
        data = parse(Renewal, {"reason": reason, **({"term_end": end} if end else {})})
        with database() as db, db.unit_of_work() as s:
            actor = operator_of(s, tenant)
            c = find_contract(s, actor, contract)
            new_end = service.renew_contract(s, actor=actor, contract_id=c.entity_id, data=data)
    err.print(f"renewed contract {escape(c.reference)} to {time_text(new_end)}")


# --- lines --------------------------------------------------------------------------------------


@guarded
def line_take_off(
    line: LineArg,
    from_: FromReq,
    reason: ReasonReq,
    tenant: TenantOpt = None,
) -> None:
    """End a contract line from --from: the first day it no longer covers (past = a
    correction, future = planned)."""
    with as_options(RENAMED):
        line_id = record_key("line", line)
        data = parse(TakeOff, {"effective": instant("from", from_), "reason": reason})
        with database() as db, db.unit_of_work() as s:
            actor = operator_of(s, tenant)
            service.take_off(s, actor=actor, line_id=line_id, data=data)
    err.print(f"line {line_id} ends {time_text(data.effective)}")


@guarded
def line_price(
    line: LineArg,
    price: Annotated[
        str, typer.Option("--price", help="The new price per billing period per asset, e.g. 12.34.")
    ],
    from_: FromReq,
    reason: ReasonReq,
    tenant: TenantOpt = None,
) -> None:
    """Change a line's price from --from on (in the past: a correction; invoices already
    issued are adjusted on the next run). The price is in the contract's currency."""
    with as_options(RENAMED):
        line_id = record_key("line", line)
        when = instant("from", from_)
        try:
            amount = importer.parse_amount(price)
        except ValueError as exc:
            raise Invalid.one("price", str(exc)) from None
        with database() as db, db.unit_of_work() as s:
            actor = operator_of(s, tenant)
            ln = queries.get_line_for(s, actor, line_id)
            currency = queries.get_contract_for(s, actor, ln.contract_id).currency
            try:
                minor = importer.to_minor(amount, currency)
            except ValueError as exc:
                raise Invalid.one("price", str(exc)) from None
            data = parse(LineUpdate, {"price": minor, "effective": when, "reason": reason})
            service.change_line(s, actor=actor, line_id=line_id, data=data)
    err.print(f"line {line_id} costs {money(minor, currency)} from {time_text(data.effective)}")
