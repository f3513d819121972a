"""Publishing terms, making offers and recording their journeys: the only writers of
evidence.

Every function takes the session and writes through the one write path, never
committing. Evidence is never edited: a terms version, an offer and each journey event
are recorded once, and an offer's outcome (accepted or declined) is its journey's last
event, recorded exactly once. Bytes (terms, screens, recordings) go to the blob store in
the same transaction, so a change is all there or not at all.

Staff act as an `Actor` (sales and admins write). A customer's browser acts through the
offer's capture token, which can only append to that offer's journey.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from html.parser import HTMLParser
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.access import EVIDENCE_WRITERS, Actor, Role, require
from accord.errors import AccordError, Invalid, NotFound
from accord.evidence import queries, rrweb
from accord.evidence.models import (
    OUTCOMES,
    EventKind,
    EventSource,
    JourneyEvent,
    MediaType,
    Offer,
    TermsDocument,
    TermsVersion,
)
from accord.evidence.schemas import (
    ID,
    MAX_PARAMETERS_BYTES,
    MAX_TERMS_BYTES,
    MB,
    EventIn,
    InteractionIn,
    OfferCreate,
    OutcomeIn,
    ScreenIn,
    TermsDocumentCreate,
    TermsVersionCreate,
)
from accord.parties import queries as parties
from accord.store import blobs, journal
from accord.store.db import FOREVER, utcnow
from accord.store.journal import Draft, Op, iso
from accord.store.temporal import AsOf, Fact, Versioned
from accord.store.writes import record


class Conflict(AccordError):
    """The change contradicts what is on record (an offer decided twice, events after its
    outcome). Interfaces answer 409."""


class NumberTaken(Conflict):
    """Events numbered with an `n` the journey already holds for another event: a second
    tab or browser on the same offer counts from 0 too. Nothing of the request is kept;
    the sender numbers its unacknowledged events again from `next` and resends them.
    `received` are the request's events already on record (retries), which it drops."""

    def __init__(self, *, taken: Sequence[int], next_n: int, received: Sequence[int]) -> None:
        self.taken = sorted(taken)
        self.next = next_n
        self.received = sorted(received)
        shown = ", ".join(map(str, self.taken[:10]))
        super().__init__(
            f"n={shown} already number other events of this journey: number the events "
            f"not yet acknowledged from {next_n} and send them again"
        )


class CaptureDenied(AccordError):
    """The capture token is missing or is not this offer's. Interfaces answer 401."""


#: How far a capture's clock may run ahead of ours before its time is not believed as the
#: valid time (the capture's own `at` is kept as given either way).
_CLOCK_SKEW = timedelta(minutes=5)


def _draft(
    kind: str,
    op: Op,
    model: type[Versioned] | type[Fact],
    id_: str,
    start: datetime,
    data: dict[str, Any],
    reason: str = "",
) -> Draft:
    return Draft(
        kind=f"evidence.{kind}",
        op=op,
        type=model.entity_type,
        id=id_,
        valid_from=start,
        valid_to=FOREVER,
        data=data,
        reason=reason,
    )


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


# --- terms -----------------------------------------------------------------------------------


def create_terms_document(session: Session, *, actor: Actor, data: TermsDocumentCreate) -> str:
    """A terms document the provider offers under, known by its code. Returns its id."""
    require(actor, *EVIDENCE_WRITERS)
    if queries.document_by_code(session, actor, data.code) is not None:
        raise Invalid.one("code", f"another terms document already has the code {data.code}")
    document_id = str(uuid.uuid4())
    record(
        session,
        tenant_id=actor.tenant_id,
        actor=actor.label,
        drafts=[
            _draft(
                "terms_document.created",
                Op.ASSERT,
                TermsDocument,
                document_id,
                utcnow(),
                {"code": data.code, "title": data.title},
            )
        ],
    )
    return document_id


def _check_content(media_type: MediaType, content: bytes) -> None:
    if not content:
        raise Invalid.one("content", "empty: give the text or a file")
    if len(content) > MAX_TERMS_BYTES:
        raise Invalid.one("content", f"at most {MAX_TERMS_BYTES // MB} MB")
    is_pdf = content.startswith(b"%PDF-")
    if media_type == MediaType.PDF:
        if not is_pdf:
            raise Invalid.one("content", "not a PDF file (it does not start with %PDF-)")
        return
    if is_pdf:
        raise Invalid.one("media_type", "the file is a PDF: publish it as application/pdf")
    try:
        content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Invalid.one(
            "content", f"not UTF-8 text (byte {exc.start}): save it as UTF-8, or upload a PDF"
        ) from None
    if b"\x00" in content:
        raise Invalid.one("content", "text with a NUL byte: not a text document")


