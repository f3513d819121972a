"""journal: entries kept zstd-compressed against a dictionary trained on the tenant's log

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 16:00:00.000000

Existing entries stay as they are (a NULL dictionary: the canonical bytes); a tenant's
next append trains its first dictionary when its log is long enough
(`accord.store.entry_codec`).
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "journal_dictionaries",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("trained_at_size", sa.BigInteger(), nullable=False),
        sa.Column("dictionary", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_journal_dictionaries_tenant_id_tenants"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_journal_dictionaries")),
    )
    op.add_column("journal_entries", sa.Column("dictionary_id", sa.Integer(), nullable=True))
    op.add_column("log_heads", sa.Column("dictionary_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    compressed = op.get_bind().scalar(
        sa.text("SELECT count(*) FROM journal_entries WHERE dictionary_id IS NOT NULL")
    )
    if compressed:
        raise RuntimeError(
            f"{compressed} journal entries are stored compressed: the earlier schema cannot "
            "read them (restore a backup taken before revision 0008 instead)"
        )
    with op.batch_alter_table("log_heads", schema=None) as batch_op:
        batch_op.drop_column("dictionary_id")
    with op.batch_alter_table("journal_entries", schema=None) as batch_op:
        batch_op.drop_column("dictionary_id")
    op.drop_table("journal_dictionaries")
