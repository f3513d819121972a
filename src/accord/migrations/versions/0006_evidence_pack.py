"""evidence: the packs issued for offers

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 13:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

import accord.store.db

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = "evidence_packs"
    op.create_table(
        table,
        sa.Column("offer_id", sa.String(length=36), nullable=False),
        sa.Column("pdf_sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("checkpoint_size", sa.BigInteger(), nullable=False),
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
    )
    op.create_index(f"ix_{table}_current", table, ["tenant_id", "recorded_to", "valid_to"])
    op.create_index(
        f"ix_{table}_entity", table, ["tenant_id", "entity_id", "recorded_to", "valid_from"]
    )
    op.create_index("ix_evidence_packs_offer", table, ["tenant_id", "offer_id", "recorded_to"])


def downgrade() -> None:
    op.drop_table("evidence_packs")
