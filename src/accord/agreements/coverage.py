"""Coverage as pure arithmetic on versions: which contract line covers an asset when, why
not, and how that turns into invoice lines and support budgets.

Everything here works on plain values read as known at one recorded time, so the same
functions answer "is it covered today?", "what did we believe when we issued that
invoice?" and the brute-force oracle of the tests can check them. No database here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from dateutil.relativedelta import relativedelta

DAY = timedelta(days=1)


@dataclass(frozen=True)
class AssetV:
    """One valid-time period of an asset, as known at the time of the question."""

    asset_id: str
    valid_from: datetime
    valid_to: datetime
    customer_id: str
    site_id: str | None
    asset_type: str
    status: str
    tag: str
    label: str = ""  # make and model, for invoice lines


@dataclass(frozen=True)
class LineV:
    line_id: str
    contract_id: str
    valid_from: datetime
    valid_to: datetime
    asset_id: str | None
    site_id: str | None
    asset_type: str | None
    service_level_id: str
    price: int
    budget_minutes: int
    seq: int  # the journal entry that wrote this version


@dataclass(frozen=True)
class ContractV:
    contract_id: str
    valid_from: datetime
    valid_to: datetime
    customer_id: str
    reference: str
    billing_period: str
    currency: str
    term_end: datetime | None
    cancelled_from: datetime | None
    seq: int


@dataclass(frozen=True)
class Segment:
    """[start, end): the asset is covered by `line` under `contract` throughout."""

    start: datetime
    end: datetime
    asset: AssetV
    line: LineV
    contract: ContractV

    @property
    def per_asset(self) -> bool:
        return self.line.asset_id is not None


def covers(line: LineV, asset: AssetV) -> bool:
    """Whether a line version would cover this asset version (ignoring time)."""
    if asset.status == "retired":
        return False
    if line.asset_id is not None:
        return line.asset_id == asset.asset_id
    return line.site_id == asset.site_id and line.asset_type == asset.asset_type


def segments(
    assets: Iterable[AssetV], lines: Iterable[LineV], contracts: Iterable[ContractV]
) -> list[Segment]:
    """Every period in which a line of an in-force contract covers one of `assets`."""
    by_contract: dict[str, list[ContractV]] = defaultdict(list)
    for c in contracts:
        by_contract[c.contract_id].append(c)
    lines = list(lines)
    out: list[Segment] = []
    for a in assets:
        for ln in lines:
            if not covers(ln, a):
                continue
            start, end = max(a.valid_from, ln.valid_from), min(a.valid_to, ln.valid_to)
            if start >= end:
                continue
            for c in by_contract.get(ln.contract_id, ()):
                s, e = max(start, c.valid_from), min(end, c.valid_to)
                if s < e:
                    out.append(Segment(s, e, a, ln, c))
    out.sort(key=lambda s: (s.start, not s.per_asset, s.contract.reference, s.line.line_id))
    return out


# --- entitlement ---------------------------------------------------------------------


class Cause(StrEnum):
    """Why an asset is or is not covered on a day, in the desk's terms."""

    COVERED = "covered"
    NEVER = "never_covered"
    NOT_YET = "not_yet_covered"  # coverage starts after the day asked about
    REMOVED = "removed"  # taken off the contract from a date
    LINE_ENDED = "line_ended"  # the line was set up to end then
    CONTRACT_ENDED = "contract_ended"  # the contract's term ended
    CANCELLED = "cancelled"  # the contract was cancelled from then
    RETIRED = "asset_retired"
    MOVED = "asset_changed"  # moved to another site or retyped out of a site/type line
    NO_ASSET = "no_asset"  # the asset does not exist on that day


@dataclass(frozen=True)
class Finding:
    """The answer before words: covered by `segment`, or not because of `cause` at `at`.

    `at` is where coverage stopped; the caller finds the change that stopped it (who and
    why) in the journal of `line` or `contract`.
    """

    cause: Cause
    segment: Segment | None = None
    at: datetime | None = None
    next_start: datetime | None = None  # when coverage (re)starts after the day asked about
    contract: ContractV | None = None
    line: LineV | None = None


def find(
    asset: Sequence[AssetV],
    lines: Sequence[LineV],
    contracts: Sequence[ContractV],
    on: datetime,
    *,
    segs: Sequence[Segment] | None = None,
) -> Finding:
    """Entitlement on `on` from the asset's versions and every line and contract version
    that could touch it (all as known at one recorded time); `segs`, their `segments`,
    when the caller has them already."""
    if segs is None:
        segs = segments(asset, lines, contracts)
    here = [s for s in segs if s.start <= on < s.end]
    later = [s.start for s in segs if s.start > on]
    next_start = min(later) if later else None
    if here:
        return Finding(Cause.COVERED, segment=here[0])
    current = next((a for a in asset if a.valid_from <= on < a.valid_to), None)
    past = [s for s in segs if s.end <= on]
    if not past:
        if current is None:
            return Finding(Cause.NO_ASSET, next_start=next_start)
        if current.status == "retired":
            return Finding(Cause.RETIRED, at=current.valid_from)
        return Finding(Cause.NOT_YET if next_start else Cause.NEVER, next_start=next_start)
    last = max(past, key=lambda s: (s.end, s.per_asset))
    return _why_it_ended(last, asset, lines, contracts, next_start)


