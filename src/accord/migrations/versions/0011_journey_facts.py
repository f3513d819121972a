"""evidence: journey steps kept as facts (the journal holds them; a narrow table finds
them), and an offer's outcome read from its outcome step instead of a second version

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23 22:00:00.000000

Before: every journey step was a version row copying its journal entry whole (with three
indexes), and an outcome also PATCHed the offer (status, decided_at, decided_by,
decided_ip, decided_user_agent), a second version. That was 6 of the 10 KB an offer cost.

After: `journey_events` holds (tenant, the offer's first entry, n) -> (kind, entry), and an
offer has one version. Upgrading keeps every step (its entry is unchanged) and folds each
decided offer back to the version that made it; a replay of the old outcome PATCH entries
changes nothing (`Offer.retired_fields`), so `accord rebuild --check` agrees. Who decided
an outcome recorded before this revision is in that PATCH entry, which stays in the
journal; the pages show the offer's contact for it.

Downgrading puts the old tables back, filled from the journal: every step's row again, and
each offer's status and decision from its outcome step. The old code expects an outcome
to have PATCHed the offer too, so at 0010 `accord rebuild --check` reports the offers
decided since this revision; nothing is lost either way.
"""

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

import accord.store.db
from accord.store.db import FOREVER, to_micros

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_RETIRED = ("status", "decided_at", "decided_by", "decided_ip", "decided_user_agent")


def upgrade() -> None:
    forever = to_micros(FOREVER)
    op.rename_table("journey_events", "journey_events_0010")
    if op.get_bind().dialect.name == "postgresql":  # its key's index keeps the old name
        op.execute("ALTER INDEX pk_journey_events RENAME TO pk_journey_events_0010")
    op.create_table(
        "journey_events",
        sa.Column("parent_seq", sa.BigInteger(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('screen', 'tick', 'untick', 'change', 'accepted', 'declined')",
            name=op.f("ck_journey_events_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_journey_events_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "parent_seq", "n", name=op.f("pk_journey_events")),
        sqlite_with_rowid=False,
    )
    op.execute(
        """
        INSERT INTO journey_events (tenant_id, parent_seq, n, kind, seq)
        SELECT e.tenant_id,
               (SELECT min(o.seq) FROM offers o
                 WHERE o.tenant_id = e.tenant_id AND o.entity_id = e.offer_id),
               e.n, e.kind, e.seq
          FROM journey_events_0010 e
        """
    )
    op.drop_table("journey_events_0010")

    # Each decided offer back to the one version that made it, open as a replay leaves it.
    op.execute(
        """
        DELETE FROM offers
         WHERE seq > (SELECT min(o.seq) FROM offers o
                       WHERE o.tenant_id = offers.tenant_id AND o.entity_id = offers.entity_id)
        """
    )
    op.execute(
        f"UPDATE offers SET recorded_to = {forever}, closed_by = NULL WHERE closed_by IS NOT NULL"
    )
    with op.batch_alter_table("offers") as batch:  # SQLite: a copy of the table
        batch.drop_constraint(op.f("ck_offers_status"), type_="check")
        for column in _RETIRED:
            batch.drop_column(column)


_EVENT_COLUMNS = (
    *("offer_id", "n", "kind", "at", "screen", "url", "title", "blob", "form", "field"),
    *("label", "value", "source", "ip", "user_agent"),
)


def downgrade() -> None:
    from accord.store import journal

    forever = to_micros(FOREVER)
    with op.batch_alter_table("offers") as batch:
        batch.add_column(sa.Column("status", sa.String(20), nullable=False, server_default="open"))
        batch.add_column(sa.Column("decided_at", accord.store.db.UtcMicros(), nullable=True))
        batch.add_column(sa.Column("decided_by", sa.String(36), nullable=True))
        batch.add_column(sa.Column("decided_ip", sa.String(45), nullable=True))
        batch.add_column(sa.Column("decided_user_agent", sa.String(500), nullable=True))
        batch.create_check_constraint("status", "status IN ('open', 'accepted', 'declined')")
    op.rename_table("journey_events", "journey_events_0011")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER INDEX pk_journey_events RENAME TO pk_journey_events_0011")
    old = op.create_table(
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
            ["tenant_id"], ["tenants.id"], name=op.f("fk_journey_events_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("row_id", name=op.f("pk_journey_events")),
        sa.CheckConstraint(
            "kind IN ('screen', 'tick', 'untick', 'change', 'accepted', 'declined')",
            name=op.f("ck_journey_events_kind"),
        ),
        sa.CheckConstraint(
            "source IN ('capture', 'server', 'rrweb')", name=op.f("ck_journey_events_source")
        ),
    )
    session = Session(bind=op.get_bind())
    facts = session.execute(sa.text("SELECT tenant_id, seq FROM journey_events_0011")).all()
    by_tenant: dict[int, list[int]] = {}
    for tenant_id, seq in facts:
        by_tenant.setdefault(tenant_id, []).append(seq)
    for tenant_id, seqs in by_tenant.items():
        rows: list[dict[str, Any]] = []
        for e in journal.entries_at(session, tenant_id, seqs):
            rows.append(
                {
                    **{c: e.data.get(c) for c in _EVENT_COLUMNS},
                    "at": journal.parse_iso(e.data["at"]),
                    "entity_id": e.id,
                    "valid_from": e.valid_from,
                    "valid_to": FOREVER,
                    "recorded_from": e.at,
                    "recorded_to": FOREVER,
                    "seq": e.seq,
                    "tenant_id": tenant_id,
                }
            )
            if e.data["kind"] in ("accepted", "declined"):
                session.execute(
                    sa.text(
                        "UPDATE offers SET status = :k, decided_at = :at, decided_by = "
                        "coalesce(:by, contact_id), decided_ip = :ip, decided_user_agent = :ua "
                        "WHERE tenant_id = :t AND entity_id = :o AND recorded_to = :f"
                    ),
                    {
                        "k": e.data["kind"],
                        "at": to_micros(journal.parse_iso(e.data["at"])),
                        "by": e.data.get("contact"),
                        "ip": e.data.get("ip"),
                        "ua": e.data.get("user_agent"),
                        "t": tenant_id,
                        "o": e.data["offer_id"],
                        "f": forever,
                    },
                )
        if rows:
            session.execute(old.insert(), rows)
    session.flush()
    op.drop_table("journey_events_0011")
    op.create_index(
        "ix_journey_events_current", "journey_events", ["tenant_id", "recorded_to", "valid_to"]
    )
    op.create_index(
        "ix_journey_events_entity",
        "journey_events",
        ["tenant_id", "entity_id", "recorded_to", "valid_from"],
    )
    op.create_index(
        "ix_journey_events_offer_n", "journey_events", ["tenant_id", "offer_id", "n"], unique=True
    )
