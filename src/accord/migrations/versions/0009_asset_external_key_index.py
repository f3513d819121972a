"""agreements: an index on assets' external keys, for imports' matching and the service's
check that no two assets of a tenant share one

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 16:30:00.000000
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_assets_external_key", "assets", ["tenant_id", "external_key", "recorded_to"]
    )


def downgrade() -> None:
    op.drop_index("ix_assets_external_key", table_name="assets")