def _continues(versions: Iterable[AssetV | LineV | ContractV], key: str, at: datetime) -> bool:
    return any(getattr(v, key) and v.valid_from == at for v in versions)


def _why_it_ended(
    last: Segment,
    assets: Sequence[AssetV],
    lines: Sequence[LineV],
    contracts: Sequence[ContractV],
    next_start: datetime | None,
) -> Finding:
    end = last.end
    c, ln = last.contract, last.line
    same_contract = [v for v in contracts if v.contract_id == c.contract_id]
    same_line = [v for v in lines if v.line_id == ln.line_id]
    if c.valid_to == end and not any(v.valid_from == end for v in same_contract):
        cancelled = c.cancelled_from is not None and c.cancelled_from == end
        cause = Cause.CANCELLED if cancelled else Cause.CONTRACT_ENDED
    elif ln.valid_to == end and not any(v.valid_from == end for v in same_line):
        cause = Cause.REMOVED
    else:
        after = next((v for v in assets if v.valid_from == end), None)
        if after is None:
            cause = Cause.NO_ASSET
        elif after.status == "retired":
            cause = Cause.RETIRED
        else:
            cause = Cause.MOVED
    return Finding(cause, at=end, next_start=next_start, contract=c, line=ln)


# --- periods -------------------------------------------------------------------------

_MONTHS = {"monthly": 1, "quarterly": 3, "annual": 12}


def months_in(billing_period: str) -> int:
    return _MONTHS[billing_period]


def period_containing(billing_period: str, t: datetime) -> tuple[datetime, datetime]:
    """The calendar month, quarter or year (UTC) that contains `t`."""
    n = _MONTHS[billing_period]
    first_month = ((t.month - 1) // n) * n + 1
    start = datetime(t.year, first_month, 1, tzinfo=UTC)
    return start, start + relativedelta(months=n)


def month_start(t: datetime) -> datetime:
    return datetime(t.year, t.month, 1, tzinfo=UTC)


def days_covered(start: datetime, end: datetime) -> int:
    """Days counted in [start, end): each day whose midnight (UTC) falls inside.

    Changes are made from a date (midnight), so a period from 1 December to 15 December
    counts 14 days; a change at 10:00 counts from the next day.
    """
    if end <= start:
        return 0
    first = start if start == _midnight(start) else _midnight(start) + DAY
    if first >= end:
        return 0
    return (end - first - timedelta(microseconds=1)) // DAY + 1


def _midnight(t: datetime) -> datetime:
    return t.replace(hour=0, minute=0, second=0, microsecond=0)


def prorate(amount: int, days: int, of_days: int) -> int:
    """`amount` x days / of_days in minor units, half away from zero."""
    exact = Decimal(amount) * days / of_days
    return int(exact.to_integral_value(rounding=ROUND_HALF_UP))


# --- invoice lines and budgets -------------------------------------------------------


@dataclass(frozen=True)
class Charge:
    """What one line charges for one asset in a period: the basis of an invoice line."""

    line_id: str
    asset_id: str
    tag: str
    label: str
    service_level_id: str
    unit_price: int
    days: int
    period_days: int
    amount: int


def charges(segs: Iterable[Segment], start: datetime, end: datetime) -> list[Charge]:
    """Invoice lines for [start, end) from coverage segments, prorated by day.

    One per (line, asset, price): a price change mid-period gives two lines.
    """
    period_days = days_covered(start, end)
    days: dict[tuple[str, str, int], int] = defaultdict(int)
    first: dict[tuple[str, str, int], Segment] = {}
    for s in segs:
        d = days_covered(max(s.start, start), min(s.end, end))
        if d <= 0:
            continue
        key = (s.line.line_id, s.asset.asset_id, s.line.price)
        days[key] += d
        first.setdefault(key, s)
    out = []
    for key, d in days.items():
        s = first[key]
        d = min(d, period_days)
        out.append(
            Charge(
                line_id=s.line.line_id,
                asset_id=s.asset.asset_id,
                tag=s.asset.tag,
                label=s.asset.label,
                service_level_id=s.line.service_level_id,
                unit_price=s.line.price,
                days=d,
                period_days=period_days,
                amount=prorate(s.line.price, d, period_days),
            )
        )
    out.sort(key=lambda c: (c.tag, c.line_id, c.unit_price))
    return out


def budget_minutes(segs: Iterable[Segment], start: datetime, end: datetime) -> int:
    """Support minutes the coverage earns in the month [start, end)."""
    month_days = days_covered(start, end)
    total = Decimal(0)
    for s in segs:
        d = days_covered(max(s.start, start), min(s.end, end))
        if d > 0:
            total += Decimal(s.line.budget_minutes) * d / month_days
    return int(total.to_integral_value(rounding=ROUND_HALF_UP))
