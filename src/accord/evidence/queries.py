"""Reading the evidence: terms and their versions, offers and their journeys, who accepted
which terms, who is not on the latest terms, and everything an evidence pack of one offer
needs (`offer_evidence`). Scoped to the actor's tenant; everyone in it may read.

`get_document_for`, `get_version_for` and `get_offer_for` are the access checks for their
records: API, pages and CLI all use them, so another tenant's ids are simply not found.
Evidence is never edited, so the current rows are the record; an offer has two versions
at most (made, then decided), and its current one is the open-ended one.
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


def _made_at(tenant_id: int) -> Any:
    """When each offer was made: the start of its first version."""
    return (
        select(Offer.entity_id.label("offer_id"), func.min(Offer.valid_from).label("made_at"))
        .where(Offer.tenant_id == tenant_id, Offer.recorded_to == FOREVER)
        .group_by(Offer.entity_id)
        .subquery()
    )


def list_offers(
    session: Session,
    *,
    actor: Actor,
    customer_id: str | None = None,
    status: OfferStatus | str | None = None,
    terms_version_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[tuple[Offer, datetime]], int]:
    """Offers, newest first, with when each was made; filtered by customer, status and
    terms version; with the total matching."""
    made = _made_at(actor.tenant_id)
    stmt = _current(Offer, actor.tenant_id)
    if customer_id:
        stmt = stmt.where(Offer.customer_id == customer_id)
    if status:
        stmt = stmt.where(Offer.status == str(status))
    if terms_version_id:
        stmt = stmt.where(Offer.terms_version_id == terms_version_id)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.execute(
        stmt.add_columns(made.c.made_at)
        .join(made, made.c.offer_id == Offer.entity_id)
        .order_by(made.c.made_at.desc(), Offer.entity_id)
        .limit(limit)
        .offset(offset)
    ).all()
    return [(r[0], r[1]) for r in rows], total


def get_offer_for(session: Session, actor: Actor, offer_id: str) -> Offer:
    """The one access check for an offer: its current version."""
    return _one(session, Offer, actor.tenant_id, offer_id, "offer")


def made_at(session: Session, actor: Actor, offer_id: str) -> datetime:
    found = session.scalar(
        select(func.min(Offer.valid_from)).where(
            Offer.tenant_id == actor.tenant_id,
            Offer.entity_id == offer_id,
            Offer.recorded_to == FOREVER,
        )
    )
    if found is None:
        raise NotFound(f"no offer {offer_id}")
    return found


def offer_history(session: Session, actor: Actor, offer_id: str) -> list[journal.Entry]:
    """The offer's journal entries, in order: made, then its outcome."""
    get_offer_for(session, actor, offer_id)
    return temporal.entries_for(session, actor.tenant_id, offer_id, Offer)


def parameters_of(offer: Offer) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(offer.parameters)
    return value


def events_of(session: Session, tenant_id: int, offer_id: str) -> list[JourneyEvent]:
    """An offer's journey, in order. (For the service's checks; readers use `journey`.)"""
    stmt = _current(JourneyEvent, tenant_id).where(JourneyEvent.offer_id == offer_id)
    return list(session.scalars(stmt.order_by(JourneyEvent.n)))


def journey(session: Session, actor: Actor, offer_id: str) -> list[JourneyEvent]:
    """The offer's journey in order: screens, interactions, outcome."""
    get_offer_for(session, actor, offer_id)
    return events_of(session, actor.tenant_id, offer_id)


def screen_media_type(event: JourneyEvent) -> str | None:
    if not event.blob:
        return None
    return RRWEB_MEDIA_TYPE if event.source == EventSource.RRWEB else "text/html"


def screen_content(session: Session, actor: Actor, event: JourneyEvent) -> bytes:
    """A screen's capture as it was sent (HTML, or an rrweb recording's JSON)."""
    if event.tenant_id != actor.tenant_id or not event.blob:
        raise NotFound(f"no screen capture for event {event.entity_id}")
    return blobs.get(session, actor.tenant_id, event.blob)


