"""The agreements part of the demo provider: Northwind's assets, service levels, contracts,
invoices and booked time, so that every agreements page has something true to show.

Called by `accord.demo.load` after the customers and sites exist. Like the rest of the
demo it writes through the service functions only, as Northwind's staff would (the desk
keeps assets, finance keeps contracts and runs invoices), and it is deterministic for a
given `today`. Recorded time cannot be back-dated, so the whole history is recorded at
load time; valid times are in the past or the future, relative to `today`:

- a few hundred assets across the customers' sites (laptops, desktops, servers,
  firewalls, switches, printers), under contracts billed monthly, quarterly or yearly,
  fixed term with renewal or rolling, with per-asset lines (servers, firewalls) and
  group lines (every laptop at a site);
- a contract cancelled from next month, a server taken off from the day after its
  last covered day next month, a printer taken off in the past, a retired desktop and
  a laptop moved to another site;
- a price uplift from a past date and a new price from next month, a renewal, a
  contract that ended (the former customer's);
- invoices for the last two months, then a retroactive correction (a firewall's line
  started earlier than first recorded), so this month's run has an adjustment line;
- time booked against a few contracts for the budget pages.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from dateutil.relativedelta import relativedelta
from sqlalchemy.orm import Session

from accord.access import Actor, Role
from accord.agreements import queries, service
from accord.agreements.models import AssetStatus, BillingPeriod
from accord.agreements.schemas import (
    AssetCreate,
    AssetUpdate,
    CalendarCreate,
    Cancellation,
    ContractCreate,
    InvoiceRun,
    LineCreate,
    LineUpdate,
    PeriodCorrection,
    Renewal,
    ServiceLevelCreate,
    TakeOff,
    Target,
)
from accord.desk import service as desk
from accord.desk.schemas import TimeCreate
from accord.errors import NotFound
from accord.parties import queries as parties
from accord.store.db import utcnow
from accord.store.temporal import AsOf

SEED = 20260303

#: England and Wales bank holidays, 2026 and 2027 (gov.uk).
# fmt: off
UK_BANK_HOLIDAYS = (
    "2026-01-01", "2026-04-03", "2026-04-06", "2026-05-04",
    "2026-05-25", "2026-08-31", "2026-12-25", "2026-12-28",
    "2027-01-01", "2027-03-26", "2027-03-29", "2027-05-03",
    "2027-05-31", "2027-08-30", "2027-12-27", "2027-12-28",
)
# fmt: on

# Business minutes: (response, resolution) for p1..p4.
LEVELS = {
    "Gold": ((30, 240), (60, 480), (240, 1440), (480, 2880)),
    "Silver": ((60, 480), (120, 960), (480, 2400), (960, 4800)),
    "Bronze": ((240, 960), (480, 1920), (960, 4800), (1920, 9600)),
}

# fmt: off
MODELS = {
    "laptop": (("Dell", "Latitude 5440"), ("Lenovo", "ThinkPad T14 Gen 4"),
               ("HP", "EliteBook 840 G10"), ("Apple", "MacBook Air 13 M2")),
    "desktop": (("Dell", "OptiPlex 7010"), ("HP", "EliteDesk 800 G9"),
                ("Lenovo", "ThinkCentre M70q Gen 4")),
    "server": (("Dell", "PowerEdge R650"), ("HPE", "ProLiant DL360 Gen10 Plus"),
               ("Lenovo", "ThinkSystem SR630 V2")),
    "firewall": (("Fortinet", "FortiGate 60F"), ("WatchGuard", "Firebox T45"),
                 ("Sophos", "XGS 2100")),
    "switch": (("Cisco", "Catalyst 1000-24P"), ("HPE Aruba", "Instant On 1930 24G"),
               ("Ubiquiti", "UniFi Switch Pro 24 PoE")),
    "printer": (("HP", "LaserJet Pro M404dn"), ("Brother", "MFC-L8900CDW"),
                ("Kyocera", "ECOSYS M3655idn")),
}
# How a maker's serial numbers look: a prefix, then that many characters of the alphabet.
SERIALS = {
    "Dell": ("", 7, string.ascii_uppercase + string.digits),
    "Lenovo": ("PF", 6, string.ascii_uppercase + string.digits),
    "HP": ("5CG", 7, string.ascii_uppercase + string.digits),
    "HPE": ("CZJ", 7, string.ascii_uppercase + string.digits),
    "Apple": ("C02", 9, string.ascii_uppercase + string.digits),
    "Fortinet": ("FGT60F", 10, string.digits),
    "WatchGuard": ("8020", 8, "0123456789ABCDEF"),
    "Sophos": ("X21", 10, string.digits),
    "Cisco": ("FOC", 8, string.ascii_uppercase + string.digits),
    "HPE Aruba": ("SG", 8, string.ascii_uppercase + string.digits),
    "Ubiquiti": ("", 12, "0123456789ABCDEF"),
    "Brother": ("E7", 8, string.ascii_uppercase + string.digits),
    "Kyocera": ("VCL", 7, string.ascii_uppercase + string.digits),
}
# Per asset per month: price in pence, service level, support minutes.
TERMS = {
    "laptop": (1500, "Silver", 20),
    "desktop": (1200, "Silver", 15),
    "server": (9500, "Gold", 90),
    "firewall": (3500, "Gold", 30),
    "switch": (900, "Silver", 10),
    "printer": (600, "Bronze", 10),
}
# fmt: on

# Customers with no assets on record yet (prospects), and the shapes the stories need.
NO_ASSETS = {"MENDIP", "MOREAU"}
ROLLING_MONTHLY = {"BLACKFRIARS", "SOLENT", "CLYDE", "RIVERSIDE", "HOLLOWAYPIKE", "KESTREL"}
INFRASTRUCTURE = {"THORNBURY", "TAYVALLEY", "FENLAND", "MERSEY", "ARDMORE", "LAGAN"}

_NOTES = (
    "Password reset and MFA re-enrolment",
    "Outlook profile rebuilt",
    "Printer driver update across the office",
    "Patch window: server updates and reboot",
    "Firewall firmware upgrade",
    "New starter laptop set up",
    "Leaver: mailbox converted to shared, device wiped",
    "Wi-Fi dropouts investigated at the annex",
    "Backup job failure: rerun and verified",
    "Quarterly review with the practice manager",
)


@dataclass
class AgreementsSummary:
    """What the agreements demo wrote, and the records the stories are about."""

    assets: int = 0
    contracts: int = 0
    lines: int = 0
    invoices: int = 0
    time_entries: int = 0
    #: story name -> the id it is about (an asset, a line or a contract)
    stories: dict[str, str] = field(default_factory=dict)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _first_of_next_month(t: datetime) -> datetime:
    return datetime(t.year, t.month, 1, tzinfo=UTC) + relativedelta(months=1)


@dataclass
class _Site:
    id: str
    opened: datetime
    main: bool


@dataclass
class _Asset:
    id: str
    tag: str
    kind: str
    site: _Site
    since: datetime


class _Agreements:
    def __init__(
        self,
        session: Session,
        staff: dict[Role, Actor],
        customers: dict[str, str],
        sites: dict[str, list[str]],
        started: dict[str, datetime],
        today: date,
    ) -> None:
        self.s = session
        self.desk = staff[Role.AGENT]
        self.finance = staff[Role.FINANCE]
        self.customers = customers
        self.site_ids = sites
        self.started = started
        self.today = _midnight(today)
        self.this_month = datetime(today.year, today.month, 1, tzinfo=UTC)
        self.next_month = self.this_month + relativedelta(months=1)
        self.rng = random.Random(SEED)
        self.levels: dict[str, str] = {}
        self.assets: dict[str, list[_Asset]] = {}
        self.contracts: dict[str, list[str]] = {}  # customer code -> contract ids
        #: (customer code, asset id) -> the per-asset line covering it
        self.asset_lines: dict[tuple[str, str], str] = {}
        #: (customer code, site id, type) -> the group line covering them
        self.group_lines: dict[tuple[str, str, str], str] = {}
        self.summary = AgreementsSummary()
        self.ends: dict[str, datetime] = {}  # contract id -> end of its term (as set up)

    def days_ago(self, n: int) -> datetime:
        return self.today - timedelta(days=n)

    # --- service levels ---------------------------------------------------------------

    def service_levels(self) -> None:
        since = _midnight(date(self.today.year - 7, 1, 1))
        calendar = service.create_calendar(
            self.s,
            actor=self.finance,
            data=CalendarCreate(
                name="UK office hours",
                time_zone="Europe/London",
                weekly_hours={d: [("08:30", "17:30")] for d in ("mon", "tue", "wed", "thu", "fri")},
                holidays=list(UK_BANK_HOLIDAYS),
                effective=since,
                reason="Northwind's standard support hours",
            ),
        )
        for name, targets in LEVELS.items():
            self.levels[name] = service.create_service_level(
                self.s,
                actor=self.finance,
                data=ServiceLevelCreate(
                    name=name,
                    calendar_id=calendar,
                    targets={
                        f"p{i}": Target(response=r, resolution=z)
                        for i, (r, z) in enumerate(targets, 1)
                    },
                    effective=since,
                    reason="Service level schedule, as in the standard terms",
                ),
            )

    # --- assets -----------------------------------------------------------------------

    def serial(self, make: str) -> str:
        prefix, n, alphabet = SERIALS[make]
        return prefix + "".join(self.rng.choice(alphabet) for _ in range(n))

    def sites(self, code: str) -> list[_Site]:
        out = []
        start = self.started[code]
        for i, site_id in enumerate(self.site_ids[code]):
            try:  # closed sites (the Mersey depot) have no assets
                now = parties.get_site_for(self.s, self.desk, site_id)
            except NotFound:
                continue
            opened = now.valid_from
            if i == 0:
                try:
                    parties.get_site_for(self.s, self.desk, site_id, when=AsOf(start, utcnow()))
                    opened = start
                except NotFound:
                    pass
            out.append(_Site(site_id, opened, i == 0))
        return out

    def estate(self, code: str) -> None:
        """The customer's assets: a working office at the main site, less elsewhere."""
        customer = self.customers[code]
        out = self.assets[code] = []
        n = 0
        for site in self.sites(code):
            r = self.rng.randint
            if site.main:
                counts = {"laptop": r(3, 9), "desktop": r(1, 6), "server": r(0, 2)}
                counts |= {"firewall": 1, "switch": r(1, 2), "printer": r(1, 2)}
            else:
                counts = {"laptop": r(0, 3), "desktop": r(1, 4), "switch": 1, "printer": r(0, 1)}
                counts["firewall"] = r(0, 1)
            for kind, count in counts.items():
                for _ in range(count):
                    n += 1
                    make, model = self.rng.choice(MODELS[kind])
                    # Most were there when the site opened; some arrived since.
                    late = self.rng.random() < 0.25 and code not in ("CLYDE", "ALDGATE")
                    span = max(1, (self.days_ago(2) - site.opened).days)
                    since = site.opened + timedelta(
                        days=self.rng.randint(0, span) if late else self.rng.randint(0, 20)
                    )
                    since = min(since, self.days_ago(2))
                    tag = f"{code}-{n:04d}"
                    spare = kind == "laptop" and self.rng.random() < 0.08
                    asset_id = service.add_asset(
                        self.s,
                        actor=self.desk,
                        data=AssetCreate(
                            customer_id=customer,
                            site_id=site.id,
                            tag=tag,
                            serial=self.serial(make),
                            asset_type=kind,
                            make=make,
                            model=model,
                            status=AssetStatus.IN_STOCK if spare else AssetStatus.IN_SERVICE,
                            effective=since,
                            reason="Asset audit at onboarding" if not late else "New equipment",
                        ),
                    )
                    out.append(_Asset(asset_id, tag, kind, site, since))
        self.summary.assets += len(out)

    # --- contracts --------------------------------------------------------------------

    def contract(self, code: str) -> None:
        """The customer's managed-support contract and, for a few, a separate one for the
        servers and network; lines for what each covers."""
        start = _first_of_next_month(self.started[code] + timedelta(days=20))
        start = min(start, self.this_month - relativedelta(months=4))
        year = start.year
        infra = code in INFRASTRUCTURE
        main = self.new_contract(
            code,
            reference=f"{code}-MSA-{year}",
            title="Managed IT support",
            start=start,
            shape=self.shape(code),
        )
        infra_id = None
        if infra:
            infra_id = self.new_contract(
                code,
                reference=f"{code}-INF-{year}",
                title="Server and network care",
                start=start,
                shape=("annual", None, 12, 90),
            )
        end_user = ("laptop", "desktop")
        kit = ("server", "firewall", "switch")
        covered_groups: set[tuple[str, str]] = set()
        for a in self.assets[code]:
            if a.kind in end_user or (a.kind == "switch" and not infra):
                key = (a.site.id, a.kind)
                if key in covered_groups:
                    continue
                covered_groups.add(key)
                line_start = max(start, _first_of_next_month(a.site.opened))
                if line_start > self.today:
                    continue
                group = self.line(main, code, kind=a.kind, site_id=a.site.id, start=line_start)
                if group:
                    self.group_lines[(code, a.site.id, a.kind)] = group
            elif a.kind in kit or (a.kind == "printer" and self.rng.random() < 0.6):
                if code == "CLYDE" and a.kind == "firewall" and a.site.main:
                    # Set up late: corrected after the invoice runs (see `correct`).
                    line_start = self.this_month
                else:
                    line_start = max(start, a.since)
                contract_id = infra_id if infra_id and a.kind in kit else main
                own = self.line(contract_id, code, kind=a.kind, asset_id=a.id, start=line_start)
                if own:
                    self.asset_lines[(code, a.id)] = own

    def shape(self, code: str) -> tuple[str, int | None, int | None, int]:
        """(billing period, first term in months or None when rolling, renewal months,
        notice days)."""
        if code in ROLLING_MONTHLY:
            return ("monthly", None, None, 30)
        billing = self.rng.choices(("monthly", "quarterly", "annual"), (6, 3, 1))[0]
        if self.rng.random() < 0.5:
            return (billing, None, None, 30)
        return (billing, self.rng.choice((12, 24, 36)), 12, 90)

    def new_contract(
        self,
        code: str,
        *,
        reference: str,
        title: str,
        start: datetime,
        shape: tuple[str, int | None, int | None, int],
    ) -> str:
        billing, term, renewal, notice = shape
        if code == "ALDGATE":  # the former customer: its fixed term ended, not renewed
            term_end: datetime | None = self.days_ago(75)
            renewal = None
        else:
            term_end = None if term is None else start + relativedelta(months=term)
        if code == "THORNBURY" and "MSA" in reference:
            term_end = self.next_month + relativedelta(months=1)  # renewed below, at review
            renewal, notice = 12, 90
        contract_id = service.create_contract(
            self.s,
            actor=self.finance,
            data=ContractCreate(
                customer_id=self.customers[code],
                reference=reference,
                title=title,
                start=start,
                term_end=term_end,
                renewal_months=renewal,
                notice_days=notice,
                billing_period=BillingPeriod(billing),
                currency="EUR" if code in ("VANDIJK", "HOFFMANN", "LIFFEY") else "GBP",
                reason="Signed agreement",
            ),
        )
        # Fixed terms renewed at each anniversary so far (recorded now, as on file).
        while term_end is not None and renewal and term_end <= self.today:
            term_end = service.renew_contract(
                self.s,
                actor=self.finance,
                contract_id=contract_id,
                data=Renewal(reason="Renewed for another term at the annual review"),
            )
        self.contracts.setdefault(code, []).append(contract_id)
        self.ends[contract_id] = term_end or self.next_month + relativedelta(years=50)
        self.summary.contracts += 1
        return contract_id

    def line(
        self,
        contract_id: str,
        code: str,
        *,
        kind: str,
        start: datetime,
        asset_id: str | None = None,
        site_id: str | None = None,
    ) -> str | None:
        if start >= self.ends[contract_id]:
            return None  # arrived after the contract ended: never covered
        price, level, minutes = TERMS[kind]
        billing = queries.get_contract_for(self.s, self.finance, contract_id)
        price *= {"monthly": 1, "quarterly": 3, "annual": 11}[billing.billing_period]
        if billing.billing_period == "annual" and kind in ("server", "firewall"):
            level = "Gold"
        line_id = service.add_line(
            self.s,
            actor=self.finance,
            contract_id=contract_id,
            data=LineCreate(
                asset_id=asset_id,
                site_id=site_id,
                asset_type=None if asset_id else kind,
                service_level_id=self.levels[level],
                price=price,
                budget_minutes=minutes,
                effective=start,
                reason="As in the schedule of covered equipment",
            ),
        )
        self.summary.lines += 1
        return line_id

    # --- what happened since ----------------------------------------------------------

    def first(self, code: str, kind: str, *, per_asset: bool = True) -> _Asset:
        for a in self.assets[code]:
            if a.kind == kind and ((code, a.id) in self.asset_lines) == per_asset:
                return a
        raise LookupError(f"the demo has no {kind} for {code}")

    def stories(self) -> None:
        s, fin, desk_ = self.s, self.finance, self.desk
        stories = self.summary.stories

        # A customer moving IT in-house cancels from next month (with notice if there is
        # still time for it, otherwise agreed with them).
        cancelled = self.contracts["BLACKFRIARS"][0]
        service.cancel_contract(
            s,
            actor=fin,
            contract_id=cancelled,
            data=Cancellation(
                effective=self.next_month,
                waive_notice=self.next_month < utcnow() + timedelta(days=30),
                reason="Moving IT in-house; the customer asked to finish at the month end",
            ),
        )
        stories["cancelled_contract"] = cancelled
        stories["cancelled_asset"] = self.assets["BLACKFRIARS"][0].id

        # A server decommissioned next month: covered up to and including the 14th.
        server = self.first("SOLENT", "server") if self.has("SOLENT", "server") else None
        target = server or self.first("SOLENT", "firewall")
        service.take_asset_off(
            s,
            actor=fin,
            asset_id=target.id,
            data=TakeOff(
                effective=self.next_month + timedelta(days=14),
                reason="Decommissioned after the move to Microsoft 365; last day the 14th",
            ),
        )
        stories["taken_off_asset"] = target.id

        # A printer replaced by a leased one in the past: off support from then.
        for code in ("CASTLEGATE", "GREENWAY", "HDP", "ASHREID", "OAKFIELD"):
            if self.has(code, "printer"):
                printer = self.first(code, "printer")
                service.take_asset_off(
                    s,
                    actor=fin,
                    asset_id=printer.id,
                    data=TakeOff(
                        effective=max(self.days_ago(40), printer.since + timedelta(days=1)),
                        reason="Replaced by a leased MFP maintained by the supplier",
                    ),
                )
                stories["printer_taken_off"] = printer.id
                break

        # A desktop retired and a laptop moved to the branch.
        desktop = self.assets["RIVERSIDE"]
        old = next(a for a in desktop if a.kind == "desktop")
        service.change_asset(
            s,
            actor=desk_,
            asset_id=old.id,
            data=AssetUpdate(
                status=AssetStatus.RETIRED,
                effective=max(self.days_ago(20), old.since + timedelta(days=1)),
                reason="End of life: replaced and securely wiped",
            ),
        )
        stories["retired_asset"] = old.id
        for code in self.assets:
            if code in ("BLACKFRIARS", "SOLENT", "CLYDE", "RIVERSIDE"):
                continue
            sites = {a.site.id: a.site for a in self.assets[code]}
            laptops = [a for a in self.assets[code] if a.kind == "laptop" and a.site.main]
            others = [x for x in sites.values() if not x.main]
            if laptops and others:
                moved_on = max(self.days_ago(45), others[0].opened, laptops[0].since)
                service.change_asset(
                    s,
                    actor=desk_,
                    asset_id=laptops[0].id,
                    data=AssetUpdate(
                        site_id=others[0].id,
                        effective=moved_on + timedelta(days=1),
                        reason="Reassigned to a colleague at the other site",
                    ),
                )
                stories["moved_asset"] = laptops[0].id
                break

        # An annual uplift from a past date, and a new price agreed from next month.
        uplift = self.group_lines[("RIVERSIDE", self.assets["RIVERSIDE"][0].site.id, "laptop")]
        service.change_line(
            s,
            actor=fin,
            line_id=uplift,
            data=LineUpdate(
                price=1575,
                effective=self.this_month - relativedelta(months=3),
                reason="Annual CPI uplift (5%), as in clause 7.2",
            ),
        )
        stories["price_uplift_line"] = uplift
        dearer = self.asset_lines[("HOLLOWAYPIKE", self.first("HOLLOWAYPIKE", "firewall").id)]
        service.change_line(
            s,
            actor=fin,
            line_id=dearer,
            data=LineUpdate(
                price=4200,
                service_level_id=self.levels["Gold"],
                effective=self.next_month,
                reason="24/7 monitoring added at the annual review",
            ),
        )
        stories["price_change_line"] = dearer

        # A fixed term ending next month, renewed at the review.
        service.renew_contract(
            s,
            actor=fin,
            contract_id=self.contracts["THORNBURY"][0],
            data=Renewal(reason="Renewed for 12 months at the annual review"),
        )
        stories["renewed_contract"] = self.contracts["THORNBURY"][0]

    def has(self, code: str, kind: str) -> bool:
        return any(a.kind == kind and (code, a.id) in self.asset_lines for a in self.assets[code])

    def invoices(self) -> None:
        for months_back in (2, 1):
            run = service.run_invoices(
                self.s,
                actor=self.finance,
                data=InvoiceRun(period=self.this_month - relativedelta(months=months_back)),
            )
            self.summary.invoices += len(run.issued)

    def correct(self) -> None:
        """After the invoices: Clyde's firewall was covered from the 10th of last month,
        not from this month as first set up; this month's run adds the adjustment."""
        firewall = self.first("CLYDE", "firewall")
        line_id = self.asset_lines[("CLYDE", firewall.id)]
        service.correct_line_period(
            self.s,
            actor=self.finance,
            line_id=line_id,
            data=PeriodCorrection(
                starts=max(
                    self.this_month - relativedelta(months=1) + timedelta(days=9),
                    firewall.since,
                ),
                reason="Installed on the 10th of last month; the line was set up late",
            ),
        )
        self.summary.stories["corrected_line"] = line_id

    def booked_time(self) -> None:
        for code in ("HDP", "RIVERSIDE", "CLYDE", "THORNBURY", "KESTREL", "OAKFIELD"):
            contract_id = self.contracts[code][0]
            for _ in range(self.rng.randint(4, 9)):
                worked = self.this_month - relativedelta(months=self.rng.randint(0, 3))
                worked += timedelta(days=self.rng.randint(0, 27))
                if worked > self.today:
                    worked = self.today
                assets = self.assets[code]
                desk.book_time(
                    self.s,
                    actor=self.desk,
                    data=TimeCreate(
                        customer_id=self.customers[code],
                        contract_id=contract_id,
                        asset_id=self.rng.choice(assets).id if assets else None,
                        worked_on=worked,
                        minutes=self.rng.choice((15, 30, 45, 60, 90, 120, 180)),
                        note=self.rng.choice(_NOTES),
                        reason="Timesheet",
                    ),
                )
                self.summary.time_entries += 1


def load(
    session: Session,
    *,
    staff: dict[Role, Actor],
    customers: dict[str, str],
    sites: dict[str, list[str]],
    started: dict[str, datetime],
    today: date,
) -> AgreementsSummary:
    """Northwind's assets, contracts, invoices and booked time. Never commits."""
    a = _Agreements(session, staff, customers, sites, started, today)
    a.service_levels()
    codes = [c for c in customers if c not in NO_ASSETS]
    for code in codes:
        a.estate(code)
    for code in codes:
        a.contract(code)
    a.stories()
    a.invoices()
    a.correct()
    a.booked_time()
    return a.summary
