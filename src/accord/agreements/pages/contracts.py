"""Contract pages: the list, a new contract, one contract with its lines and history, and
the renew and cancel forms.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from accord.access import AGREEMENT_WRITERS, Actor, require
from accord.agreements import exports, queries, service
from accord.agreements.models import BillingPeriod, Contract
from accord.agreements.pages.common import (
    REASON,
    Action,
    customer_name,
    customer_names,
    day_text,
    failed_form,
    field_names,
    form_page,
    hours,
    joined_spans,
    level_names,
    line_label,
    time_banner,
)
from accord.agreements.queries import AsOf
from accord.agreements.schemas import Cancellation, ContractCreate, Renewal
from accord.errors import Invalid, parse
from accord.parties import queries as parties
from accord.store.db import FOREVER, utcnow
from accord.web.deps import DbDep
from accord.web.pages import (
    CheckedForm,
    FormField,
    FormState,
    PageActor,
    as_of_form,
    flash,
    given,
    instant_text,
    page,
    redirect,
    sentence,
    url,
)
from accord.web.params import RecordId

router = APIRouter(include_in_schema=False)

# --- contracts: list ------------------------------------------------------------------------


def _status(c: Contract, periods: Sequence[Contract], on: datetime) -> tuple[str, str]:
    """A contract's standing on `on`, in words, and a badge kind."""
    last_end = max(p.valid_to for p in periods) if periods else c.valid_to
    first = min(p.valid_from for p in periods) if periods else c.valid_from
    cancelled = next((p.cancelled_from for p in periods if p.cancelled_from), c.cancelled_from)
    if on < first:
        return f"starts {day_text(first)}", "planned"
    if on < last_end:
        if cancelled is not None:
            return f"cancelled from {day_text(cancelled)}", "ending"
        if last_end != FOREVER:
            return f"ends {day_text(last_end)}", "active"
        return "in force", "active"
    if cancelled is not None:
        return f"cancelled from {day_text(cancelled)}", "former"
    return f"ended {day_text(last_end)}", "former"


def _contract_row(
    s: Session, actor: Actor, c: Contract, when: AsOf, names: Mapping[str, str]
) -> dict[str, Any]:
    periods = queries.contract_periods(s, actor, c.entity_id, known_at=when.known_at)
    status, kind = _status(c, periods, when.on)
    return {
        **c.data(),
        "id": c.entity_id,
        "customer": names.get(c.customer_id, ""),
        "status": status,
        "status_kind": kind,
        "periods": [(day_text(a), day_text(b) or None) for a, b in joined_spans(periods)],
    }


@router.get("/contracts")
def contracts(
    request: Request,
    actor: PageActor,
    db: DbDep,
    q: Annotated[str, Query(max_length=200, pattern=r"^[^\x00]*$")] = "",
    customer: Annotated[str, Query(max_length=64, pattern=r"^[0-9A-Za-z-]*$")] = "",
    on: str = "",
    known_at: str = "",
) -> Response:
    asof = as_of_form("/contracts", on=on, known_at=known_at, keep={"q": q, "customer": customer})
    when = AsOf.of(asof.on, asof.known_at)
    view = asof.params()
    with db.reading() as s:
        names = customer_names(s, actor, when)
        rows = queries.list_contracts(
            s, actor=actor, when=when, customer_id=customer or None, q=q or None
        )
        items = [
            {
                **_contract_row(s, actor, c, when, names),
                "url": url(f"/contracts/{c.entity_id}", **view),
            }
            for c in rows
        ]
    customers = sorted(names.items(), key=lambda kv: kv[1].lower())
    return page(
        request,
        "agreements/contracts.html",
        {
            "section": "contracts",
            "items": items,
            "q": q,
            "customer": customer,
            "customers": customers,
            "asof": asof,
            "view": view,
            "banner": time_banner(asof),
            "clear_url": url("/contracts", **view),
            "can_write": actor.may(*AGREEMENT_WRITERS),
        },
        status_code=422 if asof.form.errors else 200,
    )


# --- contracts: new ------------------------------------------------------------------------------

BILLING = tuple((b.value, b.value.capitalize()) for b in BillingPeriod)


