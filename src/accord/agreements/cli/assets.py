"""`accord coverage` and `accord asset list|show|take-off`: what covers an asset on a day,
and the assets as of any time.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy.orm import Session

from accord.access import Actor
from accord.agreements import queries, service
from accord.agreements.cli.common import (
    RENAMED,
    AssetArg,
    cell,
    customer_code,
    customer_id_of,
    minutes_text,
    new_table,
    operator_of,
    operator_reading,
    print_json,
    record_key,
    site_name,
    time_text,
    viewing,
)
from accord.agreements.coverage import Segment
from accord.agreements.exports import money
from accord.agreements.schemas import TakeOff
from accord.cli.common import (
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
from accord.errors import NotFound, parse
from accord.store.db import FOREVER

# --- coverage -----------------------------------------------------------------------------------


@guarded
def coverage(
    tag: AssetArg,
    on: OnOpt = None,
    known_at: KnownAtOpt = None,
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Is the asset covered on a day (as known at a time)? By which contract, line and service
    level with its targets; and if not, why, in words. Exit 0 either way; 1 for an unknown tag."""
    with as_options(RENAMED):
        key = record_key("tag", tag)
        when = as_of(on, known_at)
        with operator_reading(tenant) as (s, actor):
            e = queries.entitlement(s, actor, key, on=when.on, known_at=when.known_at)
    if as_json:
        print_json(e.model_dump(mode="json"))
        return
    seen = f" as known at {time_text(when.known_at)}" if known_at else ""
    if e.covered:
        out.print(f"[bold green]{escape(e.tag)} is covered[/] on {time_text(when.on)}{seen}")
    else:
        out.print(f"[bold red]{escape(e.tag)} is not covered[/] on {time_text(when.on)}{seen}")
    details = Table.grid(padding=(0, 2))
    details.add_column(style="dim")
    details.add_column()
    if e.covered:
        details.add_row("contract", cell(e.contract_reference))
        details.add_row("line", cell(e.line_id))
        details.add_row("service level", cell(e.service_level))
        for priority, target in sorted((e.targets or {}).items()):
            details.add_row(
                f"  {priority}",
                f"respond within {minutes_text(target['response'])}, resolve within "
                f"{minutes_text(target['resolution'])} (business hours)",
            )
        if e.covered_until is not None:
            details.add_row("until", time_text(e.covered_until))
    elif e.contract_reference:
        details.add_row("contract", cell(e.contract_reference))
    details.add_row("why", cell(e.reason))
    out.print(details)


# --- assets -------------------------------------------------------------------------------------


