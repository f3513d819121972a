"""agreements and booked time

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 10:39:01.086236
"""

import sqlalchemy as sa
from alembic import op

import accord.store.db

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assets",
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("site_id", sa.String(length=36), nullable=True),
        sa.Column("tag", sa.String(length=60), nullable=False),
        sa.Column("serial", sa.String(length=100), nullable=True),
        sa.Column("asset_type", sa.String(length=40), nullable=False),
        sa.Column("make", sa.String(length=100), nullable=True),
        sa.Column("model", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("external_key", sa.String(length=100), nullable=True),
        sa.Column("row_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("entity_id", sa.String(length=36), nullable=False),
        sa.Column("valid_from", accord.store.db.UtcMicros(), nullable=False),
        sa.Column("valid_to", accord.store.db.UtcMicros(), nullable=False),
        sa.Column("recorded_from", accord.store.db.UtcMicros(), nullable=False),
        sa.Column("recorded_to", accord.store.db.UtcMicros(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "status IN ('in_service', 'in_stock', 'retired')", name=op.f("ck_assets_status")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_assets_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("row_id", name=op.f("pk_assets")),
    )
    with op.batch_alter_table("assets", schema=None) as batch_op:
        batch_op.create_index(
            "ix_assets_current", ["tenant_id", "recorded_to", "valid_to"], unique=False
        )
        batch_op.create_index(
            "ix_assets_customer", ["tenant_id", "customer_id", "recorded_to"], unique=False
        )
        batch_op.create_index(
            "ix_assets_entity",
            ["tenant_id", "entity_id", "recorded_to", "valid_from"],
            unique=False,
        )
    # Tag and serial are found exactly but case-insensitively.
    op.create_index(
        "ix_assets_tag_ci", "assets", ["tenant_id", sa.text("lower(tag)")], unique=False
    )
    op.create_index(
        "ix_assets_serial_ci", "assets", ["tenant_id", sa.text("lower(serial)")], unique=False
    )

    op.create_table(
        "calendars",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("weekly_hours", sa.JSON(), nullable=False),
        sa.Column("holidays", sa.JSON(), nullable=False),
        sa.Column("row_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("entity_id", sa.String(length=36), nullable=False),
        sa.Column("valid_from", accord.store.db.UtcMicros(), nullable=False),
        sa.Column("valid_to", accord.store.db.UtcMicros(), nullable=False),
        sa.Column("recorded_from", accord.store.db.UtcMicros(), nullable=False),
        sa.Column("recorded_to", accord.store.db.UtcMicros(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_calendars_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("row_id", name=op.f("pk_calendars")),
    )
    with op.batch_alter_table("calendars", schema=None) as batch_op:
        batch_op.create_index(
            "ix_calendars_current", ["tenant_id", "recorded_to", "valid_to"], unique=False
        )
        batch_op.create_index(
            "ix_calendars_entity",
            ["tenant_id", "entity_id", "recorded_to", "valid_from"],
            unique=False,
        )

    op.create_table(
        "contract_lines",
        sa.Column("contract_id", sa.String(length=36), nullable=False),
        sa.Column("asset_id", sa.String(length=36), nullable=True),
        sa.Column("site_id", sa.String(length=36), nullable=True),
        sa.Column("asset_type", sa.String(length=40), nullable=True),
        sa.Column("service_level_id", sa.String(length=36), nullable=False),
        sa.Column("price", sa.Integer(), nullable=False),
        sa.Column("budget_minutes", sa.Integer(), nullable=False),
        sa.Column("external_key", sa.String(length=100), nullable=True),
        sa.Column("row_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("entity_id", sa.String(length=36), nullable=False),
        sa.Column("valid_from", accord.store.db.UtcMicros(), nullable=False),
        sa.Column("valid_to", accord.store.db.UtcMicros(), nullable=False),
        sa.Column("recorded_from", accord.store.db.UtcMicros(), nullable=False),
        sa.Column("recorded_to", accord.store.db.UtcMicros(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "asset_id IS NOT NULL OR (site_id IS NOT NULL AND asset_type IS NOT NULL)",
            name=op.f("ck_contract_lines_covers_something"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_contract_lines_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("row_id", name=op.f("pk_contract_lines")),
    )
    with op.batch_alter_table("contract_lines", schema=None) as batch_op:
        batch_op.create_index(
            "ix_contract_lines_asset", ["tenant_id", "asset_id", "recorded_to"], unique=False
        )
        batch_op.create_index(
            "ix_contract_lines_contract", ["tenant_id", "contract_id", "recorded_to"], unique=False
        )
        batch_op.create_index(
            "ix_contract_lines_current", ["tenant_id", "recorded_to", "valid_to"], unique=False
        )
        batch_op.create_index(
            "ix_contract_lines_entity",
            ["tenant_id", "entity_id", "recorded_to", "valid_from"],
            unique=False,
        )
        batch_op.create_index(
            "ix_contract_lines_group",
            ["tenant_id", "site_id", "asset_type", "recorded_to"],
            unique=False,
        )

    op.create_table(
        "contracts",
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("reference", sa.String(length=60), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("start", accord.store.db.UtcMicros(), nullable=False),
        sa.Column("term_end", accord.store.db.UtcMicros(), nullable=True),
        sa.Column("renewal_months", sa.Integer(), nullable=True),
        sa.Column("notice_days", sa.Integer(), nullable=False),
        sa.Column("billing_period", sa.String(length=20), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("cancelled_from", accord.store.db.UtcMicros(), nullable=True),
        sa.Column("row_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("entity_id", sa.String(length=36), nullable=False),
        sa.Column("valid_from", accord.store.db.UtcMicros(), nullable=False),
        sa.Column("valid_to", accord.store.db.UtcMicros(), nullable=False),
        sa.Column("recorded_from", accord.store.db.UtcMicros(), nullable=False),
        sa.Column("recorded_to", accord.store.db.UtcMicros(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "billing_period IN ('monthly', 'quarterly', 'annual')",
            name=op.f("ck_contracts_billing_period"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_contracts_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("row_id", name=op.f("pk_contracts")),
    )
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_contracts_current", ["tenant_id", "recorded_to", "valid_to"], unique=False
        )
        batch_op.create_index(
            "ix_contracts_customer", ["tenant_id", "customer_id", "recorded_to"], unique=False
        )
        batch_op.create_index(
            "ix_contracts_entity",
            ["tenant_id", "entity_id", "recorded_to", "valid_from"],
            unique=False,
        )
        batch_op.create_index("ix_contracts_reference", ["tenant_id", "reference"], unique=False)

    op.create_table(
        "invoices",
        sa.Column("number", sa.String(length=30), nullable=False),
        sa.Column("contract_id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("period_start", accord.store.db.UtcMicros(), nullable=False),
        sa.Column("period_end", accord.store.db.UtcMicros(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("coverage_known_at", accord.store.db.UtcMicros(), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("row_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("entity_id", sa.String(length=36), nullable=False),
        sa.Column("valid_from", accord.store.db.UtcMicros(), nullable=False),
        sa.Column("valid_to", accord.store.db.UtcMicros(), nullable=False),
        sa.Column("recorded_from", accord.store.db.UtcMicros(), nullable=False),
        sa.Column("recorded_to", accord.store.db.UtcMicros(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_invoices_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("row_id", name=op.f("pk_invoices")),
    )
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.create_index(
            "ix_invoices_contract", ["tenant_id", "contract_id", "recorded_to"], unique=False
        )
        batch_op.create_index(
            "ix_invoices_current", ["tenant_id", "recorded_to", "valid_to"], unique=False
        )
        batch_op.create_index(
            "ix_invoices_entity",
            ["tenant_id", "entity_id", "recorded_to", "valid_from"],
            unique=False,
        )
        batch_op.create_index(
            "ix_invoices_period", ["tenant_id", "period_start", "recorded_to"], unique=False
        )

    op.create_table(
        "service_levels",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("calendar_id", sa.String(length=36), nullable=False),
        sa.Column("targets", sa.JSON(), nullable=False),
        sa.Column("row_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("entity_id", sa.String(length=36), nullable=False),
        sa.Column("valid_from", accord.store.db.UtcMicros(), nullable=False),
        sa.Column("valid_to", accord.store.db.UtcMicros(), nullable=False),
        sa.Column("recorded_from", accord.store.db.UtcMicros(), nullable=False),
        sa.Column("recorded_to", accord.store.db.UtcMicros(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_service_levels_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("row_id", name=op.f("pk_service_levels")),
    )
    with op.batch_alter_table("service_levels", schema=None) as batch_op:
        batch_op.create_index(
            "ix_service_levels_current", ["tenant_id", "recorded_to", "valid_to"], unique=False
        )
        batch_op.create_index(
            "ix_service_levels_entity",
            ["tenant_id", "entity_id", "recorded_to", "valid_from"],
            unique=False,
        )

    op.create_table(
        "time_entries",
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("contract_id", sa.String(length=36), nullable=True),
        sa.Column("asset_id", sa.String(length=36), nullable=True),
        sa.Column("worked_on", accord.store.db.UtcMicros(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("by", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("row_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("entity_id", sa.String(length=36), nullable=False),
        sa.Column("valid_from", accord.store.db.UtcMicros(), nullable=False),
        sa.Column("valid_to", accord.store.db.UtcMicros(), nullable=False),
        sa.Column("recorded_from", accord.store.db.UtcMicros(), nullable=False),
        sa.Column("recorded_to", accord.store.db.UtcMicros(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_time_entries_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("row_id", name=op.f("pk_time_entries")),
    )
    with op.batch_alter_table("time_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_time_entries_contract", ["tenant_id", "contract_id", "worked_on"], unique=False
        )
        batch_op.create_index(
            "ix_time_entries_current", ["tenant_id", "recorded_to", "valid_to"], unique=False
        )
        batch_op.create_index(
            "ix_time_entries_entity",
            ["tenant_id", "entity_id", "recorded_to", "valid_from"],
            unique=False,
        )


def downgrade() -> None:

    with op.batch_alter_table("time_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_time_entries_entity")
        batch_op.drop_index("ix_time_entries_current")
        batch_op.drop_index("ix_time_entries_contract")

    op.drop_table("time_entries")
    with op.batch_alter_table("service_levels", schema=None) as batch_op:
        batch_op.drop_index("ix_service_levels_entity")
        batch_op.drop_index("ix_service_levels_current")

    op.drop_table("service_levels")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_index("ix_invoices_period")
        batch_op.drop_index("ix_invoices_entity")
        batch_op.drop_index("ix_invoices_current")
        batch_op.drop_index("ix_invoices_contract")

    op.drop_table("invoices")
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.drop_index("ix_contracts_reference")
        batch_op.drop_index("ix_contracts_entity")
        batch_op.drop_index("ix_contracts_customer")
        batch_op.drop_index("ix_contracts_current")

    op.drop_table("contracts")
    with op.batch_alter_table("contract_lines", schema=None) as batch_op:
        batch_op.drop_index("ix_contract_lines_group")
        batch_op.drop_index("ix_contract_lines_entity")
        batch_op.drop_index("ix_contract_lines_current")
        batch_op.drop_index("ix_contract_lines_contract")
        batch_op.drop_index("ix_contract_lines_asset")

    op.drop_table("contract_lines")
    with op.batch_alter_table("calendars", schema=None) as batch_op:
        batch_op.drop_index("ix_calendars_entity")
        batch_op.drop_index("ix_calendars_current")

    op.drop_table("calendars")
    with op.batch_alter_table("assets", schema=None) as batch_op:
        batch_op.drop_index("ix_assets_entity")
        batch_op.drop_index("ix_assets_serial_ci")
        batch_op.drop_index("ix_assets_tag_ci")
        batch_op.drop_index("ix_assets_customer")
        batch_op.drop_index("ix_assets_current")

    op.drop_table("assets")