def _contract_fields(customers: Sequence[tuple[str, str]]) -> tuple[FormField, ...]:
    return (
        FormField(
            "customer_id", "Customer", type="select", required=True, choices=tuple(customers)
        ),
        FormField(
            "reference",
            "Reference",
            required=True,
            hint="The contract number both sides use, e.g. NW-MSP-0042.",
            autocomplete="off",
        ),
        FormField("title", "Title", required=True, placeholder="e.g. Managed support"),
        FormField("start", "Starts", type="date", required=True),
        FormField(
            "term_end",
            "End of first term",
            type="date",
            hint="The first day no longer in force. Empty: rolling until cancelled.",
        ),
        FormField("renewal_months", "Renewal term (months)", hint="E.g. 12."),
        FormField("notice_days", "Notice (days)", hint="Empty means 30."),
        FormField("billing_period", "Billing", type="select", required=True, choices=BILLING),
        FormField("currency", "Currency", required=True, hint="ISO 4217, e.g. GBP, EUR, USD."),
    )


def _customer_choices(s: Session, actor: Actor) -> list[tuple[str, str]]:
    rows, _ = parties.list_customers(s, actor=actor, when=AsOf.now(), limit=100_000)
    return [(c.entity_id, f"{c.name} ({c.code})") for c in rows]


def _new_contract_page(
    request: Request, db: DbDep, actor: Actor, form: FormState, status_code: int = 200
) -> Response:
    with db.reading() as s:
        customers = _customer_choices(s, actor)
    action = Action(
        title="New contract",
        submit="Create contract",
        intro="A contract is in force from its start to the end of its term (renewed by "
        "its renewal term), or until cancelled when rolling. Add its lines next.",
        fields=_contract_fields(customers),
        when=(
            FormField("reason", "Reason", hint="Kept with the change in the journal.", wide=True),
        ),
    )
    return form_page(
        request,
        action,
        form=form,
        post_to="/contracts",
        cancel="/contracts",
        crumbs=[("Contracts", "/contracts")],
        view_on="",
        section="contracts",
        status_code=status_code,
    )


@router.get("/contracts/new")
def new_contract_form(
    request: Request, actor: PageActor, db: DbDep, customer: str = ""
) -> Response:
    require(actor, *AGREEMENT_WRITERS)
    state = FormState(
        values={
            "customer_id": customer,
            "billing_period": "monthly",
            "currency": "GBP",
            "notice_days": "30",
        }
    )
    return _new_contract_page(request, db, actor, state)


@router.post("/contracts")
def create_contract(request: Request, actor: PageActor, db: DbDep, form: CheckedForm) -> Response:
    require(actor, *AGREEMENT_WRITERS)
    fields = _contract_fields(())
    try:
        data = parse(ContractCreate, given(form, [*field_names(fields), "reason"]))
        with db.unit_of_work() as s:
            contract_id = service.create_contract(s, actor=actor, data=data)
    except Invalid as exc:
        state = failed_form(form, exc, (*fields, REASON))
        return _new_contract_page(request, db, actor, state, status_code=422)
    flash(request, f"Contract {data.reference} created. Add the assets it covers as lines.")
    return redirect(f"/contracts/{contract_id}")


# --- contracts: one contract ---------------------------------------------------------------------

KIND_TITLES = {
    "agreements.contract.created": "Contract created",
    "agreements.contract.changed": "Contract changed",
    "agreements.contract.renewed": "Contract renewed",
    "agreements.contract.cancelled": "Contract cancelled",
    "agreements.line.added": "Line added",
    "agreements.line.changed": "Line changed",
    "agreements.line.removed": "Line taken off",
    "agreements.line.corrected": "Line period corrected",
}


def _history(
    s: Session,
    actor: Actor,
    contract_id: str,
    currency: str,
    labels: Mapping[str, str],
    known_at: datetime,
) -> list[dict[str, Any]]:
    """The changes to the contract and to every line it has had, newest first, as recorded
    by `known_at` (the history as it stood then)."""
    entries = [
        c["entry"] for c in queries.contract_history(s, actor, contract_id, known_at=known_at)
    ]
    out: list[dict[str, Any]] = []
    for e in entries:
        title = KIND_TITLES.get(e.kind, e.kind.rsplit(".", 1)[-1])
        prev = out[-1] if out else None
        # A cancellation is two entries in one change (the versions before it, its end).
        if prev and prev["kind"] == e.kind and prev["at"] == e.at and prev["reason"] == e.reason:
            continue
        details = []
        d = e.data
        if "price" in d and d["price"] is not None:
            details.append(f"price {exports.money(d['price'], currency)}")
        if "budget_minutes" in d and d["budget_minutes"] is not None:
            details.append(f"budget {hours(d['budget_minutes'])} a month")
        if d.get("cancelled_from"):
            details.append(f"effective {d['cancelled_from'][:10]}")
        if e.kind.endswith("renewed") and d.get("term_end"):
            details.append(f"until {str(d['term_end'])[:10]}")
        out.append(
            {
                "seq": e.seq,
                "kind": e.kind,
                "title": title,
                "subject": labels.get(e.id, "") if e.type == "contract_line" else "",
                "at": e.at,
                "actor": e.actor,
                "from_text": instant_text(e.valid_from),
                "to_text": None if e.valid_to == FOREVER else instant_text(e.valid_to),
                "op": str(e.op),
                "reason": e.reason,
                "details": ", ".join(details),
            }
        )
    return out


