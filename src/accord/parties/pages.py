"""Parties pages: customers, their contacts and sites as of any valid and recorded time,
the forms that change them, and the history of every change.

Every read shows the record true `on` a date as Accord knew it `known_at` a time (both
default to now). Every change takes effect from a date, which may be past (a correction)
or future (a planned change), and carries a reason. Edit forms send only the fields the
person changed, so a change never overwrites what it did not touch, including changes
already planned for later. Tenant and role are checked by the query and service helpers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from accord.access import PARTY_WRITERS, Actor, require
from accord.errors import Invalid, NotFound, parse
from accord.parties import queries, service
from accord.parties.models import CustomerStatus
from accord.parties.queries import AsOf
from accord.parties.schemas import (
    PHONE_HINT,
    ContactCreate,
    ContactUpdate,
    CustomerCreate,
    CustomerUpdate,
    Removal,
    SiteCreate,
    SiteUpdate,
)
from accord.store.db import FOREVER, utcnow
from accord.store.temporal import Versioned
from accord.web.deps import DbDep
from accord.web.pages import (
    AsOfForm,
    CheckedForm,
    FormField,
    FormState,
    PageActor,
    as_of_form,
    changed,
    flash,
    given,
    instant_param,
    instant_text,
    open_end,
    page,
    pager,
    parse_times,
    redirect,
    sentence,
    shown,
    url,
    values_of,
)
from accord.web.params import RecordId

router = APIRouter(include_in_schema=False)

PER_PAGE = 25
STATUS_CHOICES = tuple((s.value, s.value.capitalize()) for s in CustomerStatus)


def _hint(schema: type[BaseModel], name: str) -> str:
    """The schema's own description of a field, so the form says what the API checks."""
    return sentence(schema.model_fields[name].description or "")


PHONE = FormField("phone", "Phone", type="tel", hint=sentence(PHONE_HINT), autocomplete="off")

CUSTOMER_FIELDS = (
    FormField("name", "Name", required=True, autocomplete="off"),
    FormField("code", "Account code", required=True, hint=_hint(CustomerCreate, "code")),
    FormField("status", "Status", type="select", required=True, choices=STATUS_CHOICES),
    FormField("email", "Email", type="email", autocomplete="off"),
    PHONE,
    FormField("notes", "Notes", type="textarea"),
)
CONTACT_FIELDS = (
    FormField("name", "Name", required=True, autocomplete="off"),
    FormField("role", "Role", placeholder="e.g. IT manager"),
    FormField("email", "Email", type="email", autocomplete="off"),
    PHONE,
)
SITE_FIELDS = (
    FormField("name", "Name", required=True, placeholder="e.g. Head office"),
    FormField("address", "Address", wide=True),
    FormField("city", "Town or city"),
    FormField("postcode", "Postcode"),
    FormField("country", "Country", hint=_hint(SiteCreate, "country")),
    FormField(
        "external_key", "External key", hint=_hint(SiteCreate, "external_key"), autocomplete="off"
    ),
)

EFFECTIVE_HINTS = {
    "new": "Empty means now. A past date records it as true since then; a future date plans it.",
    "edit": "Empty means now. A past date corrects the record from then on; "
    "a future date plans the change.",
    "remove": "Empty means now. A past date records that it ended then; a future date plans it.",
}


def when_fields(mode: str) -> tuple[FormField, ...]:
    return (
        FormField("effective", "Effective from", type="date", hint=EFFECTIVE_HINTS[mode]),
        FormField("reason", "Reason", hint="Kept with the change in the journal.", wide=True),
    )


WHEN = ("effective", "reason")


def _names(fields: tuple[FormField, ...]) -> list[str]:
    return [f.name for f in fields]


# --- reading helpers ------------------------------------------------------------------------


def _record(v: Versioned) -> dict[str, Any]:
    """A version as plain data for a template (the session is closed when it renders)."""
    return {
        **v.data(),
        "id": v.entity_id,
        "valid_from": v.valid_from,
        "valid_to": open_end(v.valid_to),
        "recorded_from": v.recorded_from,
        "seq": v.seq,
    }


def _view_on(text: str | None) -> AsOf:
    """The valid time a form was opened at (`on`), as known now; bad input means now."""
    times, _ = parse_times({"on": text})
    return AsOf.of(times["on"], None)


def _seen_at(path: str, effective: datetime | None) -> str:
    """Where a change can be seen: a planned one on the day it takes effect."""
    if effective is not None and effective > utcnow():
        return url(path, on=instant_param(effective))
    return path


