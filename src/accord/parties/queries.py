"""Reading parties as of any valid time and any recorded time, scoped to the actor's tenant.

`get_customer_for` is the one access check for a customer: API, pages and CLI all use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from accord.access import PARTY_WRITERS, Actor, require
from accord.errors import NotFound
from accord.parties.models import Contact, Customer, Site
from accord.store import temporal
from accord.store.db import FOREVER
from accord.store.temporal import AsOf

__all__ = ["AsOf"]  # re-exported: interfaces build it from `on` and `known_at`


def list_customers(
    session: Session,
    *,
    actor: Actor,
    when: AsOf,
    q: str | None = None,
    status: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[Customer], int]:
    """Customers as of `when`, filtered by a search on name/code/email and by status;
    with the total."""
    stmt = temporal.as_of(Customer, actor.tenant_id, on=when.on, known_at=when.known_at)
    if q:
        # Search for what was typed: % and _ are literal here, not wildcards.
        needle = q.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        like = f"%{needle}%"
        stmt = stmt.where(
            or_(
                *(
                    func.lower(col).like(like, escape="\\")
                    for col in (Customer.name, Customer.code, Customer.email)
                )
            )
        )
    if status:
        stmt = stmt.where(Customer.status == status)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        stmt.order_by(Customer.name, Customer.entity_id).limit(limit).offset(offset)
    )
    return list(rows), total


P = TypeVar("P", Customer, Contact, Site)


def _get_for(
    session: Session, actor: Actor, model: type[P], id_: str, when: AsOf | None, write: bool
) -> P:
    """The record as of `when`, if it is the actor's tenant's and the actor may do this.
    Another tenant's id is simply not found."""
    if write:
        require(actor, *PARTY_WRITERS)
    when = when or AsOf.now()
    version = temporal.version_of(
        session, model, actor.tenant_id, id_, on=when.on, known_at=when.known_at
    )
    if version is None:
        if temporal.exists_ever(session, model, actor.tenant_id, id_):
            raise NotFound(
                f"{model.entity_type} {id_} did not exist on {when.on:%Y-%m-%d} as known "
                f"at {when.known_at:%Y-%m-%d %H:%M} UTC"
            )
        raise NotFound(f"no {model.entity_type} {id_}")
    return version


def get_customer_for(
    session: Session,
    actor: Actor,
    customer_id: str,
    *,
    when: AsOf | None = None,
    write: bool = False,
) -> Customer:
    """The one access check for a customer, used by API, pages and CLI."""
    return _get_for(session, actor, Customer, customer_id, when, write)


def get_contact_for(
    session: Session,
    actor: Actor,
    contact_id: str,
    *,
    when: AsOf | None = None,
    write: bool = False,
) -> Contact:
    return _get_for(session, actor, Contact, contact_id, when, write)


def get_site_for(
    session: Session,
    actor: Actor,
    site_id: str,
    *,
    when: AsOf | None = None,
    write: bool = False,
) -> Site:
    return _get_for(session, actor, Site, site_id, when, write)


def contacts_of(session: Session, actor: Actor, customer_id: str, *, when: AsOf) -> list[Contact]:
    get_customer_for(session, actor, customer_id, when=when)
    stmt = temporal.as_of(Contact, actor.tenant_id, on=when.on, known_at=when.known_at)
    return list(
        session.scalars(stmt.where(Contact.customer_id == customer_id).order_by(Contact.name))
    )


def sites_of(session: Session, actor: Actor, customer_id: str, *, when: AsOf) -> list[Site]:
    get_customer_for(session, actor, customer_id, when=when)
    stmt = temporal.as_of(Site, actor.tenant_id, on=when.on, known_at=when.known_at)
    return list(session.scalars(stmt.where(Site.customer_id == customer_id).order_by(Site.name)))


def sites_by_external_key(
    session: Session, actor: Actor, keys: Sequence[str], *, on: datetime
) -> dict[str, list[Site]]:
    """The tenant's sites with these external keys (exact), as known now, whenever they
    were on record: per key, one version of each such site, the one on `on`, else its last
    before `on` (a removed site), else its first (one that starts later)."""
    found: dict[str, dict[str, Site]] = {}
    for i in range(0, len(keys), 500):
        stmt = (
            select(Site)
            .where(
                Site.tenant_id == actor.tenant_id,
                Site.recorded_to == FOREVER,
                Site.external_key.in_(keys[i : i + 500]),
            )
            .order_by(Site.valid_from)
        )
        for v in session.scalars(stmt):
            assert v.external_key is not None
            best = found.setdefault(v.external_key, {})
            prev = best.get(v.entity_id)
            if prev is None or v.valid_from <= on:
                best[v.entity_id] = v
    return {k: list(by_site.values()) for k, by_site in found.items()}


def customer_timeline(
    session: Session, actor: Actor, customer_id: str, *, known_at: datetime
) -> list[Customer]:
    """The customer's valid-time periods as known at `known_at`."""
    if not temporal.exists_ever(session, Customer, actor.tenant_id, customer_id):
        raise NotFound(f"no customer {customer_id}")
    return temporal.timeline(session, Customer, actor.tenant_id, customer_id, known_at=known_at)


def customer_history(
    session: Session, actor: Actor, customer_id: str, *, known_at: datetime | None = None
) -> list[dict[str, Any]]:
    """Every recorded change to the customer and to its contacts and sites, newest first:
    who, when recorded, from when true, why, and the RFC 6902 delta it made. With
    `known_at`, only the changes recorded by then (the history as it stood that day)."""
    if not temporal.exists_ever(session, Customer, actor.tenant_id, customer_id):
        raise NotFound(f"no customer {customer_id}")
    related: list[tuple[type[temporal.Versioned], str]] = [(Customer, customer_id)]
    for part in (Contact, Site):
        ids = session.scalars(
            select(part.entity_id)
            .where(part.tenant_id == actor.tenant_id, part.customer_id == customer_id)
            .distinct()
        )
        related += [(part, i) for i in ids]
    out: list[dict[str, Any]] = []
    for model, entity_id in related:
        entries = temporal.entries_for(session, actor.tenant_id, entity_id, model)
        if known_at is not None:
            entries = [e for e in entries if e.at <= known_at]
        out += temporal.changes(session, model, actor.tenant_id, entries)
    out.sort(key=lambda c: c["entry"].seq, reverse=True)
    return out
