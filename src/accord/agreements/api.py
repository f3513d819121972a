"""The agreements REST API: assets, calendars and service levels, contracts and their
lines, entitlement and coverage over time, budgets, charges and invoices; and booking time,
which budgets are counted against.

Every read takes `on` (valid time) and `known_at` (recorded time), both defaulting to now;
every write takes `effective` and a `reason`, runs in one unit of work and is journaled by
the service it calls. Tenant and role are checked by the service and query helpers
(`get_contract_for`, `find_asset`, ...), so another tenant's ids are simply not found (404)
and a role that may not write gets 403. Money is in the currency's minor unit (pence) in
JSON; the CSV export writes it in the major unit (pounds) for spreadsheets.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from dateutil.relativedelta import relativedelta
from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from accord.access import Actor
from accord.agreements import exports, queries, service
from accord.agreements.coverage import Segment
from accord.agreements.models import ContractLine
from accord.agreements.schemas import (
    AdjustmentLine,
    AssetCreate,
    AssetList,
    AssetPublic,
    AssetUpdate,
    BudgetMonth,
    CalendarCreate,
    CalendarPublic,
    Cancellation,
    ChargeLine,
    Charges,
    ContractCreate,
    ContractDetail,
    ContractPublic,
    ContractUpdate,
    CoverageSegment,
    Entitlement,
    InvoicePublic,
    InvoiceRun,
    InvoiceSummary,
    LineCreate,
    LineDetail,
    LinePublic,
    LineUpdate,
    Period,
    PeriodCorrection,
    Renewal,
    RunPublic,
    ServiceLevelCreate,
    ServiceLevelPublic,
    TakeOff,
)
from accord.desk import queries as desk_queries
from accord.desk import service as desk_service
from accord.desk.schemas import TimeBooked, TimeCreate
from accord.errors import Invalid
from accord.parties.schemas import Change, VersionInfo
from accord.store.db import FOREVER, utcnow
from accord.store.temporal import Versioned
from accord.timeinput import parse_instant
from accord.web.deps import CurrentActor, DbDep
from accord.web.params import TIME_HINT, TIME_REASON, AsOfDep, KnownAtDep, RecordId
from accord.web.problems import problem_responses

PROBLEMS = problem_responses()

router = APIRouter(tags=["agreements"], responses=PROBLEMS)

P = TypeVar("P", bound=BaseModel)

# An asset is found by its id, tag or serial. Tags may contain "/", so the key takes the
# rest of the path (the routes under it are declared first); control characters are bad
# input, never a lookup (PostgreSQL refuses NUL in text).
AssetKey = Annotated[
    str,
    Path(
        min_length=1,
        max_length=100,
        pattern=r"^[^\x00-\x1f\x7f]+$",
        description="the asset's id, tag or serial (exact, case-insensitive)",
    ),
]
OptionalId = Annotated[
    str | None, Query(pattern=r"^[0-9A-Za-z-]{1,64}$", description="a record's public id")
]


# --- helpers --------------------------------------------------------------------------------


def _instant(name: str, text: str | None) -> datetime | None:
    try:
        return parse_instant(text) if text and text.strip() else None
    except (ValueError, OverflowError):
        raise Invalid.one(name, TIME_REASON) from None


def _as_written(data: Change) -> queries.AsOf:
    """Where a write's result is seen: on its effective time, as known now."""
    return queries.AsOf.of(data.effective, None)


def _open(t: datetime) -> datetime | None:
    return None if t == FOREVER else t


def _version(v: Versioned) -> VersionInfo:
    return VersionInfo(
        valid_from=v.valid_from,
        valid_to=_open(v.valid_to),
        recorded_from=v.recorded_from,
        seq=v.seq,
    )


def _public(schema: type[P], v: Versioned, **more: Any) -> P:
    return schema.model_validate({**v.data(), "id": v.entity_id, "version": _version(v), **more})


def _merged(versions: Iterable[Versioned]) -> list[Period]:
    """Valid-time versions joined where one ends as the next starts."""
    spans: list[list[datetime]] = []
    for v in sorted(versions, key=lambda v: v.valid_from):
        if spans and spans[-1][1] == v.valid_from:
            spans[-1][1] = v.valid_to
        else:
            spans.append([v.valid_from, v.valid_to])
    return [Period(start=s, end=_open(e)) for s, e in spans]