def _effect_note(effective: datetime | None) -> str:
    if effective is None:
        return ""
    if effective > utcnow():
        return f" It takes effect on {instant_text(effective)}: this is the record as planned."
    return f" Recorded as true from {instant_text(effective)}."


def _banner(asof: AsOfForm) -> dict[str, Any] | None:
    """What the page says when it shows another time than now."""
    if asof.on is None and asof.known_at is None:
        return None
    kind = "known"
    if asof.on is not None:
        kind = "future" if asof.on > utcnow() else "past"
    return {
        "kind": kind,
        "on": instant_text(asof.on) if asof.on else None,
        "known_at": instant_text(asof.known_at) if asof.known_at else None,
        "now_url": asof.now_url,
    }


def _name_now(periods: list[dict[str, Any]]) -> str:
    """The customer's name today, else in its latest period (one that starts later)."""
    now = utcnow()
    current = [p for p in periods if p["valid_from"] <= now < (p["valid_to"] or FOREVER)]
    chosen = current[0] if current else periods[-1] if periods else {}
    return str(chosen.get("name") or "Customer")


def _not_on_record(name: str, asof: AsOfForm) -> str:
    on = f"on {instant_text(asof.on)}" if asof.on else "today"
    known = f", as Accord knew it at {instant_text(asof.known_at)}" if asof.known_at else ""
    return f"{name} is not on record {on}{known}."


def _periods(
    periods: list[dict[str, Any]], path: str, when: AsOf, known: str
) -> list[dict[str, Any]]:
    """The customer's valid-time periods, newest first, each linking to its view."""
    now = utcnow()
    out = []
    for p in reversed(periods):
        end = p["valid_to"] or FOREVER
        out.append(
            {
                **p,
                "from_text": instant_text(p["valid_from"]),
                "to_text": instant_text(p["valid_to"]) if p["valid_to"] else None,
                "viewing": p["valid_from"] <= when.on < end,
                "planned": p["valid_from"] > now,
                "url": url(path, on=instant_param(p["valid_from"]), known_at=known),
            }
        )
    return out


# --- customers: list and detail ---------------------------------------------------------------


@router.get("/")
def home() -> Response:
    return redirect("/customers")


@router.get("/customers")
def customers(
    request: Request,
    actor: PageActor,
    db: DbDep,
    q: Annotated[str, Query(max_length=200, pattern=r"^[^\x00]*$")] = "",
    status: str = "",
    page_no: Annotated[int, Query(alias="page", ge=1, le=1_000_000)] = 1,
    on: str = "",
    known_at: str = "",
) -> Response:
    status_filter = status if status in {v for v, _ in STATUS_CHOICES} else ""
    asof = as_of_form(
        "/customers", on=on, known_at=known_at, keep={"q": q, "status": status_filter}
    )
    when = AsOf.of(asof.on, asof.known_at)
    view = asof.params()
    with db.reading() as s:
        rows, total = queries.list_customers(
            s,
            actor=actor,
            when=when,
            q=q or None,
            status=status_filter or None,
            limit=PER_PAGE,
            offset=(page_no - 1) * PER_PAGE,
        )
        items = [{**_record(c), "url": url(f"/customers/{c.entity_id}", **view)} for c in rows]
    return page(
        request,
        "parties/customers.html",
        {
            "section": "customers",
            "items": items,
            "total": total,
            "q": q,
            "status": status_filter,
            "statuses": STATUS_CHOICES,
            "asof": asof,
            "view": view,
            "clear_url": url("/customers", **view),
            "banner": _banner(asof),
            "pager": pager(
                total=total,
                page_no=page_no,
                per_page=PER_PAGE,
                path="/customers",
                params={"q": q, "status": status_filter, **view},
            ),
            "can_write": actor.may(*PARTY_WRITERS),
        },
        status_code=422 if asof.form.errors else 200,
    )


@router.get("/customers/new")
def new_customer_form(request: Request, actor: PageActor) -> Response:
    require(actor, *PARTY_WRITERS)
    return _customer_form(request, FormState(values={"status": CustomerStatus.ACTIVE.value}))