def publish_terms_version(
    session: Session,
    *,
    actor: Actor,
    document_id: str,
    data: TermsVersionCreate,
    content: bytes,
) -> str:
    """Publish a version of a terms document from its bytes (text, HTML or PDF), stored
    delta-encoded against the document's previous version. Returns the version's id."""
    require(actor, *EVIDENCE_WRITERS)
    document = queries.get_document_for(session, actor, document_id)
    _check_content(data.media_type, content)
    versions = queries.versions_of(session, actor, document_id)
    if any(v.label.lower() == data.label.lower() for v in versions):
        raise Invalid.one("label", f"{document.code} already has a version {data.label}")
    now = utcnow()
    published = data.published_at or now
    effective = data.effective_from or published
    if effective < published:
        raise Invalid.one("effective_from", "cannot be before the version is published")
    previous = max(versions, key=lambda v: (v.published_at, v.seq), default=None)
    digest = blobs.put(session, actor.tenant_id, content, base=previous.blob if previous else None)
    version_id = str(uuid.uuid4())
    record(
        session,
        tenant_id=actor.tenant_id,
        actor=actor.label,
        drafts=[
            _draft(
                "terms_version.published",
                Op.ASSERT,
                TermsVersion,
                version_id,
                min(published, now),
                {
                    "document_id": document_id,
                    "label": data.label,
                    "media_type": str(data.media_type),
                    "blob": digest,
                    "size": len(content),
                    "published_at": iso(published),
                    "effective_from": iso(effective),
                },
            )
        ],
    )
    return version_id


# --- offers ----------------------------------------------------------------------------------


def create_offer(session: Session, *, actor: Actor, data: OfferCreate) -> tuple[str, str]:
    """Make an offer to a customer as its record stands (pinned by that version's journal
    entry), under a terms version. Returns the offer's id and its capture token, which is
    shown this once and kept only as its SHA-256."""
    require(actor, *EVIDENCE_WRITERS)
    now = utcnow()
    made = data.effective or now
    if made > now + _CLOCK_SKEW:
        raise Invalid.one("effective", "an offer cannot be made in the future")
    made = min(made, now)
    seen = AsOf(made, now)
    try:
        customer = parties.get_customer_for(session, actor, data.customer_id, when=seen)
    except NotFound:
        raise Invalid.one(
            "customer_id", f"no customer {data.customer_id} on {made:%Y-%m-%d %H:%M} UTC"
        ) from None
    if data.contact_id is not None:
        try:
            contact = parties.get_contact_for(session, actor, data.contact_id, when=seen)
        except NotFound:
            raise Invalid.one(
                "contact_id", f"no contact {data.contact_id} on {made:%Y-%m-%d %H:%M} UTC"
            ) from None
        if contact.customer_id != data.customer_id:
            raise Invalid.one("contact_id", "the contact is not one of the customer's")
    try:
        queries.get_version_for(session, actor, data.terms_version_id)
    except NotFound:
        raise Invalid.one("terms_version_id", f"no terms version {data.terms_version_id}") from None
    parameters = journal.canonical(data.parameters).decode("utf-8")
    if len(parameters.encode("utf-8")) > MAX_PARAMETERS_BYTES:
        raise Invalid.one("parameters", f"at most {MAX_PARAMETERS_BYTES // 1024} KB of JSON")
    token = secrets.token_urlsafe(32)
    offer_id = str(uuid.uuid4())
    record(
        session,
        tenant_id=actor.tenant_id,
        actor=actor.label,
        drafts=[
            _draft(
                "offer.made",
                Op.ASSERT,
                Offer,
                offer_id,
                made,
                {
                    "customer_id": customer.entity_id,
                    "customer_seq": customer.seq,
                    "contact_id": data.contact_id,
                    "product": data.product,
                    "parameters": parameters,
                    "terms_version_id": data.terms_version_id,
                    "capture_token_hash": token_hash(token),
                },
            )
        ],
    )
    return offer_id, token