def _located(request: Request, response: Response, route: str, **ids: str) -> None:
    response.headers["Location"] = request.app.url_path_for(route, **ids)


def _levels(session: Session, actor: Actor) -> dict[str, str]:
    return {
        s.entity_id: s.name
        for s in queries.list_service_levels(session, actor=actor, when=queries.AsOf.now())
    }


def _contract(
    session: Session, actor: Actor, contract_id: str, when: queries.AsOf
) -> ContractDetail:
    c = queries.get_contract_for(session, actor, contract_id, when)
    lines = queries.lines_of(session, actor, contract_id, when=when)
    periods = queries.contract_periods(session, actor, contract_id, known_at=when.known_at)
    return _public(
        ContractDetail,
        c,
        in_force=queries.in_force(c, when.on),
        lines=[_public(LinePublic, ln) for ln in lines],
        periods=_merged(periods),
    )


def _line(session: Session, actor: Actor, line: ContractLine, known_at: datetime) -> LineDetail:
    periods = queries.line_periods(session, actor, line.entity_id, known_at=known_at)
    return _public(LineDetail, line, periods=_merged(periods))


def _segment(s: Segment, levels: dict[str, str]) -> CoverageSegment:
    return CoverageSegment(
        start=s.start,
        end=_open(s.end),
        contract_id=s.contract.contract_id,
        contract_reference=s.contract.reference,
        line_id=s.line.line_id,
        service_level_id=s.line.service_level_id,
        service_level=levels.get(s.line.service_level_id),
        per_asset=s.per_asset,
        price=s.line.price,
        budget_minutes=s.line.budget_minutes,
    )


# --- assets ---------------------------------------------------------------------------------


