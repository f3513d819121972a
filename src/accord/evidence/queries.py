"""Reading the evidence: terms and their versions, offers and their journeys, who accepted
which terms, who is not on the latest terms, and everything an evidence pack of one offer
needs (`offer_evidence`). Scoped to the actor's tenant; everyone in it may read.

`get_document_for`, `get_version_for` and `get_offer_for` are the access checks for their
records: API, pages and CLI all use them, so another tenant's ids are simply not found.
Evidence is never edited, so the current rows are the record; an offer has one version.
A journey's steps are read from their journal entries (`Event`), found through the
narrow `journey_events` table; an offer's outcome is its outcome step (`outcome_of`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from accord.access import Actor
from accord.errors import NotFound
from accord.evidence.models import (
    OUTCOMES,
    RRWEB_MEDIA_TYPE,
    EventSource,
    JourneyEvent,
    Offer,
    OfferStatus,
    TermsDocument,
    TermsVersion,
)
from accord.parties import queries as parties
from accord.store import blobs, journal, temporal
from accord.store.db import FOREVER, utcnow
from accord.store.temporal import AsOf, Versioned

__all__ = ["AsOf"]

V = TypeVar("V", bound=Versioned)


def _current(model: type[V], tenant_id: int) -> Select[V]:
    """Each record's open-ended version as known now: for evidence, the record itself."""
    return select(model).where(
        model.tenant_id == tenant_id,
        model.recorded_to == FOREVER,
        model.valid_to == FOREVER,
    )


def _one(session: Session, model: type[V], tenant_id: int, id_: str, what: str) -> V:
    """The record `id_` of the tenant (NotFound naming `what` otherwise): the access check
    of every evidence record."""
    found = session.scalars(_current(model, tenant_id).where(model.entity_id == id_)).first()
    if found is None:
        raise NotFound(f"no {what} {id_}")
    return found


# --- terms -----------------------------------------------------------------------------------


def list_documents(session: Session, actor: Actor) -> list[TermsDocument]:
    return list(
        session.scalars(_current(TermsDocument, actor.tenant_id).order_by(TermsDocument.code))
    )


def document_by_code(session: Session, actor: Actor, code: str) -> TermsDocument | None:
    stmt = _current(TermsDocument, actor.tenant_id).where(
        func.upper(TermsDocument.code) == code.upper()
    )
    return session.scalars(stmt.limit(1)).first()


def get_document_for(session: Session, actor: Actor, document_id: str) -> TermsDocument:
    """The one access check for a terms document."""
    return _one(session, TermsDocument, actor.tenant_id, document_id, "terms document")


def _in_order(versions: Sequence[TermsVersion]) -> list[TermsVersion]:
    """Oldest first: by when each applies from, then when published."""
    return sorted(versions, key=lambda v: (v.effective_from, v.published_at, v.seq))


def versions_of(session: Session, actor: Actor, document_id: str) -> list[TermsVersion]:
    """A document's versions, oldest first (by effective date, then publication)."""
    stmt = _current(TermsVersion, actor.tenant_id).where(TermsVersion.document_id == document_id)
    return _in_order(list(session.scalars(stmt)))


def all_versions(session: Session, actor: Actor) -> list[TermsVersion]:
    return _in_order(list(session.scalars(_current(TermsVersion, actor.tenant_id))))


def get_version_for(session: Session, actor: Actor, version_id: str) -> TermsVersion:
    """The one access check for a terms version."""
    return _one(session, TermsVersion, actor.tenant_id, version_id, "terms version")


def version_content(session: Session, actor: Actor, version_id: str) -> tuple[TermsVersion, bytes]:
    """A terms version and its bytes, exactly as published."""
    version = get_version_for(session, actor, version_id)
    return version, blobs.get(session, actor.tenant_id, version.blob)


def latest_version(
    versions: Sequence[TermsVersion], on: datetime | None = None
) -> TermsVersion | None:
    """The version in effect on `on` (default now): the last to have taken effect."""
    on = on or utcnow()
    in_effect = [v for v in _in_order(versions) if v.effective_from <= on]
    return in_effect[-1] if in_effect else None


# --- offers ----------------------------------------------------------------------------------


