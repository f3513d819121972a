"""Input and output shapes for assets, service levels, contracts, lines and invoices."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from accord.agreements.models import PRIORITIES, AssetStatus, BillingPeriod
from accord.fields import Text
from accord.parties.schemas import Change, VersionInfo
from accord.timeinput import Instant

TAG = r"^[A-Za-z0-9][A-Za-z0-9._/-]*$"
TYPE = r"^[a-z][a-z0-9-]*$"
CURRENCY = r"^[A-Z]{3}$"
_HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$"
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Why(Change):
    """A change to an agreement: every one says why (kept in the journal with who)."""

    reason: Text = Field(min_length=3, max_length=500, description="why this change is made")


# --- assets ---------------------------------------------------------------------------


class AssetCreate(Change):
    customer_id: str = Field(min_length=1, max_length=36)
    site_id: str | None = Field(default=None, max_length=36)
    tag: Text = Field(min_length=1, max_length=60, pattern=TAG)
    serial: Text | None = Field(default=None, max_length=100)
    asset_type: Text = Field(
        min_length=1, max_length=40, pattern=TYPE, description="lower-case, e.g. laptop"
    )
    make: Text | None = Field(default=None, max_length=100)
    model: Text | None = Field(default=None, max_length=100)
    status: AssetStatus = AssetStatus.IN_SERVICE
    external_key: Text | None = Field(default=None, max_length=100)


class AssetUpdate(Why):
    site_id: str | None = Field(default=None, max_length=36)
    tag: Text | None = Field(default=None, min_length=1, max_length=60, pattern=TAG)
    serial: Text | None = Field(default=None, max_length=100)
    asset_type: Text | None = Field(default=None, min_length=1, max_length=40, pattern=TYPE)
    make: Text | None = Field(default=None, max_length=100)
    model: Text | None = Field(default=None, max_length=100)
    status: AssetStatus | None = None
    external_key: Text | None = Field(default=None, max_length=100)


# --- calendars and service levels -------------------------------------------------------


class CalendarCreate(Change):
    name: Text = Field(min_length=1, max_length=100)
    time_zone: Text = Field(default="UTC", description="IANA time zone, e.g. Europe/London")
    weekly_hours: dict[str, list[tuple[str, str]]] = Field(
        description='open hours per weekday, e.g. {"mon": [["08:00", "18:00"]]}'
    )
    holidays: list[str] = Field(default_factory=list, description="closed dates, YYYY-MM-DD")

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {v!r}: use an IANA name like Europe/London"
            ) from None
        return v

    @field_validator("weekly_hours")
    @classmethod
    def _hours(cls, v: dict[str, list[tuple[str, str]]]) -> dict[str, list[tuple[str, str]]]:
        for day, spans in v.items():
            if day not in _DAYS:
                raise ValueError(f"{day!r} is not a weekday: use {', '.join(_DAYS)}")
            for open_, close in spans:
                if not (re.match(_HHMM, open_) and re.match(_HHMM, close)):
                    raise ValueError(f"{day}: times are HH:MM, got {open_!r}-{close!r}")
                if close <= open_:
                    raise ValueError(f"{day}: {open_}-{close} closes before it opens")
        return v

    @field_validator("holidays")
    @classmethod
    def _holidays(cls, v: list[str]) -> list[str]:
        for d in v:
            try:
                date.fromisoformat(d)
            except ValueError:
                raise ValueError(f"{d!r} is not a date (YYYY-MM-DD)") from None
        return sorted(set(v))


class Target(BaseModel):
    response: int = Field(gt=0, le=60 * 24 * 60, description="business minutes to respond")
    resolution: int = Field(gt=0, le=60 * 24 * 365, description="business minutes to resolve")

    @model_validator(mode="after")
    def _order(self) -> Target:
        if self.resolution < self.response:
            raise ValueError("resolution must not be shorter than response")
        return self


class ServiceLevelCreate(Change):
    name: Text = Field(min_length=1, max_length=100)
    calendar_id: str = Field(min_length=1, max_length=36)
    targets: dict[str, Target] = Field(description="per priority p1..p4")

    @field_validator("targets")
    @classmethod
    def _priorities(cls, v: dict[str, Target]) -> dict[str, Target]:
        unknown = set(v) - set(PRIORITIES)
        if unknown:
            raise ValueError(f"priorities are {', '.join(PRIORITIES)}, not {sorted(unknown)}")
        if not v:
            raise ValueError("give a target for at least one priority")
        return v


# --- contracts and lines ---------------------------------------------------------------


class ContractCreate(Change):
    customer_id: str = Field(min_length=1, max_length=36)
    reference: Text = Field(min_length=2, max_length=60, pattern=TAG)
    title: Text = Field(min_length=1, max_length=200)
    start: Instant
    term_end: Instant | None = Field(
        default=None, description="end of the first term (exclusive); none: rolling"
    )
    renewal_months: int | None = Field(default=None, ge=1, le=120)
    notice_days: int = Field(default=30, ge=0, le=730)
    billing_period: BillingPeriod = BillingPeriod.MONTHLY
    currency: Text = Field(default="GBP", pattern=CURRENCY)

    @model_validator(mode="after")
    def _term(self) -> ContractCreate:
        if self.term_end is not None and self.term_end <= self.start:
            raise ValueError("term_end must be after start")
        return self


class ContractUpdate(Why):
    title: Text | None = Field(default=None, min_length=1, max_length=200)
    notice_days: int | None = Field(default=None, ge=0, le=730)
    renewal_months: int | None = Field(default=None, ge=1, le=120)


class Renewal(Why):
    term_end: Instant | None = Field(
        default=None, description="new end of term; default: the renewal term after the old"
    )


class Cancellation(Why):
    effective: Instant = Field(description="the first day the contract is no longer in force")
    waive_notice: bool = Field(
        default=False, description="accept a date inside the notice period (agreed with them)"
    )


class LineCreate(Change):
    asset_id: str | None = Field(default=None, max_length=36)
    site_id: str | None = Field(default=None, max_length=36)
    asset_type: Text | None = Field(default=None, max_length=40, pattern=TYPE)
    service_level_id: str = Field(min_length=1, max_length=36)
    price: int = Field(ge=0, le=10**9, description="minor units per billing period per asset")
    budget_minutes: int = Field(default=0, ge=0, le=100_000, description="per asset per month")
    until: Instant | None = Field(default=None, description="coverage ends (exclusive)")
    external_key: Text | None = Field(default=None, max_length=100)

    @model_validator(mode="after")
    def _covers(self) -> LineCreate:
        if self.asset_id is None and (self.site_id is None or self.asset_type is None):
            raise ValueError("a line covers an asset_id, or a site_id with an asset_type")
        if self.asset_id is not None and (self.site_id or self.asset_type):
            raise ValueError("give an asset_id or a site_id with an asset_type, not both")
        return self


class LineUpdate(Why):
    """Change price, service level or budget from `effective` on (past: a correction)."""

    service_level_id: str | None = Field(default=None, max_length=36)
    price: int | None = Field(default=None, ge=0, le=10**9)
    budget_minutes: int | None = Field(default=None, ge=0, le=100_000)


class TakeOff(Why):
    effective: Instant = Field(description="first day not covered (the day after the last)")


class PeriodCorrection(BaseModel):
    """Correct when a line's coverage started or ended: recorded now, true from then."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")
    reason: Text = Field(min_length=3, max_length=500, description="why this change is made")
    starts: Instant | None = None
    ends: Instant | None = Field(default=None, description="exclusive; none: open")
    open_ended: bool = Field(default=False, description="set true to remove the end")


