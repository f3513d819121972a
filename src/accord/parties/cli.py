"""The parties commands: customers, their contacts and their sites from the command line.

`accord customer list|show|add|change|history`, `accord contact add|change|remove` and
`accord site add|change|remove`. As in the API and the pages, every read takes `--on`
(valid time: true in the world then) and `--known-at` (recorded time: as Accord knew it
then), both defaulting to now, and every write takes `--from` (when it is true from: a
past date corrects the record, a future one plans the change; default now) and a
`--reason`. Each command parses its options, calls the parties service or queries in one
unit of work and prints: tables and lines for people, `--json` for scripts.

The operator acts as an admin of the tenant (`--tenant`, default the only one), and the
journal records them by their OS user name. Tenant and role are checked by the same query
and service helpers the API uses, so another tenant's records are simply not found.

`accord.cli` assembles the command tree from these functions; import that package, not
this module, first (this module imports `accord.cli.common`, whose package imports it).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, time
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel
from rich import box
from rich.markup import escape
from rich.table import Table
from sqlalchemy.orm import Session

from accord.access import Actor
from accord.cli.common import (
    FromOpt,
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
    instants,
    one_tenant,
    operator,
    out,
)
from accord.errors import Invalid, parse
from accord.parties import queries, service
from accord.parties.models import Customer, CustomerStatus
from accord.parties.queries import AsOf
from accord.parties.schemas import (
    Change,
    ChangePublic,
    ContactCreate,
    ContactPublic,
    ContactUpdate,
    CustomerCreate,
    CustomerPublic,
    CustomerUpdate,
    Removal,
    SiteCreate,
    SitePublic,
    SiteUpdate,
    VersionInfo,
)
from accord.store.db import FOREVER
from accord.store.temporal import Versioned

P = TypeVar("P", bound=BaseModel)

# --- options --------------------------------------------------------------------------------


def _opt(help: str) -> Any:
    return typer.Option(help=help)


# Optional text options: not given leaves the field alone; '' clears it.
Name = Annotated[str, _opt("The name (required).")]
NewName = Annotated[str | None, _opt("A new name.")]
Email = Annotated[str | None, _opt("Email address ('' clears it).")]
Phone = Annotated[
    str | None, _opt("Phone: digits, spaces and + ( ) . / -, 5 to 40 characters ('' clears it).")
]

#: Option names the CLI uses for what the schemas and services call otherwise.
RENAMED = {"effective": "from", "body": "options"}
#: Fields that may be empty: '' given for one of them means "none".
CLEARABLE = frozenset(
    {"email", "phone", "notes", "role", "address", "city", "postcode", "country", "external_key"}
)


def _change(
    schema: type[P], fields: Mapping[str, str | None], effective: str | None, reason: str
) -> P:
    """The validated change: the options given (none given: left alone; '': cleared)."""
    data: dict[str, Any] = {
        name: (None if name in CLEARABLE and not value.strip() else value)
        for name, value in fields.items()
        if value is not None
    }
    when = instants(effective=effective)["effective"]
    if when is not None:
        data["effective"] = when
    return parse(schema, {**data, "reason": reason})


def _at(data: Change) -> AsOf:
    """Where a change is seen: on the day it takes effect, as known now."""
    return AsOf.of(data.effective, None)


def _nothing_to_change(data: BaseModel, options: str) -> None:
    if not data.model_fields_set - {"effective", "reason"}:
        raise Invalid.one("options", f"nothing to change: give at least one of {options}")


# --- finding records -----------------------------------------------------------------------

RECORD_ID = re.compile(r"^[0-9A-Za-z-]{1,64}$")
PAGE = 500


def _record_id(kind: str, value: str) -> str:
    """A public id as typed; anything else is bad input, not a lookup (and keeps NUL bytes
    away from the database, where PostgreSQL would refuse them)."""
    value = value.strip()
    if not RECORD_ID.match(value):
        raise Invalid.one(kind, f"not a {kind} id")
    return value


def _customers(
    s: Session, actor: Actor, when: AsOf, *, q: str | None = None, status: str | None = None
) -> tuple[list[Customer], int]:
    """Every customer matching, a page at a time."""
    found: list[Customer] = []
    while True:
        rows, total = queries.list_customers(
            s, actor=actor, when=when, q=q, status=status, limit=PAGE, offset=len(found)
        )
        found += rows
        if not rows or len(found) >= total:
            return found, total


def _customer_id(s: Session, actor: Actor, ref: str, when: AsOf) -> str:
    """The customer an argument names: its account code (as of `when`, else as of now) or
    its id. An id that is no customer of this tenant is reported by the query or service."""
    if not RECORD_ID.match(ref.strip()):
        raise Invalid.one("customer", "not a customer id or account code")
    ref = ref.strip()
    code = ref.upper()
    for at in (when, AsOf.now()):
        matches = [c for c in _customers(s, actor, at, q=code)[0] if c.code == code]
        if matches:
            return matches[0].entity_id
    return ref


# --- rendering -----------------------------------------------------------------------------


def _time(t: datetime | None) -> str:
    """An instant as people read it: the date alone when it is midnight UTC."""
    if t is None or t == FOREVER:
        return "—"
    t = t.astimezone(UTC)
    return t.strftime("%Y-%m-%d") if t.time() == time(0) else t.strftime("%Y-%m-%d %H:%M UTC")


def _effective(data: BaseModel) -> str:
    when: datetime | None = getattr(data, "effective", None)
    return f"from {_time(when)}" if when else "from now"


def _public(schema: type[P], v: Versioned) -> P:
    version = VersionInfo(
        valid_from=v.valid_from,
        valid_to=None if v.valid_to == FOREVER else v.valid_to,
        recorded_from=v.recorded_from,
        seq=v.seq,
    )
    return schema.model_validate({**v.data(), "id": v.entity_id, "version": version})


def _json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False))


def _cell(value: Any) -> str:
    return "" if value is None else escape(str(value))


def _period(v: Versioned) -> str:
    until = f" until {_time(v.valid_to)}" if v.valid_to != FOREVER else ""
    return f"{_time(v.valid_from)}{until}"


def _table(*headers: str, title: str, caption: str | None = None) -> Table:
    """A table that never cuts a value short: names wrap, codes and ids stay whole."""
    table = Table(
        title=title,
        caption=caption,
        box=box.SIMPLE_HEAD,
        title_justify="left",
        caption_justify="left",
    )
    for h in headers:
        if h in ("id", "code", "status"):
            table.add_column(h, no_wrap=True)
        else:
            table.add_column(h, overflow="fold", ratio=1)
    return table


def _viewing(when: AsOf, on: str | None, known_at: str | None) -> str:
    """' on DAY, as known at TIME' for the times given; nothing when both are now."""
    parts = [
        f"on {_time(when.on)}" if on else "",
        f"as known at {_time(when.known_at)}" if known_at else "",
    ]
    shown = ", ".join(p for p in parts if p)
    return f" {shown}" if shown else ""


# --- customers -----------------------------------------------------------------------------


@guarded
def customer_list(
    on: OnOpt = None,
    known_at: KnownAtOpt = None,
    search: Annotated[
        str | None, typer.Option("--search", help="Part of the name, account code or email.")
    ] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="Only these: prospect, active or former.")
    ] = None,
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List the customers as they were on a day, as Accord knew them at a time, by name."""
    with as_options(RENAMED):
        when = as_of(on, known_at)
        check_search(search)
        if status is not None and status not in set(CustomerStatus):
            raise Invalid.one("status", "one of: prospect, active, former")
        with database() as db, db.reading() as s:
            actor = operator(one_tenant(s, tenant))
            rows, total = _customers(s, actor, when, q=search, status=status)
            items = [_public(CustomerPublic, c) for c in rows]
    if as_json:
        _json({"items": [c.model_dump(mode="json") for c in items], "total": total})
        return
    table = _table(
        "code",
        "name",
        "status",
        "id",
        title=f"Customers{_viewing(when, on, known_at)}",
        caption=f"{total} customer(s)",
    )
    for c in items:
        table.add_row(*(_cell(x) for x in (c.code, c.name, c.status, c.id)))
    out.print(table)