@router.get("/assets", response_model=AssetList)
def list_assets(
    actor: CurrentActor,
    db: DbDep,
    when: AsOfDep,
    q: Annotated[
        str | None,
        Query(
            max_length=200,
            pattern=r"^[^\x00]*$",
            description="part of the tag, serial, make, model or type",
        ),
    ] = None,
    customer_id: OptionalId = None,
    site_id: OptionalId = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> AssetList:
    """The assets as they were on `on`, as known at `known_at`, by tag; with the total."""
    with db.reading() as s:
        rows, total = queries.list_assets(
            s,
            actor=actor,
            when=when,
            q=q,
            customer_id=customer_id,
            site_id=site_id,
            limit=limit,
            offset=offset,
        )
        items = [_public(AssetPublic, a) for a in rows]
    return AssetList(items=items, total=total, limit=limit, offset=offset)


@router.post("/assets", status_code=201, response_model=AssetPublic)
def add_asset(
    actor: CurrentActor, db: DbDep, data: AssetCreate, request: Request, response: Response
) -> AssetPublic:
    """Put a customer's asset on record from `effective` on. Answers with the asset as of
    that time, and its address in Location."""
    with db.unit_of_work() as s:
        asset_id = service.add_asset(s, actor=actor, data=data)
        out = _public(AssetPublic, queries.get_asset_for(s, actor, asset_id, _as_written(data)))
    _located(request, response, "get_asset", key=asset_id)
    return out


@router.get("/assets/{key:path}/entitlement", response_model=Entitlement)
def asset_entitlement(actor: CurrentActor, db: DbDep, key: AssetKey, when: AsOfDep) -> Entitlement:
    """Is the asset covered on `on`, as Accord knew it at `known_at`? By which contract line
    and service level; when not, why, in words for the desk (never covered, removed from a
    date and by whom, contract ended, cancellation effective)."""
    with db.reading() as s:
        return queries.entitlement(s, actor, key, on=when.on, known_at=when.known_at)


@router.get("/assets/{key:path}/coverage", response_model=list[CoverageSegment])
def asset_coverage(
    actor: CurrentActor, db: DbDep, key: AssetKey, when: KnownAtDep
) -> list[CoverageSegment]:
    """Every period the asset is covered, oldest first, as known at `known_at`: the
    timeline to draw. Gaps between segments are days it is not covered."""
    with db.reading() as s:
        asset = queries.find_asset(s, actor, key, when)
        segs = queries.coverage_timeline(s, actor, asset.entity_id, known_at=when.known_at)
        levels = _levels(s, actor)
        return [_segment(x, levels) for x in segs]


@router.post("/assets/{asset_id}/take-off", response_model=list[LineDetail])
def take_asset_off(
    actor: CurrentActor, db: DbDep, asset_id: RecordId, data: TakeOff
) -> list[LineDetail]:
    """End every contract line that covers this asset by itself, from `effective` (the
    first day not covered; a future date plans it). Answers with the lines taken off."""
    with db.unit_of_work() as s:
        line_ids = service.take_asset_off(s, actor=actor, asset_id=asset_id, data=data)
        now = utcnow()
        return [_line(s, actor, queries.get_line_for(s, actor, i), now) for i in line_ids]


@router.patch("/assets/{asset_id}", response_model=AssetPublic)
def change_asset(
    actor: CurrentActor, db: DbDep, asset_id: RecordId, data: AssetUpdate
) -> AssetPublic:
    """Move, retag, retype or retire an asset from `effective` on. Answers with the asset
    as of `effective`."""
    with db.unit_of_work() as s:
        service.change_asset(s, actor=actor, asset_id=asset_id, data=data)
        return _public(AssetPublic, queries.get_asset_for(s, actor, asset_id, _as_written(data)))


@router.get("/assets/{key:path}", response_model=AssetPublic)
def get_asset(actor: CurrentActor, db: DbDep, key: AssetKey, when: AsOfDep) -> AssetPublic:
    """The asset with this id, tag or serial (exact, case-insensitive) as it was on `on`,
    as known at `known_at`."""
    with db.reading() as s:
        return _public(AssetPublic, queries.find_asset(s, actor, key, when))


# --- calendars and service levels -----------------------------------------------------------


@router.get("/calendars", response_model=list[CalendarPublic])
def list_calendars(actor: CurrentActor, db: DbDep, when: AsOfDep) -> list[CalendarPublic]:
    """The business-hours calendars on `on`, as known at `known_at`, by name."""
    with db.reading() as s:
        return [
            _public(CalendarPublic, c) for c in queries.list_calendars(s, actor=actor, when=when)
        ]


@router.post("/calendars", status_code=201, response_model=CalendarPublic)
def create_calendar(
    actor: CurrentActor, db: DbDep, data: CalendarCreate, request: Request, response: Response
) -> CalendarPublic:
    """Business hours a service level's clock runs in: time zone, weekly hours, holidays."""
    with db.unit_of_work() as s:
        calendar_id = service.create_calendar(s, actor=actor, data=data)
        out = _public(
            CalendarPublic, queries.get_calendar_for(s, actor, calendar_id, _as_written(data))
        )
    _located(request, response, "get_calendar", calendar_id=calendar_id)
    return out


@router.get("/calendars/{calendar_id}", response_model=CalendarPublic)
def get_calendar(
    actor: CurrentActor, db: DbDep, calendar_id: RecordId, when: AsOfDep
) -> CalendarPublic:
    """The calendar as it was on `on`, as known at `known_at`."""
    with db.reading() as s:
        return _public(CalendarPublic, queries.get_calendar_for(s, actor, calendar_id, when))


@router.get("/service-levels", response_model=list[ServiceLevelPublic])
def list_service_levels(actor: CurrentActor, db: DbDep, when: AsOfDep) -> list[ServiceLevelPublic]:
    """The service levels on `on`, as known at `known_at`, by name."""
    with db.reading() as s:
        return [
            _public(ServiceLevelPublic, x)
            for x in queries.list_service_levels(s, actor=actor, when=when)
        ]


@router.post("/service-levels", status_code=201, response_model=ServiceLevelPublic)
def create_service_level(
    actor: CurrentActor,
    db: DbDep,
    data: ServiceLevelCreate,
    request: Request,
    response: Response,
) -> ServiceLevelPublic:
    """Response and resolution targets per priority, in a calendar's business minutes."""
    with db.unit_of_work() as s:
        level_id = service.create_service_level(s, actor=actor, data=data)
        out = _public(
            ServiceLevelPublic, queries.get_service_level_for(s, actor, level_id, _as_written(data))
        )
    _located(request, response, "get_service_level", level_id=level_id)
    return out


@router.get("/service-levels/{level_id}", response_model=ServiceLevelPublic)
def get_service_level(
    actor: CurrentActor, db: DbDep, level_id: RecordId, when: AsOfDep
) -> ServiceLevelPublic:
    """The service level as it was on `on`, as known at `known_at`."""
    with db.reading() as s:
        return _public(ServiceLevelPublic, queries.get_service_level_for(s, actor, level_id, when))


# --- contracts ------------------------------------------------------------------------------


@router.get("/contracts", response_model=list[ContractPublic])
def list_contracts(
    actor: CurrentActor,
    db: DbDep,
    when: AsOfDep,
    customer_id: OptionalId = None,
    q: Annotated[
        str | None,
        Query(max_length=200, pattern=r"^[^\x00]*$", description="part of the reference or title"),
    ] = None,
) -> list[ContractPublic]:
    """Contracts as known at `known_at`, by reference: those in force on `on` as they were
    then, and the others (ended, cancelled, not started) as last known."""
    with db.reading() as s:
        rows = queries.list_contracts(s, actor=actor, when=when, customer_id=customer_id, q=q)
        return [_public(ContractPublic, c, in_force=queries.in_force(c, when.on)) for c in rows]


@router.post("/contracts", status_code=201, response_model=ContractDetail)
def create_contract(
    actor: CurrentActor, db: DbDep, data: ContractCreate, request: Request, response: Response
) -> ContractDetail:
    """Agree a contract with a customer, in force from `start` to `term_end` (rolling when
    none). Answers with the contract as of its start, and its address in Location."""
    with db.unit_of_work() as s:
        contract_id = service.create_contract(s, actor=actor, data=data)
        out = _contract(s, actor, contract_id, queries.AsOf.of(data.start, None))
    _located(request, response, "get_contract", contract_id=contract_id)
    return out


@router.get("/contracts/{contract_id}", response_model=ContractDetail)
def get_contract(
    actor: CurrentActor, db: DbDep, contract_id: RecordId, when: AsOfDep
) -> ContractDetail:
    """The contract as it was on `on`, as known at `known_at`, with its lines then and the
    periods it is in force."""
    with db.reading() as s:
        return _contract(s, actor, contract_id, when)


@router.patch("/contracts/{contract_id}", response_model=ContractDetail)
def change_contract(
    actor: CurrentActor, db: DbDep, contract_id: RecordId, data: ContractUpdate
) -> ContractDetail:
    """Change a contract's title or terms from `effective` on. Answers with the contract as
    of `effective`."""
    with db.unit_of_work() as s:
        service.change_contract(s, actor=actor, contract_id=contract_id, data=data)
        return _contract(s, actor, contract_id, _as_written(data))


@router.post("/contracts/{contract_id}/renew", response_model=ContractDetail)
def renew_contract(
    actor: CurrentActor, db: DbDep, contract_id: RecordId, data: Renewal
) -> ContractDetail:
    """Extend a fixed-term contract by its renewal term, or to `term_end`. Answers with the
    contract as known now."""
    with db.unit_of_work() as s:
        service.renew_contract(s, actor=actor, contract_id=contract_id, data=data)
        return _contract(s, actor, contract_id, queries.AsOf.now())


@router.post("/contracts/{contract_id}/cancel", response_model=ContractDetail)
def cancel_contract(
    actor: CurrentActor, db: DbDep, contract_id: RecordId, data: Cancellation
) -> ContractDetail:
    """The contract stops being in force from `effective`, the first day not covered. A
    date inside the notice period needs `waive_notice`. Everything it covers stops being
    covered then, and its charges and budget with it. Answers with the contract as known
    now."""
    with db.unit_of_work() as s:
        service.cancel_contract(s, actor=actor, contract_id=contract_id, data=data)
        return _contract(s, actor, contract_id, queries.AsOf.now())


@router.post("/contracts/{contract_id}/lines", status_code=201, response_model=LineDetail)
def add_line(
    actor: CurrentActor,
    db: DbDep,
    contract_id: RecordId,
    data: LineCreate,
    request: Request,
    response: Response,
) -> LineDetail:
    """Cover one asset, or every asset of a type at a site, from `effective` (until
    `until`), at a service level and a price per billing period per asset."""
    with db.unit_of_work() as s:
        line_id = service.add_line(s, actor=actor, contract_id=contract_id, data=data)
        when = _as_written(data)
        out = _line(s, actor, queries.get_line_for(s, actor, line_id, when), when.known_at)
    _located(request, response, "get_line", line_id=line_id)
    return out


@router.get("/contracts/{contract_id}/budget", response_model=list[BudgetMonth])
def contract_budget(
    actor: CurrentActor,
    db: DbDep,
    contract_id: RecordId,
    when: KnownAtDep,
    from_: Annotated[
        str | None,
        Query(
            alias="from",
            pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$",
            description="the first month, YYYY-MM; default this month",
        ),
    ] = None,
    months: Annotated[int, Query(ge=1, le=120, description="how many months")] = 1,
) -> list[BudgetMonth]:
    """The contract's support budget per month, derived from what it covers as known at
    `known_at`, against the time booked to it for work in that month."""
    now = utcnow()
    first = (
        datetime(int(from_[:4]), int(from_[5:]), 1, tzinfo=UTC)
        if from_
        else datetime(now.year, now.month, 1, tzinfo=UTC)
    )
    starts = [first + relativedelta(months=i) for i in range(months)]
    with db.reading() as s:
        queries.get_contract_for(s, actor, contract_id, when)
        booked = desk_queries.booked_minutes_by_month(
            s,
            actor,
            contract_id,
            start=first,
            end=first + relativedelta(months=months),
            known_at=when.known_at,
        )
        rows = queries.budget(
            s, actor, contract_id, months=starts, known_at=when.known_at, booked=booked
        )
    return [
        BudgetMonth(
            month=f"{m.start:%Y-%m}",
            start=m.start,
            end=m.end,
            budget_minutes=m.budget_minutes,
            booked_minutes=m.booked_minutes,
            remaining_minutes=m.remaining_minutes,
        )
        for m in rows
    ]


@router.get("/contracts/{contract_id}/charges", response_model=Charges)
def contract_charges(
    actor: CurrentActor,
    db: DbDep,
    contract_id: RecordId,
    when: KnownAtDep,
    period: Annotated[
        str | None,
        Query(description=f"any day of the billing period, {TIME_HINT}; default now"),
    ] = None,
) -> Charges:
    """The invoice a run for the contract's billing period containing `period` would issue,
    from what is known at `known_at`: the period's charges prorated by day (`lines`,
    `total`) and the adjustments for earlier invoiced periods corrected since
    (`adjustments`), with `invoice_total`. The invoice run computes its invoices with the
    same code. Nothing is issued; `skipped` says when a run would issue nothing."""
    on = _instant("period", period) or utcnow()
    with db.reading() as s:
        c = queries.get_contract_for(s, actor, contract_id, queries.AsOf(on, when.known_at))
        draft = service.draft_invoice(s, actor=actor, contract=c, period=on, known_at=when.known_at)
        reference, currency = c.reference, c.currency
        issued = draft.issued.entity_id if draft.issued else None
    charges = [ChargeLine.model_validate(ln) for ln in draft.charges]
    adjustments = [
        AdjustmentLine.model_validate(
            {**ln, "period": exports.period_label(ln["period_start"], ln["period_end"])}
        )
        for ln in draft.adjustments
    ]
    total = sum(ln.amount for ln in charges)
    adjustments_total = sum(ln.amount for ln in adjustments)
    return Charges(
        contract_id=contract_id,
        reference=reference,
        number=draft.number,
        period_start=draft.start,
        period_end=draft.end,
        currency=currency,
        known_at=when.known_at,
        lines=charges,
        total=total,
        adjustments=adjustments,
        adjustments_total=adjustments_total,
        invoice_total=total + adjustments_total,
        issued_invoice_id=issued,
        skipped=draft.skip,
    )


# --- lines ----------------------------------------------------------------------------------


@router.get("/lines/{line_id}", response_model=LineDetail)
def get_line(actor: CurrentActor, db: DbDep, line_id: RecordId, when: AsOfDep) -> LineDetail:
    """The contract line as it was on `on` (or its nearest version), as known at
    `known_at`, with the periods it covers."""
    with db.reading() as s:
        return _line(s, actor, queries.get_line_for(s, actor, line_id, when), when.known_at)


@router.patch("/lines/{line_id}", response_model=LineDetail)
def change_line(actor: CurrentActor, db: DbDep, line_id: RecordId, data: LineUpdate) -> LineDetail:
    """A new price, service level or budget from `effective` on; in the past it is a
    correction, and the next invoice run adjusts what was billed. Answers with the line as
    of `effective`."""
    with db.unit_of_work() as s:
        service.change_line(s, actor=actor, line_id=line_id, data=data)
        when = _as_written(data)
        return _line(s, actor, queries.get_line_for(s, actor, line_id, when), when.known_at)


@router.post("/lines/{line_id}/take-off", response_model=LineDetail)
def take_line_off(actor: CurrentActor, db: DbDep, line_id: RecordId, data: TakeOff) -> LineDetail:
    """The line stops covering from `effective`, the day after the last covered day (a
    future date plans it). Answers with the line as known now."""
    with db.unit_of_work() as s:
        service.take_off(s, actor=actor, line_id=line_id, data=data)
        return _line(s, actor, queries.get_line_for(s, actor, line_id), utcnow())


@router.post("/lines/{line_id}/correct", response_model=LineDetail)
def correct_line(
    actor: CurrentActor, db: DbDep, line_id: RecordId, data: PeriodCorrection
) -> LineDetail:
    """Correct when the line's coverage started or ended: recorded now, true from then.
    What was known before stays on record; the next invoice run adjusts what was billed."""
    with db.unit_of_work() as s:
        service.correct_line_period(s, actor=actor, line_id=line_id, data=data)
        return _line(s, actor, queries.get_line_for(s, actor, line_id), utcnow())


# --- invoices -------------------------------------------------------------------------------


@router.post("/invoice-runs", response_model=RunPublic)
def run_invoices(actor: CurrentActor, db: DbDep, data: InvoiceRun) -> RunPublic:
    """Issue each contract's invoice (or one contract's, with `contract_id`) for the billing
    period containing `period`, prorated by day, with adjustment lines for corrections to
    periods invoiced before. A contract already invoiced for the period is skipped, so a
    run may be repeated."""
    with db.unit_of_work() as s:
        result = service.run_invoices(s, actor=actor, data=data)
    return RunPublic(issued=result.issued, skipped=result.skipped)


@router.get("/invoices", response_model=list[InvoiceSummary])
def list_invoices(
    actor: CurrentActor, db: DbDep, when: KnownAtDep, contract_id: OptionalId = None
) -> list[InvoiceSummary]:
    """Issued invoices, newest period first, as known at `known_at`; one contract's with
    `contract_id`."""
    with db.reading() as s:
        if contract_id:
            queries.get_contract_for(s, actor, contract_id, when)
        rows = queries.invoices_of(s, actor, contract_id=contract_id, known_at=when.known_at)
        return [_public(InvoiceSummary, i) for i in rows]


@router.get(
    "/invoices/{invoice_id}.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "one row per invoice line"}},
)
def invoice_csv(actor: CurrentActor, db: DbDep, invoice_id: RecordId) -> Response:
    """The invoice as CSV, one row per line, amounts in the currency's major unit (pounds,
    not pence): number, period, kind (charge or adjustment), tag, description, service
    level, days, period days, unit price, amount, currency."""
    with db.reading() as s:
        inv = queries.get_invoice_for(s, actor, invoice_id)
        body, filename = exports.invoice_csv(inv), exports.csv_filename(inv.number)
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/invoices/{invoice_id}", response_model=InvoicePublic)
def get_invoice(actor: CurrentActor, db: DbDep, invoice_id: RecordId) -> InvoicePublic:
    """The issued invoice with its lines, as computed from the coverage known when it was
    issued (`coverage_known_at`)."""
    with db.reading() as s:
        return _public(InvoicePublic, queries.get_invoice_for(s, actor, invoice_id))


# --- time -----------------------------------------------------------------------------------


@router.post("/time", status_code=201, response_model=TimeBooked, tags=["desk"])
def book_time(actor: CurrentActor, db: DbDep, data: TimeCreate) -> TimeBooked:
    """Book minutes worked for a customer on a day, against a contract (and an asset) when
    the work is covered: what a contract's budget is counted against."""
    with db.unit_of_work() as s:
        entry_id = desk_service.book_time(s, actor=actor, data=data)
    return TimeBooked(
        id=entry_id,
        customer_id=data.customer_id,
        contract_id=data.contract_id,
        asset_id=data.asset_id,
        worked_on=data.worked_on.date(),
        minutes=data.minutes,
    )
