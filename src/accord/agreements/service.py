"""Changes to assets, service levels, contracts and their lines, and invoice runs: the only
writers of agreements.

Every function takes the session and the actor, writes through the one write path and
never commits. Changes take effect from a date (valid time), in the past (a correction:
recorded now, true from then) or in the future (a cancellation from next month); every
change of an agreement says why, and the journal keeps who. `draft_invoice` writes
nothing: it is the invoice a run would issue, which the run issues and the charges
preview shows, so the two cannot drift.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dateutil.relativedelta import relativedelta
from sqlalchemy.orm import Session

from accord.access import AGREEMENT_WRITERS, ASSET_WRITERS, Actor, require
from accord.agreements import coverage, queries
from accord.agreements.models import (
    Asset,
    Calendar,
    Contract,
    ContractLine,
    Invoice,
    ServiceLevel,
)
from accord.agreements.schemas import (
    AssetCreate,
    AssetUpdate,
    CalendarCreate,
    Cancellation,
    ContractCreate,
    ContractUpdate,
    InvoiceRun,
    LineCreate,
    LineUpdate,
    PeriodCorrection,
    Renewal,
    ServiceLevelCreate,
    TakeOff,
)
from accord.errors import Invalid, NotFound
from accord.fields import changed_data, record_data
from accord.parties import queries as parties
from accord.parties.schemas import Change
from accord.store import temporal
from accord.store.db import FOREVER, utcnow
from accord.store.journal import Draft, Op, iso
from accord.store.temporal import AsOf, Versioned
from accord.store.writes import record


def _json(data: dict[str, Any]) -> dict[str, Any]:
    """A version's data as a journal entry carries it (instants as ISO 8601 text)."""
    return {k: (iso(v) if isinstance(v, datetime) else v) for k, v in data.items()}


def _when(data: Change) -> datetime:
    return data.effective or utcnow()


def _draft(
    kind: str,
    op: Op,
    model: type[Versioned],
    id_: str,
    start: datetime,
    *,
    end: datetime = FOREVER,
    data: dict[str, Any] | None = None,
    reason: str = "",
) -> Draft:
    return Draft(
        kind=f"agreements.{kind}",
        op=op,
        type=model.entity_type,
        id=id_,
        valid_from=start,
        valid_to=end,
        data=data or {},
        reason=reason,
    )


def _write(session: Session, actor: Actor, *drafts: Draft) -> None:
    record(session, tenant_id=actor.tenant_id, actor=actor.label, drafts=drafts)


def _now(session: Session, model: type[Versioned], actor: Actor, id_: str, on: datetime) -> Any:
    """The record on `on` as known now; Invalid naming `effective` if it is not in force
    then, NotFound if it was never recorded here."""
    found = temporal.version_of(session, model, actor.tenant_id, id_, on=on, known_at=utcnow())
    if found is None:
        name = model.entity_type.replace("_", " ")
        if temporal.exists_ever(session, model, actor.tenant_id, id_):
            raise Invalid.one("effective", f"the {name} is not in force on {on:%Y-%m-%d}")
        raise NotFound(f"no {name} {id_}")
    return found


def _periods(session: Session, model: type[Versioned], actor: Actor, id_: str) -> list[Any]:
    periods = temporal.timeline(session, model, actor.tenant_id, id_, known_at=utcnow())
    if not periods:
        raise NotFound(f"no {model.entity_type.replace('_', ' ')} {id_}")
    return periods


def _exists(session: Session, actor: Actor, model: type[Versioned], id_: str, field: str) -> None:
    """A reference names a record of this tenant that exists (at some time)."""
    if not temporal.exists_ever(session, model, actor.tenant_id, id_):
        raise Invalid.one(field, f"no {model.entity_type.replace('_', ' ')} {id_}")


# --- assets --------------------------------------------------------------------------------


