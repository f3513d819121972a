"""agreements: asset_coverage, the entitlement answer kept ready by the write path, and an
index on assets' (site, type), the assets a group line can cover

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 18:30:00.000000

The table is derived (`accord.store.derived`): upgrading fills it for every tenant from
the version tables, instant by instant, as the write path would have
(`accord.agreements.derived.rebuild`), so that answers as known at any past time are
the same as before.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

import accord.store.db

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "asset_coverage",
        sa.Column("row_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.String(length=36), nullable=False),
        sa.Column("valid_from", accord.store.db.UtcMicros(), nullable=False),
        sa.Column("valid_to", accord.store.db.UtcMicros(), nullable=False),
        sa.Column("recorded_from", accord.store.db.UtcMicros(), nullable=False),
        sa.Column("recorded_to", accord.store.db.UtcMicros(), nullable=False),
        sa.Column("tag", sa.String(length=60), nullable=False),
        sa.Column("cause", sa.String(length=20), nullable=False),
        sa.Column("contract_id", sa.String(length=36), nullable=True),
        sa.Column("contract_reference", sa.String(length=60), nullable=True),
        sa.Column("line_id", sa.String(length=36), nullable=True),
        sa.Column("service_level_id", sa.String(length=36), nullable=True),
        sa.Column("covered_until", accord.store.db.UtcMicros(), nullable=True),
        sa.Column("next_covered_from", accord.store.db.UtcMicros(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("reason_end", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_asset_coverage_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("row_id", name=op.f("pk_asset_coverage")),
    )
    op.create_index(
        "ix_asset_coverage_asset",
        "asset_coverage",
        ["tenant_id", "asset_id", "recorded_to", "valid_from"],
    )
    op.create_index("ix_assets_site_type", "assets", ["tenant_id", "site_id", "asset_type"])

    from accord.agreements import derived
    from accord.store import journal

    session = Session(bind=op.get_bind())
    for (tenant_id,) in session.execute(sa.text("SELECT id FROM tenants ORDER BY id")):
        derived.rebuild(
            session,
            tenant_id,
            lambda seqs, t=tenant_id: journal.entries_at(session, t, seqs),
        )
    session.flush()


def downgrade() -> None:
    op.drop_index("ix_assets_site_type", table_name="assets")
    op.drop_index("ix_asset_coverage_asset", table_name="asset_coverage")
    op.drop_table("asset_coverage")
