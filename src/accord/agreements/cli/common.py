"""What the agreements commands share: the arguments that name a record, finding a
customer, contract or site by what people type, reading as the operator, and the
tables, times and JSON they print.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, time
from typing import Annotated, Any

import typer
from rich import box
from rich.markup import escape
from rich.table import Table
from sqlalchemy.orm import Session

from accord.access import Actor
from accord.agreements import queries
from accord.agreements.models import Contract
from accord.cli.common import database, one_tenant, operator
from accord.errors import Invalid, NotFound
from accord.parties import queries as parties
from accord.store.db import FOREVER
from accord.store.temporal import AsOf

# --- arguments ---------------------------------------------------------------------------------

ContractArg = Annotated[str, typer.Argument(help="The contract's reference (or id).")]
AssetArg = Annotated[str, typer.Argument(help="The asset's tag, serial or id (any case).")]
LineArg = Annotated[
    str, typer.Argument(help="The contract line's id (see `accord contract show`).")
]
NumberArg = Annotated[str, typer.Argument(help="The invoice number, e.g. FAB-MSP-1/2026-11.")]

#: What the services call a field -> the option that gave it.
RENAMED = {
    "effective": "from",
    "term_end": "to",
    "waive_notice": "waive-notice",
    "asset_id": "tag",
    "contract_id": "contract",
    "body": "options",
}
RECORD_ID = re.compile(r"^[0-9A-Za-z._/-]{1,64}$")


def record_key(name: str, value: str) -> str:
    """A tag, reference or id as typed; anything else is bad input, not a lookup (and keeps
    NUL bytes away from the database, where PostgreSQL would refuse them)."""
    value = value.strip()
    if not RECORD_ID.match(value):
        raise Invalid.one(name, "letters, digits and . _ / - only (1 to 64)")
    return value


def operator_of(s: Session, tenant: str | None) -> Actor:
    return operator(one_tenant(s, tenant))


@contextmanager
def operator_reading(tenant: str | None) -> Iterator[tuple[Session, Actor]]:
    """A read of the database as the operator; what was read stays readable afterwards."""
    with database() as db, db.reading(detach=True) as s:
        yield s, operator_of(s, tenant)


# --- finding records ----------------------------------------------------------------------------


def customer_id_of(s: Session, actor: Actor, ref: str) -> str:
    """A customer by account code (any case) or id."""
    ref = record_key("customer", ref)
    code = ref.upper()
    seen = 0
    while True:
        found, total = parties.list_customers(
            s, actor=actor, when=AsOf.now(), q=code, limit=500, offset=seen
        )
        for c in found:
            if c.code == code:
                return c.entity_id
        seen += len(found)
        if not found or seen >= total:
            break
    return parties.get_customer_for(s, actor, ref).entity_id  # NotFound names it


def find_contract(s: Session, actor: Actor, ref: str, when: AsOf | None = None) -> Contract:
    ref = record_key("contract", ref)
    for candidate in dict.fromkeys((ref, ref.upper())):
        found = queries.contract_by_reference(s, actor, candidate)
        if found is not None:
            return queries.get_contract_for(s, actor, found.entity_id, when)
    try:
        return queries.get_contract_for(s, actor, ref, when)
    except NotFound:
        raise NotFound(f"no contract with the reference or id {ref!r}") from None


def customer_code(s: Session, actor: Actor, customer_id: str, cache: dict[str, str]) -> str:
    if customer_id not in cache:
        try:
            cache[customer_id] = parties.get_customer_for(s, actor, customer_id).code
        except NotFound:
            cache[customer_id] = customer_id
    return cache[customer_id]


def site_name(s: Session, actor: Actor, site_id: str | None, cache: dict[str, str]) -> str:
    if site_id is None:
        return ""
    if site_id not in cache:
        try:
            cache[site_id] = parties.get_site_for(s, actor, site_id).name
        except NotFound:
            cache[site_id] = site_id  # the site has closed: its id still names it
    return cache[site_id]


# --- rendering ----------------------------------------------------------------------------------


def time_text(t: datetime | None) -> str:
    """An instant as people read it: the date alone when it is midnight UTC."""
    if t is None or t == FOREVER:
        return "—"
    t = t.astimezone(UTC)
    return t.strftime("%Y-%m-%d") if t.time() == time(0) else t.strftime("%Y-%m-%d %H:%M UTC")


def print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def cell(value: Any) -> str:
    return "" if value is None else escape(str(value))


def new_table(*headers: str, title: str, caption: str | None = None) -> Table:
    table = Table(
        title=title, caption=caption, box=box.SIMPLE_HEAD, title_justify="left",
        caption_justify="left",
    )  # fmt: skip
    for h in headers:
        if h in ("id", "tag", "reference", "number", "from", "until", "amount", "price"):
            table.add_column(h, no_wrap=True)
        else:
            table.add_column(h, overflow="fold", ratio=1, min_width=8)
    return table


def minutes_text(m: int) -> str:
    """Business minutes as people say them: 30 min, 4 h, 2 h 30 min."""
    h, rest = divmod(int(m), 60)
    if not h:
        return f"{rest} min"
    return f"{h} h" + (f" {rest} min" if rest else "")


def hours_text(minutes: int) -> str:
    return f"{minutes / 60:g} h"


def viewing(when: AsOf, on: str | None, known_at: str | None) -> str:
    parts = [
        f"on {time_text(when.on)}" if on else "",
        f"as known at {time_text(when.known_at)}" if known_at else "",
    ]
    shown = ", ".join(p for p in parts if p)
    return f" {shown}" if shown else ""