def _check_site(
    session: Session, actor: Actor, site_id: str, customer_id: str, on: datetime
) -> None:
    try:
        site = parties.get_site_for(session, actor, site_id, when=AsOf(on, utcnow()))
    except NotFound:
        raise Invalid.one("site_id", f"no site {site_id} on {on:%Y-%m-%d}") from None
    if site.customer_id != customer_id:
        raise Invalid.one("site_id", "the site belongs to another customer")


def add_asset(session: Session, *, actor: Actor, data: AssetCreate) -> str:
    """A customer's asset on record from `effective` on. Returns its id."""
    require(actor, *ASSET_WRITERS)
    on = _when(data)
    try:
        parties.get_customer_for(session, actor, data.customer_id, when=AsOf(on, utcnow()))
    except NotFound:
        raise Invalid.one(
            "customer_id", f"no customer {data.customer_id} on {on:%Y-%m-%d}"
        ) from None
    if data.site_id:
        _check_site(session, actor, data.site_id, data.customer_id, on)
    if queries.tag_taken(
        session, actor.tenant_id, data.tag, on=on, known_at=utcnow(), other_than=None
    ):
        raise Invalid.one("tag", f"another asset already has the tag {data.tag}")
    _check_asset_key(session, actor, data.external_key, None)
    asset_id = str(uuid.uuid4())
    _write(
        session,
        actor,
        _draft(
            "asset.added",
            Op.ASSERT,
            Asset,
            asset_id,
            on,
            data=record_data(data),
            reason=data.reason,
        ),
    )
    return asset_id


def change_asset(session: Session, *, actor: Actor, asset_id: str, data: AssetUpdate) -> None:
    """Move, retag, retype or retire an asset from `effective` on."""
    require(actor, *ASSET_WRITERS)
    fields = changed_data(data, required=("tag", "asset_type", "status"))
    on = _when(data)
    asset = _now(session, Asset, actor, asset_id, on)
    if fields.get("site_id"):
        _check_site(session, actor, fields["site_id"], asset.customer_id, on)
    if "tag" in fields and queries.tag_taken(
        session, actor.tenant_id, fields["tag"], on=on, known_at=utcnow(), other_than=asset_id
    ):
        raise Invalid.one("tag", f"another asset already has the tag {fields['tag']}")
    if fields.get("external_key"):
        _check_asset_key(session, actor, fields["external_key"], asset_id)
    _write(
        session,
        actor,
        _draft("asset.changed", Op.PATCH, Asset, asset_id, on, data=fields, reason=data.reason),
    )


def _check_asset_key(session: Session, actor: Actor, key: str | None, asset_id: str | None) -> None:
    if key and queries.asset_key_taken(session, actor.tenant_id, key, other_than=asset_id):
        raise Invalid.one("external_key", f"another asset already has the key {key}")


# --- calendars and service levels --------------------------------------------------------


def create_calendar(session: Session, *, actor: Actor, data: CalendarCreate) -> str:
    """Business hours a service level counts in."""
    require(actor, *AGREEMENT_WRITERS)
    calendar_id = str(uuid.uuid4())
    fields = record_data(data)
    _write(
        session,
        actor,
        _draft("calendar.created", Op.ASSERT, Calendar, calendar_id, _when(data), data=fields),
    )
    return calendar_id


def create_service_level(session: Session, *, actor: Actor, data: ServiceLevelCreate) -> str:
    """Response and resolution targets per priority in a calendar's business hours."""
    require(actor, *AGREEMENT_WRITERS)
    _exists(session, actor, Calendar, data.calendar_id, "calendar_id")
    level_id = str(uuid.uuid4())
    fields = record_data(data)
    _write(
        session,
        actor,
        _draft(
            "service_level.created", Op.ASSERT, ServiceLevel, level_id, _when(data), data=fields
        ),
    )
    return level_id


# --- contracts ------------------------------------------------------------------------------