def list_offers(
    session: Session,
    *,
    actor: Actor,
    customer_id: str | None = None,
    status: OfferStatus | str | None = None,
    terms_version_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[tuple[Offer, Event | None]], int]:
    """Offers, newest first (by when each was made), with the outcome of each decided
    one; filtered by customer, status and terms version; with the total matching."""
    stmt = _current(Offer, actor.tenant_id)
    if customer_id:
        stmt = stmt.where(Offer.customer_id == customer_id)
    if status:
        stmt = stmt.where(Offer.status == str(status))
    if terms_version_id:
        stmt = stmt.where(Offer.terms_version_id == terms_version_id)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        stmt.order_by(Offer.valid_from.desc(), Offer.entity_id).limit(limit).offset(offset)
    ).all()
    outcomes = outcomes_of(session, actor.tenant_id, rows)
    return [(o, outcomes.get(o.entity_id)) for o in rows], total


def get_offer_for(session: Session, actor: Actor, offer_id: str) -> Offer:
    """The one access check for an offer: its current version."""
    return _one(session, Offer, actor.tenant_id, offer_id, "offer")


def offer_history(session: Session, actor: Actor, offer_id: str) -> list[journal.Entry]:
    """The offer's journal entries: the one that made it (and, for an offer decided before
    0011, the PATCH that recorded its outcome too)."""
    get_offer_for(session, actor, offer_id)
    return temporal.entries_for(session, actor.tenant_id, offer_id, Offer)


def parameters_of(offer: Offer) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(offer.parameters)
    return value


@dataclass(frozen=True)
class Event:
    """One step of an offer's journey as recorded: its journal entry's data, where the
    entry is in the log (`seq`) and when Accord learned it (`recorded_from`)."""

    tenant_id: int
    entity_id: str
    offer_id: str
    n: int
    kind: str
    at: datetime
    source: str
    seq: int
    recorded_from: datetime
    valid_from: datetime
    screen: str | None = None
    url: str | None = None
    title: str | None = None
    blob: str | None = None
    #: JSON of the form's fields as shown: name, type, label, checked, value, masked
    form: str | None = None
    field: str | None = None
    label: str | None = None
    value: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    #: the outcome's: the contact who decided (outcomes recorded before 0011 name none)
    contact: str | None = None

    @classmethod
    def of(cls, tenant_id: int, e: journal.Entry) -> Event:
        d = e.data
        return cls(
            tenant_id=tenant_id,
            entity_id=e.id,
            offer_id=d["offer_id"],
            n=d["n"],
            kind=d["kind"],
            at=journal.parse_iso(d["at"]),
            source=d["source"],
            seq=e.seq,
            recorded_from=e.at,
            valid_from=e.valid_from,
            **{k: d.get(k) for k in _OPTIONAL},
        )


#: the data fields an event may lack (the kinds carry different ones)
_OPTIONAL: tuple[str, ...] = (
    *("screen", "url", "title", "blob", "form", "field", "label", "value"),
    *("ip", "user_agent", "contact"),
)


def _events(session: Session, tenant_id: int, seqs: Sequence[int]) -> list[Event]:
    return [Event.of(tenant_id, e) for e in journal.entries_at(session, tenant_id, seqs)]


def events_of(session: Session, tenant_id: int, offer: Offer) -> list[Event]:
    """An offer's journey, in order. (For the service's checks; readers use `journey`.)"""
    seqs = session.scalars(
        select(JourneyEvent.seq).where(
            JourneyEvent.tenant_id == tenant_id, JourneyEvent.parent_seq == offer.seq
        )
    ).all()
    return sorted(_events(session, tenant_id, seqs), key=lambda e: e.n)


def journey(session: Session, actor: Actor, offer_id: str) -> list[Event]:
    """The offer's journey in order: screens, interactions, outcome."""
    return events_of(session, actor.tenant_id, get_offer_for(session, actor, offer_id))


def outcome_of(session: Session, tenant_id: int, offer: Offer) -> Event | None:
    """The offer's outcome step (accepted or declined), if it has one."""
    return outcomes_of(session, tenant_id, [offer]).get(offer.entity_id)


def outcomes_of(session: Session, tenant_id: int, offers: Sequence[Offer]) -> dict[str, Event]:
    """Each decided offer's outcome step, by offer id."""
    seqs = [o.outcome_seq for o in offers if o.outcome_seq is not None]
    return {e.offer_id: e for e in _events(session, tenant_id, seqs)}


def decided_by(offer: Offer, outcome: Event | None) -> str | None:
    """The contact who decided: the outcome's own, or the offer's contact (the one it was
    made to) when the outcome names none."""
    if outcome is None:
        return None
    return outcome.contact or offer.contact_id


def screen_media_type(event: Event) -> str | None:
    if not event.blob:
        return None
    return RRWEB_MEDIA_TYPE if event.source == EventSource.RRWEB else "text/html"


