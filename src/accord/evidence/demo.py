"""The evidence part of the demo provider: Northwind's terms and the journeys of its
online proposals, so that every evidence page has something true to show.

Called by `accord.demo.load` after the customers exist. Like the rest of the demo it
writes through the service functions only: sales (Erin) publishes the terms and makes the
offers; each customer's journey is posted as capture.js posts it from the customer's
browser, with the offer's capture token. Deterministic for a given `today`; valid times
are in the past, recorded time is load time.

- a Managed Services Agreement in three versions (plain text) and a Data Processing
  Addendum in two (HTML), published over the last two years;
- six proposals of Northwind's services to customers, each a journey of four to five
  screens of its proposal portal with their form state, ticks and unticks, a typed
  signature and the outcome: four accepted, one declined, one still open;
- Kestrel Veterinary Surgery accepted the agreement's v2 last year and has not accepted
  v3 since: the "not on the latest terms" report shows it;
- Harbour Dental Practice changed its email address after accepting, so its offer shows
  what has changed in the customer's record since.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy.orm import Session

from accord.access import Actor, Role
from accord.evidence import service
from accord.evidence.models import MediaType
from accord.evidence.schemas import (
    OfferCreate,
    TermsDocumentCreate,
    TermsVersionCreate,
    parse_events,
)
from accord.parties import queries as parties_queries
from accord.parties import service as parties
from accord.parties.schemas import CustomerUpdate
from accord.store.db import utcnow
from accord.store.temporal import AsOf

PORTAL = "https://proposals.northwind.example"

# --- the terms -----------------------------------------------------------------------------

_MSA_CLAUSES: dict[str, list[tuple[str, str]]] = {
    "v1": [
        (
            "Definitions",
            '"Services" means the managed IT services described in the proposal '
            'the Customer accepted. "Supported Devices" means the laptops, desktops, servers, '
            "firewalls, switches and printers listed in the Customer's asset register.",
        ),
        (
            "Services",
            'Northwind IT Services Ltd ("Northwind") will provide the Services to '
            "the Customer during Business Hours (08:30 to 17:30, Monday to Friday, excluding "
            "bank holidays in England and Wales).",
        ),
        (
            "Service levels",
            "Northwind will respond to and resolve incidents within the times "
            "of the service level named in the proposal. Times are counted in Business Hours.",
        ),
        (
            "Customer obligations",
            "The Customer will give Northwind remote access to the "
            "Supported Devices, keep a named contact available, and tell Northwind of changes "
            "to its premises, staff and equipment that affect the Services.",
        ),
        (
            "Fees",
            "The Customer will pay the monthly fee in the proposal, per Supported "
            "Device or per seat as stated, monthly in advance by direct debit.",
        ),
        (
            "Term",
            "The agreement starts on the date the proposal is accepted and runs for the "
            "term in the proposal. It then continues from month to month.",
        ),
        (
            "Ending the agreement",
            "Either party may end the agreement at the end of the term, "
            "or later, by giving 30 days' notice in writing.",
        ),
        (
            "Liability",
            "Northwind's total liability in any year is limited to the fees paid in "
            "that year. Neither party is liable for indirect or consequential loss.",
        ),
        ("Law", "This agreement is governed by the law of England and Wales."),
    ],
}
_MSA_CLAUSES["v2"] = [
    *_MSA_CLAUSES["v1"][:6],
    (
        "Ending the agreement",
        "Either party may end the agreement at the end of the term, or "
        "later, by giving 60 days' notice in writing. Notice may be given by email to the "
        "address in the proposal.",
    ),
    (
        "Data protection",
        "Where Northwind processes personal data for the Customer it does so "
        "as processor under the Data Processing Addendum, which forms part of this agreement.",
    ),
    *_MSA_CLAUSES["v1"][7:],
]
_MSA_CLAUSES["v3"] = [
    *_MSA_CLAUSES["v2"][:4],
    (
        "Fees",
        "The Customer will pay the monthly fee in the proposal, per Supported Device or "
        "per seat as stated, monthly in advance by direct debit. Northwind may review its fees "
        "once a year on the anniversary of the start date; an increase is capped at the UK "
        "Consumer Prices Index for the previous twelve months plus 3%, with 60 days' notice.",
    ),
    *_MSA_CLAUSES["v2"][5:8],
    (
        "Liability",
        "Northwind's total liability in any year is limited to 125% of the fees "
        "paid in that year. Neither party is liable for indirect or consequential loss. "
        "Nothing limits liability for death or personal injury caused by negligence.",
    ),
    (
        "Security incidents",
        "Northwind will tell the Customer without undue delay, and within "
        "24 hours, of a security incident affecting the Customer's systems or data.",
    ),
    *_MSA_CLAUSES["v2"][9:],
]


def msa_text(version: str) -> bytes:
    lines = [f"NORTHWIND IT SERVICES LTD\nMANAGED SERVICES AGREEMENT ({version})\n"]
    for i, (heading, body) in enumerate(_MSA_CLAUSES[version], 1):
        lines.append(f"{i}. {heading}\n   {body}\n")
    return "\n".join(lines).encode("utf-8")


_DPA = {
    "v1": [
        (
            "Scope",
            "This addendum applies where Northwind processes personal data on the "
            "Customer's behalf in providing the Services.",
        ),
        (
            "Instructions",
            "Northwind processes personal data only on the Customer's documented "
            "instructions, including those in the agreement.",
        ),
        (
            "Security",
            "Northwind keeps appropriate technical and organisational measures, "
            "including encryption of backups and multi-factor authentication for its staff.",
        ),
        (
            "Sub-processors",
            "Northwind may use the sub-processors listed on its website and "
            "will give 14 days' notice of a new one.",
        ),
    ],
}
_DPA["v2"] = [
    *_DPA["v1"][:3],
    (
        "Sub-processors",
        "Northwind may use the sub-processors listed on its website and will "
        "give 30 days' notice of a new one, during which the Customer may object.",
    ),
    (
        "International transfers",
        "Personal data is kept in the United Kingdom and the "
        "European Economic Area. Any other transfer needs the Customer's written consent.",
    ),
    (
        "Breaches",
        "Northwind will tell the Customer of a personal data breach within 24 hours "
        "of becoming aware of it.",
    ),
]


def dpa_html(version: str) -> bytes:
    parts = [
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Data Processing Addendum {version}</title></head><body>",
        f"<h1>Data Processing Addendum ({version})</h1>",
        "<p>Between Northwind IT Services Ltd and the Customer named in the proposal.</p><ol>",
    ]
    for heading, body in _DPA[version]:
        parts.append(f"<li><h2>{html.escape(heading)}</h2><p>{html.escape(body)}</p></li>")
    parts.append("</ol></body></html>")
    return "\n".join(parts).encode("utf-8")


# --- the proposal portal's screens ----------------------------------------------------------

_STYLE = """
body{margin:0;font-family:Arial,Helvetica,sans-serif;color:#1f2a37;background:#f3f5f8}
header{background:#16324f;color:#fff;padding:14px 28px;display:flex;justify-content:space-between}
header b{font-size:18px} header span{opacity:.8;font-size:13px}
.steps{display:flex;gap:6px;padding:10px 28px;background:#e7edf5;font-size:12px;color:#4a5568}
.steps li{list-style:none;padding:3px 10px;border-radius:12px}
.steps li.on{background:#1d5fd0;color:#fff}
main{max-width:760px;margin:24px auto;background:#fff;padding:24px 30px;border-radius:8px;
box-shadow:0 1px 3px rgba(0,0,0,.12)}
h1{font-size:22px;margin:0 0 12px} table{border-collapse:collapse;width:100%;margin:12px 0}
td,th{text-align:left;padding:7px 8px;border-bottom:1px solid #e5e7eb;font-size:14px}
.terms{height:180px;overflow:auto;border:1px solid #cbd5e1;padding:10px 14px;font-size:12px;
white-space:pre-wrap;background:#fafbfc} label{display:block;margin:10px 0;font-size:14px}
input[type=text],input[type=email]{width:60%;padding:6px;border:1px solid #cbd5e1;border-radius:4px}
.price{font-size:26px;font-weight:bold;color:#16324f}
button{background:#1d5fd0;color:#fff;border:0;padding:10px 18px;border-radius:5px;font-size:14px}
button.secondary{background:#fff;color:#b42318;border:1px solid #b42318;margin-left:8px}
.small{font-size:12px;color:#6b7280}
"""

STEPS = ("proposal", "details", "terms", "data-protection", "confirm")
STEP_NAMES = {
    "proposal": "Your proposal",
    "details": "Your details",
    "terms": "Terms",
    "data-protection": "Data protection",
    "confirm": "Confirm",
}


@dataclass
class Field:
    name: str
    type: str
    label: str
    value: str = ""
    checked: bool | None = None


@dataclass
class Screen:
    name: str
    body: str
    fields: list[Field] = field(default_factory=list)


def _page(screen: Screen, proposal: Proposal) -> str:
    steps = "".join(
        f'<li class="{"on" if s == screen.name else ""}">{i}. {STEP_NAMES[s]}</li>'
        for i, s in enumerate(STEPS, 1)
    )
    inputs = []
    for f in screen.fields:
        name = html.escape(f.name)
        if f.type == "checkbox":
            ticked = " checked" if f.checked else ""
            inputs.append(
                f'<label><input type="checkbox" name="{name}" value="yes"{ticked}> '
                f"{html.escape(f.label)}</label>"
            )
        else:
            inputs.append(
                f'<label>{html.escape(f.label)}<br><input type="{f.type}" name="{name}" '
                f'value="{html.escape(f.value)}"></label>'
            )
    title = f"{STEP_NAMES[screen.name]} · {proposal.product}"
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}'
        f"</title><style>{_STYLE}</style></head><body><header><b>Northwind IT Services</b>"
        f"<span>Proposal {proposal.reference} for {html.escape(proposal.customer_name)}</span>"
        f'</header><ul class="steps">{steps}</ul><main>{screen.body}'
        f'<form method="post">{"".join(inputs)}'
        f'<p><button type="submit">Continue</button></p></form></main></body></html>'
    )


def _money(pence: int) -> str:
    return f"£{pence / 100:,.2f}"


@dataclass
class Proposal:
    """One offer of the demo and how its customer went through it."""

    code: str
    product: str
    monthly: int  # pence
    term_months: int
    seats: int
    level: str
    days_ago: int
    outcome: str | None  # accepted, declined, or None (still open)
    msa: str = "v3"
    stop_after: str | None = None  # an open journey stops at this screen
    marketing: bool = False
    customer_name: str = ""
    contact_name: str = ""
    contact_email: str = ""
    reference: str = ""

    def parameters(self) -> dict[str, Any]:
        return {
            "amount": f"{self.monthly / 100:.2f}",
            "currency": "GBP",
            "term": f"{self.term_months} months",
            "billing": "monthly",
            "seats": self.seats,
            "service_level": self.level,
        }


PROPOSALS = (
    Proposal("MENDIP", "Managed IT Support", 118_000, 24, 14, "Silver", 20, "accepted"),
    Proposal("HDP", "Managed IT Support", 164_500, 36, 22, "Gold", 48, "accepted",
             marketing=True),
    Proposal("THORNBURY", "Server and Network Care", 69_000, 12, 18, "Gold", 31, "accepted"),
    Proposal("KESTREL", "Managed IT Support", 97_500, 24, 12, "Silver", 230, "accepted",
             msa="v2"),
    Proposal("LUMEN", "Managed IT Support: Gold upgrade", 142_000, 24, 19, "Gold", 12,
             "declined"),
    Proposal("GREENWAY", "Managed IT Support", 88_000, 24, 9, "Bronze", 2, None,
             stop_after="details"),
)  # fmt: skip


def _screens(p: Proposal, dpa: str) -> list[Screen]:
    msa = msa_text(p.msa).decode()
    price = _money(p.monthly)
    return [
        Screen(
            "proposal",
            f"<h1>{html.escape(p.product)}</h1><p>Prepared for {html.escape(p.customer_name)} "
            f'by Erin Walsh, account manager.</p><p class="price">{price} a month</p>'
            f"<table><tr><th>Service</th><td>{html.escape(p.product)}</td></tr>"
            f"<tr><th>Term</th><td>{p.term_months} months, then month to month</td></tr>"
            f"<tr><th>Users covered</th><td>{p.seats}</td></tr>"
            f"<tr><th>Service level</th><td>{p.level}: response within "
            f"{ {'Gold': '30 minutes', 'Silver': '1 hour', 'Bronze': '4 hours'}[p.level] } for "
            "critical incidents</td></tr><tr><th>Billing</th><td>Monthly in advance, direct "
            'debit</td></tr></table><p class="small">Prices exclude VAT.</p>',
        ),
        Screen(
            "details",
            "<h1>Your details</h1><p>Please check who we will be working with.</p>",
            [
                Field("organisation", "text", "Organisation", p.customer_name),
                Field("contact_name", "text", "Main contact", p.contact_name),
                Field("contact_email", "email", "Email", p.contact_email),
                Field("seats", "text", "Number of users", str(p.seats)),
            ],
        ),
        Screen(
            "terms",
            f"<h1>Managed Services Agreement ({p.msa})</h1><p>Please read the agreement "
            f'before you continue.</p><div class="terms">{html.escape(msa)}</div>',
            [
                Field(
                    "agree_msa",
                    "checkbox",
                    f"I have read and agree to the Managed Services Agreement {p.msa}",
                    checked=False,
                )
            ],  # fmt: skip
        ),
        Screen(
            "data-protection",
            f"<h1>Data protection</h1><p>Northwind will process personal data for you under "
            f"the Data Processing Addendum ({dpa}), which forms part of the agreement.</p>",
            [
                Field(
                    "agree_dpa",
                    "checkbox",
                    f"I agree to the Data Processing Addendum {dpa}",
                    checked=False,
                ),
                Field(
                    "updates",
                    "checkbox",
                    "Send me service updates and security alerts by email (optional)",
                    checked=False,
                ),
            ],  # fmt: skip
        ),
        Screen(
            "confirm",
            f"<h1>Confirm your order</h1><table><tr><th>Service</th><td>{html.escape(p.product)}"
            f"</td></tr><tr><th>Monthly fee</th><td>{price}</td></tr><tr><th>Term</th><td>"
            f"{p.term_months} months</td></tr><tr><th>Agreement</th><td>Managed Services "
            f"Agreement {p.msa}, Data Processing Addendum {dpa}</td></tr></table>"
            "<p>By accepting you sign the agreement for the organisation.</p>"
            '<p><button type="button" data-accord-accept>Accept and sign</button>'
            '<button type="button" class="secondary" data-accord-decline>Decline</button></p>',
            [Field("signature", "text", "Type your full name to sign", "")],
        ),
    ]


@dataclass
class _Journey:
    """Builds the events capture.js would send for one proposal."""

    proposal: Proposal
    start: datetime
    events: list[dict[str, Any]] = field(default_factory=list)
    clock: int = 0
    state: dict[str, Field] = field(default_factory=dict)

    def _at(self, seconds: int) -> str:
        self.clock += seconds
        t = self.start + timedelta(seconds=self.clock, milliseconds=137 * len(self.events))
        return t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

    def show(self, screen: Screen, seconds: int) -> None:
        for f in screen.fields:
            self.state.setdefault(f.name, f)
        fields = [self.state[f.name] for f in screen.fields]
        shown = Screen(screen.name, screen.body, fields)
        self.events.append(
            {
                "n": len(self.events),
                "type": "screen",
                "at": self._at(seconds),
                "name": screen.name,
                "url": f"{PORTAL}/p/{self.proposal.reference}/{screen.name}",
                "title": f"{STEP_NAMES[screen.name]} · {self.proposal.product}",
                "html": _page(shown, self.proposal),
                "form": [
                    {
                        "name": f.name,
                        "type": f.type,
                        "label": f.label,
                        "value": "yes" if f.type == "checkbox" else f.value,
                        **({"checked": bool(f.checked)} if f.type == "checkbox" else {}),
                    }
                    for f in fields
                ],
            }
        )

    def tick(self, screen: str, name: str, on: bool, seconds: int) -> None:
        f = self.state[name]
        f.checked = on
        self.events.append(
            {
                "n": len(self.events),
                "type": "tick" if on else "untick",
                "at": self._at(seconds),
                "screen": screen,
                "field": name,
                "label": f.label,
                "value": "yes",
            }
        )

    def type(self, screen: str, name: str, value: str, seconds: int) -> None:
        f = self.state[name]
        f.value = value
        self.events.append(
            {
                "n": len(self.events),
                "type": "change",
                "at": self._at(seconds),
                "screen": screen,
                "field": name,
                "label": f.label,
                "value": value,
            }
        )

    def decide(self, kind: str, contact: str, seconds: int) -> None:
        self.events.append(
            {
                "n": len(self.events),
                "type": kind,
                "at": self._at(seconds),
                "screen": "confirm",
                "contact": contact,
            }
        )


def journey_of(p: Proposal, start: datetime, contact: str, dpa: str) -> list[dict[str, Any]]:
    """The events of a proposal's journey, as the customer's browser sent them."""
    screens = {s.name: s for s in _screens(p, dpa)}
    j = _Journey(p, start)
    j.show(screens["proposal"], 0)
    j.show(screens["details"], 95)
    if p.stop_after == "details":
        return j.events
    j.show(screens["terms"], 40)
    j.tick("terms", "agree_msa", True, 210)
    j.show(screens["data-protection"], 12)
    j.tick("data-protection", "agree_dpa", True, 65)
    j.tick("data-protection", "updates", True, 4)
    if not p.marketing:
        j.tick("data-protection", "updates", False, 6)
    j.show(screens["confirm"], 9)
    if p.outcome == "accepted":
        j.type("confirm", "signature", p.contact_name, 25)
        j.decide("accepted", contact, 3)
    elif p.outcome == "declined":
        j.decide("declined", contact, 48)
    return j.events


# --- loading ---------------------------------------------------------------------------------

_BROWSERS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0",
)


@dataclass
class EvidenceSummary:
    documents: int = 0
    versions: int = 0
    offers: dict[str, str] = field(default_factory=dict)  # customer code -> offer id
    events: int = 0


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def load(
    session: Session,
    *,
    staff: dict[Role, Actor],
    customers: dict[str, str],
    contacts: dict[str, list[str]],
    started: dict[str, datetime],
    today: date,
) -> EvidenceSummary:
    """Northwind's terms and six proposal journeys. Never commits."""
    sales = staff[Role.SALES]
    summary = EvidenceSummary()

    def ago(days: int, hour: int = 0) -> datetime:
        return _midnight(today - timedelta(days=days)) + timedelta(hours=hour)

    msa, dpa = (
        service.create_terms_document(
            session, actor=sales, data=TermsDocumentCreate(code=code, title=title)
        )
        for code, title in (
            ("MSA", "Managed Services Agreement"),
            ("DPA", "Data Processing Addendum"),
        )
    )
    summary.documents = 2
    versions: dict[tuple[str, str], str] = {}
    for label, published in (("v1", 730), ("v2", 400), ("v3", 75)):
        versions[("MSA", label)] = service.publish_terms_version(
            session,
            actor=sales,
            document_id=msa,
            data=TermsVersionCreate(
                label=label,
                media_type=MediaType.TEXT,
                published_at=ago(published, 9),
                effective_from=ago(published - 14),
            ),
            content=msa_text(label),
        )
    for label, published in (("v1", 700), ("v2", 150)):
        versions[("DPA", label)] = service.publish_terms_version(
            session,
            actor=sales,
            document_id=dpa,
            data=TermsVersionCreate(
                label=label,
                media_type=MediaType.HTML,
                published_at=ago(published, 11),
                effective_from=ago(published - 7),
            ),
            content=dpa_html(label),
        )
    summary.versions = len(versions)

    for i, spec in enumerate(PROPOSALS):
        p = replace(spec)  # filled in with the customer's details below
        made = ago(p.days_ago, 10 + i)
        customer_id = customers[p.code]
        contact_id = contacts[p.code][0]
        then = AsOf(max(made, started[p.code]), utcnow())
        customer = parties_queries.get_customer_for(session, sales, customer_id, when=then)
        contact = parties_queries.get_contact_for(session, sales, contact_id, when=then)
        p.customer_name, p.contact_name = customer.name, contact.name
        p.contact_email = contact.email or ""
        p.reference = f"NW-{made:%y%m}-{i + 41:03d}"
        offer_id, token = service.create_offer(
            session,
            actor=sales,
            data=OfferCreate(
                customer_id=customer_id,
                contact_id=contact_id,
                product=p.product,
                parameters=p.parameters(),
                terms_version_id=versions[("MSA", p.msa)],
                effective=made,
            ),
        )
        dpa_label = "v2" if p.days_ago < 150 else "v1"
        events = journey_of(p, made + timedelta(hours=2, minutes=7 * i), contact_id, dpa_label)
        service.capture_events(
            session,
            offer_id=offer_id,
            token=token,
            events=parse_events({"events": events}),
            origin=service.Origin(
                ip=f"203.0.113.{20 + 17 * i}", user_agent=_BROWSERS[i % len(_BROWSERS)]
            ),
        )
        summary.offers[p.code] = offer_id
        summary.events += len(events)

    # After accepting, Harbour Dental moved its IT mail to a shared mailbox: its offer shows
    # the customer's record as it was then, and what has changed since.
    parties.change_customer(
        session,
        actor=staff[Role.AGENT],
        customer_id=customers["HDP"],
        data=CustomerUpdate(
            email="it@harbour-dental.example",
            effective=ago(20),
            reason="Practice manager asked us to use the shared IT mailbox",
        ),
    )
    return summary
