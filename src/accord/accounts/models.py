"""Users are versioned entities (their name, email and role are part of the record);
their secrets are not: password hashes and token hashes live in plain tables that the
journal never sees, because the journal is meant to be exported to third parties."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from accord.access import Role
from accord.store.db import Base, UtcMicros
from accord.store.temporal import Versioned

ROLE_CHECK = "role IN ({})".format(", ".join(f"'{r.value}'" for r in Role))


class User(Versioned, Base):
    """A member of the provider's staff who signs in to Accord."""

    __tablename__ = "users"
    entity_type = "user"

    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))

    extra_table_args = (CheckConstraint(ROLE_CHECK, name="role"),)


class Credential(Base):
    """A user's argon2 password hash. Replaced in place on change: a secret has no history."""

    __tablename__ = "credentials"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UtcMicros)


class ApiToken(Base):
    """A bearer token for machines, acting as the user who created it. Only its hash is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    user_id: Mapped[str] = mapped_column(String(36))
    name: Mapped[str] = mapped_column(String(100))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcMicros)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcMicros, nullable=True)
