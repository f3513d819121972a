"""Invoice pages: the list, an invoice run for a period, one invoice and its CSV, and a
contract's invoice preview (what a run for a period would issue)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from accord.access import AGREEMENT_WRITERS, Actor, require
from accord.agreements import exports, queries, service
from accord.agreements.pages.common import (
    DAY,
    customer_name,
    customer_names,
    day_text,
    failed_form,
)
from accord.agreements.queries import AsOf
from accord.agreements.schemas import InvoiceRun
from accord.errors import Invalid, parse
from accord.store.db import utcnow
from accord.web.deps import DbDep
from accord.web.pages import (
    CheckedForm,
    FormField,
    FormState,
    PageActor,
    as_of_form,
    given,
    page,
    redirect,
    url,
)
from accord.web.params import RecordId

router = APIRouter(include_in_schema=False)

# --- invoices ----------------------------------------------------------------------------------

RUN_FIELDS = (
    FormField(
        "period",
        "Period",
        type="date",
        required=True,
        hint="Any day of it: monthly contracts get that month, quarterly that quarter, "
        "annual that year.",
    ),
)


def _invoices_page(
    request: Request,
    actor: Actor,
    db: DbDep,
    *,
    contract: str = "",
    run: FormState | None = None,
    status_code: int = 200,
) -> Response:
    with db.reading() as s:
        if contract:
            queries.get_contract_for(s, actor, contract)
        rows = queries.invoices_of(s, actor, contract_id=contract or None)
        names = customer_names(s, actor, AsOf.now()) if rows else {}
        refs: dict[str, str] = {}
        for c in queries.list_contracts(s, actor=actor, when=AsOf.now()):
            refs[c.entity_id] = c.reference
        items = [
            {
                "id": i.entity_id,
                "number": i.number,
                "customer": names.get(i.customer_id, ""),
                "contract": refs.get(i.contract_id, ""),
                "contract_id": i.contract_id,
                "period": exports.period_label(day_text(i.period_start), day_text(i.period_end)),
                "total": i.total,
                "currency": i.currency,
                "issued": i.recorded_from,
                "adjusted": any(ln["kind"] == "adjustment" for ln in i.lines),
            }
            for i in rows
        ]
    result = request.session.pop("invoice_run", None)
    return page(
        request,
        "agreements/invoices.html",
        {
            "section": "invoices",
            "items": items,
            "contract": contract,
            "contract_ref": refs.get(contract, ""),
            "run": run or FormState(values={"period": f"{utcnow():%Y-%m-%d}"}),
            "run_fields": RUN_FIELDS,
            "result": result,
            "can_run": actor.may(*AGREEMENT_WRITERS),
        },
        status_code=status_code,
    )


@router.get("/invoices")
def invoices(
    request: Request,
    actor: PageActor,
    db: DbDep,
    contract: Annotated[str, Query(max_length=64, pattern=r"^[0-9A-Za-z-]*$")] = "",
) -> Response:
    return _invoices_page(request, actor, db, contract=contract)


@router.post("/invoices/run")
def run_invoices(request: Request, actor: PageActor, db: DbDep, form: CheckedForm) -> Response:
    require(actor, *AGREEMENT_WRITERS)
    try:
        data = parse(InvoiceRun, given(form, ["period"]))
        with db.unit_of_work() as s:
            result = service.run_invoices(s, actor=actor, data=data)
    except Invalid as exc:
        state = failed_form(form, exc, RUN_FIELDS)
        return _invoices_page(request, actor, db, run=state, status_code=422)
    with db.reading() as s:
        issued = []
        for id_ in result.issued:
            inv = queries.get_invoice_for(s, actor, id_)
            issued.append(
                {"id": id_, "number": inv.number, "total": exports.money(inv.total, inv.currency)}
            )
    request.session["invoice_run"] = {
        "period": f"{data.period:%Y-%m-%d}",
        "issued": issued,
        "skipped": result.skipped,
    }
    return redirect("/invoices")


def _days(n: int) -> str:
    return f"{n} day{'s' if n != 1 else ''}"


def _adjustment_rows(lines: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Adjustment lines as the invoice shows them: the period each corrects, and the days
    billed for it then against the days covered now."""
    rows = []
    for ln in lines:
        label = exports.period_label(ln["period_start"], ln["period_end"])
        was, now = ln.get("days_billed", 0), ln.get("days_now", ln["days"])
        rows.append(
            {
                **ln,
                "period": label,
                "text": f"Adjustment for {label}: was {_days(was)}, now {_days(now)}",
            }
        )
    return rows