def create_contract(session: Session, *, actor: Actor, data: ContractCreate) -> str:
    """A contract with a customer, in force from its start to the end of its term (or
    until cancelled, when rolling). Returns its id."""
    require(actor, *AGREEMENT_WRITERS)
    try:
        parties.get_customer_for(session, actor, data.customer_id, when=AsOf(data.start, utcnow()))
    except NotFound:
        raise Invalid.one(
            "customer_id", f"no customer {data.customer_id} on {data.start:%Y-%m-%d}"
        ) from None
    if queries.contract_by_reference(session, actor, data.reference) is not None:
        raise Invalid.one(
            "reference", f"another contract already has the reference {data.reference}"
        )
    contract_id = str(uuid.uuid4())
    fields = record_data(data)
    fields["cancelled_from"] = None
    _write(
        session,
        actor,
        _draft(
            "contract.created",
            Op.ASSERT,
            Contract,
            contract_id,
            data.start,
            end=data.term_end or FOREVER,
            data=fields,
            reason=data.reason,
        ),
    )
    return contract_id


def change_contract(
    session: Session, *, actor: Actor, contract_id: str, data: ContractUpdate
) -> None:
    """Change a contract's title or terms from `effective` on."""
    require(actor, *AGREEMENT_WRITERS)
    fields = changed_data(data, required=("title",))
    on = _when(data)
    _now(session, Contract, actor, contract_id, on)
    _write(
        session,
        actor,
        _draft(
            "contract.changed", Op.PATCH, Contract, contract_id, on, data=fields, reason=data.reason
        ),
    )


def renew_contract(session: Session, *, actor: Actor, contract_id: str, data: Renewal) -> datetime:
    """Extend a fixed-term contract by its renewal term, or to `term_end`. Returns the new end."""
    require(actor, *AGREEMENT_WRITERS)
    periods = _periods(session, Contract, actor, contract_id)
    last = periods[-1]
    if last.valid_to == FOREVER:
        raise Invalid.one("term_end", "the contract is rolling: it has no term to renew")
    if last.cancelled_from is not None:
        raise Invalid.one(
            "term_end", f"the contract is cancelled from {last.cancelled_from:%Y-%m-%d}"
        )
    old_end = last.valid_to
    if data.term_end is not None:
        new_end = data.term_end
    elif last.renewal_months:
        new_end = old_end + relativedelta(months=last.renewal_months)
    else:
        raise Invalid.one("term_end", "the contract has no renewal term: give the new term_end")
    if new_end <= old_end:
        raise Invalid.one("term_end", f"must be after the current end, {old_end:%Y-%m-%d}")
    fields = _json({**last.data(), "term_end": new_end})
    # The new end is the contract's term end from now on, also on the versions before the
    # old end (as cancellation marks them), and the contract is in force until it.
    _write(
        session,
        actor,
        _draft(
            "contract.renewed",
            Op.PATCH,
            Contract,
            contract_id,
            periods[0].valid_from,
            end=old_end,
            data={"term_end": iso(new_end)},
            reason=data.reason,
        ),
        _draft(
            "contract.renewed",
            Op.ASSERT,
            Contract,
            contract_id,
            old_end,
            end=new_end,
            data=fields,
            reason=data.reason,
        ),
    )
    return new_end


