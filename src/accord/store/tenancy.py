"""Tenants: each is one service provider, with its own log, key and rows."""

from __future__ import annotations

import re
import uuid
from datetime import datetime

from sqlalchemy import Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from accord.errors import Invalid
from accord.store.db import Base, UtcMicros, utcnow

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


class Tenant(Base):
    """A service provider using Accord. Owns one Merkle log and one signing key."""

    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcMicros)


def create_tenant(session: Session, *, slug: str, name: str) -> Tenant:
    if not SLUG.match(slug):
        raise Invalid.one(
            "slug", "2-63 lowercase letters, digits or dashes, starting with a letter or digit"
        )
    if not name.strip():
        raise Invalid.one("name", "cannot be empty")
    if session.scalar(select(Tenant).where(Tenant.slug == slug)):
        raise Invalid.one("slug", f"a tenant '{slug}' already exists")
    tenant = Tenant(public_id=str(uuid.uuid4()), slug=slug, name=name.strip(), created_at=utcnow())
    session.add(tenant)
    session.flush()
    return tenant


def get_tenant(session: Session, slug: str) -> Tenant | None:
    return session.scalar(select(Tenant).where(Tenant.slug == slug))


def list_tenants(session: Session) -> list[Tenant]:
    return list(session.scalars(select(Tenant).order_by(Tenant.id)))
