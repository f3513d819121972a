"""The demo provider: Northwind IT Services, a managed service provider, and its customers.

`accord demo` and `accord serve --demo` (so `make run`) load it into a new tenant. It is
written through the service functions only, as the provider's staff would have written
it, so the journal, the versions and the checkpoints are exactly what real use produces.

It is deterministic: a fixed seed gives the same customers, contacts, sites and stories
every time (only ids and recorded times differ). Valid times are relative to `today`, so
the demo always looks current: customers joined between a few weeks and six years ago,
three renames take effect in the coming weeks, and a few mistakes were corrected
retroactively, with their reasons.

Names, domains (``.example``, RFC 2606) and UK phone numbers (Ofcom's drama ranges) are
fictitious.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.orm import Session

from accord.access import Actor, Role
from accord.accounts import service as accounts
from accord.accounts.schemas import UserCreate
from accord.agreements import demo as agreements_demo
from accord.errors import parse
from accord.evidence import demo as evidence_demo
from accord.parties import queries
from accord.parties import service as parties
from accord.parties.models import CustomerStatus
from accord.parties.schemas import (
    ContactCreate,
    ContactUpdate,
    CustomerCreate,
    CustomerUpdate,
    Removal,
    SiteCreate,
    SiteUpdate,
)
from accord.store import journal
from accord.store.checkpoints import Signer
from accord.store.db import utcnow

TENANT_SLUG = "northwind"
TENANT_NAME = "Northwind IT Services"
#: Every demo user's password. Demo data only: never use it for a real tenant.
PASSWORD = "accord-demo-2026"
SEED = 20260101


@dataclass(frozen=True)
class DemoUser:
    email: str
    name: str
    role: Role
    job: str


# fmt: off
USERS = (
    DemoUser("alice@northwind.example", "Alice Morgan", Role.ADMIN, "managing director"),
    DemoUser("bob@northwind.example", "Bob Fletcher", Role.AGENT, "service desk lead"),
    DemoUser("dan@northwind.example", "Dan Whitaker", Role.FINANCE, "finance and billing"),
    DemoUser("erin@northwind.example", "Erin Walsh", Role.SALES, "account manager"),
    DemoUser("carol@northwind.example", "Carol Nguyen", Role.AUDITOR, "external auditor"),
)
# fmt: on


@dataclass(frozen=True)
class Sector:
    roles: tuple[str, ...]  # the first is the usual main contact
    sites: tuple[str, ...]  # the first is the main site
    estate: str  # what Northwind looks after, for the customer's notes


def _sector(roles: str, sites: str, estate: str) -> Sector:
    return Sector(tuple(roles.split("; ")), tuple(sites.split("; ")), estate)


# fmt: off
SECTORS = {
    "dental": _sector("Practice manager; Principal dentist; Reception lead; Lead dental nurse",
                      "Surgery; Branch surgery", "practice management system, X-ray imaging PCs"),
    "law": _sector("Practice manager; Managing partner; Head of compliance; IT liaison",
                   "Office; Annex", "case management, document management, Microsoft 365"),
    "logistics": _sector("Operations director; Transport manager; Warehouse supervisor",
                         "Head office; Warehouse; Depot", "telematics, handheld scanners"),
    "school": _sector("Business manager; Headteacher; Data manager; Computing lead",
                      "Main site; Sports hall; Early years annex",
                      "MIS, classroom laptops, safeguarding web filter"),
    "vet": _sector("Practice manager; Clinical director; Head nurse",
                   "Surgery; Branch surgery", "practice management system, lab analyser links"),
    "accountancy": _sector("Practice manager; Senior partner; Office administrator",
                           "Office", "tax and accounts software, secure client portal"),
    "care": _sector("Home manager; Deputy manager; Administrator",
                    "Care home; Day centre", "digital care records, nurse call integration"),
    "architecture": _sector("Office manager; Director; BIM coordinator",
                            "Studio; Project office", "CAD workstations, plotters, file server"),
    "clinic": _sector("Clinic manager; Lead physiotherapist; Receptionist",
                      "Clinic; Satellite clinic", "booking system, card terminals"),
    "property": _sector("Branch manager; Director; Lettings manager",
                        "Sales office; Lettings office", "property CRM, window display screens"),
    "optician": _sector("Practice manager; Optometrist; Dispensing optician",
                        "Practice", "practice system, retinal camera PC"),
    "gp": _sector("Practice manager; GP partner; Reception manager; IT lead",
                  "Medical centre; Branch surgery", "clinical system desktops, smartcard readers"),
    "print": _sector("Studio manager; Managing director; Production lead",
                     "Studio; Print works", "Mac studio, RIP server, large-format printers"),
    "marine": _sector("Operations manager; Managing director; Workshop foreman",
                      "Office; Boatyard", "yard Wi-Fi, parts stock system"),
    "nursery": _sector("Nursery manager; Owner; Room leader",
                       "Nursery", "parent app tablets, CCTV"),
    "distillery": _sector("General manager; Head distiller; Visitor centre manager",
                          "Distillery; Visitor centre; Bonded warehouse",
                          "tills, bond records, site Wi-Fi"),
    "insurance": _sector("Office manager; Director; Compliance officer; Senior broker",
                         "Office", "broking platform, call recording"),
    "agri": _sector("Branch manager; Owner; Accounts supervisor",
                    "Depot; Farm store", "tills, stock control, depot CCTV"),
    "pharmacy": _sector("Superintendent pharmacist; Pharmacy manager; Dispensary lead",
                        "Pharmacy; Branch pharmacy", "dispensing system, label printers"),
    "hospitality": _sector("Owner; Operations manager; Café manager",
                           "Roastery; Café", "EPOS tills, online shop, guest Wi-Fi"),
    "hotel": _sector("General manager; Front office manager; Finance manager",
                     "Hotel", "property management system, guest Wi-Fi, key card encoders"),
    "motor": _sector("Service manager; Owner; Parts manager",
                     "Garage; Bodyshop", "dealer management system, diagnostic laptops"),
    "engineering": _sector("Operations director; Quality manager; Office manager; CAD lead",
                           "Works; Office", "CAD/CAM workstations, ERP, shop-floor terminals"),
    "brewery": _sector("Co-founder; Head brewer", "Brewery; Taproom", "tills, duty records"),
    "translation": _sector("Director; Project manager", "Office", "translation memory server"),
    "recruitment": _sector("Office manager; Managing director; Compliance lead",
                           "Office", "recruitment CRM, softphones"),
    "bakery": _sector("Geschäftsführerin; Filialleiter; Buchhaltung",
                      "Backstube; Filiale Altstadt; Filiale Ehrenfeld",
                      "Kassensysteme, Warenwirtschaft"),
    "installer": _sector("Directeur; Projectleider; Office manager",
                         "Kantoor; Magazijn", "planning software, field engineers' tablets"),
    "atelier": _sector("Gérante; Architecte associé; Assistante de direction",
                       "Atelier", "postes CAO, traceur, NAS"),
}
# fmt: on


@dataclass(frozen=True)
class Spec:
    """A customer of the demo: who, where, and how long ago it joined (days)."""

    code: str
    name: str
    sector: str
    city: str
    postcode: str  # UK outward code, or the whole postcode elsewhere
    domain: str  # for email addresses, under .example
    country: str = "GB"
    since: int | None = None  # days ago it became a customer; random when None
    status: CustomerStatus = CustomerStatus.ACTIVE


_PROSPECT = CustomerStatus.PROSPECT

# fmt: off
CUSTOMERS = (
    Spec("HDP", "Harbour Dental Practice", "dental", "Plymouth", "PL4", "harbour-dental"),
    Spec("ASHREID", "Ashcombe & Reid Solicitors", "law", "Leeds", "LS1", "ashcombe-reid"),
    Spec("PENNINE", "Pennine Freight Ltd", "logistics", "Huddersfield", "HD1", "pennine-freight"),
    Spec("STAIDANS", "St Aidan's C of E Primary School", "school", "Durham", "DH1",
         "staidans-school"),
    Spec("KESTREL", "Kestrel Veterinary Surgery", "vet", "Norwich", "NR2", "kestrel-vets"),
    Spec("CALDER", "Calder Valley Accountants", "accountancy", "Halifax", "HX1", "calder-acc"),
    Spec("MILLBROOK", "Millbrook House Care Home", "care", "Stockport", "SK4", "millbrook-care"),
    Spec("THORNBURY", "Thornbury Architects LLP", "architecture", "Bristol", "BS1", "thornbury"),
    Spec("GREENWAY", "Greenway Physiotherapy", "clinic", "Cheltenham", "GL50", "greenway-physio"),
    Spec("BLACKFRIARS", "Blackfriars Estate Agents", "property", "Canterbury", "CT1",
         "blackfriars-homes"),
    Spec("CASTLEGATE", "Castlegate Opticians", "optician", "York", "YO1", "castlegate-eyes"),
    Spec("RIVERSIDE", "Riverside Medical Centre", "gp", "Reading", "RG1", "riverside-mc"),
    Spec("OAKFIELD", "Oakfield Academy", "school", "Nottingham", "NG7", "oakfield-academy"),
    Spec("LUMEN", "Lumen Print & Design", "print", "Manchester", "M4", "lumen-print", since=900),
    Spec("SOLENT", "Solent Marine Services", "marine", "Southampton", "SO14", "solent-marine"),
    Spec("WHITCOMBE", "Whitcombe Family Law", "law", "Bath", "BA1", "whitcombe-law"),
    Spec("BRIGHTSIDE", "Brightside Day Nursery", "nursery", "Sheffield", "S11", "brightside"),
    Spec("TAYVALLEY", "Tay Valley Distillery", "distillery", "Perth", "PH1", "tayvalley"),
    Spec("HOLLOWAYPIKE", "Holloway & Pike Insurance Brokers", "insurance", "London", "EC2A",
         "hollowaypike"),
    Spec("CEDARLANE", "Cedar Lane Dental", "dental", "Cambridge", "CB1", "cedarlane-dental"),
    Spec("FENLAND", "Fenland Agricultural Supplies", "agri", "Wisbech", "PE13", "fenland-agri"),
    Spec("NORTHGATE", "Northgate Pharmacy", "pharmacy", "Chester", "CH1", "northgate-pharmacy"),
    Spec("QUAYSIDE", "Quayside Coffee Roasters", "hospitality", "Newcastle upon Tyne", "NE1",
         "quayside-coffee", since=420, status=_PROSPECT),
    Spec("MERSEY", "Mersey Logistics Ltd", "logistics", "Liverpool", "L3", "mersey-logistics"),
    Spec("ARDMORE", "The Ardmore Hotel", "hotel", "Edinburgh", "EH3", "ardmore-hotel"),
    Spec("SEVERN", "Severn Bridge Motors", "motor", "Chepstow", "NP16", "severnbridge-motors"),
    Spec("CLYDE", "Clyde Precision Engineering", "engineering", "Glasgow", "G51", "clyde-eng"),
    Spec("LAGAN", "Lagan Legal Partners", "law", "Belfast", "BT1", "lagan-legal"),
    Spec("TAFF", "Taff Street Dental Care", "dental", "Cardiff", "CF10", "taffstreet-dental"),
    Spec("ALDGATE", "Aldgate Translation Services", "translation", "London", "E1",
         "aldgate-translation", since=1500),
    Spec("MENDIP", "Mendip Brewing Co.", "brewery", "Wells", "BA5", "mendip-brewing", since=24,
         status=_PROSPECT),
    Spec("LIFFEY", "Liffey Recruitment Ltd", "recruitment", "Dublin", "D02", "liffey-recruitment",
         country="IE"),
    Spec("VANDIJK", "Van Dijk Installatietechniek B.V.", "installer", "Utrecht", "3511",
         "vandijk-installatie", country="NL"),
    Spec("HOFFMANN", "Bäckerei Hoffmann GmbH", "bakery", "Köln", "50667", "baeckerei-hoffmann",
         country="DE"),
    Spec("MOREAU", "Atelier Moreau Architectes", "atelier", "Lille", "59000", "atelier-moreau",
         since=38, country="FR", status=_PROSPECT),
)

# Ofcom reserves these ranges for drama; elsewhere a plausible pattern. Numbers get 3 more digits.
_AREA_PHONE = {
    "London": "+44 20 7946 0", "Leeds": "+44 113 496 0", "Sheffield": "+44 114 496 0",
    "Nottingham": "+44 115 496 0", "Bristol": "+44 117 496 0", "Reading": "+44 118 496 0",
    "Edinburgh": "+44 131 496 0", "Glasgow": "+44 141 496 0", "Liverpool": "+44 151 496 0",
    "Manchester": "+44 161 496 0", "Newcastle upon Tyne": "+44 191 498 0",
    "Cardiff": "+44 29 2018 0", "Belfast": "+44 28 9018 0", "Dublin": "+353 1 555 0",
    "Utrecht": "+31 30 555 0", "Köln": "+49 221 555 0", "Lille": "+33 3 20 55 50 ",
}
_OTHER_UK_PHONE = "+44 1632 960"
_UK_MOBILE = "+44 7700 900"

# First names, then family names, by country.
_NAMES = {
    "GB": ("Sarah James Emma David Rachel Tom Hannah Mark Claire Daniel Laura Ben Priya Raj Aisha "
           "Omar Fiona Gareth Niamh Callum Megan Owen Zoe Ian Lucy Chris Helen Simon Nadia Kwame "
           "Rhys Catriona Marcus Grace",
           "Patel Hughes Clarke Evans Walker Thompson Robinson Wright Wood Hall Green Edwards Khan "
           "Davies Murray Campbell Kelly Price Bennett Shaw Lloyd Ali Chapman Fraser Barker Holt "
           "Okafor Nowak Reid Sutherland"),
    "IE": ("Aoife Ciarán Sinéad Conor Orla Declan", "Murphy O'Brien Byrne Ryan Doyle"),
    "NL": ("Sanne Daan Lotte Jeroen Femke Bram", "de_Vries Jansen Bakker Visser Smit"),
    "DE": ("Anna Lukas Julia Felix Katrin Jonas", "Müller Schmidt Becker Wagner Koch"),
    "FR": ("Camille Julien Claire Thomas Élodie Nicolas", "Martin Bernard Dubois Lefèvre Laurent"),
}
_STREETS = {
    "GB": ("High Street; Station Road; Church Lane; Mill Lane; Victoria Road; Queen Street; "
           "Market Place; Park Road; King Street; Bridge Street; The Parade; Castle Street; "
           "Albion Street; Wharf Road; Riverside Business Park"),
    "IE": "Pearse Street; Baggot Street Lower; Capel Street; Camden Street Upper",
    "NL": "Oudegracht; Biltstraat; Kanaalweg; Vleutenseweg",
    "DE": "Hohe Straße; Ehrenstraße; Venloer Straße; Aachener Straße",
    "FR": "rue Nationale; rue de Béthune; boulevard de la Liberté; rue Esquermoise",
}
# fmt: on
_POSTCODE_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"


@dataclass
class DemoSummary:
    """What the loader wrote: counts, and the ids of the customers by code."""

    customers: dict[str, str]
    contacts: int = 0
    sites: int = 0
    users: int = 0


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _ascii(text: str) -> str:
    """'Ciarán O'Brien' -> 'ciaranobrien': for the local part of an email address."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