# --- journeys --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ingested:
    """What an ingest request left on record: the n of each of its events (new or already
    there) and how many events the offer's journey now has."""

    received: list[int]
    length: int


@dataclass(frozen=True)
class Origin:
    """Where a capture came from: the request's address and browser."""

    ip: str | None
    user_agent: str | None


def capture_tenant(session: Session, *, offer_id: str, token: str | None) -> int:
    """The tenant of the offer whose capture token this is. CaptureDenied without a token
    or with another; NotFound when there is no such offer."""
    if not token:
        raise CaptureDenied("send the offer's capture token: Authorization: Bearer <token>")
    row = session.execute(
        select(Offer.tenant_id, Offer.capture_token_hash)
        .where(Offer.entity_id == offer_id, Offer.recorded_to == FOREVER)
        .limit(1)
    ).first()
    if row is None:
        raise NotFound(f"no offer {offer_id}")
    if not secrets.compare_digest(row.capture_token_hash, token_hash(token)):
        raise CaptureDenied("the capture token is not this offer's")
    return int(row.tenant_id)


def record_events(
    session: Session,
    *,
    actor: Actor,
    offer_id: str,
    events: Sequence[EventIn],
    origin: Origin,
) -> Ingested:
    """Server-side capture: the provider's backend records journey events (sales, admins).
    An event may name the customer's `ip` and `user_agent` as the backend saw them."""
    require(actor, *EVIDENCE_WRITERS)
    queries.get_offer_for(session, actor, offer_id)
    return _ingest(
        session,
        tenant_id=actor.tenant_id,
        label=actor.label,
        offer_id=offer_id,
        events=[(i, _item(e)) for i, e in enumerate(events)],
        source=EventSource.SERVER,
        origin=origin,
    )


def capture_events(
    session: Session,
    *,
    offer_id: str,
    token: str | None,
    events: Sequence[EventIn],
    origin: Origin,
) -> Ingested:
    """capture.js in the customer's browser appends to the offer's journey."""
    tenant_id = capture_tenant(session, offer_id=offer_id, token=token)
    return _ingest(
        session,
        tenant_id=tenant_id,
        label=f"capture.js (offer {offer_id})",
        offer_id=offer_id,
        events=[(i, _item(e)) for i, e in enumerate(events)],
        source=EventSource.CAPTURE,
        origin=origin,
    )


def capture_rrweb(
    session: Session,
    *,
    offer_id: str,
    token: str | None,
    events: Sequence[dict[str, Any]],
    origin: Origin,
) -> Ingested:
    """An rrweb recording of the journey: each FullSnapshot becomes a screen, inputs on
    boxes ticks, other inputs changes, custom `accepted`/`declined` events the outcome.
    Posting the same recording again records nothing twice."""
    tenant_id = capture_tenant(session, offer_id=offer_id, token=token)
    derived = rrweb.derive(events)
    # A recording goes on past the outcome (the thank-you page): that is not the journey.
    decided = next((i for i, d in enumerate(derived) if d.kind in OUTCOMES), None)
    if decided is not None:
        derived = derived[: decided + 1]
    if not any(d.kind == EventKind.SCREEN for d in derived):
        raise Invalid.one(
            "events",
            "no FullSnapshot (type 2): post a recording from a full snapshot on "
            "(rrweb's checkoutEveryNms makes one per chunk)",
        )
    offer = _locked_offer(session, tenant_id, offer_id)
    stored = queries.events_of(session, tenant_id, offer)
    have = {_rrweb_key(e.kind, e.at, e.screen, e.field, e.value, e.blob) for e in stored}
    next_n = max((e.n for e in stored), default=-1) + 1
    items: list[tuple[int, _Item]] = []
    received: list[int] = []
    by_key = {
        _rrweb_key(e.kind, e.at, e.screen, e.field, e.value, e.blob): e.n
        for e in stored
        if e.source == EventSource.RRWEB
    }
    for d in map(_nul_free, derived):
        digest = hashlib.sha256(d.recording).hexdigest() if d.recording is not None else None
        key = _rrweb_key(d.kind, d.at, d.screen, d.field, d.value, digest)
        if key in have:
            if key in by_key:
                received.append(by_key[key])
            continue
        have.add(key)
        items.append(
            (
                d.index,
                _Item(
                    n=next_n,
                    kind=d.kind,
                    at=d.at,
                    screen=d.screen,
                    url=d.url,
                    title=d.title,
                    content=d.recording,
                    form=d.form,
                    field=d.field,
                    label=d.label,
                    value=d.value,
                    contact=d.contact,
                    contact_where=f"events[{d.index}].data.payload.contact",
                ),
            )
        )
        next_n += 1
    result = _ingest(
        session,
        tenant_id=tenant_id,
        label=f"rrweb recording (offer {offer_id})",
        offer_id=offer_id,
        events=items,
        source=EventSource.RRWEB,
        origin=origin,
        offer=offer,
    )
    return Ingested(received=sorted({*received, *result.received}), length=result.length)


