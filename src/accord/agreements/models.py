"""Assets, service levels, calendars, contracts and their lines, invoices.

Every table here but one is versioned and written only through the journal. Coverage,
billing and budgets are derived, by date, from contracts and their lines, so a change to
one (a cancellation, a price, a correction) changes every view. The one exception is
`AssetCoverage`: the entitlement answer kept ready, a derived table that the write path
refreshes in the same transaction as the change (`accord.store.derived`) and that
`accord rebuild` recomputes from the version tables like any other.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from accord.store import derived
from accord.store.db import Base, UtcMicros
from accord.store.temporal import Versioned


class AssetStatus(StrEnum):
    IN_SERVICE = "in_service"  # in use at the customer; coverable
    IN_STOCK = "in_stock"  # a spare on the shelf; coverable (spares are often under contract)
    RETIRED = "retired"  # no longer in use: nothing covers a retired asset


class BillingPeriod(StrEnum):
    """How often a contract is invoiced; periods are calendar months, quarters or years."""

    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    ANNUAL = "annual"


PRIORITIES = ("p1", "p2", "p3", "p4")


class Asset(Versioned, Base):
    """A thing of a customer's the provider may look after: a laptop, a server, a firewall."""

    __tablename__ = "assets"
    entity_type = "asset"

    customer_id: Mapped[str] = mapped_column(String(36))
    site_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    tag: Mapped[str] = mapped_column(String(60))  # the provider's label on the thing
    serial: Mapped[str | None] = mapped_column(String(100), nullable=True)
    asset_type: Mapped[str] = mapped_column(String(40))  # "laptop", "server": matches lines
    make: Mapped[str | None] = mapped_column(String(100), nullable=True)
    model: Mapped[str | None] = mapped_column(String(100), nullable=True)
    status: Mapped[str] = mapped_column(String(20))
    external_key: Mapped[str | None] = mapped_column(String(100), nullable=True)

    extra_table_args = (
        CheckConstraint("status IN ('in_service', 'in_stock', 'retired')", name="status"),
        # Tag and serial are looked up exactly but case-insensitively ("nw-0042" finds NW-0042).
        Index("ix_assets_tag_ci", "tenant_id", text("lower(tag)")),
        Index("ix_assets_serial_ci", "tenant_id", text("lower(serial)")),
        Index("ix_assets_customer", "tenant_id", "customer_id", "recorded_to"),
        Index("ix_assets_external_key", "tenant_id", "external_key", "recorded_to"),
        # The assets a group line ("every laptop at the site") can cover.
        Index("ix_assets_site_type", "tenant_id", "site_id", "asset_type"),
    )


class Calendar(Versioned, Base):
    """Business hours a service level's clock runs in: a time zone, weekly hours, holidays."""

    __tablename__ = "calendars"
    entity_type = "calendar"

    name: Mapped[str] = mapped_column(String(100))
    time_zone: Mapped[str] = mapped_column(String(64))  # IANA name, e.g. Europe/London
    #: {"mon": [["08:00", "18:00"]], ...}; a day that is absent is closed
    weekly_hours: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: ["2026-12-25", ...]: whole days closed, in the calendar's time zone
    holidays: Mapped[list[str]] = mapped_column(JSON)


class ServiceLevel(Versioned, Base):
    """Response and resolution targets per priority, counted in a calendar's business hours."""

    __tablename__ = "service_levels"
    entity_type = "service_level"

    name: Mapped[str] = mapped_column(String(100))
    calendar_id: Mapped[str] = mapped_column(String(36))
    #: {"p1": {"response": 30, "resolution": 240}, ...} in business minutes
    targets: Mapped[dict[str, Any]] = mapped_column(JSON)


class Contract(Versioned, Base):
    """An agreement with a customer. Its valid time is when it is in force: it starts on
    its start date and stops at the end of its term, or where a cancellation takes effect."""

    __tablename__ = "contracts"
    entity_type = "contract"

    customer_id: Mapped[str] = mapped_column(String(36))
    reference: Mapped[str] = mapped_column(String(60))  # the contract number both sides use
    title: Mapped[str] = mapped_column(String(200))
    start: Mapped[datetime] = mapped_column(UtcMicros)
    #: end of the current term (exclusive); none for a rolling contract
    term_end: Mapped[datetime | None] = mapped_column(UtcMicros, nullable=True)
    renewal_months: Mapped[int | None] = mapped_column(Integer, nullable=True)
    notice_days: Mapped[int] = mapped_column(Integer)
    billing_period: Mapped[str] = mapped_column(String(20))
    currency: Mapped[str] = mapped_column(String(3))  # ISO 4217
    #: where a cancellation takes effect; set on the versions before it
    cancelled_from: Mapped[datetime | None] = mapped_column(UtcMicros, nullable=True)

    extra_table_args = (
        CheckConstraint(
            "billing_period IN ('monthly', 'quarterly', 'annual')", name="billing_period"
        ),
        Index("ix_contracts_customer", "tenant_id", "customer_id", "recorded_to"),
        Index("ix_contracts_reference", "tenant_id", "reference"),
    )