def screen_content(session: Session, actor: Actor, event: Event) -> bytes:
    """A screen's capture as it was sent (HTML, or an rrweb recording's JSON)."""
    if event.tenant_id != actor.tenant_id or not event.blob:
        raise NotFound(f"no screen capture for event {event.entity_id}")
    return blobs.get(session, actor.tenant_id, event.blob)


def get_event_for(session: Session, actor: Actor, offer_id: str, n: int) -> Event:
    offer = get_offer_for(session, actor, offer_id)
    seq = session.scalar(
        select(JourneyEvent.seq).where(
            JourneyEvent.tenant_id == actor.tenant_id,
            JourneyEvent.parent_seq == offer.seq,
            JourneyEvent.n == n,
        )
    )
    if seq is None:
        raise NotFound(f"offer {offer_id} has no event {n}")
    return _events(session, actor.tenant_id, [seq])[0]


def offers_by_id(session: Session, actor: Actor, offer_ids: Sequence[str]) -> dict[str, Offer]:
    if not offer_ids:
        return {}
    stmt = _current(Offer, actor.tenant_id).where(Offer.entity_id.in_(sorted(set(offer_ids))))
    return {o.entity_id: o for o in session.scalars(stmt)}


# --- reports ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Acceptance:
    """An accepted offer with its outcome step (when, by whom, from where)."""

    offer: Offer
    outcome: Event

    @property
    def decided_by(self) -> str | None:
        return decided_by(self.offer, self.outcome)


def _accepted(session: Session, actor: Actor, version_ids: Sequence[str]) -> list[Acceptance]:
    """The accepted offers under these terms versions, in the order they were decided."""
    stmt = _current(Offer, actor.tenant_id).where(
        Offer.terms_version_id.in_(list(version_ids)), Offer.status == OfferStatus.ACCEPTED
    )
    offers = list(session.scalars(stmt))
    outcomes = outcomes_of(session, actor.tenant_id, offers)
    found = [Acceptance(o, outcomes[o.entity_id]) for o in offers]
    return sorted(found, key=lambda a: (a.outcome.at, a.outcome.seq))


def acceptance_counts(session: Session, actor: Actor, version_ids: Sequence[str]) -> dict[str, int]:
    """How many offers under each of these terms versions were accepted."""
    stmt = (
        select(Offer.terms_version_id, func.count())
        .where(
            Offer.tenant_id == actor.tenant_id,
            Offer.recorded_to == FOREVER,
            Offer.terms_version_id.in_(list(version_ids)),
            Offer.status == OfferStatus.ACCEPTED,
        )
        .group_by(Offer.terms_version_id)
    )
    found = {v: 0 for v in version_ids}
    found.update({v: int(n) for v, n in session.execute(stmt).all()})
    return found


def acceptances(session: Session, actor: Actor, version_id: str) -> list[Acceptance]:
    """The accepted offers under a terms version (who accepted it, when), by decision."""
    get_version_for(session, actor, version_id)
    return _accepted(session, actor, [version_id])


@dataclass(frozen=True)
class Behind:
    """A customer whose latest acceptance of a document is of an older version."""

    customer_id: str
    acceptance: Acceptance
    accepted: TermsVersion
    latest: TermsVersion

    @property
    def offer(self) -> Offer:
        return self.acceptance.offer


def not_on_latest(
    session: Session, actor: Actor, document_id: str, on: datetime | None = None
) -> tuple[TermsVersion | None, list[Behind]]:
    """The version in effect on `on` (default now), and each customer whose latest
    acceptance of any version of the document is of an older one."""
    get_document_for(session, actor, document_id)
    versions = versions_of(session, actor, document_id)
    latest = latest_version(versions, on)
    if latest is None:
        return None, []
    rank = {v.entity_id: i for i, v in enumerate(versions)}
    last = {a.offer.customer_id: a for a in _accepted(session, actor, list(rank))}
    by_id = {v.entity_id: v for v in versions}
    out = [
        Behind(customer_id=c, acceptance=a, accepted=by_id[a.offer.terms_version_id], latest=latest)
        for c, a in last.items()
        if rank[a.offer.terms_version_id] < rank[latest.entity_id]
    ]
    return latest, sorted(out, key=lambda b: (b.acceptance.outcome.at, b.acceptance.outcome.seq))


def customer_names(session: Session, actor: Actor) -> dict[str, str]:
    """Customers' names as known now (and their last name for those that have ended)."""
    rows, _ = parties.list_customers(session, actor=actor, when=AsOf.now(), limit=1_000_000)
    return {c.entity_id: c.name for c in rows}


