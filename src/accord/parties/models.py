"""Customers, contacts and sites: versioned entities written only through the journal."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from accord.store.db import Base
from accord.store.temporal import Versioned


class CustomerStatus(StrEnum):
    PROSPECT = "prospect"  # talking, nothing signed
    ACTIVE = "active"  # under at least one agreement
    FORMER = "former"  # no longer a customer; kept for the record


class Customer(Versioned, Base):
    """An organisation the provider serves (or hopes to)."""

    __tablename__ = "customers"
    entity_type = "customer"

    name: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(20))  # short account code, e.g. "NWT"
    status: Mapped[str] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(40), nullable=True)
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)

    extra_table_args = (
        CheckConstraint("status IN ('prospect', 'active', 'former')", name="status"),
    )


class Contact(Versioned, Base):
    """A person at a customer the provider deals with."""

    __tablename__ = "contacts"
    entity_type = "contact"

    customer_id: Mapped[str] = mapped_column(String(36), index=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(100), nullable=True)  # "IT manager"
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(40), nullable=True)


class Site(Versioned, Base):
    """A place where a customer has people or equipment the provider looks after."""

    __tablename__ = "sites"
    entity_type = "site"

    customer_id: Mapped[str] = mapped_column(String(36), index=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(300), nullable=True)
    city: Mapped[str | None] = mapped_column(String(100), nullable=True)
    postcode: Mapped[str | None] = mapped_column(String(20), nullable=True)
    country: Mapped[str | None] = mapped_column(String(2), nullable=True)  # ISO 3166-1 alpha-2
    #: its key in another system (the customer's register, the desk's): what an import
    #: matches it by; one site's alone in the tenant (the service checks it)
    external_key: Mapped[str | None] = mapped_column(String(100), nullable=True)

    extra_table_args = (Index("ix_sites_external_key", "tenant_id", "external_key", "recorded_to"),)