@guarded
def customer_show(
    customer: Annotated[str, typer.Argument(help="The customer's account code or id.")],
    on: OnOpt = None,
    known_at: KnownAtOpt = None,
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a customer with its contacts and sites as they were on a day, as known at a time."""
    with as_options(RENAMED):
        when = as_of(on, known_at)
        with database() as db, db.reading() as s:
            actor = operator(one_tenant(s, tenant))
            customer_id = _customer_id(s, actor, customer, when)
            record = queries.get_customer_for(s, actor, customer_id, when=when)
            c = _public(CustomerPublic, record)
            contacts = [
                (_public(ContactPublic, x), _period(x))
                for x in queries.contacts_of(s, actor, customer_id, when=when)
            ]
            sites = [
                (_public(SitePublic, x), _period(x))
                for x in queries.sites_of(s, actor, customer_id, when=when)
            ]
            period = _period(record)
    if as_json:
        _json(
            {
                "customer": c.model_dump(mode="json"),
                "contacts": [x.model_dump(mode="json") for x, _ in contacts],
                "sites": [x.model_dump(mode="json") for x, _ in sites],
            }
        )
        return
    out.print(f"[bold]{escape(c.name)}[/] ({escape(c.code)}){escape(_viewing(when, on, known_at))}")
    details = Table.grid(padding=(0, 2))
    details.add_column(style="dim")
    details.add_column()
    for label, value in (
        ("status", c.status),
        ("email", c.email),
        ("phone", c.phone),
        ("notes", c.notes),
        ("id", c.id),
        ("true from", period),
        ("recorded", f"{_time(c.version.recorded_from)} (journal entry #{c.version.seq})"),
    ):
        details.add_row(label, _cell(value) or "—")
    out.print(details)
    parts = (
        ("Contacts", [(x.name, x.role, (x.email, x.phone), since, x.id) for x, since in contacts]),
        (
            "Sites",
            [
                (
                    y.name,
                    ", ".join(filter(None, (y.address, y.city, y.postcode, y.country))),
                    (f"external key {y.external_key}",) if y.external_key else (),
                    since,
                    y.id,
                )
                for y, since in sites
            ],
        ),
    )
    for heading, rows in parts:
        out.print()
        out.print(f"[bold]{heading}[/] ({len(rows)})" if rows else f"No {heading.lower()}.")
        for name, what, reach, since, part_id in rows:
            out.print(f"  [bold]{escape(name)}[/]" + (f", {escape(what)}" if what else ""))
            reachable = ", ".join(filter(None, reach))
            if reachable:
                out.print(f"    {escape(reachable)}")
            out.print(f"    from {since}; id {part_id}", style="dim")


CUSTOMER_OPTIONS = "--name, --code, --status, --email, --phone, --notes"
Code = Annotated[str, _opt("Short account code: capitals, digits, dashes (2 to 20).")]
NewCode = Annotated[str | None, _opt("A new account code: capitals, digits, dashes.")]
Status = Annotated[str, _opt("prospect, active or former.")]
NewStatus = Annotated[str | None, _opt("prospect, active or former.")]
Notes = Annotated[str | None, _opt("Free text ('' clears it).")]


@guarded
def customer_add(
    name: Name,
    code: Code,
    status: Status = CustomerStatus.ACTIVE.value,
    email: Email = None,
    phone: Phone = None,
    notes: Notes = None,
    from_: FromOpt = None,
    reason: ReasonReq = "",
    tenant: TenantOpt = None,
) -> None:
    """Take on a customer (or a prospect), on record from --from (default now).

    Prints the new customer's id on stdout.
    """
    with as_options(RENAMED):
        fields = {"name": name, "code": code, "status": status, "email": email, "phone": phone}
        data = _change(CustomerCreate, {**fields, "notes": notes}, from_, reason)
        with database() as db, db.unit_of_work() as s:
            t = one_tenant(s, tenant)
            customer_id = service.create_customer(s, actor=operator(t), data=data)
    err.print(f"added customer {escape(data.name)} ({data.code}) to '{t.slug}', {_effective(data)}")
    typer.echo(customer_id)


@guarded
def customer_change(
    customer: Annotated[str, typer.Argument(help="The customer's account code or id.")],
    name: NewName = None,
    code: NewCode = None,
    status: NewStatus = None,
    email: Email = None,
    phone: Phone = None,
    notes: Notes = None,
    from_: FromOpt = None,
    reason: ReasonReq = "",
    tenant: TenantOpt = None,
) -> None:
    """Change some of a customer's details from --from on: now, a correction of the past, or a
    change planned for the future. Fields not given are left as they are, then and later."""
    with as_options(RENAMED):
        fields = {"name": name, "code": code, "status": status, "email": email, "phone": phone}
        data = _change(CustomerUpdate, {**fields, "notes": notes}, from_, reason)
        _nothing_to_change(data, CUSTOMER_OPTIONS)
        with database() as db, db.unit_of_work() as s:
            actor = operator(one_tenant(s, tenant))
            customer_id = _customer_id(s, actor, customer, _at(data))
            service.change_customer(s, actor=actor, customer_id=customer_id, data=data)
            after = queries.get_customer_for(s, actor, customer_id, when=_at(data))
            label = f"{after.name} ({after.code})"
    changed = ", ".join(sorted(data.model_fields_set - {"effective", "reason"}))
    err.print(f"changed {changed} of customer {escape(label)}, {_effective(data)}")


LABELS = {"code": "account code", "city": "town or city"}
HIDDEN = {"customer_id"}


def _field_name(pointer: str) -> str:
    """The top-level field an RFC 6901 JSON Pointer names."""
    return pointer.lstrip("/").split("/", 1)[0].replace("~1", "/").replace("~0", "~")


def _delta(c: Mapping[str, Any]) -> list[str]:
    """What one change did, field by field, as the history page says it."""
    e = c["entry"]
    if e.op == "end":
        return [f"removed: no longer on record from {_time(e.valid_from)}"]
    before, after = c["before"] or {}, c["after"] or {}
    lines = []
    for name in dict.fromkeys(_field_name(op["path"]) for op in c["patch"]):
        if name in HIDDEN:
            continue
        old, new = before.get(name), after.get(name)
        if old is None and new is None:
            continue  # a field recorded as empty: nothing to say
        label = LABELS.get(name, name.replace("_", " "))
        if old is not None and new is not None:
            lines.append(f"{label}: {old} → {new}")
        elif new is not None:
            lines.append(f"{label}: {new}")
        else:
            lines.append(f"{label}: {old} → (cleared)")
    return lines or ["no difference from what was on record"]


@guarded
def customer_history(
    customer: Annotated[str, typer.Argument(help="The customer's account code or id.")],
    known_at: KnownAtOpt = None,
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Every recorded change to a customer, its contacts and its sites, newest first: when
    recorded, by whom, true from when, why, and what it changed."""
    with as_options(RENAMED):
        when = as_of(None, known_at)
        with database() as db, db.reading() as s:
            actor = operator(one_tenant(s, tenant))
            customer_id = _customer_id(s, actor, customer, when)
            found = queries.customer_history(
                s, actor, customer_id, known_at=when.known_at if known_at else None
            )
            # Named as Accord knows it now, in its latest period, however far back we look.
            periods = queries.customer_timeline(s, actor, customer_id, known_at=AsOf.now().known_at)
            name = periods[-1].name if periods else customer
    if as_json:
        _json([_change_public(c).model_dump(mode="json") for c in found])
        return
    out.print(f"[bold]History of {escape(name)}[/]: {len(found)} change(s), newest first")
    for c in found:
        e = c["entry"]
        after, before = c["after"] or {}, c["before"] or {}
        subject = after.get("name") or before.get("name") or e.data.get("name") or ""
        title = f"{e.type.capitalize()} {e.kind.rsplit('.', 1)[-1]}"
        if e.type != "customer" and subject:
            title += f": {subject}"
        until = f" until {_time(e.valid_to)}" if e.valid_to != FOREVER else ""
        out.print()
        out.print(f"[bold]#{e.seq}[/] {escape(title)}, true from {_time(e.valid_from)}{until}")
        out.print(f"  recorded {_time(e.at)} by {escape(e.actor)}", style="dim")
        if e.reason:
            out.print(f"  reason: {escape(e.reason)}")
        for line in _delta(c):
            out.print(f"  {escape(line)}")


def _change_public(c: Mapping[str, Any]) -> ChangePublic:
    e = c["entry"]
    return ChangePublic(
        seq=e.seq,
        at=e.at,
        actor=e.actor,
        kind=e.kind,
        entity_type=e.type,
        entity_id=e.id,
        valid_from=e.valid_from,
        valid_to=None if e.valid_to == FOREVER else e.valid_to,
        reason=e.reason,
        patch=c["patch"],
    )


# --- contacts and sites ------------------------------------------------------------------------

CustomerArg = Annotated[
    str, typer.Argument(help="The customer's account code or id.", show_default=False)
]
ContactArg = Annotated[str, typer.Argument(help="The contact's id (see `accord customer show`).")]
SiteArg = Annotated[str, typer.Argument(help="The site's id (see `accord customer show`).")]
Role = Annotated[str | None, _opt("Their role, e.g. 'IT manager' ('' clears it).")]
Address = Annotated[str | None, _opt("Street address ('' clears it).")]
City = Annotated[str | None, _opt("Town or city ('' clears it).")]
Postcode = Annotated[str | None, _opt("Postcode ('' clears it).")]
Country = Annotated[str | None, _opt("ISO 3166-1 alpha-2 code, e.g. GB ('' clears it).")]
ExternalKey = Annotated[
    str | None,
    _opt(
        "Its key in another system, e.g. S-0042: no other site may have it; `accord import` "
        "matches the site by it ('' clears it)."
    ),
]


# A contact and a site are both parts of a customer with the same life (added, changed and
# removed from a date): one implementation of each step serves both kinds of commands.
_PARTS: dict[str, Any] = {
    "contact": (
        service.add_contact,
        service.change_contact,
        service.remove_contact,
        queries.get_contact_for,
    ),
    "site": (service.add_site, service.change_site, service.remove_site, queries.get_site_for),
}


def _add_part(
    kind: str,
    schema: type[Change],
    customer: str,
    fields: dict[str, Any],
    from_: str | None,
    reason: str,
    tenant: str | None,
) -> None:
    add = _PARTS[kind][0]
    with as_options(RENAMED):
        data = _change(schema, fields, from_, reason)
        with database() as db, db.unit_of_work() as s:
            actor = operator(one_tenant(s, tenant))
            customer_id = _customer_id(s, actor, customer, _at(data))
            part_id = add(s, actor=actor, customer_id=customer_id, data=data)
    err.print(f"added {kind} {escape(data.model_dump()['name'])}, {_effective(data)}")
    typer.echo(part_id)


def _change_part(
    kind: str,
    record: str,
    schema: type[Change],
    fields: dict[str, Any],
    from_: str | None,
    reason: str,
    tenant: str | None,
) -> None:
    change, get_for = _PARTS[kind][1], _PARTS[kind][3]
    with as_options(RENAMED):
        part_id = _record_id(kind, record)
        data = _change(schema, fields, from_, reason)
        _nothing_to_change(data, ", ".join(f"--{f}" for f in fields))
        with database() as db, db.unit_of_work() as s:
            actor = operator(one_tenant(s, tenant))
            change(s, actor=actor, data=data, **{f"{kind}_id": part_id})
            label = get_for(s, actor, part_id, when=_at(data)).name
    changed = ", ".join(sorted(data.model_fields_set - {"effective", "reason"}))
    err.print(f"changed {changed} of {kind} {escape(label)}, {_effective(data)}")


def _remove_part(
    kind: str, record: str, from_: str | None, reason: str, tenant: str | None
) -> None:
    remove, get_for = _PARTS[kind][2], _PARTS[kind][3]
    with as_options(RENAMED):
        part_id = _record_id(kind, record)
        data = _change(Removal, {}, from_, reason)
        with database() as db, db.unit_of_work() as s:
            actor = operator(one_tenant(s, tenant))
            label = get_for(s, actor, part_id, when=_at(data)).name
            remove(s, actor=actor, data=data, **{f"{kind}_id": part_id})
    err.print(f"removed {kind} {escape(label)}, {_effective(data)}")


@guarded
def contact_add(
    customer: CustomerArg,
    name: Name,
    role: Role = None,
    email: Email = None,
    phone: Phone = None,
    from_: FromOpt = None,
    reason: ReasonReq = "",
    tenant: TenantOpt = None,
) -> None:
    """Add a person at the customer as a contact from --from on. Prints the contact's id."""
    fields = {"name": name, "role": role, "email": email, "phone": phone}
    _add_part("contact", ContactCreate, customer, fields, from_, reason, tenant)


@guarded
def contact_change(
    contact: ContactArg,
    name: NewName = None,
    role: Role = None,
    email: Email = None,
    phone: Phone = None,
    from_: FromOpt = None,
    reason: ReasonReq = "",
    tenant: TenantOpt = None,
) -> None:
    """Change some of a contact's details from --from on (past, now or future)."""
    fields = {"name": name, "role": role, "email": email, "phone": phone}
    _change_part("contact", contact, ContactUpdate, fields, from_, reason, tenant)


@guarded
def contact_remove(
    contact: ContactArg,
    from_: FromOpt = None,
    reason: ReasonReq = "",
    tenant: TenantOpt = None,
) -> None:
    """The person is no longer a contact from --from on; what was true before stays."""
    _remove_part("contact", contact, from_, reason, tenant)


@guarded
def site_add(
    customer: CustomerArg,
    name: Name,
    address: Address = None,
    city: City = None,
    postcode: Postcode = None,
    country: Country = None,
    external_key: ExternalKey = None,
    from_: FromOpt = None,
    reason: ReasonReq = "",
    tenant: TenantOpt = None,
) -> None:
    """Add a place where the customer has people or equipment, from --from on. Prints the
    site's id."""
    fields = {
        "name": name,
        "address": address,
        "city": city,
        "postcode": postcode,
        "country": country,
        "external_key": external_key,
    }
    _add_part("site", SiteCreate, customer, fields, from_, reason, tenant)


@guarded
def site_change(
    site: SiteArg,
    name: NewName = None,
    address: Address = None,
    city: City = None,
    postcode: Postcode = None,
    country: Country = None,
    external_key: ExternalKey = None,
    from_: FromOpt = None,
    reason: ReasonReq = "",
    tenant: TenantOpt = None,
) -> None:
    """Change some of a site's details from --from on (past, now or future)."""
    fields = {
        "name": name,
        "address": address,
        "city": city,
        "postcode": postcode,
        "country": country,
        "external_key": external_key,
    }
    _change_part("site", site, SiteUpdate, fields, from_, reason, tenant)


@guarded
def site_remove(
    site: SiteArg,
    from_: FromOpt = None,
    reason: ReasonReq = "",
    tenant: TenantOpt = None,
) -> None:
    """The customer no longer has this site from --from on; its history stays."""
    _remove_part("site", site, from_, reason, tenant)
