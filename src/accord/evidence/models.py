"""Terms documents and their versions, offers and their journeys: the evidence of what a
customer was offered, under which terms, what they were shown and what they did.

Every table here is versioned and written only through the journal, and nothing here is
ever edited: a terms version, a journey event and an outcome are recorded once. The only
change an offer ever sees is its one outcome (open -> accepted or declined). Documents,
screens and recordings are bytes in the blob store, named here by their SHA-256.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from accord.store.db import Base, UtcMicros
from accord.store.temporal import Versioned


class MediaType(StrEnum):
    """The forms a terms document's master copy may take."""

    TEXT = "text/plain"
    HTML = "text/html"
    PDF = "application/pdf"


#: How a screen captured by an rrweb recording is stored (the recording's JSON).
RRWEB_MEDIA_TYPE = "application/vnd.rrweb+json"


class OfferStatus(StrEnum):
    OPEN = "open"  # made, no outcome yet
    ACCEPTED = "accepted"  # the customer accepted it (once, for good)
    DECLINED = "declined"  # the customer declined it (once, for good)


class EventKind(StrEnum):
    """What happened in a journey: a screen shown, a box ticked or unticked, a field
    changed, and the outcome."""

    SCREEN = "screen"
    TICK = "tick"
    UNTICK = "untick"
    CHANGE = "change"
    ACCEPTED = "accepted"
    DECLINED = "declined"


OUTCOMES = (EventKind.ACCEPTED, EventKind.DECLINED)


class EventSource(StrEnum):
    CAPTURE = "capture"  # Accord's capture.js in the customer's browser
    SERVER = "server"  # the provider's backend, through the API
    RRWEB = "rrweb"  # an rrweb session recording


class TermsDocument(Versioned, Base):
    """A terms-and-conditions document the provider offers under ("Managed services
    agreement"), known by a short code; its text lives in its versions."""

    __tablename__ = "terms_documents"
    entity_type = "terms_document"

    code: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))

    extra_table_args = (Index("ix_terms_documents_code", "tenant_id", "code"),)


class TermsVersion(Versioned, Base):
    """One published version of a terms document: its master copy's bytes (by digest),
    when it was published and from when it applies. Never changed once recorded."""

    __tablename__ = "terms_versions"
    entity_type = "terms_version"

    document_id: Mapped[str] = mapped_column(String(36))
    label: Mapped[str] = mapped_column(String(40))  # "v2", "2026-11"
    media_type: Mapped[str] = mapped_column(String(40))
    blob: Mapped[str] = mapped_column(String(64))  # SHA-256 hex of the bytes
    size: Mapped[int] = mapped_column(BigInteger)
    published_at: Mapped[datetime] = mapped_column(UtcMicros)
    effective_from: Mapped[datetime] = mapped_column(UtcMicros)

    extra_table_args = (
        CheckConstraint(
            "media_type IN ('text/plain', 'text/html', 'application/pdf')", name="media_type"
        ),
        Index("ix_terms_versions_document", "tenant_id", "document_id", "recorded_to"),
    )


class Offer(Versioned, Base):
    """What a customer was offered: a product with its parameters, under a terms version,
    made to the customer as its record stood then (pinned by the journal entry of that
    version, not copied). Its one change is the outcome: who decided, when, from where."""

    __tablename__ = "offers"
    entity_type = "offer"

    customer_id: Mapped[str] = mapped_column(String(36))
    #: the journal entry that wrote the customer's version in force and known when made
    customer_seq: Mapped[int] = mapped_column(BigInteger)
    contact_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    product: Mapped[str] = mapped_column(String(200))
    #: RFC 8785 canonical JSON of an object: amount, term, rate and any custom fields
    parameters: Mapped[str] = mapped_column(Text)
    terms_version_id: Mapped[str] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(20))
    #: SHA-256 hex of the capture token (the token itself is shown once, never kept)
    capture_token_hash: Mapped[str] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UtcMicros, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(36), nullable=True)  # contact id
    decided_ip: Mapped[str | None] = mapped_column(String(45), nullable=True)
    decided_user_agent: Mapped[str | None] = mapped_column(String(500), nullable=True)

    extra_table_args = (
        CheckConstraint("status IN ('open', 'accepted', 'declined')", name="status"),
        Index("ix_offers_customer", "tenant_id", "customer_id", "recorded_to"),
        Index("ix_offers_terms_version", "tenant_id", "terms_version_id", "recorded_to"),
        # A capture names only the offer; its tenant is found from it.
        Index("ix_offers_capture", "entity_id"),
    )


class JourneyEvent(Versioned, Base):
    """One step of an offer's journey, in order (`n`): a screen shown with its captured
    page and form state, a tick, an untick or a field change, or the outcome. `at` is the
    time the capture says it happened; the journal entry holds when Accord learned it."""

    __tablename__ = "journey_events"
    entity_type = "journey_event"

    offer_id: Mapped[str] = mapped_column(String(36))
    n: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UtcMicros)
    screen: Mapped[str | None] = mapped_column(String(200), nullable=True)
    url: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    title: Mapped[str | None] = mapped_column(String(500), nullable=True)
    blob: Mapped[str | None] = mapped_column(String(64), nullable=True)  # the screen's capture
    #: JSON of the form's fields as shown: name, type, label, checked, value, masked
    form: Mapped[str | None] = mapped_column(Text, nullable=True)
    field: Mapped[str | None] = mapped_column(String(200), nullable=True)
    label: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    value: Mapped[str | None] = mapped_column(Text, nullable=True)
    source: Mapped[str] = mapped_column(String(10))
    ip: Mapped[str | None] = mapped_column(String(45), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(String(500), nullable=True)

    extra_table_args = (
        CheckConstraint(
            "kind IN ('screen', 'tick', 'untick', 'change', 'accepted', 'declined')",
            name="kind",
        ),
        CheckConstraint("source IN ('capture', 'server', 'rrweb')", name="source"),
        # Events are never changed, so an offer's step n has one row: a second is refused
        # by the database too, whatever a concurrent request might try.
        Index("ix_journey_events_offer_n", "tenant_id", "offer_id", "n", unique=True),
    )


class EvidencePack(Versioned, Base):
    """An evidence pack issued for an offer: the SHA-256 and size of the PDF handed out and
    the size of the checkpoint its appendix proves the offer's entries against. Recorded
    once per pack; the pack file carries this entry's own proof (see accord.evidence.pack)."""

    __tablename__ = "evidence_packs"
    entity_type = "evidence_pack"

    offer_id: Mapped[str] = mapped_column(String(36))
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    checkpoint_size: Mapped[int] = mapped_column(BigInteger)

    extra_table_args = (Index("ix_evidence_packs_offer", "tenant_id", "offer_id", "recorded_to"),)