def cancel_contract(
    session: Session, *, actor: Actor, contract_id: str, data: Cancellation
) -> None:
    """The contract stops being in force from `effective` (the first day not covered).

    The notice period applies unless waived; a date in the past is a correction and so
    needs the waiver too. Everything the contract covered stops being covered with it,
    because coverage is derived, and so do its charges and budget.
    """
    require(actor, *AGREEMENT_WRITERS)
    periods = _periods(session, Contract, actor, contract_id)
    first, last = periods[0], periods[-1]
    eff = data.effective
    if last.cancelled_from is not None:
        raise Invalid.one("effective", f"already cancelled from {last.cancelled_from:%Y-%m-%d}")
    if eff <= first.valid_from:
        raise Invalid.one(
            "effective", f"must be after the contract starts ({first.valid_from:%Y-%m-%d})"
        )
    if eff >= last.valid_to:
        raise Invalid.one("effective", f"the contract ends anyway on {last.valid_to:%Y-%m-%d}")
    earliest = utcnow() + relativedelta(days=last.notice_days)
    if eff < earliest and not data.waive_notice:
        raise Invalid.one(
            "effective",
            f"the contract needs {last.notice_days} days' notice: the earliest date is "
            f"{earliest:%Y-%m-%d} (set waive_notice if the customer agreed to an earlier date)",
        )
    _write(
        session,
        actor,
        _draft(
            "contract.cancelled",
            Op.PATCH,
            Contract,
            contract_id,
            first.valid_from,
            end=eff,
            data={"cancelled_from": iso(eff)},
            reason=data.reason,
        ),
        _draft("contract.cancelled", Op.END, Contract, contract_id, eff, reason=data.reason),
    )


# --- contract lines -------------------------------------------------------------------------


def add_line(session: Session, *, actor: Actor, contract_id: str, data: LineCreate) -> str:
    """Cover an asset, or every asset of a type at a site, from `effective` (until `until`)."""
    require(actor, *AGREEMENT_WRITERS)
    on = _when(data)
    contract = _now(session, Contract, actor, contract_id, on)
    if data.until is not None and data.until <= on:
        raise Invalid.one("until", "must be after the line starts")
    _exists(session, actor, ServiceLevel, data.service_level_id, "service_level_id")
    if data.asset_id:
        try:
            asset = queries.get_asset_for(session, actor, data.asset_id, AsOf(on, utcnow()))
        except NotFound:
            raise Invalid.one("asset_id", f"no asset {data.asset_id}") from None
        if asset.customer_id != contract.customer_id:
            raise Invalid.one("asset_id", "the asset belongs to another customer")
        clash = queries.line_covering(
            session, actor, contract_id, data.asset_id, start=on, end=data.until or FOREVER
        )
        if clash is not None:
            raise Invalid.one(
                "asset_id",
                f"already covered by this contract from {clash.valid_from:%Y-%m-%d}: "
                "change that line instead",
            )
    else:
        assert data.site_id is not None
        _check_site(session, actor, data.site_id, contract.customer_id, on)
    line_id = str(uuid.uuid4())
    fields = record_data(data, skip={"until"})
    fields["contract_id"] = contract_id
    _write(
        session,
        actor,
        _draft(
            "line.added",
            Op.ASSERT,
            ContractLine,
            line_id,
            on,
            end=data.until or FOREVER,
            data=fields,
            reason=data.reason,
        ),
    )
    return line_id


def change_line(session: Session, *, actor: Actor, line_id: str, data: LineUpdate) -> None:
    """A new price, service level or budget from `effective` on (in the past: a correction)."""
    require(actor, *AGREEMENT_WRITERS)
    fields = changed_data(data, required=("service_level_id", "price", "budget_minutes"))
    if "service_level_id" in fields:
        _exists(session, actor, ServiceLevel, fields["service_level_id"], "service_level_id")
    on = _when(data)
    _now(session, ContractLine, actor, line_id, on)
    _write(
        session,
        actor,
        _draft(
            "line.changed", Op.PATCH, ContractLine, line_id, on, data=fields, reason=data.reason
        ),
    )


def take_off(session: Session, *, actor: Actor, line_id: str, data: TakeOff) -> None:
    """The line stops covering from `effective`: the day after the last covered day."""
    require(actor, *AGREEMENT_WRITERS)
    periods = _periods(session, ContractLine, actor, line_id)
    if data.effective >= periods[-1].valid_to:
        raise Invalid.one("effective", f"the line already ends {periods[-1].valid_to:%Y-%m-%d}")
    _write(
        session,
        actor,
        _draft("line.removed", Op.END, ContractLine, line_id, data.effective, reason=data.reason),
    )


