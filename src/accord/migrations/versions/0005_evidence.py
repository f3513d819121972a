"""evidence: terms documents and versions, offers, journey events

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 10:00:00.000000
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

import accord.store.db

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _temporal(table: str) -> list[Any]:
    """The columns and keys every versioned table has."""
    return [
        sa.Column("row_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("entity_id", sa.String(length=36), nullable=False),
        sa.Column("valid_from", accord.store.db.UtcMicros(), nullable=False),
        sa.Column("valid_to", accord.store.db.UtcMicros(), nullable=False),
        sa.Column("recorded_from", accord.store.db.UtcMicros(), nullable=False),
        sa.Column("recorded_to", accord.store.db.UtcMicros(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("closed_by", sa.BigInteger(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("row_id", name=op.f(f"pk_{table}")),
    ]


def _temporal_indexes(table: str) -> None:
    op.create_index(f"ix_{table}_current", table, ["tenant_id", "recorded_to", "valid_to"])
    op.create_index(
        f"ix_{table}_entity", table, ["tenant_id", "entity_id", "recorded_to", "valid_from"]
    )


def upgrade() -> None:
    op.create_table(
        "terms_documents",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        *_temporal("terms_documents"),
    )
    _temporal_indexes("terms_documents")
    op.create_index("ix_terms_documents_code", "terms_documents", ["tenant_id", "code"])

    op.create_table(
        "terms_versions",
        sa.Column("document_id", sa.String(length=36), nullable=False),
        sa.Column("label", sa.String(length=40), nullable=False),
        sa.Column("media_type", sa.String(length=40), nullable=False),
        sa.Column("blob", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("published_at", accord.store.db.UtcMicros(), nullable=False),
        sa.Column("effective_from", accord.store.db.UtcMicros(), nullable=False),
        *_temporal("terms_versions"),
        sa.CheckConstraint(
            "media_type IN ('text/plain', 'text/html', 'application/pdf')",
            name=op.f("ck_terms_versions_media_type"),
        ),
    )
    _temporal_indexes("terms_versions")
    op.create_index(
        "ix_terms_versions_document", "terms_versions", ["tenant_id", "document_id", "recorded_to"]
    )

    op.create_table(
        "offers",
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("customer_seq", sa.BigInteger(), nullable=False),
        sa.Column("contact_id", sa.String(length=36), nullable=True),
        sa.Column("product", sa.String(length=200), nullable=False),
        sa.Column("parameters", sa.Text(), nullable=False),
        sa.Column("terms_version_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("capture_token_hash", sa.String(length=64), nullable=False),
        sa.Column("decided_at", accord.store.db.UtcMicros(), nullable=True),
        sa.Column("decided_by", sa.String(length=36), nullable=True),
        sa.Column("decided_ip", sa.String(length=45), nullable=True),
        sa.Column("decided_user_agent", sa.String(length=500), nullable=True),
        *_temporal("offers"),
        sa.CheckConstraint(
            "status IN ('open', 'accepted', 'declined')", name=op.f("ck_offers_status")
        ),
    )
    _temporal_indexes("offers")
    op.create_index("ix_offers_customer", "offers", ["tenant_id", "customer_id", "recorded_to"])
    op.create_index(
        "ix_offers_terms_version", "offers", ["tenant_id", "terms_version_id", "recorded_to"]
    )
    # A capture names only the offer; its tenant is found from it.
    op.create_index("ix_offers_capture", "offers", ["entity_id"])

    op.create_table(
        "journey_events",
        sa.Column("offer_id", sa.String(length=36), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("at", accord.store.db.UtcMicros(), nullable=False),
        sa.Column("screen", sa.String(length=200), nullable=True),
        sa.Column("url", sa.String(length=2000), nullable=True),
        sa.Column("title", sa.String(length=500), nullable=True),
        sa.Column("blob", sa.String(length=64), nullable=True),
        sa.Column("form", sa.Text(), nullable=True),
        sa.Column("field", sa.String(length=200), nullable=True),
        sa.Column("label", sa.String(length=1000), nullable=True),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.Column("user_agent", sa.String(length=500), nullable=True),
        *_temporal("journey_events"),
        sa.CheckConstraint(
            "kind IN ('screen', 'tick', 'untick', 'change', 'accepted', 'declined')",
            name=op.f("ck_journey_events_kind"),
        ),
        sa.CheckConstraint(
            "source IN ('capture', 'server', 'rrweb')", name=op.f("ck_journey_events_source")
        ),
    )
    _temporal_indexes("journey_events")
    # Events are never changed: an offer's step n has one row, whatever races to add it.
    op.create_index(
        "ix_journey_events_offer_n", "journey_events", ["tenant_id", "offer_id", "n"], unique=True
    )


def downgrade() -> None:
    for table in ("journey_events", "offers", "terms_versions", "terms_documents"):
        op.drop_table(table)