# --- one offer's evidence --------------------------------------------------------------------


@dataclass
class Screen:
    """One event of the journey with its screen's capture (for screens)."""

    event: Event
    content: bytes | None
    media_type: str | None
    form: list[dict[str, Any]] | None


@dataclass
class OfferEvidence:
    """Everything an evidence pack of one offer needs, as recorded.

    `customer_then` is the customer's version the offer pinned (its journal entry is
    `customer_seq`); `customer_now` is how it stands now and `customer_patch` the RFC 6902
    patch from then to now; `customer_changes` the changes recorded since the offer was
    made (to the customer, its contacts and sites), oldest first. `seqs` names the journal
    entry of every record involved, so a pack can carry their inclusion proofs."""

    offer: Offer
    made_at: datetime
    parameters: dict[str, Any]
    customer_then: Any
    customer_now: Any | None
    customer_patch: list[dict[str, Any]]
    customer_changes: list[dict[str, Any]]
    contact: Any | None
    outcome: Event | None
    decided_by: Any | None
    document: TermsDocument
    terms: TermsVersion
    terms_content: bytes
    events: list[Screen]
    seqs: dict[str, Any] = field(default_factory=dict)


def _pinned_customer(session: Session, actor: Actor, offer: Offer, made: datetime) -> Any:
    """The customer's version the offer pinned: true when it was made, as known by the
    journal entry `customer_seq`."""
    read = journal.read_entry(session, actor.tenant_id, offer.customer_seq)
    if read is None:
        raise NotFound(f"journal entry {offer.customer_seq} of the offer's customer is missing")
    entry = read[0]
    return parties.get_customer_for(session, actor, offer.customer_id, when=AsOf(made, entry.at))


def _contact(session: Session, actor: Actor, contact_id: str | None, on: datetime) -> Any | None:
    if not contact_id:
        return None
    for when in (AsOf(on, utcnow()), AsOf.now()):
        try:
            return parties.get_contact_for(session, actor, contact_id, when=when)
        except NotFound:
            continue
    return None


def offer_evidence(session: Session, actor: Actor, offer_id: str) -> OfferEvidence:
    """The offer, the customer as it was then and what changed since, the terms version
    and its bytes, the journey in order with each screen's capture, and the journal entry
    of every record involved."""
    offer = get_offer_for(session, actor, offer_id)
    made = offer.valid_from
    then = _pinned_customer(session, actor, offer, made)
    try:
        now = parties.get_customer_for(session, actor, offer.customer_id)
    except NotFound:
        now = None
    patch = temporal.delta(then.data(), now.data() if now is not None else None)
    offer_seqs = temporal.entity_seqs(session, actor.tenant_id, [offer_id], [Offer])
    made_seq = offer.seq
    changes = [
        {
            "seq": c["entry"].seq,
            "at": c["entry"].at,
            "actor": c["entry"].actor,
            "kind": c["entry"].kind,
            "entity_type": c["entry"].type,
            "entity_id": c["entry"].id,
            "valid_from": c["entry"].valid_from,
            "reason": c["entry"].reason,
            "patch": c["patch"],
        }
        for c in reversed(parties.customer_history(session, actor, offer.customer_id))
        if c["entry"].seq > made_seq
    ]
    terms, content = version_content(session, actor, offer.terms_version_id)
    document = get_document_for(session, actor, terms.document_id)
    events = events_of(session, actor.tenant_id, offer)
    screens = [
        Screen(
            event=e,
            content=blobs.get(session, actor.tenant_id, e.blob) if e.blob else None,
            media_type=screen_media_type(e),
            form=json.loads(e.form) if e.form else None,
        )
        for e in events
    ]
    contact = _contact(session, actor, offer.contact_id, made)
    outcome = next((e.event for e in screens if e.event.kind in OUTCOMES), None)
    decider = _contact(session, actor, decided_by(offer, outcome), outcome.at if outcome else made)
    seqs: dict[str, Any] = {
        "offer": offer_seqs,
        "events": [e.seq for e in events],
        "terms_version": terms.seq,
        "terms_document": document.seq,
        "customer": offer.customer_seq,
        "contacts": sorted({c.seq for c in (contact, decider) if c is not None}),
    }
    return OfferEvidence(
        offer=offer,
        made_at=made,
        parameters=parameters_of(offer),
        customer_then=then,
        customer_now=now,
        customer_patch=patch,
        customer_changes=changes,
        contact=contact,
        outcome=outcome,
        decided_by=decider,
        document=document,
        terms=terms,
        terms_content=content,
        events=screens,
        seqs=seqs,
    )