def _nul_free(d: rrweb.Derived) -> rrweb.Derived:
    """PostgreSQL keeps no NUL in text: a recording's strings lose theirs."""
    for name in ("screen", "url", "title", "field", "label", "value", "contact"):
        v = getattr(d, name)
        if isinstance(v, str) and "\x00" in v:
            setattr(d, name, v.replace("\x00", ""))
    return d


def _rrweb_key(
    kind: str,
    at: datetime,
    screen: str | None,
    field: str | None,
    value: str | None,
    blob: str | None,
) -> tuple[str, str, str, str, str, str]:
    return (str(kind), iso(at), screen or "", field or "", value or "", blob or "")


@dataclass
class _Item:
    """One event to record, whatever sent it."""

    n: int
    kind: EventKind
    at: datetime
    screen: str | None = None
    url: str | None = None
    title: str | None = None
    content: bytes | None = None  # a screen's HTML (UTF-8) or rrweb JSON
    form: list[dict[str, Any]] | None = None
    field: str | None = None
    label: str | None = None
    value: str | None = None
    contact: str | None = None
    contact_where: str | None = None  # where a bad contact is named, if not events[i].contact
    ip: str | None = None
    user_agent: str | None = None


def _item(e: EventIn) -> _Item:
    item = _Item(n=e.n, kind=EventKind(e.type), at=e.at, ip=e.ip, user_agent=e.user_agent)
    if isinstance(e, ScreenIn):
        return replace(
            item,
            screen=e.name,
            url=e.url,
            title=e.title,
            content=without_password_values(e.html).encode("utf-8", "surrogatepass"),
            form=[f.model_dump(exclude_unset=True) for f in e.form],
        )
    if isinstance(e, InteractionIn):
        return replace(item, screen=e.screen, field=e.field, label=e.label, value=e.value)
    assert isinstance(e, OutcomeIn)
    return replace(item, screen=e.screen, contact=e.contact)


def _locked_offer(session: Session, tenant_id: int, offer_id: str) -> Offer:
    """The offer as known now, locked until the transaction ends, so that two requests
    for one offer record their events one after the other (on SQLite the write lock
    already does).

    The lock is on the offer's first version row, which every version of it shares: a
    lock on the current version would, on PostgreSQL, wake a waiting request to a row the
    outcome just closed and find nothing. The current version is read after the lock.
    """
    first = session.scalar(
        select(Offer.row_id)
        .where(Offer.tenant_id == tenant_id, Offer.entity_id == offer_id)
        .order_by(Offer.row_id)
        .limit(1)
        .with_for_update()
    )
    if first is None:
        raise NotFound(f"no offer {offer_id}")
    found = session.scalar(
        select(Offer)
        .where(
            Offer.tenant_id == tenant_id,
            Offer.entity_id == offer_id,
            Offer.recorded_to == FOREVER,
        )
        .order_by(Offer.valid_from.desc())
        .limit(1)
        .execution_options(populate_existing=True)
    )
    if found is None:
        raise NotFound(f"no offer {offer_id}")
    return found