@router.post("/customers")
def create_customer(request: Request, actor: PageActor, db: DbDep, form: CheckedForm) -> Response:
    require(actor, *PARTY_WRITERS)
    try:
        data = parse(CustomerCreate, given(form, [*_names(CUSTOMER_FIELDS), *WHEN]))
        with db.unit_of_work() as s:
            customer_id = service.create_customer(s, actor=actor, data=data)
    except Invalid as exc:
        state = FormState.failed(form, exc, CUSTOMER_FIELDS + when_fields("new"))
        return _customer_form(request, state, status_code=422)
    flash(request, f"Customer {data.name} created.{_effect_note(data.effective)}")
    return redirect(_seen_at(f"/customers/{customer_id}", data.effective))


def _customer_form(
    request: Request,
    form: FormState,
    *,
    customer: Mapping[str, Any] | None = None,
    view_on: str = "",
    status_code: int = 200,
) -> Response:
    if customer is None:
        ctx = {
            "title": "New customer",
            "crumbs": [("Customers", "/customers")],
            "action": "/customers",
            "mode": "new",
            "submit": "Create customer",
            "cancel": "/customers",
        }
    else:
        path = f"/customers/{customer['id']}"
        ctx = {
            "title": f"Edit {customer['name']}",
            "crumbs": [("Customers", "/customers"), (customer["name"], url(path, on=view_on))],
            "crumb": "Edit",
            "action": f"{path}/edit",
            "mode": "edit",
            "submit": "Save change",
            "cancel": url(path, on=view_on),
            "shown_as_of": instant_text(customer["valid_from"]) if view_on else None,
        }
    return page(
        request,
        "parties/record_form.html",
        {
            **ctx,
            "section": "customers",
            "form": form,
            "fields": CUSTOMER_FIELDS,
            "when_fields": when_fields(str(ctx["mode"])),
            "view_on": view_on,
        },
        status_code=status_code,
    )


@router.get("/customers/{customer_id}")
def customer(
    request: Request,
    actor: PageActor,
    db: DbDep,
    customer_id: RecordId,
    on: str = "",
    known_at: str = "",
) -> Response:
    path = f"/customers/{customer_id}"
    asof = as_of_form(path, on=on, known_at=known_at)
    when = AsOf.of(asof.on, asof.known_at)
    view = asof.params()
    found: dict[str, Any] | None = None
    contacts: list[dict[str, Any]] = []
    sites: list[dict[str, Any]] = []
    with db.reading() as s:
        # The timeline first: it is NotFound for another tenant's (or no) customer.
        periods = [
            _record(p)
            for p in queries.customer_timeline(s, actor, customer_id, known_at=when.known_at)
        ]
        try:
            found = _record(queries.get_customer_for(s, actor, customer_id, when=when))
        except NotFound:
            # Not on record then: name it as it is known now, so the page says whose it is.
            known_now = periods or [
                _record(p)
                for p in queries.customer_timeline(s, actor, customer_id, known_at=utcnow())
            ]
            name = _name_now(known_now)
        else:
            name = found["name"]
            contacts = [_record(c) for c in queries.contacts_of(s, actor, customer_id, when=when)]
            sites = [_record(x) for x in queries.sites_of(s, actor, customer_id, when=when)]
    now = utcnow()
    planned = next((p for p in periods if p["valid_from"] > now), None)
    on_param = view.get("on")
    status_code = 422 if asof.form.errors else 404 if found is None else 200
    return page(
        request,
        "parties/customer.html",
        {
            "section": "customers",
            "customer": found,
            "name": name,
            "missing": None if found else _not_on_record(name, asof),
            "contacts": contacts,
            "sites": sites,
            "periods": _periods(periods, path, when, view.get("known_at", "")),
            "asof": asof,
            "banner": _banner(asof),
            "planned": {
                "from": instant_text(planned["valid_from"]),
                "url": url(path, on=instant_param(planned["valid_from"])),
            }
            if planned and asof.on is None
            else None,
            "path": path,
            "list_url": url("/customers", **view),
            "edit_url": url(f"{path}/edit", on=on_param),
            "history_url": f"{path}/history",
            "on_param": on_param or "",
            "can_write": actor.may(*PARTY_WRITERS),
        },
        status_code=status_code,
    )


@router.get("/customers/{customer_id}/edit")
def edit_customer_form(
    request: Request, actor: PageActor, db: DbDep, customer_id: RecordId, on: str = ""
) -> Response:
    with db.reading() as s:
        found = _record(
            queries.get_customer_for(s, actor, customer_id, when=_view_on(on), write=True)
        )
    shown_values = values_of(found, CUSTOMER_FIELDS)
    state = FormState(values={**shown_values, "effective": on}, originals=shown_values)
    return _customer_form(request, state, customer=found, view_on=on)