class InvoiceRun(BaseModel):
    model_config = ConfigDict(extra="forbid")
    period: Instant = Field(
        description="any day of the period to invoice: monthly contracts get that month, "
        "quarterly that quarter, annual that year"
    )
    contract_id: str | None = None


# --- answers -------------------------------------------------------------------------


class Entitlement(BaseModel):
    asset_id: str
    tag: str
    on: datetime
    known_at: datetime
    covered: bool
    cause: str
    reason: str = Field(description="in words for the desk")
    contract_id: str | None = None
    contract_reference: str | None = None
    line_id: str | None = None
    service_level_id: str | None = None
    service_level: str | None = None
    targets: dict[str, Any] | None = None
    covered_until: datetime | None = None
    next_covered_from: datetime | None = None


class AssetPublic(BaseModel):
    id: str
    customer_id: str
    site_id: str | None
    tag: str
    serial: str | None
    asset_type: str
    make: str | None
    model: str | None
    status: AssetStatus
    external_key: str | None
    version: VersionInfo


class AssetList(BaseModel):
    """One page of assets and how many match in all."""

    items: list[AssetPublic]
    total: int = Field(description="assets matching, across all pages")
    limit: int
    offset: int


class CalendarPublic(BaseModel):
    id: str
    name: str
    time_zone: str
    weekly_hours: dict[str, list[tuple[str, str]]]
    holidays: list[str]
    version: VersionInfo


class ServiceLevelPublic(BaseModel):
    id: str
    name: str
    calendar_id: str
    targets: dict[str, dict[str, int]] = Field(description="business minutes per priority")
    version: VersionInfo