class ContractLine(Versioned, Base):
    """What a contract covers: one asset, or every asset of a type at a site, at a service
    level and a price per billing period (per covered asset), with a support budget."""

    __tablename__ = "contract_lines"
    entity_type = "contract_line"

    contract_id: Mapped[str] = mapped_column(String(36))
    asset_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    site_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    asset_type: Mapped[str | None] = mapped_column(String(40), nullable=True)
    service_level_id: Mapped[str] = mapped_column(String(36))
    #: in the contract's currency's minor unit (pence, cents), per billing period, per asset
    price: Mapped[int] = mapped_column(Integer)
    #: support hours each covered asset adds to the contract's budget, per month, in minutes
    budget_minutes: Mapped[int] = mapped_column(Integer)
    external_key: Mapped[str | None] = mapped_column(String(100), nullable=True)

    extra_table_args = (
        CheckConstraint(
            "asset_id IS NOT NULL OR (site_id IS NOT NULL AND asset_type IS NOT NULL)",
            name="covers_something",
        ),
        Index("ix_contract_lines_asset", "tenant_id", "asset_id", "recorded_to"),
        Index("ix_contract_lines_group", "tenant_id", "site_id", "asset_type", "recorded_to"),
        Index("ix_contract_lines_contract", "tenant_id", "contract_id", "recorded_to"),
    )


class Invoice(Versioned, Base):
    """An issued invoice for one contract and billing period. It keeps its lines as computed
    from the coverage known when it was issued; later corrections adjust later invoices."""

    __tablename__ = "invoices"
    entity_type = "invoice"

    number: Mapped[str] = mapped_column(String(30))
    contract_id: Mapped[str] = mapped_column(String(36))
    customer_id: Mapped[str] = mapped_column(String(36))
    period_start: Mapped[datetime] = mapped_column(UtcMicros)
    period_end: Mapped[datetime] = mapped_column(UtcMicros)
    currency: Mapped[str] = mapped_column(String(3))
    #: the recorded time the coverage was read as of
    coverage_known_at: Mapped[datetime] = mapped_column(UtcMicros)
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    total: Mapped[int] = mapped_column(Integer)  # minor units
    note: Mapped[str | None] = mapped_column(Text, nullable=True)

    extra_table_args = (
        Index("ix_invoices_contract", "tenant_id", "contract_id", "recorded_to"),
        Index("ix_invoices_period", "tenant_id", "period_start", "recorded_to"),
    )


class AssetCoverage(Base):
    """Derived: an asset's entitlement answer for each stretch of valid time over which it
    does not change, as known over recorded time. `entitlement` is one lookup here.

    Rows are written only by `accord.agreements.derived.refresh`, which the write path
    calls for every entry about an asset, a contract line or a contract; the version
    tables stay the truth and `accord rebuild --check` compares this table with what they
    give. The service level is joined when read (its name and targets can change without
    touching coverage); a covered stretch's words are `reason`, "at NAME service level",
    then `reason_end`.
    """

    __tablename__ = "asset_coverage"

    row_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    asset_id: Mapped[str] = mapped_column(String(36))
    valid_from: Mapped[datetime] = mapped_column(UtcMicros)
    valid_to: Mapped[datetime] = mapped_column(UtcMicros)
    recorded_from: Mapped[datetime] = mapped_column(UtcMicros)
    recorded_to: Mapped[datetime] = mapped_column(UtcMicros)
    tag: Mapped[str] = mapped_column(String(60))
    cause: Mapped[str] = mapped_column(String(20))  # `coverage.Cause`
    contract_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    contract_reference: Mapped[str | None] = mapped_column(String(60), nullable=True)
    line_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    service_level_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    covered_until: Mapped[datetime | None] = mapped_column(UtcMicros, nullable=True)
    next_covered_from: Mapped[datetime | None] = mapped_column(UtcMicros, nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    reason_end: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (
        Index("ix_asset_coverage_asset", "tenant_id", "asset_id", "recorded_to", "valid_from"),
    )


#: what `AssetCoverage` rows say, besides whose and when
COVERAGE_COLUMNS = (
    "valid_from",
    "valid_to",
    "tag",
    "cause",
    "contract_id",
    "contract_reference",
    "line_id",
    "service_level_id",
    "covered_until",
    "next_covered_from",
    "reason",
    "reason_end",
)

derived.register(
    derived.Derivation(
        name="asset_coverage",
        model=AssetCoverage,
        follows=frozenset({"asset", "contract_line", "contract"}),
        refresh="accord.agreements.derived:refresh",
        rebuild="accord.agreements.derived:rebuild",
        order=("asset_id", "recorded_from", "valid_from"),
    )
)