@router.post("/customers/{customer_id}/edit")
def change_customer(
    request: Request, actor: PageActor, db: DbDep, customer_id: RecordId, form: CheckedForm
) -> Response:
    require(actor, *PARTY_WRITERS)
    payload = {**changed(form, _names(CUSTOMER_FIELDS)), **given(form, WHEN)}
    try:
        data = parse(CustomerUpdate, payload)
        with db.unit_of_work() as s:
            service.change_customer(s, actor=actor, customer_id=customer_id, data=data)
    except Invalid as exc:
        view_on = form.get("view_on", "")
        with db.reading() as s:
            found = _record(
                queries.get_customer_for(s, actor, customer_id, when=_view_on(view_on), write=True)
            )
        originals = {f.name: form.get(f"was_{f.name}", "") for f in CUSTOMER_FIELDS}
        state = FormState.failed(form, exc, CUSTOMER_FIELDS + when_fields("edit"), originals)
        return _customer_form(request, state, customer=found, view_on=view_on, status_code=422)
    flash(request, f"Change saved.{_effect_note(data.effective)}")
    return redirect(_seen_at(f"/customers/{customer_id}", data.effective))


# --- history ---------------------------------------------------------------------------------

LABELS = {"code": "Account code", "city": "Town or city"}
HIDDEN_FIELDS = {"customer_id"}


def _field_name(pointer: str) -> str:
    """The top-level field an RFC 6901 JSON Pointer names."""
    first = pointer.lstrip("/").split("/", 1)[0]
    return first.replace("~1", "/").replace("~0", "~")


def _change(c: Mapping[str, Any], customer_id: str) -> dict[str, Any]:
    """One journal entry as the history page shows it: what changed, from what to what."""
    e = c["entry"]
    before, after = c["before"] or {}, c["after"] or {}
    fields = []
    if e.op != "end":
        for op in c["patch"]:
            name = _field_name(op["path"])
            if name in HIDDEN_FIELDS:
                continue
            fields.append(
                {
                    "label": LABELS.get(name, name.replace("_", " ").capitalize()),
                    "old": shown(before.get(name)),
                    "new": shown(after.get(name)),
                }
            )
    return {
        "seq": e.seq,
        "at": e.at,
        "actor": e.actor,
        "op": str(e.op),
        "type": e.type,
        "title": f"{e.type.capitalize()} {e.kind.rsplit('.', 1)[-1]}",
        "subject": after.get("name") or before.get("name") or e.data.get("name") or "",
        "from_text": instant_text(e.valid_from),
        "to_text": None if e.valid_to == FOREVER else instant_text(e.valid_to),
        "reason": e.reason,
        "fields": fields,
        "view_url": url(
            f"/customers/{customer_id}",
            on=instant_param(e.valid_from),
            known_at=instant_param(e.at),
        ),
    }


@router.get("/customers/{customer_id}/history")
def history(request: Request, actor: PageActor, db: DbDep, customer_id: RecordId) -> Response:
    path = f"/customers/{customer_id}"
    now = AsOf.now()
    with db.reading() as s:
        changes = [_change(c, customer_id) for c in queries.customer_history(s, actor, customer_id)]
        periods = [
            _record(p)
            for p in queries.customer_timeline(s, actor, customer_id, known_at=now.known_at)
        ]
    return page(
        request,
        "parties/history.html",
        {
            "section": "customers",
            "name": _name_now(periods),
            "path": path,
            "changes": changes,
            "periods": _periods(periods, path, now, ""),
        },
    )


# --- contacts and sites ----------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """Contacts and sites: records of a customer with the same forms and rules."""

    noun: str
    plural: str
    fields: tuple[FormField, ...]
    create: type[BaseModel]
    update: type[BaseModel]
    get: Callable[..., Versioned]
    add: Callable[..., str]
    change: Callable[[Session, Actor, str, Any], None]
    remove: Callable[[Session, Actor, str, Removal], None]


CONTACT = Part(
    noun="contact",
    plural="contacts",
    fields=CONTACT_FIELDS,
    create=ContactCreate,
    update=ContactUpdate,
    get=queries.get_contact_for,
    add=service.add_contact,
    change=lambda s, a, id_, d: service.change_contact(s, actor=a, contact_id=id_, data=d),
    remove=lambda s, a, id_, d: service.remove_contact(s, actor=a, contact_id=id_, data=d),
)
SITE = Part(
    noun="site",
    plural="sites",
    fields=SITE_FIELDS,
    create=SiteCreate,
    update=SiteUpdate,
    get=queries.get_site_for,
    add=service.add_site,
    change=lambda s, a, id_, d: service.change_site(s, actor=a, site_id=id_, data=d),
    remove=lambda s, a, id_, d: service.remove_site(s, actor=a, site_id=id_, data=d),
)