def take_asset_off(session: Session, *, actor: Actor, asset_id: str, data: TakeOff) -> list[str]:
    """End every line that covers this one asset, from `effective`. Returns the lines."""
    require(actor, *AGREEMENT_WRITERS)
    asset = queries.get_asset_for(session, actor, asset_id)
    segs = queries.coverage_timeline(session, actor, asset.entity_id, known_at=utcnow())
    live = [s for s in segs if s.end > data.effective]
    own = sorted({s.line.line_id for s in live if s.per_asset})
    if not own:
        groups = sorted({s.contract.reference for s in live})
        if groups:
            raise Invalid.one(
                "asset_id",
                f"covered only as one of every {asset.asset_type} at its site (contract "
                f"{', '.join(groups)}): retire or move the asset, or change that line",
            )
        raise Invalid.one("asset_id", f"{asset.tag} is not covered on or after that date")
    for line_id in own:
        take_off(session, actor=actor, line_id=line_id, data=data)
    return own


def correct_line_period(
    session: Session, *, actor: Actor, line_id: str, data: PeriodCorrection
) -> None:
    """Correct when a line's coverage started or ended: recorded now, true from then."""
    require(actor, *AGREEMENT_WRITERS)
    periods = _periods(session, ContractLine, actor, line_id)
    first, last = periods[0], periods[-1]
    drafts: list[Draft] = []

    if data.starts is not None and data.starts != first.valid_from:
        if data.starts < first.valid_from:
            drafts.append(
                _draft(
                    "line.corrected",
                    Op.ASSERT,
                    ContractLine,
                    line_id,
                    data.starts,
                    end=first.valid_from,
                    data=_json(first.data()),
                    reason=data.reason,
                )
            )
        else:
            if data.starts >= last.valid_to:
                raise Invalid.one("starts", "must be before the line ends")
            drafts.append(
                _draft(
                    "line.corrected",
                    Op.END,
                    ContractLine,
                    line_id,
                    first.valid_from,
                    end=data.starts,
                    reason=data.reason,
                )
            )
    new_end = FOREVER if data.open_ended else data.ends
    if new_end is not None and new_end != last.valid_to:
        if new_end > last.valid_to:
            drafts.append(
                _draft(
                    "line.corrected",
                    Op.ASSERT,
                    ContractLine,
                    line_id,
                    last.valid_to,
                    end=new_end,
                    data=_json(last.data()),
                    reason=data.reason,
                )
            )
        else:
            if new_end <= (data.starts or first.valid_from):
                raise Invalid.one("ends", "must be after the line starts")
            drafts.append(
                _draft("line.corrected", Op.END, ContractLine, line_id, new_end, reason=data.reason)
            )
    if not drafts:
        raise Invalid.one("body", "nothing to correct: give starts, ends or open_ended")
    _write(session, actor, *drafts)


# --- invoices -------------------------------------------------------------------------------


def period_label(billing_period: str, start: datetime) -> str:
    if billing_period == "monthly":
        return f"{start:%Y-%m}"
    if billing_period == "quarterly":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    return f"{start.year}"


@dataclass
class RunResult:
    issued: list[str] = field(default_factory=list)  # invoice ids
    skipped: list[str] = field(default_factory=list)  # "REF: why"


def _money(c: coverage.Charge) -> dict[str, Any]:
    return {
        "line_id": c.line_id,
        "asset_id": c.asset_id,
        "tag": c.tag,
        "label": c.label,
        "service_level_id": c.service_level_id,
        "unit_price": c.unit_price,
        "days": c.days,
        "period_days": c.period_days,
        "amount": c.amount,
    }


def _iso_day(t: datetime) -> str:
    return f"{t:%Y-%m-%d}"


