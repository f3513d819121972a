"""Terms documents and their versions, offers and their journeys: the evidence of what a
customer was offered, under which terms, what they were shown and what they did.

Every table here is written only through the journal, and nothing here is ever edited: a
terms version, an offer and each step of its journey (the outcome last) are recorded once.
Journey steps are facts (`store.temporal.Fact`): the journal holds them and their table
only finds them. Documents, screens and recordings are bytes in the blob store, named
here by their SHA-256.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, CheckConstraint, Index, String, Text, func, select
from sqlalchemy.orm import Mapped, column_property, mapped_column

from accord.store.db import Base, UtcMicros
from accord.store.temporal import Fact, Versioned


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


class JourneyEvent(Fact, Base):
    """One step of an offer's journey, in order (`n`): a screen shown with its captured
    page and form state, a tick, an untick or a field change, or the outcome (with who
    decided, `contact`). `at` is the time the capture says it happened; the journal entry
    holds when Accord learned it.

    A step is a fact: its journal entry is the record, and the table holds only (offer, n)
    -> (kind, entry), so that an offer's journey is one index range (read the steps through
    `evidence.queries`). The outcome, when there is one, is the journey's last step.
    """

    __tablename__ = "journey_events"
    entity_type = "journey_event"
    parent = "offer"
    parent_field = "offer_id"
    fields = (
        "offer_id",
        "n",
        "kind",
        "at",
        "screen",
        "url",
        "title",
        "blob",  # SHA-256 hex of the screen's capture (HTML or rrweb JSON) in the blob store
        "form",  # JSON of the form's fields as shown: name, type, label, checked, value, masked
        "field",
        "label",
        "value",
        "source",  # EventSource
        "ip",
        "user_agent",
        "contact",  # the outcome's: the customer's contact who decided (entries since 0011)
    )
    extra_table_args = (
        CheckConstraint(
            "kind IN ('screen', 'tick', 'untick', 'change', 'accepted', 'declined')",
            name="kind",
        ),
    )


class Offer(Versioned, Base):
    """What a customer was offered: a product with its parameters, under a terms version,
    made to the customer as its record stood then (pinned by the journal entry of that
    version, not copied).

    An offer has one version, never changed: its outcome is the last step of its journey
    (a `JourneyEvent`), read with it as `status` and `outcome_seq`. So `seq`, the entry
    that made the offer, is also the key its steps are filed under."""

    __tablename__ = "offers"
    entity_type = "offer"
    # Before 0011 an outcome was also a PATCH of the offer; the outcome step holds it all.
    retired_fields = frozenset(
        {"status", "decided_at", "decided_by", "decided_ip", "decided_user_agent"}
    )

    customer_id: Mapped[str] = mapped_column(String(36))
    #: the journal entry that wrote the customer's version in force and known when made
    customer_seq: Mapped[int] = mapped_column(BigInteger)
    contact_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    product: Mapped[str] = mapped_column(String(200))
    #: RFC 8785 canonical JSON of an object: amount, term, rate and any custom fields
    parameters: Mapped[str] = mapped_column(Text)
    terms_version_id: Mapped[str] = mapped_column(String(36))
    #: SHA-256 hex of the capture token (the token itself is shown once, never kept)
    capture_token_hash: Mapped[str] = mapped_column(String(64))

    extra_table_args = (
        Index("ix_offers_customer", "tenant_id", "customer_id", "recorded_to"),
        Index("ix_offers_terms_version", "tenant_id", "terms_version_id", "recorded_to"),
        # A capture names only the offer; its tenant is found from it.
        Index("ix_offers_capture", "entity_id"),
    )

    if TYPE_CHECKING:  # mapped below, once the class has its columns
        #: open, accepted or declined (OfferStatus): the kind of its outcome step, if any
        status: Mapped[str]
        #: the journal entry of its outcome step, if any
        outcome_seq: Mapped[int | None]


def _outcome(column: Any) -> Any:
    """`column` of an offer's outcome step (its journey's accepted or declined event)."""
    return (
        select(column)
        .where(
            JourneyEvent.tenant_id == Offer.tenant_id,
            JourneyEvent.parent_seq == Offer.seq,
            JourneyEvent.kind.in_([str(k) for k in OUTCOMES]),
        )
        .limit(1)
        .correlate_except(JourneyEvent)
        .scalar_subquery()
    )


Offer.status = column_property(func.coalesce(_outcome(JourneyEvent.kind), str(OfferStatus.OPEN)))
Offer.outcome_seq = column_property(_outcome(JourneyEvent.seq))


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