def get_event_for(session: Session, actor: Actor, offer_id: str, n: int) -> JourneyEvent:
    get_offer_for(session, actor, offer_id)
    found = session.scalars(
        _current(JourneyEvent, actor.tenant_id).where(
            JourneyEvent.offer_id == offer_id, JourneyEvent.n == n
        )
    ).first()
    if found is None:
        raise NotFound(f"offer {offer_id} has no event {n}")
    return found


def offers_by_id(session: Session, actor: Actor, offer_ids: Sequence[str]) -> dict[str, Offer]:
    if not offer_ids:
        return {}
    stmt = _current(Offer, actor.tenant_id).where(Offer.entity_id.in_(sorted(set(offer_ids))))
    return {o.entity_id: o for o in session.scalars(stmt)}


# --- reports ---------------------------------------------------------------------------------


def acceptances(session: Session, actor: Actor, version_id: str) -> list[Offer]:
    """The accepted offers under a terms version (who accepted it, when), by decision."""
    get_version_for(session, actor, version_id)
    stmt = _current(Offer, actor.tenant_id).where(
        Offer.terms_version_id == version_id, Offer.status == OfferStatus.ACCEPTED
    )
    return sorted(session.scalars(stmt), key=lambda o: (o.decided_at or o.valid_from, o.seq))


@dataclass(frozen=True)
class Behind:
    """A customer whose latest acceptance of a document is of an older version."""

    customer_id: str
    offer: Offer
    accepted: TermsVersion
    latest: TermsVersion


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
    stmt = _current(Offer, actor.tenant_id).where(
        Offer.terms_version_id.in_(list(rank)), Offer.status == OfferStatus.ACCEPTED
    )
    last: dict[str, Offer] = {}
    for o in sorted(session.scalars(stmt), key=lambda o: (o.decided_at or o.valid_from, o.seq)):
        last[o.customer_id] = o
    by_id = {v.entity_id: v for v in versions}
    out = [
        Behind(customer_id=c, offer=o, accepted=by_id[o.terms_version_id], latest=latest)
        for c, o in last.items()
        if rank[o.terms_version_id] < rank[latest.entity_id]
    ]
    return latest, sorted(out, key=lambda b: b.offer.decided_at or b.offer.valid_from)


def customer_names(session: Session, actor: Actor) -> dict[str, str]:
    """Customers' names as known now (and their last name for those that have ended)."""
    rows, _ = parties.list_customers(session, actor=actor, when=AsOf.now(), limit=1_000_000)
    return {c.entity_id: c.name for c in rows}


# --- one offer's evidence --------------------------------------------------------------------


@dataclass
class Screen:
    """One event of the journey with its screen's capture (for screens)."""

    event: JourneyEvent
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
    made = made_at(session, actor, offer_id)
    then = _pinned_customer(session, actor, offer, made)
    try:
        now = parties.get_customer_for(session, actor, offer.customer_id)
    except NotFound:
        now = None
    patch = temporal.delta(then.data(), now.data() if now is not None else None)
    offer_seqs = temporal.entity_seqs(session, actor.tenant_id, [offer_id], [Offer])
    made_seq = offer_seqs[0] if offer_seqs else offer.seq
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
    events = journey(session, actor, offer_id)
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
    decided_by = _contact(session, actor, offer.decided_by, offer.decided_at or made)
    seqs: dict[str, Any] = {
        "offer": offer_seqs,
        "events": [e.seq for e in events],
        "terms_version": terms.seq,
        "terms_document": document.seq,
        "customer": offer.customer_seq,
        "contacts": sorted({c.seq for c in (contact, decided_by) if c is not None}),
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
        decided_by=decided_by,
        document=document,
        terms=terms,
        terms_content=content,
        events=screens,
        seqs=seqs,
    )