def _part_page(
    request: Request,
    part: Part,
    *,
    mode: str,
    customer: Mapping[str, Any],
    item: Mapping[str, Any] | None,
    form: FormState,
    view_on: str,
    status_code: int = 200,
) -> Response:
    back = url(f"/customers/{customer['id']}", on=view_on)
    if mode == "new":
        title, action = f"Add a {part.noun}", f"/customers/{customer['id']}/{part.plural}"
    else:
        assert item is not None
        title = (
            f"Edit {item['name']}" if mode == "edit" else f"Remove {item['name']} as a {part.noun}"
        )
        action = f"/{part.plural}/{item['id']}/{mode}"
    return page(
        request,
        "parties/remove.html" if mode == "remove" else "parties/record_form.html",
        {
            "section": "customers",
            "title": title,
            "noun": part.noun,
            "item": item,
            "customer": customer,
            "crumbs": [("Customers", "/customers"), (customer["name"], back)],
            "crumb": title if mode == "new" else sentence(mode),
            "action": action,
            "mode": mode,
            "submit": {
                "new": f"Add {part.noun}",
                "edit": "Save change",
                "remove": f"Remove {part.noun}",
            }[mode],
            "cancel": back,
            "form": form,
            "fields": () if mode == "remove" else part.fields,
            "when_fields": when_fields(mode),
            "view_on": view_on,
            "shown_as_of": instant_text(item["valid_from"]) if item and view_on else None,
        },
        status_code=status_code,
    )