class _Loader:
    """Writes the demo as Northwind's staff would have: each change by the person whose job
    it is (sales signs customers up, the desk keeps contacts and sites, finance closes)."""

    def __init__(self, session: Session, tenant_id: int, today: date) -> None:
        self.s = session
        self.tenant_id = tenant_id
        self.today = today
        self.rng = random.Random(SEED)
        self.staff: dict[Role, Actor] = {}
        self.summary = DemoSummary(customers={})
        self.started: dict[str, datetime] = {}  # customer code -> the day it became one
        self.contacts: dict[str, list[str]] = {}  # customer code -> contact ids, oldest first
        self.sites: dict[str, list[str]] = {}

    def days_ago(self, n: int) -> datetime:
        return _midnight(self.today - timedelta(days=n))

    # --- staff ------------------------------------------------------------------------

    def users(self) -> None:
        first, *others = USERS
        admin = accounts.bootstrap_admin(self.s, tenant_id=self.tenant_id, data=_user(first))
        self.staff[first.role] = self._actor(admin.entity_id)
        for u in others:
            user = accounts.add_user(self.s, actor=self.staff[first.role], data=_user(u))
            self.staff[u.role] = self._actor(user.entity_id)
        self.summary.users = len(USERS)

    def _actor(self, user_id: str) -> Actor:
        actor = accounts.actor_for_user(self.s, self.tenant_id, user_id)
        assert actor is not None
        return actor

    # --- made-up but plausible details ------------------------------------------------

    def digits(self) -> str:
        return f"{self.rng.randint(0, 999):03d}"

    def phone(self, spec: Spec, *, mobile: bool = False) -> str:
        if mobile and spec.country == "GB":
            return _UK_MOBILE + self.digits()
        return _AREA_PHONE.get(spec.city, _OTHER_UK_PHONE) + self.digits()

    def postcode(self, spec: Spec) -> str:
        pick = self.rng.choice
        if spec.country == "GB":
            inward = f"{self.rng.randint(1, 9)}{pick(_POSTCODE_LETTERS)}{pick(_POSTCODE_LETTERS)}"
            return f"{spec.postcode} {inward}"
        if spec.country == "IE":
            return f"{spec.postcode} {pick(_POSTCODE_LETTERS)}{self.rng.randint(100, 999)}"
        if spec.country == "NL":
            return f"{spec.postcode} {pick(_POSTCODE_LETTERS)}{pick(_POSTCODE_LETTERS)}"
        return spec.postcode

    def address(self, country: str) -> str:
        street = self.rng.choice(_STREETS[country].split("; "))
        number = self.rng.randint(1, 180)
        if street.endswith("Park"):
            return f"Unit {number % 20 + 1}, {street}"
        return f"{street} {number}" if country in ("NL", "DE") else f"{number} {street}"

    def person(self, country: str) -> tuple[str, str]:
        firsts, lasts = (names.split(" ") for names in _NAMES[country])
        return self.rng.choice(firsts), self.rng.choice(lasts).replace("_", " ")

    # --- customers --------------------------------------------------------------------

    def customer(self, spec: Spec) -> None:
        sector = SECTORS[spec.sector]
        since = spec.since if spec.since is not None else self.rng.randint(400, 6 * 365)
        start = self.started[spec.code] = self.days_ago(since)
        seats = self.rng.randint(4, 60)
        domain = f"{spec.domain}.example"
        cid = parties.create_customer(
            self.s,
            actor=self.staff[Role.SALES],
            data=CustomerCreate(
                name=spec.name,
                code=spec.code,
                status=spec.status,
                email=f"info@{domain}",
                phone=self.phone(spec),
                effective=start,
                reason="New customer",
                notes=f"{seats} users, {seats + self.rng.randint(2, 25)} devices; {sector.estate}.",
            ),
        )
        self.summary.customers[spec.code] = cid
        desk = self.staff[Role.AGENT]
        # The main contact and the main site from the first day; the others joined later.
        contacts = self.contacts[spec.code] = []
        for i in range(self.rng.randint(1, 4)):
            first, last = self.person(spec.country)
            joined = start + timedelta(days=self.rng.randint(0, min(since - 1, 300)) if i else 0)
            contacts.append(
                parties.add_contact(
                    self.s,
                    actor=desk,
                    customer_id=cid,
                    data=ContactCreate(
                        name=f"{first} {last}",
                        role=sector.roles[i % len(sector.roles)],
                        email=f"{_ascii(first)}.{_ascii(last)}@{domain}",
                        phone=self.phone(spec, mobile=i > 0),
                        effective=joined,
                    ),
                )
            )
        sites = self.sites[spec.code] = []
        for i in range(self.rng.randint(1, len(sector.sites))):
            opened = start + timedelta(days=self.rng.randint(30, max(31, since - 1)) if i else 0)
            sites.append(
                parties.add_site(
                    self.s,
                    actor=desk,
                    customer_id=cid,
                    data=SiteCreate(
                        name=sector.sites[i],
                        address=self.address(spec.country),
                        city=spec.city,
                        postcode=self.postcode(spec),
                        country=spec.country,
                        effective=min(opened, self.days_ago(1)),
                    ),
                )
            )
        self.summary.contacts += len(contacts)
        self.summary.sites += len(sites)

    def stories(self) -> None:
        """The history that makes bitemporal reads worth having."""
        sales, desk = self.staff[Role.SALES], self.staff[Role.AGENT]
        s, ids = self.s, self.summary.customers

        def change(code: str, actor: Actor, **fields: object) -> None:
            update = parse(CustomerUpdate, fields)
            parties.change_customer(s, actor=actor, customer_id=ids[code], data=update)

        # Renames agreed now that take effect in the coming weeks.
        change(
            "PENNINE",
            sales,
            name="Pennine Freight & Storage Ltd",
            effective=self.days_ago(-21),
            reason="New trading name from the day the Brighouse warehouse opens",
        )
        change(
            "CEDARLANE",
            sales,
            name="Cedar Lane Dental & Implant Centre",
            effective=self.days_ago(-45),
            reason="Rebrand; takes effect with the new signage",
        )
        change(
            "CALDER",
            sales,
            name="Calder Valley Accountants LLP",
            effective=self.days_ago(-10),
            reason="The partnership incorporates as an LLP",
        )

        # Retroactive corrections: true all along, recorded now, with the reason.
        for code in ("HDP", "OAKFIELD"):
            wrong = queries.get_customer_for(s, desk, ids[code]).phone or ""
            right = (
                wrong[:-2] + wrong[-1] + wrong[-2] if wrong[-1] != wrong[-2] else wrong[:-1] + "7"
            )
            change(
                code,
                desk,
                phone=right,
                effective=self.started[code],
                reason="Main number mistyped at onboarding (last two digits swapped)",
            )
        bounced = self.contacts["ASHREID"][0]
        local, _, domain = (queries.get_contact_for(s, desk, bounced).email or "").partition("@")
        parties.change_contact(
            s,
            actor=desk,
            contact_id=bounced,
            data=ContactUpdate(
                email=f"{local[0]}.{local.partition('.')[2]}@{domain}",
                effective=self.started["ASHREID"],
                reason="The firm uses initial.surname addresses; the one we were given bounced",
            ),
        )
        parties.change_site(
            s,
            actor=desk,
            site_id=self.sites["KESTREL"][0],
            data=SiteUpdate(
                postcode="NR2 4QX",
                effective=self.started["KESTREL"],
                reason="Postcode was the old sorting office's; corrected from the start",
            ),
        )

        # Changes in the world, recorded as they happened.
        change(
            "QUAYSIDE",
            sales,
            status=CustomerStatus.ACTIVE,
            effective=self.days_ago(380),
            reason="Signed the managed service agreement after the pilot",
        )
        parties.change_site(
            s,
            actor=desk,
            site_id=self.sites["LUMEN"][0],
            data=SiteUpdate(
                address="Unit 7, Cotton Field Wharf",
                postcode="M4 6DZ",
                effective=self.days_ago(200),
                reason="Moved to a larger unit in Ancoats",
            ),
        )
        parties.remove_site(
            s,
            actor=desk,
            site_id=self.sites["MERSEY"][-1],
            data=Removal(
                effective=self.days_ago(30),
                reason="Depot closed; stock consolidated at head office",
            ),
        )
        parties.remove_contact(
            s,
            actor=desk,
            contact_id=self.contacts["STAIDANS"][0],
            data=Removal(
                effective=self.days_ago(120), reason="Retired at the end of the spring term"
            ),
        )
        successor = parties.add_contact(
            s,
            actor=desk,
            customer_id=ids["STAIDANS"],
            data=ContactCreate(
                name="Joanne Whitfield",
                role="Business manager",
                phone="+44 7700 900417",
                email="j.whitfield@staidans-school.example",
                effective=self.days_ago(120),
                reason="Replaces the retiring business manager",
            ),
        )
        self.contacts["STAIDANS"].append(successor)
        self.summary.contacts += 1

        # A customer that left: finance closes the account from the day the contract ended.
        change(
            "ALDGATE",
            self.staff[Role.FINANCE],
            status=CustomerStatus.FORMER,
            effective=self.days_ago(75),
            reason="Contract ended: IT brought in-house",
        )