def _masked_form(form: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    if form is None:
        return None
    out = []
    for f in form:
        if str(f.get("type", "")).lower() == "password":
            f = {**f, "value": "", "masked": True}
        out.append(f)
    return out


def _ingest(
    session: Session,
    *,
    tenant_id: int,
    label: str,
    offer_id: str,
    events: Sequence[tuple[int, _Item]],
    source: EventSource,
    origin: Origin,
    offer: Offer | None = None,
) -> Ingested:
    offer = offer or _locked_offer(session, tenant_id, offer_id)
    stored = queries.events_of(session, tenant_id, offer)
    decided = next((e for e in stored if e.kind in OUTCOMES), None)
    new, taken = _unrecorded(stored, events, source)
    received = sorted({x.n for _, x in events})
    if taken:
        if decided is not None:
            raise Conflict(
                f"the offer was {decided.kind} (event {decided.n}) and n={taken[0]} numbers "
                "another event: nothing can be added after the outcome"
            )
        raise NumberTaken(
            taken=taken,
            next_n=max(e.n for e in stored) + 1,
            received=sorted({x.n for _, x in events} - set(taken) - {x.n for _, x in new}),
        )
    if not new:
        return Ingested(received=received, length=len(stored))

    outcomes = [x for x in new if x[1].kind in OUTCOMES]
    if decided is not None:
        when = f" on {decided.at:%Y-%m-%d %H:%M} UTC" if decided.at else ""
        if outcomes:
            raise Conflict(f"the offer was already {decided.kind}{when}: an outcome is final")
        late = [x.n for _, x in new if x.n > decided.n]
        if late:
            raise Conflict(
                f"the offer was {decided.kind}{when} (event {decided.n}): no events after "
                f"the outcome (got n={', '.join(map(str, late[:10]))})"
            )
    if len(outcomes) > 1:
        raise Conflict("one outcome per offer: this request has more than one")
    if outcomes:
        last = outcomes[0][1].n
        late = [x.n for _, x in new if x.n > last]
        if late:
            raise Conflict(
                f"no events after the outcome (event {last}): got n={', '.join(map(str, late))}"
            )

    customer_id = offer.customer_id
    now = utcnow()
    drafts: list[Draft] = []
    # Earlier captures of each screen (by name) in this journey: a screen shown again is
    # stored as a delta against its previous capture; its fields tell which are passwords.
    previous: dict[str, str] = {}
    fields: dict[str, dict[str, str]] = {}
    for e in stored:
        if e.kind == EventKind.SCREEN and e.screen and e.blob:
            previous[e.screen] = e.blob
            fields[e.screen] = _field_types(json.loads(e.form) if e.form else [])
    family_prefix = f"screen:{offer.product}"[:150]
    for i, x in new:
        where = f"events[{i}]"
        valid_from = min(x.at, now) if x.at <= now + _CLOCK_SKEW else now
        digest = None
        form = _masked_form(x.form)
        value = x.value
        if x.kind == EventKind.SCREEN and x.content is not None:
            name = x.screen or ""
            digest = blobs.put(
                session,
                tenant_id,
                x.content,
                base=previous.get(name),
                family=f"{family_prefix}/{name}"[:200],
            )
            previous[name] = digest
            fields[name] = _field_types(form or [])
        elif x.kind in (EventKind.CHANGE, EventKind.TICK, EventKind.UNTICK):
            kind = fields.get(x.screen or "", {}).get(x.field or "")
            if kind == "password":
                value = ""  # never kept, whatever the sender did
        contact = None
        if x.kind in OUTCOMES:
            contact = x.contact or offer.contact_id
            if x.contact is not None:
                where_contact = x.contact_where or f"{where}.contact"
                _check_contact(
                    session, tenant_id, customer_id, x.contact, where_contact, valid_from
                )
        ip = x.ip or origin.ip
        agent = x.user_agent or origin.user_agent
        event_id = str(uuid.uuid4())
        drafts.append(
            _draft(
                f"journey.{x.kind}",
                Op.ASSERT,
                JourneyEvent,
                event_id,
                valid_from,
                {
                    "offer_id": offer_id,
                    "n": x.n,
                    "kind": str(x.kind),
                    "at": iso(x.at),
                    "screen": x.screen,
                    "url": x.url,
                    "title": x.title,
                    "blob": digest,
                    "form": None if form is None else journal.canonical(form).decode("utf-8"),
                    "field": x.field,
                    "label": x.label,
                    "value": value,
                    "source": str(source),
                    "ip": ip,
                    "user_agent": agent,
                    "contact": contact,
                },
            )
        )
    record(session, tenant_id=tenant_id, actor=label, drafts=drafts)
    return Ingested(received=received, length=len(stored) + len(new))


def _unrecorded(
    stored: Sequence[queries.Event], events: Sequence[tuple[int, _Item]], source: EventSource
) -> tuple[list[tuple[int, _Item]], list[int]]:
    """The request's events not on record yet (in order of n), and the n of those whose
    number the journey holds for another event. An event on record with the same n and
    content is a retry: acknowledged, not stored twice. From capture.js, whose times are
    to the millisecond, so is the same content under another n: the same event numbered
    again after a conflict, which an earlier request may have recorded meanwhile."""
    by_n = {e.n: e for e in stored}
    types: dict[str, dict[str, str]] = {}
    for e in stored:
        if e.kind == EventKind.SCREEN and e.screen:
            types[e.screen] = _field_types(json.loads(e.form) if e.form else [])
    seen = {_stored_key(e) for e in stored if e.source == EventSource.CAPTURE}
    new: list[tuple[int, _Item]] = []
    taken: list[int] = []
    for i, x in events:
        key = _item_key(x, types)
        on_record = by_n.get(x.n)
        if on_record is not None:
            if _stored_key(on_record) != key:
                taken.append(x.n)
        elif source != EventSource.CAPTURE or key not in seen:
            new.append((i, x))
    return sorted(new, key=lambda y: y[1].n), sorted(taken)


def _stored_key(e: queries.Event) -> tuple[str | None, ...]:
    return (e.kind, iso(e.at), e.screen, e.url, e.title, e.blob, e.form, e.field, e.label, e.value)


def _item_key(x: _Item, types: dict[str, dict[str, str]]) -> tuple[str | None, ...]:
    """What an event would be on record as (see `_ingest`), to tell a retry from another."""
    form = _masked_form(x.form)
    value = x.value
    interaction = x.kind in (EventKind.CHANGE, EventKind.TICK, EventKind.UNTICK)
    if interaction and types.get(x.screen or "", {}).get(x.field or "") == "password":
        value = ""  # as `_ingest` keeps it
    return (
        str(x.kind),
        iso(x.at),
        x.screen,
        x.url,
        x.title,
        hashlib.sha256(x.content).hexdigest() if x.content is not None else None,
        None if form is None else journal.canonical(form).decode("utf-8"),
        x.field,
        x.label,
        value,
    )


def _field_types(form: list[dict[str, Any]]) -> dict[str, str]:
    return {str(f.get("name")): str(f.get("type", "")).lower() for f in form if f.get("name")}


def _check_contact(
    session: Session,
    tenant_id: int,
    customer_id: str,
    contact_id: str,
    where: str,
    on: datetime,
) -> None:
    """The contact who decided is one of the offer's customer's, on the day they did. A
    capture has no staff actor: it reads as a reader of the offer's tenant would."""
    if not re.fullmatch(ID, contact_id):
        raise Invalid.one(where, "not a contact id")
    reader = Actor(tenant_id=tenant_id, label="capture", role=Role.AUDITOR)
    try:
        contact = parties.get_contact_for(session, reader, contact_id, when=AsOf(on, utcnow()))
    except NotFound:
        raise Invalid.one(where, f"no contact {contact_id} on {on:%Y-%m-%d}") from None
    if contact.customer_id != customer_id:
        raise Invalid.one(where, "not a contact of the customer the offer was made to")


# --- screens as captured -------------------------------------------------------------------


class _PasswordValues(HTMLParser):
    """Finds the start tags of password inputs that carry a value."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): v for k, v in attrs}
        if tag == "input" and (a.get("type") or "").lower() == "password" and a.get("value"):
            raw = self.get_starttag_text()
            if raw:
                self.tags.append(raw)

    handle_startendtag = handle_starttag


_VALUE_ATTR = re.compile(r"""\svalue\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)""", re.IGNORECASE)


def without_password_values(page: str) -> str:
    """The page with the value of every password input removed: capture.js strips them
    before sending; a sender that did not is not trusted with them either."""
    if "password" not in page.lower():
        return page
    finder = _PasswordValues()
    try:
        finder.feed(page)
        finder.close()
    except Exception:  # noqa: BLE001 - an unparsable page keeps no password we could find
        return page
    for tag in dict.fromkeys(finder.tags):
        page = page.replace(tag, _VALUE_ATTR.sub("", tag))
    return page