@router.get("/contracts/{contract_id}")
def contract(
    request: Request,
    actor: PageActor,
    db: DbDep,
    contract_id: RecordId,
    on: str = "",
    known_at: str = "",
) -> Response:
    path = f"/contracts/{contract_id}"
    asof = as_of_form(path, on=on, known_at=known_at)
    when = AsOf.of(asof.on, asof.known_at)
    view = asof.params()
    with db.reading() as s:
        c = queries.get_contract_for(s, actor, contract_id, when)
        periods = queries.contract_periods(s, actor, contract_id, known_at=when.known_at)
        status, kind = _status(c, periods, when.on)
        customer = customer_name(s, actor, c.customer_id, when)
        levels = level_names(s, actor)
        lines = []
        labels: dict[str, str] = {}
        line_ids = set()
        for ln in queries.lines_of(s, actor, contract_id, when=when):
            spans = joined_spans(
                queries.line_periods(s, actor, ln.entity_id, known_at=when.known_at)
            )
            label = line_label(s, actor, ln, when)
            labels[ln.entity_id] = label["what"]
            line_ids.add(ln.entity_id)
            start, end = (spans[0][0], spans[-1][1]) if spans else (ln.valid_from, ln.valid_to)
            lines.append(
                {
                    "id": ln.entity_id,
                    **label,
                    "level": levels.get(ln.service_level_id, "unknown"),
                    "price": ln.price,
                    "budget_minutes": ln.budget_minutes,
                    "from": day_text(start),
                    "until": day_text(end),
                    "live": start <= when.on < end,
                    "later": start > when.on,
                    "gaps": len(spans) > 1,
                    "per_asset": ln.asset_id is not None,
                }
            )
        history = _history(s, actor, contract_id, c.currency, labels, when.known_at)
        record = {
            **c.data(),
            "id": c.entity_id,
            "in_force": queries.in_force(c, when.on),
            "status": status,
            "status_kind": kind,
            "customer": customer,
            "periods": [(day_text(a), day_text(b) or None) for a, b in joined_spans(periods)],
            "ends": day_text(max(p.valid_to for p in periods)) if periods else "",
        }
        last = periods[-1] if periods else c
        can_write = actor.may(*AGREEMENT_WRITERS)
        can_renew = can_write and last.valid_to != FOREVER and last.cancelled_from is None
        can_cancel = can_write and last.cancelled_from is None
    return page(
        request,
        "agreements/contract.html",
        {
            "section": "contracts",
            "c": record,
            "lines": lines,
            "history": history,
            "asof": asof,
            "banner": time_banner(asof),
            "path": path,
            "list_url": url("/contracts", **view),
            "budget_url": url(f"{path}/budget", known_at=view.get("known_at")),
            "invoices_url": url("/invoices", contract=contract_id),
            "preview_url": url(f"{path}/invoice-preview", **view),
            "can_write": can_write,
            "can_renew": can_renew,
            "can_cancel": can_cancel,
            "on_param": view.get("on", ""),
        },
        status_code=422 if asof.form.errors else 200,
    )


# --- contracts: renew, cancel --------------------------------------------------------------------


