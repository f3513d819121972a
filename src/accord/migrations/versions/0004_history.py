"""entity history from version rows: closed_by on every version table; no journal entity index

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 12:40:00.000000

The journal's own index by entity (a random-order B-tree insert per entry, a third of an
append's cost) duplicated what the version tables know: each row names the entry that wrote
it (`seq`) and now the entry that closed it (`closed_by`), so an entity's history is read
from its rows. Existing rows get `closed_by` from the journal: the entry whose recorded time
closed them (one change's entries share a recorded time; the row's entity picks the entry).
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

VERSIONED = (
    "customers",
    "contacts",
    "sites",
    "assets",
    "calendars",
    "service_levels",
    "contracts",
    "contract_lines",
    "invoices",
    "time_entries",
    "users",
)


def upgrade() -> None:
    for table in VERSIONED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("closed_by", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("journal_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_journal_entries_entity")
        batch_op.drop_column("entity_key")
        batch_op.drop_column("entity_id")
    _backfill_closed_by()


def _backfill_closed_by() -> None:
    """Closed rows of a database made before this revision: the entry about the row's
    entity recorded at the row's `recorded_to` closed it. Read from the entry bytes, so it
    works on both engines without JSON functions."""
    import json

    from accord.store.db import FOREVER, to_micros

    conn = op.get_bind()
    forever = to_micros(FOREVER)
    by_moment: dict[tuple[int, int, str], int] = {}
    for tenant_id, seq, raw in conn.execute(
        sa.text("SELECT tenant_id, seq, entry FROM journal_entries")
    ):
        e = json.loads(bytes(raw))
        at = to_micros(_parse(e["at"]))
        by_moment.setdefault((tenant_id, at, e["id"]), seq)
    if not by_moment:
        return
    for table in VERSIONED:
        rows = conn.execute(
            sa.text(
                f"SELECT row_id, tenant_id, recorded_to, entity_id FROM {table} "
                "WHERE recorded_to <> :forever"
            ),
            {"forever": forever},
        ).all()
        for row_id, tenant_id, recorded_to, entity_id in rows:
            seq = by_moment.get((tenant_id, int(recorded_to), entity_id))
            if seq is not None:
                conn.execute(
                    sa.text(f"UPDATE {table} SET closed_by = :s WHERE row_id = :r"),
                    {"s": seq, "r": row_id},
                )


def _parse(text: str):  # type: ignore[no-untyped-def]
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def downgrade() -> None:
    with op.batch_alter_table("journal_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("entity_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("entity_key", sa.Integer(), nullable=True))
        batch_op.create_index("ix_journal_entries_entity", ["tenant_id", "entity_key"])
    for table in VERSIONED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("closed_by")