def _load_part(
    db: DbDep, actor: Actor, part: Part, item_id: str, view_on: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The contact or site (writable by the actor) and its customer, as of `view_on`."""
    when = _view_on(view_on)
    with db.reading() as s:
        item = _record(part.get(s, actor, item_id, when=when, write=True))
        owner = _record(queries.get_customer_for(s, actor, item["customer_id"], when=when))
    return item, owner


def _new_part_form(
    request: Request, part: Part, actor: Actor, db: DbDep, customer_id: str, on: str
) -> Response:
    with db.reading() as s:
        owner = _record(
            queries.get_customer_for(s, actor, customer_id, when=_view_on(on), write=True)
        )
    state = FormState(values={"effective": on})
    return _part_page(request, part, mode="new", customer=owner, item=None, form=state, view_on=on)


def _add_part(
    request: Request, part: Part, actor: Actor, db: DbDep, customer_id: str, form: dict[str, str]
) -> Response:
    require(actor, *PARTY_WRITERS)
    try:
        data = parse(part.create, given(form, [*_names(part.fields), *WHEN]))
        with db.unit_of_work() as s:
            part.add(s, actor=actor, customer_id=customer_id, data=data)
    except Invalid as exc:
        view_on = form.get("view_on", "")
        with db.reading() as s:
            owner = _record(
                queries.get_customer_for(s, actor, customer_id, when=_view_on(view_on), write=True)
            )
        state = FormState.failed(form, exc, part.fields + when_fields("new"))
        return _part_page(
            request,
            part,
            mode="new",
            customer=owner,
            item=None,
            form=state,
            view_on=view_on,
            status_code=422,
        )
    effective = getattr(data, "effective", None)
    flash(
        request,
        f"{sentence(part.noun)} {getattr(data, 'name', '')} added.{_effect_note(effective)}",
    )
    return redirect(_seen_at(f"/customers/{customer_id}", effective))


def _edit_part_form(
    request: Request, part: Part, actor: Actor, db: DbDep, item_id: str, on: str
) -> Response:
    item, owner = _load_part(db, actor, part, item_id, on)
    shown_values = values_of(item, part.fields)
    state = FormState(values={**shown_values, "effective": on}, originals=shown_values)
    return _part_page(request, part, mode="edit", customer=owner, item=item, form=state, view_on=on)


def _change_part(
    request: Request, part: Part, actor: Actor, db: DbDep, item_id: str, form: dict[str, str]
) -> Response:
    require(actor, *PARTY_WRITERS)
    view_on = form.get("view_on", "")
    item, owner = _load_part(db, actor, part, item_id, view_on)
    try:
        data = parse(part.update, {**changed(form, _names(part.fields)), **given(form, WHEN)})
        with db.unit_of_work() as s:
            part.change(s, actor, item_id, data)
    except Invalid as exc:
        originals = {f.name: form.get(f"was_{f.name}", "") for f in part.fields}
        state = FormState.failed(form, exc, part.fields + when_fields("edit"), originals)
        return _part_page(
            request,
            part,
            mode="edit",
            customer=owner,
            item=item,
            form=state,
            view_on=view_on,
            status_code=422,
        )
    effective = getattr(data, "effective", None)
    flash(request, f"Change to {item['name']} saved.{_effect_note(effective)}")
    return redirect(_seen_at(f"/customers/{owner['id']}", effective))


def _remove_part_form(
    request: Request, part: Part, actor: Actor, db: DbDep, item_id: str, on: str
) -> Response:
    item, owner = _load_part(db, actor, part, item_id, on)
    state = FormState(values={"effective": on})
    return _part_page(
        request, part, mode="remove", customer=owner, item=item, form=state, view_on=on
    )


def _remove_part(
    request: Request, part: Part, actor: Actor, db: DbDep, item_id: str, form: dict[str, str]
) -> Response:
    require(actor, *PARTY_WRITERS)
    view_on = form.get("view_on", "")
    item, owner = _load_part(db, actor, part, item_id, view_on)
    try:
        data = parse(Removal, given(form, WHEN))
        with db.unit_of_work() as s:
            part.remove(s, actor, item_id, data)
    except Invalid as exc:
        state = FormState.failed(form, exc, when_fields("remove"))
        return _part_page(
            request,
            part,
            mode="remove",
            customer=owner,
            item=item,
            form=state,
            view_on=view_on,
            status_code=422,
        )
    since = instant_text(data.effective) if data.effective else "now"
    flash(
        request,
        f"{item['name']} is no longer a {part.noun} from {since}; "
        "what was true before stays on the record.",
    )
    return redirect(f"/customers/{owner['id']}")


def _add_routes(part: Part) -> None:
    """The six pages of a contact or a site (here for contacts):

    GET  /customers/{id}/contacts/new   the form     POST /customers/{id}/contacts  add
    GET  /contacts/{id}/edit            the form     POST /contacts/{id}/edit       change
    GET  /contacts/{id}/remove          confirm      POST /contacts/{id}/remove     remove
    """
    new, one = f"/customers/{{customer_id}}/{part.plural}", f"/{part.plural}/{{item_id}}"

    def new_form(
        request: Request, actor: PageActor, db: DbDep, customer_id: RecordId, on: str = ""
    ) -> Response:
        return _new_part_form(request, part, actor, db, customer_id, on)

    def add(
        request: Request, actor: PageActor, db: DbDep, customer_id: RecordId, form: CheckedForm
    ) -> Response:
        return _add_part(request, part, actor, db, customer_id, form)

    def edit_form(
        request: Request, actor: PageActor, db: DbDep, item_id: RecordId, on: str = ""
    ) -> Response:
        return _edit_part_form(request, part, actor, db, item_id, on)

    def change(
        request: Request, actor: PageActor, db: DbDep, item_id: RecordId, form: CheckedForm
    ) -> Response:
        return _change_part(request, part, actor, db, item_id, form)

    def remove_form(
        request: Request, actor: PageActor, db: DbDep, item_id: RecordId, on: str = ""
    ) -> Response:
        return _remove_part_form(request, part, actor, db, item_id, on)

    def remove(
        request: Request, actor: PageActor, db: DbDep, item_id: RecordId, form: CheckedForm
    ) -> Response:
        return _remove_part(request, part, actor, db, item_id, form)

    noun = part.noun
    router.add_api_route(f"{new}/new", new_form, methods=["GET"], name=f"new_{noun}_form")
    router.add_api_route(new, add, methods=["POST"], name=f"add_{noun}")
    router.add_api_route(f"{one}/edit", edit_form, methods=["GET"], name=f"edit_{noun}_form")
    router.add_api_route(f"{one}/edit", change, methods=["POST"], name=f"change_{noun}")
    router.add_api_route(f"{one}/remove", remove_form, methods=["GET"], name=f"remove_{noun}_form")
    router.add_api_route(f"{one}/remove", remove, methods=["POST"], name=f"remove_{noun}")


_add_routes(CONTACT)
_add_routes(SITE)