def _contract_form_page(
    request: Request,
    db: DbDep,
    actor: Actor,
    contract_id: str,
    *,
    mode: str,
    form: FormState | None,
    status_code: int = 200,
) -> Response:
    with db.reading() as s:
        c = queries.get_contract_for(s, actor, contract_id)
        periods = queries.contract_periods(s, actor, contract_id, known_at=utcnow())
        status, _ = _status(c, periods, utcnow())
        ref, renewal, notice = c.reference, c.renewal_months, c.notice_days
        end = periods[-1].valid_to if periods else c.valid_to
    path = f"/contracts/{contract_id}"
    facts = [("Contract", ref), ("Standing", sentence(status))]
    if mode == "renew":
        facts.append(("Renewal term", f"{renewal} months" if renewal else "none set"))
        action = Action(
            title=f"Renew {ref}",
            submit="Renew contract",
            intro=f"The term now ends {day_text(end)}. Renewing extends it by the renewal term, "
            "or to the date you give.",
            fields=(
                FormField(
                    "term_end",
                    "New end of term",
                    type="date",
                    hint="The first day no longer in force. Empty: by the renewal term.",
                ),
            ),
            when=(REASON,),
        )
        state = form or FormState()
    else:
        facts.append(("Notice", f"{notice} days"))
        earliest = utcnow() + timedelta(days=notice)
        action = Action(
            title=f"Cancel {ref}",
            submit="Cancel contract",
            intro="From the date you choose the contract is no longer in force, and so "
            "nothing it covers is covered, billed or budgeted from then.",
            fields=(
                FormField(
                    "effective",
                    "First day not in force",
                    type="date",
                    required=True,
                    hint=f"With {notice} days' notice the earliest date is {earliest:%Y-%m-%d}.",
                ),
            ),
            when=(REASON,),
            danger=True,
            checkbox=(
                "waive_notice",
                "Waive the notice period",
                "The customer agreed to an earlier date (or this corrects a past one).",
            ),
        )
        state = form or FormState()
    return form_page(
        request,
        action,
        form=state,
        post_to=f"{path}/{mode}",
        cancel=path,
        crumbs=[("Contracts", "/contracts"), (ref, path)],
        view_on="",
        section="contracts",
        facts=facts,
        status_code=status_code,
    )


@router.get("/contracts/{contract_id}/renew")
def renew_form(request: Request, actor: PageActor, db: DbDep, contract_id: RecordId) -> Response:
    require(actor, *AGREEMENT_WRITERS)
    return _contract_form_page(request, db, actor, contract_id, mode="renew", form=None)


@router.post("/contracts/{contract_id}/renew")
def renew(
    request: Request, actor: PageActor, db: DbDep, contract_id: RecordId, form: CheckedForm
) -> Response:
    require(actor, *AGREEMENT_WRITERS)
    try:
        data = parse(Renewal, given(form, ["term_end", "reason"]))
        with db.unit_of_work() as s:
            new_end = service.renew_contract(s, actor=actor, contract_id=contract_id, data=data)
    except Invalid as exc:
        fields = (FormField("term_end", "New end of term", type="date"), REASON)
        state = failed_form(form, exc, fields)
        return _contract_form_page(
            request, db, actor, contract_id, mode="renew", form=state, status_code=422
        )
    flash(request, f"Renewed: the contract is now in force until {instant_text(new_end)}.")
    return redirect(f"/contracts/{contract_id}")


@router.get("/contracts/{contract_id}/cancel")
def cancel_form(request: Request, actor: PageActor, db: DbDep, contract_id: RecordId) -> Response:
    require(actor, *AGREEMENT_WRITERS)
    return _contract_form_page(request, db, actor, contract_id, mode="cancel", form=None)


@router.post("/contracts/{contract_id}/cancel")
def cancel(
    request: Request, actor: PageActor, db: DbDep, contract_id: RecordId, form: CheckedForm
) -> Response:
    require(actor, *AGREEMENT_WRITERS)
    payload: dict[str, Any] = given(form, ["effective", "reason"])
    payload["waive_notice"] = form.get("waive_notice") == "on"
    try:
        data = parse(Cancellation, payload)
        with db.unit_of_work() as s:
            service.cancel_contract(s, actor=actor, contract_id=contract_id, data=data)
    except Invalid as exc:
        fields = (FormField("effective", "First day not in force", type="date"), REASON)
        state = failed_form(form, exc, fields, aliases={"waive_notice": "effective"})
        return _contract_form_page(
            request, db, actor, contract_id, mode="cancel", form=state, status_code=422
        )
    flash(
        request,
        f"Cancelled: the contract is not in force from {instant_text(data.effective)}. "
        "Coverage, charges and budget follow from that date.",
    )
    return redirect(f"/contracts/{contract_id}")
