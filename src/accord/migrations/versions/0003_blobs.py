"""blob store

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 09:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "blobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.LargeBinary(length=32), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("base_id", sa.Integer(), nullable=True),
        sa.Column("dict_id", sa.Integer(), nullable=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint("size >= 0", name=op.f("ck_blobs_size_not_negative")),
        sa.CheckConstraint("n >= 0", name=op.f("ck_blobs_n_not_negative")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_blobs_tenant_id_tenants")
        ),
        sa.ForeignKeyConstraint(["base_id"], ["blobs.id"], name=op.f("fk_blobs_base_id_blobs")),
        sa.ForeignKeyConstraint(["dict_id"], ["blobs.id"], name=op.f("fk_blobs_dict_id_blobs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blobs")),
    )
    # Found by the first 4 bytes of the digest: a fifth of the index the whole digest
    # would make, and nearly as selective (the query compares the whole digest in the row;
    # a tenant with a million blobs has about a hundred pairs sharing 4 bytes).
    op.create_index(
        "ix_blobs_digest", "blobs", ["tenant_id", sa.text("substr(digest, 1, 4)")], unique=False
    )
    # Frames are zstd already: PostgreSQL should not try to compress them again.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE blobs ALTER COLUMN data SET STORAGE EXTERNAL")

    op.create_table(
        "blob_families",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("seed_id", sa.Integer(), nullable=True),
        sa.Column("seeds", sa.Integer(), nullable=False),
        sa.Column("seed_bytes", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_blob_families_tenant_id_tenants")
        ),
        sa.ForeignKeyConstraint(
            ["seed_id"], ["blobs.id"], name=op.f("fk_blob_families_seed_id_blobs")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "name", name=op.f("pk_blob_families")),
        sqlite_with_rowid=False,  # one b-tree, not a table and its key's index
    )


def downgrade() -> None:
    op.drop_table("blob_families")
    op.drop_index("ix_blobs_digest", table_name="blobs")
    op.drop_table("blobs")
