"""parties: a site's external key (its key in another system), matched by imports

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 10:00:00.000000

Not a unique index: a site has several current version rows (one per valid-time period),
all with its key, and a key stays with a removed site's history. The parties service
refuses a key another site has; the index serves that check and an import's matching.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.add_column(sa.Column("external_key", sa.String(length=100), nullable=True))
        batch_op.create_index(
            "ix_sites_external_key", ["tenant_id", "external_key", "recorded_to"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.drop_index("ix_sites_external_key")
        batch_op.drop_column("external_key")