def _user(u: DemoUser) -> UserCreate:
    return UserCreate(email=u.email, name=u.name, role=u.role, password=PASSWORD)


def load(
    session: Session, *, tenant_id: int, signer: Signer | None = None, today: date | None = None
) -> DemoSummary:
    """Fill a new, empty tenant with Northwind's staff, customers and their history.

    Never commits. With a signer, a checkpoint is signed after the staff are added and
    another at the end, so the demo log has two checkpoints to check against each other.
    """
    loader = _Loader(session, tenant_id, today or utcnow().date())
    loader.users()
    if signer is not None:
        journal.sign_checkpoint(session, tenant_id=tenant_id, signer=signer, now=utcnow())
    for spec in CUSTOMERS:
        loader.customer(spec)
    loader.stories()
    agreements_demo.load(
        session,
        staff=loader.staff,
        customers=loader.summary.customers,
        sites=loader.sites,
        started=loader.started,
        today=loader.today,
    )
    evidence_demo.load(
        session,
        staff=loader.staff,
        customers=loader.summary.customers,
        contacts=loader.contacts,
        started=loader.started,
        today=loader.today,
    )
    if signer is not None:
        journal.sign_checkpoint(session, tenant_id=tenant_id, signer=signer, now=utcnow())
    return loader.summary