@guarded
def asset_list(
    search: Annotated[
        str | None,
        typer.Option("--search", "--q", help="Part of the tag, serial, make, model or type."),
    ] = None,
    customer: Annotated[
        str | None, typer.Option("--customer", help="Only this customer's (account code or id).")
    ] = None,
    on: OnOpt = None,
    known_at: KnownAtOpt = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=100_000, help="At most this many.")
    ] = 100,
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List assets on a day (as known at a time), by tag."""
    with as_options(RENAMED):
        when = as_of(on, known_at)
        check_search(search)
        with operator_reading(tenant) as (s, actor):
            customer_id = customer_id_of(s, actor, customer) if customer else None
            rows: list[Any] = []
            total = 0
            while len(rows) < limit:
                page, total = queries.list_assets(
                    s, actor=actor, when=when, q=search, customer_id=customer_id,
                    limit=min(500, limit - len(rows)), offset=len(rows),
                )  # fmt: skip
                rows += page
                if not page or len(rows) >= total:
                    break
            codes: dict[str, str] = {}
            sites: dict[str, str] = {}
            items = [
                {
                    "id": a.entity_id,
                    "tag": a.tag,
                    "serial": a.serial,
                    "asset_type": a.asset_type,
                    "make": a.make,
                    "model": a.model,
                    "status": a.status,
                    "customer": customer_code(s, actor, a.customer_id, codes),
                    "site": site_name(s, actor, a.site_id, sites) or None,
                    "external_key": a.external_key,
                }
                for a in rows
            ]
    if as_json:
        print_json({"items": items, "total": total})
        return
    shown = f"{len(items)} of {total}" if total > len(items) else f"{total}"
    table = new_table(
        "tag", "type", "make and model", "serial", "customer", "site", "status",
        title=f"Assets{viewing(when, on, known_at)}", caption=f"{shown} asset(s)",
    )  # fmt: skip
    for a in items:
        model = " ".join(x for x in (a["make"], a["model"]) if x)
        table.add_row(
            *(cell(x) for x in (a["tag"], a["asset_type"], model, a["serial"], a["customer"],
                                 a["site"], a["status"]))
        )  # fmt: skip
    out.print(table)


def _segment_row(s: Session, actor: Actor, seg: Segment, levels: dict[str, str]) -> dict[str, Any]:
    level_id = seg.line.service_level_id
    if level_id not in levels:
        try:
            levels[level_id] = queries.get_service_level_for(s, actor, level_id).name
        except NotFound:
            levels[level_id] = level_id
    return {
        "from": seg.start,
        "until": None if seg.end == FOREVER else seg.end,
        "contract": seg.contract.reference,
        "line_id": seg.line.line_id,
        "covers": "this asset" if seg.per_asset else f"every {seg.line.asset_type} at its site",
        "service_level": levels[level_id],
        "price": money(seg.line.price, seg.contract.currency),
    }


@guarded
def asset_show(
    tag: AssetArg,
    on: OnOpt = None,
    known_at: KnownAtOpt = None,
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show an asset on a day (as known at a time) with its coverage over time, one row per
    period covered by a contract line."""
    with as_options(RENAMED):
        key = record_key("tag", tag)
        when = as_of(on, known_at)
        with operator_reading(tenant) as (s, actor):
            a = queries.find_asset(s, actor, key, when)
            e = queries.entitlement(s, actor, a.entity_id, on=when.on, known_at=when.known_at)
            segs = queries.coverage_timeline(s, actor, a.entity_id, known_at=when.known_at)
            levels: dict[str, str] = {}
            timeline = [_segment_row(s, actor, seg, levels) for seg in segs]
            customer = customer_code(s, actor, a.customer_id, {})
            site = site_name(s, actor, a.site_id, {})
    asset = {
        "id": a.entity_id,
        "tag": a.tag,
        "serial": a.serial,
        "asset_type": a.asset_type,
        "make": a.make,
        "model": a.model,
        "status": a.status,
        "customer": customer,
        "site": site or None,
        "external_key": a.external_key,
        "valid_from": a.valid_from,
        "valid_to": None if a.valid_to == FOREVER else a.valid_to,
    }
    if as_json:
        print_json(
            {
                "asset": asset,
                "entitlement": e.model_dump(mode="json"),
                "coverage": [{**r, "from": r["from"], "until": r["until"]} for r in timeline],
            }
        )
        return
    out.print(f"[bold]{escape(a.tag)}[/]{escape(viewing(when, on, known_at))}")
    details = Table.grid(padding=(0, 2))
    details.add_column(style="dim")
    details.add_column()
    model = " ".join(x for x in (a.make, a.model) if x)
    for label, value in (
        ("type", a.asset_type),
        ("make and model", model),
        ("serial", a.serial),
        ("status", a.status),
        ("customer", customer),
        ("site", site),
        ("external key", a.external_key),
        ("id", a.entity_id),
        (
            "on record",
            f"{time_text(a.valid_from)}"
            + (f" until {time_text(a.valid_to)}" if a.valid_to != FOREVER else ""),
        ),
        ("covered", e.reason),
    ):
        details.add_row(label, cell(value) or "—")
    out.print(details)
    out.print()
    if not timeline:
        out.print("Coverage over time: never covered.")
        return
    out.print("[bold]Coverage over time[/]")
    for r in timeline:
        until = f"until {time_text(r['until'])}" if r["until"] else "open-ended"
        out.print(
            f"  {time_text(r['from'])} {until}: contract {escape(r['contract'])}, "
            f"{escape(r['covers'])}, {escape(r['service_level'])}, {escape(r['price'])}"
        )
        out.print(f"    line {r['line_id']}", style="dim")


@guarded
def asset_take_off(
    tag: AssetArg,
    from_: FromReq,
    reason: ReasonReq,
    tenant: TenantOpt = None,
) -> None:
    """Take an asset off its contract from --from (the first day not covered, e.g. the day
    after a cancellation date): ends every line that covers this asset by itself."""
    with as_options(RENAMED):
        key = record_key("tag", tag)
        data = parse(TakeOff, {"effective": instant("from", from_), "reason": reason})
        with database() as db, db.unit_of_work() as s:
            actor = operator_of(s, tenant)
            a = queries.find_asset(s, actor, key)
            ended = service.take_asset_off(s, actor=actor, asset_id=a.entity_id, data=data)
    err.print(f"took {escape(a.tag)} off {len(ended)} line(s) from {time_text(data.effective)}")
