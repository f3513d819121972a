"""Offers: the list, the form that makes one, an offer with its journey, its evidence pack.

The form makes an offer through the same service and schema as `POST /api/offers`; its
capture token is shown once, on the offer's page right after (kept in the session only
until then), with the tag to put on the organisation's own offer pages."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from accord.access import EVIDENCE_WRITERS, Actor, require
from accord.errors import Invalid, NotFound, parse
from accord.evidence import pack, queries, service
from accord.evidence.models import RRWEB_MEDIA_TYPE, EventKind, Offer
from accord.evidence.pages.common import (
    PER_PAGE,
    SECTION,
    STATUS_BADGE,
    STATUS_CHOICES,
    Filter,
    customer_choices,
    field_label,
    offer_summary,
    parameter_rows,
    screen_document,
    tabs,
    version_names,
)
from accord.evidence.schemas import OfferCreate
from accord.parties import queries as parties
from accord.store.temporal import AsOf
from accord.web.deps import DbDep
from accord.web.pages import (
    CheckedForm,
    FormField,
    FormState,
    PageActor,
    flash,
    given,
    page,
    pager,
    redirect,
    url,
)
from accord.web.params import RecordId

router = APIRouter(include_in_schema=False)

# --- offers ----------------------------------------------------------------------------------


@router.get("/offers")
def offers(
    request: Request,
    actor: PageActor,
    db: DbDep,
    customer: Filter = "",
    status: Annotated[str, Query(pattern=r"^(open|accepted|declined)?$")] = "",
    terms: Filter = "",
    page_no: Annotated[int, Query(alias="page", ge=1, le=1_000_000)] = 1,
) -> Response:
    with db.reading(detach=True) as s:
        rows, total = queries.list_offers(
            s,
            actor=actor,
            customer_id=customer or None,
            status=status or None,
            terms_version_id=terms or None,
            limit=PER_PAGE,
            offset=(page_no - 1) * PER_PAGE,
        )
        names = queries.customer_names(s, actor)
        versions = version_names(s, actor)
        customers = customer_choices(s, actor)
    items = []
    for o, outcome in rows:
        params = queries.parameters_of(o)
        items.append(
            {
                "id": o.entity_id,
                "made_at": o.valid_from,
                "customer": names.get(o.customer_id, "Unknown customer"),
                "customer_id": o.customer_id,
                "product": o.product,
                "summary": offer_summary(params),
                "terms": versions.get(o.terms_version_id, {}).get("name", ""),
                "terms_id": o.terms_version_id,
                "status": o.status,
                "badge": STATUS_BADGE[o.status],
                "decided_at": outcome.at if outcome else None,
            }
        )
    filters = {"customer": customer, "status": status, "terms": terms}
    return page(
        request,
        "evidence/offers.html",
        {
            "section": SECTION,
            "tabs": tabs("offers"),
            "items": items,
            "total": total,
            "customers": customers,
            "statuses": STATUS_CHOICES,
            "versions": sorted(versions.items(), key=lambda kv: kv[1]["name"]),
            "filters": filters,
            "filtered": any(filters.values()),
            "export_url": f"/evidence/export?customer={customer}" if customer else None,
            "can_write": actor.may(*EVIDENCE_WRITERS),
            "new_url": url("/offers/new", customer=customer),
            "pager": pager(
                total=total, page_no=page_no, per_page=PER_PAGE, path="/offers", params=filters
            ),
        },
    )


def _event_view(s: queries.Screen, offer_id: str) -> dict[str, Any]:
    e = s.event
    view: dict[str, Any] = {
        "n": e.n,
        "kind": e.kind,
        "at": e.at,
        "recorded_at": e.recorded_from,
        "seq": e.seq,
        "screen": e.screen,
        "url": e.url,
        "title": e.title,
        "field": e.field,
        "label": e.label or e.field,
        "value": e.value,
        "source": e.source,
        "ip": e.ip,
        "user_agent": e.user_agent,
    }
    if e.kind == EventKind.SCREEN:
        view["srcdoc"] = screen_document(s.content or b"", s.media_type)
        view["raw_url"] = f"/api/offers/{offer_id}/events/{e.n}/screen"
        view["rrweb"] = s.media_type == RRWEB_MEDIA_TYPE
        view["form"] = [
            {
                **f,
                "box": f.get("type") in ("checkbox", "radio"),
                "shown": f.get("label") or f.get("name"),
            }
            for f in (s.form or [])
        ]
    return view


@router.get("/offers/{offer_id}/pack")
def offer_pack(request: Request, actor: PageActor, db: DbDep, offer_id: RecordId) -> Response:
    """The offer's evidence pack as a page in the site's layout (the PDF's body, proven
    against the latest checkpoint). The signed PDF is at /api/offers/{id}/pack.pdf."""
    ctx = pack.page_context(db, actor, offer_id, request.app.state.settings.key_dir)
    return page(request, "evidence/pack.html", {**ctx, "section": SECTION, "tabs": tabs("offers")})


# --- making an offer ---------------------------------------------------------------------------

#: The parameters with a field of their own; any other is a row of name and value.
NAMED = ("amount", "currency", "term", "rate")
EXTRA_ROWS = 3  # empty rows for other parameters (one more each time the form comes back)
MAX_ROWS = 100
#: Where the capture token of an offer just made waits for its page, which shows it once.
NEW_TOKEN = "evidence.new_offer"


def _offer_fields(contacts: list[tuple[str, str]]) -> tuple[FormField, ...]:
    return (
        FormField("customer_id", "Customer", required=True),  # chosen first, then hidden
        FormField(
            "contact_id",
            "Made to",
            type="select",
            choices=tuple(contacts),
            hint="One of the customer's contacts: the person it is offered to.",
        ),
        FormField("product", "Product", required=True, placeholder="e.g. Managed IT Support"),
        FormField("amount", "Amount", required=True, placeholder="e.g. 1180.00"),
        FormField("currency", "Currency", placeholder="e.g. GBP"),
        FormField("term", "Term", required=True, placeholder="e.g. 24 months"),
        FormField("rate", "Rate", placeholder="e.g. 6.9% APR"),
        FormField("terms_version_id", "Terms version", required=True),  # by document
        FormField(
            "effective",
            "Made",
            type="datetime-local",
            hint="UTC. Empty means now; an offer made earlier (by phone, on paper) is "
            "recorded from then.",
        ),
    )


def _rows(form: Mapping[str, str]) -> list[tuple[int, str, str]]:
    """The other parameters as typed: (row, name, value), each row that has either."""
    out = []
    for i in range(MAX_ROWS):
        name = form.get(f"param_name_{i}", "").strip()
        value = form.get(f"param_value_{i}", "").strip()
        if name or value:
            out.append((i, name, value))
    return out


def _row_fields(count: int) -> tuple[FormField, ...]:
    return tuple(
        FormField(f"param_{part}_{i}", "Name" if part == "name" else "Value")
        for i in range(count)
        for part in ("name", "value")
    )


def _offer_data(form: Mapping[str, str]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """What the form says, as `POST /api/offers` takes it, and the problems of the rows of
    other parameters that only a form can have (a value without a name, a name twice)."""
    params: dict[str, Any] = {k: v.strip() for k, v in given(form, NAMED).items()}
    problems = []
    for i, name, value in _rows(form):
        if not name:
            problems.append((f"param_name_{i}", "Give this value a name, or empty it."))
        elif not value:
            problems.append((f"param_value_{i}", f"Give {name} a value, or empty its name."))
        elif name in NAMED:
            problems.append((f"param_name_{i}", f"The name {name} has a field of its own above."))
        elif name in params:
            problems.append((f"param_name_{i}", f"The name {name} is given twice."))
        else:
            params[name] = value
    data: dict[str, Any] = {
        **given(form, ["customer_id", "contact_id", "product", "terms_version_id", "effective"]),
        "parameters": params,
    }
    return data, problems


def _beside_fields(exc: Invalid, form: Mapping[str, str]) -> Invalid:
    """The problems with the parameters, each beside the field or row it is about (the
    schema names them in one reason: "amount: required; 'x y': a name is ...")."""
    rows = {name: i for i, name, _ in _rows(form) if name}
    out: list[tuple[str, str]] = []
    for where, reason in exc.problems:
        if where != "parameters":
            out.append((where, reason))
            continue
        for part in reason.removeprefix("Value error, ").split("; "):
            key, _, why = part.partition(": ")
            key = re.split(r"[.\[]", key.strip("'\""), maxsplit=1)[0]
            if why and key in NAMED:
                out.append((key, why))
            elif why and key in rows:
                side = "name" if why.startswith("a name is") else "value"
                out.append((f"param_{side}_{rows[key]}", why))
            else:
                out.append(("parameters", part))
    return Invalid(out)


def _offer_form(
    request: Request,
    db: DbDep,
    actor: Actor,
    customer_id: str,
    form: FormState,
    *,
    status_code: int = 200,
) -> Response:
    customer = None
    contacts: list[tuple[str, str]] = []
    with db.reading(detach=True) as s:
        if customer_id:
            try:
                found = parties.get_customer_for(s, actor, customer_id)
                customer = {"id": found.entity_id, "name": found.name, "code": found.code}
                contacts = [
                    (c.entity_id, ", ".join(x for x in (c.name, c.role, c.email) if x))
                    for c in parties.contacts_of(s, actor, customer_id, when=AsOf.now())
                ]
            except NotFound:
                form.errors.setdefault("customer", "No such customer: choose one from the list.")
                status_code = 404 if status_code == 200 else status_code
        customers = customer_choices(s, actor)
        versions = _version_choices(s, actor)
    rows = max(EXTRA_ROWS, max((i for i, _, _ in _rows(form.values)), default=-1) + 2)
    fields = _offer_fields(contacts)
    return page(
        request,
        "evidence/offer_form.html",
        {
            "section": SECTION,
            "tabs": tabs("offers"),
            "form": form,
            "customer": customer,
            "customers": customers,
            "fields": {f.name: f for f in fields},
            "rows": range(min(rows, MAX_ROWS)),
            "versions": versions,
        },
        status_code=status_code,
    )


def _version_choices(s: Session, actor: Actor) -> list[tuple[str, list[tuple[str, str]]]]:
    """Every terms version by document, newest first, the one in effect marked."""
    out = []
    for d in queries.list_documents(s, actor):
        versions = queries.versions_of(s, actor, d.entity_id)
        latest = queries.latest_version(versions)
        choices = []
        for v in reversed(versions):
            mark = ""
            if latest is not None and v.entity_id == latest.entity_id:
                mark = " (in effect)"
            elif latest is None or v.effective_from > latest.effective_from:
                mark = f" (applies from {v.effective_from:%Y-%m-%d})"
            choices.append((v.entity_id, f"{d.code} {v.label}{mark}"))
        if choices:
            out.append((f"{d.title} ({d.code})", choices))
    return out


@router.get("/offers/new")
def new_offer(request: Request, actor: PageActor, db: DbDep, customer: Filter = "") -> Response:
    require(actor, *EVIDENCE_WRITERS)
    state = FormState(values={"customer_id": customer, "currency": "GBP"})
    return _offer_form(request, db, actor, customer, state)


@router.post("/offers")
def make_offer(request: Request, actor: PageActor, db: DbDep, form: CheckedForm) -> Response:
    require(actor, *EVIDENCE_WRITERS)
    data, row_problems = _offer_data(form)
    try:
        try:
            offer = parse(OfferCreate, data)
        except Invalid as exc:
            raise Invalid([*row_problems, *exc.problems]) from None
        if row_problems:
            raise Invalid(row_problems)
        with db.unit_of_work() as s:
            offer_id, token = service.create_offer(s, actor=actor, data=offer)
    except Invalid as exc:
        fields = (*_offer_fields([]), *_row_fields(MAX_ROWS))
        state = FormState.failed(form, _beside_fields(exc, form), fields)
        customer_id = form.get("customer_id", "").strip()
        return _offer_form(request, db, actor, customer_id, state, status_code=422)
    # Shown once, by the offer's page; Accord keeps only the token's SHA-256.
    request.session[NEW_TOKEN] = {"offer": offer_id, "token": token}
    flash(request, f"Offer made: {offer.product}.")
    return redirect(f"/offers/{offer_id}")


@router.get("/offers/{offer_id}")
def offer(request: Request, actor: PageActor, db: DbDep, offer_id: RecordId) -> Response:
    new = request.session.get(NEW_TOKEN)
    token = None
    if isinstance(new, dict) and new.get("offer") == offer_id:
        token = str(request.session.pop(NEW_TOKEN)["token"])
    with db.reading(detach=True) as s:
        ev = queries.offer_evidence(s, actor, offer_id)
        history = queries.offer_history(s, actor, offer_id)
        journey = [_event_view(x, offer_id) for x in ev.events]
    o: Offer = ev.offer
    then = ev.customer_then
    changed = [
        {
            "field": field_label(p["path"].lstrip("/")),
            "op": p["op"],
            "old": then.data().get(p["path"].lstrip("/")),
            "new": p.get("value"),
        }
        for p in ev.customer_patch
    ]
    ticks = sum(1 for j in journey if j["kind"] in ("tick", "untick"))
    screens = sum(1 for j in journey if j["kind"] == "screen")
    shown = page(
        request,
        "evidence/offer.html",
        {
            "section": SECTION,
            "tabs": tabs("offers"),
            "o": o,
            "made_at": ev.made_at,
            "made_by": history[0].actor if history else "",
            "badge": STATUS_BADGE[o.status],
            "parameters": parameter_rows(ev.parameters),
            "summary": offer_summary(ev.parameters),
            "customer": then,
            "customer_now": ev.customer_now,
            "changed": changed,
            "changes_since": ev.customer_changes,
            "contact": ev.contact,
            "decided_by": ev.decided_by,
            "outcome": ev.outcome,
            "document": ev.document,
            "terms": ev.terms,
            "journey": journey,
            "screens": screens,
            "ticks": ticks,
            "seqs": ev.seqs,
            "can_write": actor.may(*EVIDENCE_WRITERS),
            "origin": str(request.base_url).rstrip("/"),
            "new_token": token,
        },
    )
    if token:
        shown.headers["Cache-Control"] = "no-store"  # the token is on this answer only
    return shown