class Period(BaseModel):
    """[start, end) in valid time; `end` none: open."""

    start: datetime
    end: datetime | None


class ContractPublic(BaseModel):
    id: str
    customer_id: str
    reference: str
    title: str
    start: datetime
    term_end: datetime | None
    renewal_months: int | None
    notice_days: int
    billing_period: BillingPeriod
    currency: str
    cancelled_from: datetime | None
    in_force: bool = Field(description="in force on the day asked about")
    version: VersionInfo


class LinePublic(BaseModel):
    id: str
    contract_id: str
    asset_id: str | None
    site_id: str | None
    asset_type: str | None
    service_level_id: str
    price: int = Field(description="minor units per billing period per covered asset")
    budget_minutes: int = Field(description="support minutes per covered asset per month")
    external_key: str | None
    version: VersionInfo


class LineDetail(LinePublic):
    periods: list[Period] = Field(description="when the line covers, as known at `known_at`")


class ContractDetail(ContractPublic):
    lines: list[LinePublic] = Field(description="each line on `on`, or its nearest version")
    periods: list[Period] = Field(description="when the contract is in force")


class CoverageSegment(BaseModel):
    """A period in which one contract line covers the asset."""

    start: datetime
    end: datetime | None
    contract_id: str
    contract_reference: str
    line_id: str
    service_level_id: str
    service_level: str | None
    per_asset: bool = Field(description="a line for this asset alone, not for its site and type")
    price: int
    budget_minutes: int


class BudgetMonth(BaseModel):
    month: str = Field(description="YYYY-MM")
    start: datetime
    end: datetime
    budget_minutes: int = Field(description="derived from what the contract covers that month")
    booked_minutes: int = Field(description="time booked to the contract for work that month")
    remaining_minutes: int


class ChargeLine(BaseModel):
    kind: Literal["charge", "adjustment"] = "charge"
    line_id: str
    asset_id: str
    tag: str
    label: str
    service_level_id: str
    service_level: str
    unit_price: int
    days: int
    period_days: int
    amount: int


class AdjustmentLine(ChargeLine):
    """An earlier invoiced period recomputed as known now, less all that was billed for it:
    a credit when `amount` is below zero. `days` is `days_now`."""

    kind: Literal["charge", "adjustment"] = "adjustment"
    period: str = Field(description="the period it corrects: 2026-11, 2026-Q4 or 2026")
    period_start: date
    period_end: date = Field(description="exclusive")
    days_billed: int = Field(description="days of it billed so far")
    days_now: int = Field(description="days of it covered as known now")


class Charges(BaseModel):
    """The invoice a run for the period would issue, computed as known at `known_at`: the
    period's charges (`lines`) and adjustments for earlier invoiced periods. Nothing is
    issued: the invoice run issues exactly this, computed by the same code."""

    contract_id: str
    reference: str
    number: str = Field(description="the number the invoice would be issued under")
    period_start: datetime
    period_end: datetime
    currency: str
    known_at: datetime
    lines: list[ChargeLine] = Field(description="the period's charges, prorated by day")
    total: int = Field(description="the charges' total (`lines`); the invoice's is invoice_total")
    adjustments: list[AdjustmentLine] = Field(
        description="corrections to earlier invoiced periods (credits below zero)"
    )
    adjustments_total: int
    invoice_total: int = Field(description="what the invoice would total: total + adjustments")
    issued_invoice_id: str | None = Field(
        description="the invoice already issued for this period (as known at known_at), if any"
    )
    skipped: str | None = Field(
        description="why a run for this period would issue nothing (already invoiced, not in "
        "force, nothing to invoice); null when it would issue this invoice"
    )


class InvoiceLinePublic(BaseModel):
    kind: str = Field(description="charge, or adjustment of an earlier period")
    period_start: date
    period_end: date
    line_id: str
    asset_id: str
    tag: str
    label: str
    service_level_id: str
    service_level: str
    unit_price: int
    days: int
    period_days: int
    amount: int = Field(description="minor units; an adjustment below zero is a credit")
    days_now: int | None = None
    days_billed: int | None = None


class InvoiceSummary(BaseModel):
    id: str
    number: str
    contract_id: str
    customer_id: str
    period_start: datetime
    period_end: datetime
    currency: str
    coverage_known_at: datetime = Field(description="the recorded time its coverage was read as")
    total: int
    note: str | None
    version: VersionInfo


class InvoicePublic(InvoiceSummary):
    lines: list[InvoiceLinePublic]


class RunPublic(BaseModel):
    issued: list[str] = Field(description="ids of the invoices issued")
    skipped: list[str] = Field(description="contracts not invoiced, each with why")