@dataclass(frozen=True)
class InvoiceDraft:
    """The invoice a run would issue for one contract and billing period, as known at
    `known_at`: its charges and its adjustments for earlier invoiced periods. The invoice
    run issues exactly this; the charges preview shows it, so the two cannot differ."""

    contract: Contract
    start: datetime
    end: datetime
    label: str  # "2026-11", "2026-Q4", "2026"
    number: str  # the number it is issued under
    known_at: datetime
    charges: list[dict[str, Any]]  # invoice lines of kind "charge"
    adjustments: list[dict[str, Any]]  # invoice lines of kind "adjustment"
    #: why a run issues nothing for it (already invoiced, not in force, nothing to
    #: invoice); None when a run would issue it
    skip: str | None
    #: the invoice already issued for this period, if any (as known at `known_at`)
    issued: Invoice | None

    @property
    def lines(self) -> list[dict[str, Any]]:
        return [*self.charges, *self.adjustments]

    @property
    def total(self) -> int:
        return sum(ln["amount"] for ln in self.lines)


def draft_invoice(
    session: Session,
    *,
    actor: Actor,
    contract: Contract,
    period: datetime,
    known_at: datetime,
    levels: dict[str, str] | None = None,
) -> InvoiceDraft:
    """The invoice for `contract`'s billing period containing `period`, from what is known
    at `known_at`: coverage charged by the day, and for each earlier period the contract
    was invoiced for (by invoices known then), that period recomputed less everything
    billed for it, as adjustment lines (a credit when negative). Issues nothing."""
    if levels is None:
        levels = {
            v.entity_id: v.name
            for v in queries.list_service_levels(
                session, actor=actor, when=AsOf(known_at, known_at)
            )
        }
    c = contract
    start, end = coverage.period_containing(c.billing_period, period)
    label = period_label(c.billing_period, start)
    previous = queries.invoices_of(session, actor, contract_id=c.entity_id, known_at=known_at)
    segs = queries.contract_segments(session, actor.tenant_id, c.entity_id, known_at=known_at)
    charges = [
        {
            "kind": "charge",
            "period_start": _iso_day(start),
            "period_end": _iso_day(end),
            "service_level": levels.get(ch.service_level_id, ""),
            **_money(ch),
        }
        for ch in coverage.charges(segs, start, end)
    ]
    adjustments = _adjustments(previous, segs, levels, before=start)
    skip = None
    issued = next((i for i in previous if i.period_start == start), None)
    if issued is not None:
        skip = f"already invoiced for {label}"
    elif not previous and not any(
        p.valid_from < end and start < p.valid_to
        for p in queries.contract_periods(session, actor, c.entity_id, known_at=known_at)
    ):
        skip = f"not in force in {label}"
    elif not charges and not adjustments:
        skip = f"nothing to invoice for {label}"
    return InvoiceDraft(
        contract=c,
        start=start,
        end=end,
        label=label,
        number=f"{c.reference}/{label}",
        known_at=known_at,
        charges=charges,
        adjustments=adjustments,
        skip=skip,
        issued=issued,
    )


