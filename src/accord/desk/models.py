"""Time booked by the desk: versioned and written only through the journal."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from accord.store.db import Base, UtcMicros
from accord.store.temporal import Versioned


class TimeEntry(Versioned, Base):
    """Minutes someone worked for a customer on a day, against a contract (and an asset)
    when the work was covered; against none when it is billable on its own."""

    __tablename__ = "time_entries"
    entity_type = "time_entry"

    customer_id: Mapped[str] = mapped_column(String(36))
    contract_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    asset_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    worked_on: Mapped[datetime] = mapped_column(UtcMicros)  # the day (midnight UTC)
    minutes: Mapped[int] = mapped_column(Integer)
    by: Mapped[str] = mapped_column(String(200))  # who did the work, as text
    note: Mapped[str | None] = mapped_column(Text, nullable=True)

    extra_table_args = (Index("ix_time_entries_contract", "tenant_id", "contract_id", "worked_on"),)
