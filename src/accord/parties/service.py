"""Changes to customers, contacts and sites: the only writers of parties.

Every function takes the session and the actor, writes through the one write path and
never commits. A change takes effect from `effective` (valid time; default now), which
may be in the past (a correction) or in the future (a planned change).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy.orm import Session

from accord.access import PARTY_WRITERS, Actor, require
from accord.errors import Invalid, NotFound
from accord.fields import changed_data, record_data
from accord.parties import queries
from accord.parties.models import Contact, Customer, Site
from accord.parties.schemas import (
    Change,
    ContactCreate,
    ContactUpdate,
    CustomerCreate,
    CustomerUpdate,
    Removal,
    SiteCreate,
    SiteUpdate,
)
from accord.store import temporal
from accord.store.db import utcnow
from accord.store.journal import Draft, Op
from accord.store.writes import record


def _when(data: Change) -> datetime:
    return data.effective or utcnow()


def _write(
    session: Session,
    actor: Actor,
    *,
    kind: str,
    op: Op,
    type_: str,
    id_: str,
    data: Change,
    fields: dict[str, Any],
) -> None:
    record(
        session,
        tenant_id=actor.tenant_id,
        actor=actor.label,
        drafts=[
            Draft(
                kind=kind,
                op=op,
                type=type_,
                id=id_,
                valid_from=_when(data),
                data=fields,
                reason=data.reason,
            )
        ],
    )


def _must_exist(
    session: Session, actor: Actor, model: type[temporal.Versioned], id_: str, on: datetime
) -> temporal.Versioned:
    """The entity's version on `on` as known now; NotFound if it never existed here."""
    version = temporal.version_of(session, model, actor.tenant_id, id_, on=on, known_at=utcnow())
    if version is None:
        if temporal.exists_ever(session, model, actor.tenant_id, id_):
            raise Invalid.one(
                "effective", f"the {model.entity_type} does not exist on {on:%Y-%m-%d %H:%M} UTC"
            )
        raise NotFound(f"no {model.entity_type} {id_}")
    return version


def _code_taken(
    session: Session, actor: Actor, code: str, *, on: datetime, other_than: str | None
) -> bool:
    stmt = temporal.as_of(Customer, actor.tenant_id, on=on, known_at=utcnow()).where(
        Customer.code == code
    )
    found = session.scalar(stmt)
    return found is not None and found.entity_id != other_than


def create_customer(session: Session, *, actor: Actor, data: CustomerCreate) -> str:
    """A new customer, existing from `effective`. Returns its id."""
    require(actor, *PARTY_WRITERS)
    if _code_taken(session, actor, data.code, on=_when(data), other_than=None):
        raise Invalid.one("code", f"another customer already has the code {data.code}")
    customer_id = str(uuid.uuid4())
    _write(
        session,
        actor,
        kind="parties.customer.created",
        op=Op.ASSERT,
        type_="customer",
        id_=customer_id,
        data=data,
        fields=record_data(data),
    )
    return customer_id


def change_customer(
    session: Session, *, actor: Actor, customer_id: str, data: CustomerUpdate
) -> None:
    """Change some of a customer's details from `effective` on (past, now or future)."""
    require(actor, *PARTY_WRITERS)
    fields = changed_data(data, required=("name", "code", "status"))
    _must_exist(session, actor, Customer, customer_id, _when(data))
    if "code" in fields and _code_taken(
        session, actor, fields["code"], on=_when(data), other_than=customer_id
    ):
        raise Invalid.one("code", f"another customer already has the code {fields['code']}")
    _write(
        session,
        actor,
        kind="parties.customer.changed",
        op=Op.PATCH,
        type_="customer",
        id_=customer_id,
        data=data,
        fields=fields,
    )


# Contacts and sites are both parts of a customer with the same life: added from a date,
# changed from a date, removed from a date. One implementation serves both.

Part = type[Contact] | type[Site]


def _add_part(
    session: Session,
    actor: Actor,
    model: Part,
    customer_id: str,
    data: Change,
    check: Callable[[], None] | None = None,
) -> str:
    require(actor, *PARTY_WRITERS)
    _must_exist(session, actor, Customer, customer_id, _when(data))
    if check is not None:  # after the access checks: another tenant learns nothing
        check()
    part_id = str(uuid.uuid4())
    fields = {**record_data(data), "customer_id": customer_id}
    _write(
        session,
        actor,
        kind=f"parties.{model.entity_type}.added",
        op=Op.ASSERT,
        type_=model.entity_type,
        id_=part_id,
        data=data,
        fields=fields,
    )
    return part_id


def _change_part(
    session: Session,
    actor: Actor,
    model: Part,
    part_id: str,
    data: Change,
    check: Callable[[], None] | None = None,
) -> None:
    require(actor, *PARTY_WRITERS)
    fields = changed_data(data, required=("name",))
    _must_exist(session, actor, model, part_id, _when(data))
    if check is not None:
        check()
    _write(
        session,
        actor,
        kind=f"parties.{model.entity_type}.changed",
        op=Op.PATCH,
        type_=model.entity_type,
        id_=part_id,
        data=data,
        fields=fields,
    )


def _remove_part(session: Session, actor: Actor, model: Part, part_id: str, data: Removal) -> None:
    require(actor, *PARTY_WRITERS)
    _must_exist(session, actor, model, part_id, _when(data))
    _write(
        session,
        actor,
        kind=f"parties.{model.entity_type}.removed",
        op=Op.END,
        type_=model.entity_type,
        id_=part_id,
        data=data,
        fields={},
    )


def add_contact(session: Session, *, actor: Actor, customer_id: str, data: ContactCreate) -> str:
    """A person at the customer the provider deals with, from `effective` on."""
    return _add_part(session, actor, Contact, customer_id, data)


def change_contact(session: Session, *, actor: Actor, contact_id: str, data: ContactUpdate) -> None:
    _change_part(session, actor, Contact, contact_id, data)


def remove_contact(session: Session, *, actor: Actor, contact_id: str, data: Removal) -> None:
    """The person is no longer a contact from `effective` on; what was true before stays."""
    _remove_part(session, actor, Contact, contact_id, data)


def _check_site_key(session: Session, actor: Actor, key: str | None, site_id: str | None) -> None:
    """An external key names one site: imports match sites by it. A removed site keeps
    its key (its history still names it), so the key is not free again."""
    if key is None:
        return
    others = [
        v
        for v in queries.sites_by_external_key(session, actor, [key], on=utcnow()).get(key, [])
        if v.entity_id != site_id
    ]
    if others:
        raise Invalid.one(
            "external_key", f"another site ({others[0].name}) already has the key {key}"
        )


def add_site(session: Session, *, actor: Actor, customer_id: str, data: SiteCreate) -> str:
    """A place of the customer's the provider looks after, from `effective` on."""
    check = partial(_check_site_key, session, actor, data.external_key, None)
    return _add_part(session, actor, Site, customer_id, data, check)


def change_site(session: Session, *, actor: Actor, site_id: str, data: SiteUpdate) -> None:
    check = partial(_check_site_key, session, actor, data.external_key, site_id)
    _change_part(session, actor, Site, site_id, data, check)


def remove_site(session: Session, *, actor: Actor, site_id: str, data: Removal) -> None:
    """The site is no longer the customer's from `effective` on; its history stays."""
    _remove_part(session, actor, Site, site_id, data)