def run_invoices(session: Session, *, actor: Actor, data: InvoiceRun) -> RunResult:
    """Issue each contract's invoice for the billing period containing `data.period`:
    its `draft_invoice` as known now.

    Charges come from coverage as known now, prorated by day. Each earlier period the
    contract was invoiced for is recomputed as known now; where that differs from what was
    billed for it (its invoice and any adjustments since), the difference is added as an
    adjustment line (a credit when negative). A contract already invoiced for the period is
    skipped, so a run can be repeated safely.
    """
    require(actor, *AGREEMENT_WRITERS)
    known_at = utcnow()
    result = RunResult()
    when = AsOf(data.period, known_at)
    contracts = queries.list_contracts(session, actor=actor, when=when)
    if data.contract_id:
        contracts = [c for c in contracts if c.entity_id == data.contract_id]
        if not contracts:
            raise Invalid.one("contract_id", f"no contract {data.contract_id}")
    levels = {
        s.entity_id: s.name
        for s in queries.list_service_levels(session, actor=actor, when=AsOf(known_at, known_at))
    }
    for c in contracts:
        draft = draft_invoice(
            session, actor=actor, contract=c, period=data.period, known_at=known_at, levels=levels
        )
        if draft.skip is not None:
            result.skipped.append(f"{c.reference}: {draft.skip}")
            continue
        invoice_id = str(uuid.uuid4())
        _write(
            session,
            actor,
            _draft(
                "invoice.issued",
                Op.ASSERT,
                Invoice,
                invoice_id,
                known_at,
                data={
                    "number": draft.number,
                    "contract_id": c.entity_id,
                    "customer_id": c.customer_id,
                    "period_start": iso(draft.start),
                    "period_end": iso(draft.end),
                    "currency": c.currency,
                    "coverage_known_at": iso(known_at),
                    "lines": draft.lines,
                    "total": draft.total,
                    "note": None,
                },
                reason=f"invoice run for {draft.label}",
            ),
        )
        result.issued.append(invoice_id)
    return result


def _adjustments(
    previous: list[Invoice],
    segs: list[coverage.Segment],
    levels: dict[str, str],
    *,
    before: datetime,
) -> list[dict[str, Any]]:
    """Adjustment lines: for each earlier invoiced period, coverage as known now minus
    everything billed for that period so far, per (line, asset)."""
    billed: dict[tuple[str, str], dict[tuple[str, str], int]] = defaultdict(
        lambda: defaultdict(int)
    )
    billed_days: dict[tuple[str, str], dict[tuple[str, str], int]] = defaultdict(dict)
    periods: dict[tuple[str, str], None] = {}
    for inv in previous:
        for ln in inv.lines:
            p = (ln["period_start"], ln["period_end"])
            if p[0] >= _iso_day(before):
                continue
            periods[p] = None
            key = (ln["line_id"], ln["asset_id"])
            billed[p][key] += ln["amount"]
            if ln["kind"] == "charge" or "days_now" in ln:
                billed_days[p][key] = ln.get("days_now", ln["days"])
    out: list[dict[str, Any]] = []
    for p in sorted(periods):
        start = datetime.fromisoformat(p[0] + "T00:00:00+00:00")
        end = datetime.fromisoformat(p[1] + "T00:00:00+00:00")
        now: dict[tuple[str, str], list[coverage.Charge]] = defaultdict(list)
        for ch in coverage.charges(segs, start, end):
            now[(ch.line_id, ch.asset_id)].append(ch)
        for key in sorted(set(now) | set(billed[p])):
            due = sum(ch.amount for ch in now.get(key, []))
            diff = due - billed[p].get(key, 0)
            if diff == 0:
                continue
            chs = now.get(key, [])
            ref = chs[0] if chs else None
            out.append(
                {
                    "kind": "adjustment",
                    "period_start": p[0],
                    "period_end": p[1],
                    "line_id": key[0],
                    "asset_id": key[1],
                    "tag": ref.tag if ref else _tag_billed(previous, key),
                    "label": ref.label if ref else "",
                    "service_level_id": ref.service_level_id if ref else "",
                    "service_level": levels.get(ref.service_level_id, "") if ref else "",
                    "unit_price": ref.unit_price if ref else 0,
                    "days": sum(ch.days for ch in chs),
                    "days_now": sum(ch.days for ch in chs),
                    "days_billed": billed_days[p].get(key, 0),
                    "period_days": coverage.days_covered(start, end),
                    "amount": diff,
                }
            )
    return out


def _tag_billed(previous: list[Invoice], key: tuple[str, str]) -> str:
    for inv in previous:
        for ln in inv.lines:
            if (ln["line_id"], ln["asset_id"]) == key:
                return str(ln["tag"])
    return ""