@router.get("/invoices/{invoice_id}.csv")
def invoice_csv(actor: PageActor, db: DbDep, invoice_id: RecordId) -> Response:
    """The invoice's lines as CSV (the same export as the API's)."""
    with db.reading() as s:
        inv = queries.get_invoice_for(s, actor, invoice_id)
        body, name = exports.invoice_csv(inv), exports.csv_filename(inv.number)
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/invoices/{invoice_id}")
def invoice(request: Request, actor: PageActor, db: DbDep, invoice_id: RecordId) -> Response:
    with db.reading() as s:
        inv = queries.get_invoice_for(s, actor, invoice_id)
        c = queries.get_contract_for(s, actor, inv.contract_id)
        customer = customer_name(s, actor, inv.customer_id, AsOf.now())
        record = {
            **inv.data(),
            "id": inv.entity_id,
            "issued": inv.recorded_from,
            "seq": inv.seq,
            "reference": c.reference,
            "title": c.title,
            "customer": customer,
            "period": exports.period_label(day_text(inv.period_start), day_text(inv.period_end)),
            "period_text": f"{day_text(inv.period_start)} to {day_text(inv.period_end - DAY)}",
        }
    charges = [ln for ln in record["lines"] if ln["kind"] == "charge"]
    adjustments = _adjustment_rows(ln for ln in record["lines"] if ln["kind"] == "adjustment")
    return page(
        request,
        "agreements/invoice.html",
        {
            "section": "invoices",
            "inv": record,
            "charges": charges,
            "adjustments": adjustments,
            "charges_total": sum(ln["amount"] for ln in charges),
            "adjustments_total": sum(ln["amount"] for ln in adjustments),
            "csv_url": f"/invoices/{invoice_id}.csv",
        },
    )


@router.get("/contracts/{contract_id}/invoice-preview")
def invoice_preview(
    request: Request,
    actor: PageActor,
    db: DbDep,
    contract_id: RecordId,
    on: str = "",
    known_at: str = "",
) -> Response:
    """The invoice a run for the billing period containing `on` would issue, as known at
    `known_at`: the same draft the invoice run issues (`service.draft_invoice`)."""
    path = f"/contracts/{contract_id}/invoice-preview"
    asof = as_of_form(path, on=on, known_at=known_at)
    asof.fields = [
        FormField("on", "Any day of the period", type="date", quiet=True),
        *(f for f in asof.fields if f.name == "known_at"),
    ]
    when = AsOf.of(asof.on, asof.known_at)
    with db.reading() as s:
        c = queries.get_contract_for(s, actor, contract_id, when)
        draft = service.draft_invoice(
            s, actor=actor, contract=c, period=when.on, known_at=when.known_at
        )
        customer = customer_name(s, actor, c.customer_id, when)
        record = {
            "number": draft.number,
            "contract_id": contract_id,
            "reference": c.reference,
            "title": c.title,
            "customer": customer,
            "currency": c.currency,
            "period": exports.period_label(day_text(draft.start), day_text(draft.end)),
            "period_text": f"{day_text(draft.start)} to {day_text(draft.end - DAY)}",
            "coverage_known_at": draft.known_at,
            "total": draft.total,
        }
        issued = (
            {"id": draft.issued.entity_id, "number": draft.issued.number} if draft.issued else None
        )
    seen_at = asof.params().get("known_at")
    return page(
        request,
        "agreements/invoice.html",
        {
            "section": "contracts",
            "preview": True,
            "inv": record,
            "charges": draft.charges,
            "adjustments": _adjustment_rows(draft.adjustments),
            "charges_total": sum(ln["amount"] for ln in draft.charges),
            "adjustments_total": sum(ln["amount"] for ln in draft.adjustments),
            "skip": draft.skip,
            "issued": issued,
            "asof": asof,
            "path": path,
            "contract_url": url(f"/contracts/{contract_id}", known_at=seen_at),
            "earlier_url": url(path, on=day_text(draft.start - DAY), known_at=seen_at),
            "later_url": url(path, on=day_text(draft.end), known_at=seen_at),
        },
        status_code=422 if asof.form.errors else 200,
    )
