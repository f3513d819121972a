"""Contract line pages: add, change, take off and correct a line from a date; and a
contract's support budget per month.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated, Any

from dateutil.relativedelta import relativedelta
from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from accord.access import AGREEMENT_WRITERS, Actor, require
from accord.agreements import coverage, exports, queries, service
from accord.agreements.pages.common import (
    REASON,
    Action,
    customer_name,
    day_text,
    effect_note,
    effective_field,
    failed_form,
    form_page,
    hours,
    joined_spans,
    line_label,
    time_banner,
)
from accord.agreements.queries import AsOf
from accord.agreements.schemas import LineCreate, LineUpdate, PeriodCorrection, TakeOff
from accord.desk import queries as desk
from accord.errors import Invalid, parse
from accord.parties import queries as parties
from accord.store.db import utcnow
from accord.web.deps import DbDep
from accord.web.pages import (
    CheckedForm,
    FormField,
    FormState,
    PageActor,
    as_of_form,
    changed,
    flash,
    given,
    instant_text,
    page,
    redirect,
    url,
)
from accord.web.params import RecordId

router = APIRouter(include_in_schema=False)

# --- lines: add, change, take off, correct --------------------------------------------------------


def _amount(
    form: Mapping[str, str], name: str, currency: str, problems: list[tuple[str, str]]
) -> int | None:
    text = form.get(name, "").strip()
    if not text:
        return None
    try:
        return exports.to_minor(text, currency)
    except ValueError:
        places = exports.exponent(currency)
        problems.append(
            (name, f"not an amount in {currency} (e.g. {Decimal(1234).scaleb(-places):.{places}f})")
        )
        return None


def _minutes(form: Mapping[str, str], name: str, problems: list[tuple[str, str]]) -> int | None:
    text = form.get(name, "").strip()
    if not text:
        return None
    try:
        h = Decimal(text.replace(",", "."))
        if not h.is_finite() or h < 0:
            raise InvalidOperation
    except InvalidOperation:
        problems.append((name, "not a number of hours (e.g. 1.5)"))
        return None
    return int((h * 60).to_integral_value(rounding=ROUND_HALF_UP))


def _hours_text(minutes: int) -> str:
    h = Decimal(minutes) / 60
    return f"{h.quantize(Decimal('0.01')).normalize():f}"


def _price_field(currency: str) -> FormField:
    return FormField(
        "price",
        f"Price per period ({currency})",
        required=True,
        hint="Per covered asset per billing period, e.g. 31.00.",
    )


BUDGET_FIELD = FormField(
    "budget_hours",
    "Support budget (hours)",
    hint="Per covered asset per month; the contract's budget is derived from it.",
)


@dataclass
class _Ctx:
    contract_id: str
    reference: str
    currency: str
    customer_id: str
    customer: str


def _contract_ctx(s: Session, actor: Actor, contract_id: str) -> _Ctx:
    c = queries.get_contract_for(s, actor, contract_id)
    return _Ctx(
        c.entity_id,
        c.reference,
        c.currency,
        c.customer_id,
        customer_name(s, actor, c.customer_id, AsOf.now()),
    )


def _new_line_fields(
    assets: Sequence[tuple[str, str]],
    sites: Sequence[tuple[str, str]],
    levels: Sequence[tuple[str, str]],
    currency: str,
) -> tuple[FormField, ...]:
    return (
        FormField(
            "asset_id",
            "One asset",
            type="select",
            choices=tuple(assets),
            hint="Either one asset, or every asset of a type at a site.",
        ),
        FormField("site_id", "Or every asset at site", type="select", choices=tuple(sites)),
        FormField("asset_type", "of type", placeholder="e.g. server"),
        FormField(
            "service_level_id", "Service level", type="select", required=True, choices=tuple(levels)
        ),
        _price_field(currency),
        BUDGET_FIELD,
        FormField(
            "until",
            "Covered until",
            type="date",
            hint="The first day not covered. Empty: for as long as the contract.",
        ),
    )


def _line_form_page(
    request: Request,
    db: DbDep,
    actor: Actor,
    *,
    mode: str,
    contract_id: str | None = None,
    line_id: str | None = None,
    form: FormState | None,
    status_code: int = 200,
) -> Response:
    with db.reading() as s:
        line = None
        if line_id is not None:
            line = queries.get_line_for(s, actor, line_id)
            contract_id = line.contract_id
        assert contract_id is not None
        ctx = _contract_ctx(s, actor, contract_id)
        level_rows = queries.list_service_levels(s, actor=actor, when=AsOf.now())
        levels = [(x.entity_id, x.name) for x in level_rows]
        facts = [("Contract", ctx.reference), ("Customer", ctx.customer)]
        what = ""
        shown: dict[str, str] = {}
        if line is not None:
            shown = {
                "service_level_id": line.service_level_id,
                "price": exports.major(line.price, ctx.currency),
                "budget_hours": _hours_text(line.budget_minutes),
            }
            label = line_label(s, actor, line, AsOf.now())
            spans = joined_spans(queries.line_periods(s, actor, line.entity_id, known_at=utcnow()))
            facts.append(("Covers", label["what"]))
            if spans:
                facts.append(
                    (
                        "Covered",
                        f"{day_text(spans[0][0])} → {day_text(spans[-1][1]) or 'open-ended'}",
                    )
                )
            facts.append(
                (
                    "Now",
                    f"{levels_name(levels, line.service_level_id)}, "
                    f"{exports.money(line.price, ctx.currency)}, {hours(line.budget_minutes)}",
                )
            )
            what = label["what"]
        if mode == "new":
            assets, _ = queries.list_assets(
                s, actor=actor, when=AsOf.now(), customer_id=ctx.customer_id, limit=2000
            )
            asset_choices = [
                (a.entity_id, f"{a.tag} · {a.asset_type} {a.make or ''} {a.model or ''}".strip())
                for a in assets
            ]
            sites = [
                (x.entity_id, x.name)
                for x in parties.sites_of(s, actor, ctx.customer_id, when=AsOf.now())
            ]
    path = f"/contracts/{contract_id}"
    crumbs = [("Contracts", "/contracts"), (ctx.reference, path)]
    if mode == "new":
        action = Action(
            title=f"Add a line to {ctx.reference}",
            submit="Add line",
            intro="A line covers one asset, or every asset of a type at a site (those "
            "added later too), at a service level and a price per billing period.",
            fields=_new_line_fields(asset_choices, sites, levels, ctx.currency),
            when=(
                effective_field(
                    label="Covered from",
                    hint="Empty means now. A past date records "
                    "coverage since then; a future date plans it.",
                ),
                REASON,
            ),
        )
        state = form or FormState()
        post_to = f"{path}/lines"
    elif mode == "change":
        fields = (
            FormField(
                "service_level_id",
                "Service level",
                type="select",
                required=True,
                choices=tuple(levels),
            ),
            _price_field(ctx.currency),
            BUDGET_FIELD,
        )
        action = Action(
            title=f"Change the line for {what}",
            submit="Save change",
            intro="A new price, service level or budget from a date on. A past date is a "
            "correction: invoices already issued are adjusted on the next run.",
            fields=fields,
            when=(effective_field(), REASON),
            edit=True,
        )
        state = form or FormState(values=dict(shown), originals=shown)
        post_to = f"/lines/{line_id}/change"
    elif mode == "take-off":
        action = Action(
            title=f"Take the line for {what} off",
            submit="Take line off",
            intro="From the date you choose the line no longer covers anything. What it "
            "covered before stays on record.",
            fields=(),
            when=(
                effective_field(
                    required=True,
                    label="First day not covered",
                    hint="The day after the last covered day; may be in the future.",
                ),
                REASON,
            ),
            danger=True,
        )
        state = form or FormState()
        post_to = f"/lines/{line_id}/take-off"
    else:
        action = Action(
            title=f"Correct when the line for {what} was in force",
            submit="Record correction",
            intro="For a mistake in the dates: recorded now, true from then. Invoices already "
            "issued keep what was known; the next run adjusts for the difference.",
            fields=CORRECT_FIELDS,
            when=(REASON,),
            checkbox=(
                "open_ended",
                "Remove the end",
                "The line covers for as long as the contract.",
            ),
        )
        state = form or FormState()
        post_to = f"/lines/{line_id}/correct"
    return form_page(
        request,
        action,
        form=state,
        post_to=post_to,
        cancel=path,
        crumbs=crumbs,
        view_on="",
        section="contracts",
        facts=facts,
        status_code=status_code,
    )


def levels_name(levels: Sequence[tuple[str, str]], id_: str) -> str:
    return dict(levels).get(id_, "unknown level")


CORRECT_FIELDS = (
    FormField("starts", "Covered from", type="date", hint="Empty: unchanged."),
    FormField("ends", "First day not covered", type="date", hint="Empty: unchanged."),
)


@router.get("/contracts/{contract_id}/lines/new")
def new_line_form(request: Request, actor: PageActor, db: DbDep, contract_id: RecordId) -> Response:
    require(actor, *AGREEMENT_WRITERS)
    return _line_form_page(request, db, actor, mode="new", contract_id=contract_id, form=None)


@router.post("/contracts/{contract_id}/lines")
def add_line(
    request: Request, actor: PageActor, db: DbDep, contract_id: RecordId, form: CheckedForm
) -> Response:
    require(actor, *AGREEMENT_WRITERS)
    with db.reading() as s:
        currency = queries.get_contract_for(s, actor, contract_id).currency
    fields = _new_line_fields((), (), (), currency)
    problems: list[tuple[str, str]] = []
    payload: dict[str, Any] = given(
        form,
        ["asset_id", "site_id", "asset_type", "service_level_id", "until", "effective", "reason"],
    )
    price = _amount(form, "price", currency, problems)
    minutes = _minutes(form, "budget_hours", problems)
    if price is not None:
        payload["price"] = price
    elif not problems or problems[-1][0] != "price":
        problems.append(("price", "This is required."))
    if minutes is not None:
        payload["budget_minutes"] = minutes
    try:
        if problems:
            raise Invalid(problems)
        data = parse(LineCreate, payload)
        if not data.reason or len(data.reason) < 3:
            raise Invalid.one("reason", "say why, in a few words")
        with db.unit_of_work() as s:
            service.add_line(s, actor=actor, contract_id=contract_id, data=data)
    except Invalid as exc:
        state = failed_form(
            form,
            exc,
            (*fields, effective_field(), REASON),
            aliases={"budget_minutes": "budget_hours"},
        )
        return _line_form_page(
            request, db, actor, mode="new", contract_id=contract_id, form=state, status_code=422
        )
    flash(request, f"Line added.{effect_note(data.effective)}")
    return redirect(f"/contracts/{contract_id}")


@router.get("/lines/{line_id}/{mode}")
def line_form(
    request: Request,
    actor: PageActor,
    db: DbDep,
    line_id: RecordId,
    mode: Annotated[str, Path(pattern=r"^(change|take-off|correct)$")],
) -> Response:
    require(actor, *AGREEMENT_WRITERS)
    return _line_form_page(request, db, actor, mode=mode, line_id=line_id, form=None)


@router.post("/lines/{line_id}/change")
def change_line(
    request: Request, actor: PageActor, db: DbDep, line_id: RecordId, form: CheckedForm
) -> Response:
    require(actor, *AGREEMENT_WRITERS)
    with db.reading() as s:
        line = queries.get_line_for(s, actor, line_id)
        contract_id = line.contract_id
        currency = queries.get_contract_for(s, actor, contract_id).currency
    names = ["service_level_id", "price", "budget_hours"]
    edits = changed(form, names)
    problems: list[tuple[str, str]] = []
    payload: dict[str, Any] = {**given(form, ["effective", "reason"])}
    if "service_level_id" in edits:
        payload["service_level_id"] = edits["service_level_id"]
    if "price" in edits:
        payload["price"] = _amount(form, "price", currency, problems) if edits["price"] else None
    if "budget_hours" in edits:
        payload["budget_minutes"] = (
            _minutes(form, "budget_hours", problems) if edits["budget_hours"] else None
        )
    try:
        if problems:
            raise Invalid(problems)
        data = parse(LineUpdate, payload)
        with db.unit_of_work() as s:
            service.change_line(s, actor=actor, line_id=line_id, data=data)
    except Invalid as exc:
        fields = (
            FormField("service_level_id", "Service level", type="select"),
            _price_field(currency),
            BUDGET_FIELD,
            effective_field(),
            REASON,
        )
        originals = {n: form.get(f"was_{n}", "") for n in names}
        state = failed_form(
            form, exc, fields, originals, aliases={"budget_minutes": "budget_hours"}
        )
        return _line_form_page(
            request, db, actor, mode="change", line_id=line_id, form=state, status_code=422
        )
    flash(request, f"Line changed.{effect_note(data.effective)}")
    return redirect(f"/contracts/{contract_id}")


@router.post("/lines/{line_id}/take-off")
def take_line_off(
    request: Request, actor: PageActor, db: DbDep, line_id: RecordId, form: CheckedForm
) -> Response:
    require(actor, *AGREEMENT_WRITERS)
    with db.reading() as s:
        contract_id = queries.get_line_for(s, actor, line_id).contract_id
    try:
        data = parse(TakeOff, given(form, ["effective", "reason"]))
        with db.unit_of_work() as s:
            service.take_off(s, actor=actor, line_id=line_id, data=data)
    except Invalid as exc:
        state = failed_form(form, exc, (effective_field(required=True), REASON))
        return _line_form_page(
            request, db, actor, mode="take-off", line_id=line_id, form=state, status_code=422
        )
    flash(request, f"Line taken off: not covered from {instant_text(data.effective)}.")
    return redirect(f"/contracts/{contract_id}")


@router.post("/lines/{line_id}/correct")
def correct_line(
    request: Request, actor: PageActor, db: DbDep, line_id: RecordId, form: CheckedForm
) -> Response:
    require(actor, *AGREEMENT_WRITERS)
    with db.reading() as s:
        contract_id = queries.get_line_for(s, actor, line_id).contract_id
    payload: dict[str, Any] = given(form, ["starts", "ends", "reason"])
    payload["open_ended"] = form.get("open_ended") == "on"
    try:
        data = parse(PeriodCorrection, payload)
        with db.unit_of_work() as s:
            service.correct_line_period(s, actor=actor, line_id=line_id, data=data)
    except Invalid as exc:
        state = failed_form(form, exc, (*CORRECT_FIELDS, REASON), aliases={"open_ended": "ends"})
        return _line_form_page(
            request, db, actor, mode="correct", line_id=line_id, form=state, status_code=422
        )
    flash(request, "Correction recorded: true from then, recorded now.")
    return redirect(f"/contracts/{contract_id}")


# --- budgets ---------------------------------------------------------------------------------


@router.get("/contracts/{contract_id}/budget")
def budget(
    request: Request, actor: PageActor, db: DbDep, contract_id: RecordId, known_at: str = ""
) -> Response:
    path = f"/contracts/{contract_id}/budget"
    asof = as_of_form(path, on="", known_at=known_at)
    asof.fields = [f for f in asof.fields if f.name == "known_at"]
    when = AsOf.of(None, asof.known_at)
    this_month = coverage.month_start(utcnow())
    months = [this_month + relativedelta(months=n) for n in range(-6, 6)]
    with db.reading() as s:
        c = queries.get_contract_for(s, actor, contract_id, when)
        ref, customer = c.reference, customer_name(s, actor, c.customer_id, when)
        booked = desk.booked_minutes_by_month(
            s,
            actor,
            contract_id,
            start=months[0],
            end=months[-1] + relativedelta(months=1),
            known_at=when.known_at,
        )
        rows = queries.budget(
            s, actor, contract_id, months=months, known_at=when.known_at, booked=booked
        )
    top = max([1] + [max(r.budget_minutes, r.booked_minutes) for r in rows])
    items = [
        {
            "month": f"{r.start:%b %Y}",
            "current": r.start == this_month,
            "future": r.start > this_month,
            "budget": r.budget_minutes,
            "booked": r.booked_minutes,
            "remaining": r.remaining_minutes,
            "budget_pct": round(100 * r.budget_minutes / top, 1),
            "booked_pct": round(100 * r.booked_minutes / top, 1),
            "over": r.booked_minutes > r.budget_minutes,
        }
        for r in rows
    ]
    return page(
        request,
        "agreements/budget.html",
        {
            "section": "contracts",
            "ref": ref,
            "customer": customer,
            "contract_url": url(
                f"/contracts/{contract_id}", known_at=asof.params().get("known_at")
            ),
            "items": items,
            "total_budget": sum(r.budget_minutes for r in rows),
            "total_booked": sum(r.booked_minutes for r in rows),
            "asof": asof,
            "path": path,
            "banner": time_banner(asof),
        },
        status_code=422 if asof.form.errors else 200,
    )
