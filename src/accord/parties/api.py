"""The parties REST API: customers, their contacts and their sites, as of any time.

Every read takes `on` (valid time: true in the world on that instant) and `known_at`
(recorded time: as Accord knew it then), both defaulting to now. Every write takes
`effective` (when the change is true from, past or future) and a `reason`, runs in one
unit of work and is journaled by the service it calls. Tenant and role are checked by the
service and query helpers, so another tenant's ids are simply not found (404).
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Body, Query, Request, Response
from pydantic import BaseModel

from accord.parties import queries, service
from accord.parties.models import CustomerStatus
from accord.parties.schemas import (
    Change,
    ChangePublic,
    ContactCreate,
    ContactPublic,
    ContactUpdate,
    CustomerCreate,
    CustomerList,
    CustomerPublic,
    CustomerUpdate,
    Removal,
    SiteCreate,
    SitePublic,
    SiteUpdate,
    VersionInfo,
)
from accord.store.db import FOREVER
from accord.store.temporal import Versioned
from accord.web.deps import CurrentActor, DbDep
from accord.web.params import AsOfDep, KnownAtDep, RecordId
from accord.web.problems import problem_responses

PROBLEMS = problem_responses()

router = APIRouter(tags=["parties"], responses=PROBLEMS)

P = TypeVar("P", bound=BaseModel)


def _as_written(data: Change) -> queries.AsOf:
    """Where a write's result is seen: on its effective time, as known now."""
    return queries.AsOf.of(data.effective, None)


# --- rendering ----------------------------------------------------------------------------


def _version(v: Versioned) -> VersionInfo:
    return VersionInfo(
        valid_from=v.valid_from,
        valid_to=None if v.valid_to == FOREVER else v.valid_to,
        recorded_from=v.recorded_from,
        seq=v.seq,
    )


def _public(schema: type[P], v: Versioned) -> P:
    return schema.model_validate({**v.data(), "id": v.entity_id, "version": _version(v)})


def _change(c: dict[str, Any]) -> ChangePublic:
    e = c["entry"]
    return ChangePublic(
        seq=e.seq,
        at=e.at,
        actor=e.actor,
        kind=e.kind,
        entity_type=e.type,
        entity_id=e.id,
        valid_from=e.valid_from,
        valid_to=None if e.valid_to == FOREVER else e.valid_to,
        reason=e.reason,
        patch=c["patch"],
    )


def _located(request: Request, response: Response, route: str, **ids: str) -> None:
    response.headers["Location"] = request.app.url_path_for(route, **ids)


# --- customers ----------------------------------------------------------------------------


@router.get("/customers", response_model=CustomerList)
def list_customers(
    actor: CurrentActor,
    db: DbDep,
    when: AsOfDep,
    q: Annotated[
        str | None,
        Query(max_length=200, pattern=r"^[^\x00]*$", description="part of the name, code or email"),
    ] = None,
    status: CustomerStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> CustomerList:
    """The customers as they were on `on`, as known at `known_at`, by name; with the total."""
    with db.reading() as s:
        rows, total = queries.list_customers(
            s, actor=actor, when=when, q=q, status=status, limit=limit, offset=offset
        )
        items = [_public(CustomerPublic, c) for c in rows]
    return CustomerList(items=items, total=total, limit=limit, offset=offset)


@router.post("/customers", status_code=201, response_model=CustomerPublic)
def create_customer(
    actor: CurrentActor, db: DbDep, data: CustomerCreate, request: Request, response: Response
) -> CustomerPublic:
    """Take on a customer (or a prospect), existing from `effective`. Answers with the
    customer as of that time, and its address in Location."""
    with db.unit_of_work() as s:
        customer_id = service.create_customer(s, actor=actor, data=data)
        created = queries.get_customer_for(s, actor, customer_id, when=_as_written(data))
        out = _public(CustomerPublic, created)
    _located(request, response, "get_customer", customer_id=customer_id)
    return out


@router.get("/customers/{customer_id}", response_model=CustomerPublic)
def get_customer(
    actor: CurrentActor, db: DbDep, customer_id: RecordId, when: AsOfDep
) -> CustomerPublic:
    """The customer as it was on `on`, as known at `known_at`."""
    with db.reading() as s:
        return _public(CustomerPublic, queries.get_customer_for(s, actor, customer_id, when=when))


@router.patch("/customers/{customer_id}", response_model=CustomerPublic)
def change_customer(
    actor: CurrentActor, db: DbDep, customer_id: RecordId, data: CustomerUpdate
) -> CustomerPublic:
    """Change some of a customer's details from `effective` on: now, a correction of the
    past, or a change planned for the future. Answers with the customer as of `effective`."""
    with db.unit_of_work() as s:
        service.change_customer(s, actor=actor, customer_id=customer_id, data=data)
        changed = queries.get_customer_for(s, actor, customer_id, when=_as_written(data))
        return _public(CustomerPublic, changed)


@router.get("/customers/{customer_id}/history", response_model=list[ChangePublic])
def customer_history(actor: CurrentActor, db: DbDep, customer_id: RecordId) -> list[ChangePublic]:
    """Every recorded change to the customer, its contacts and its sites, newest first:
    who, when recorded, from when true, why, and the RFC 6902 patch it made."""
    with db.reading() as s:
        return [_change(c) for c in queries.customer_history(s, actor, customer_id)]


@router.get("/customers/{customer_id}/timeline", response_model=list[CustomerPublic])
def customer_timeline(
    actor: CurrentActor, db: DbDep, customer_id: RecordId, when: KnownAtDep
) -> list[CustomerPublic]:
    """The customer's periods in valid time, oldest first, as known at `known_at`."""
    with db.reading() as s:
        periods = queries.customer_timeline(s, actor, customer_id, known_at=when.known_at)
        return [_public(CustomerPublic, p) for p in periods]


# --- contacts -----------------------------------------------------------------------------


@router.get("/customers/{customer_id}/contacts", response_model=list[ContactPublic])
def list_contacts(
    actor: CurrentActor, db: DbDep, customer_id: RecordId, when: AsOfDep
) -> list[ContactPublic]:
    """The people at the customer the provider dealt with on `on`, as known at `known_at`."""
    with db.reading() as s:
        return [
            _public(ContactPublic, c) for c in queries.contacts_of(s, actor, customer_id, when=when)
        ]


@router.post("/customers/{customer_id}/contacts", status_code=201, response_model=ContactPublic)
def add_contact(
    actor: CurrentActor,
    db: DbDep,
    customer_id: RecordId,
    data: ContactCreate,
    request: Request,
    response: Response,
) -> ContactPublic:
    """Add a person at the customer as a contact from `effective` on."""
    with db.unit_of_work() as s:
        contact_id = service.add_contact(s, actor=actor, customer_id=customer_id, data=data)
        out = _public(
            ContactPublic, queries.get_contact_for(s, actor, contact_id, when=_as_written(data))
        )
    _located(request, response, "get_contact", contact_id=contact_id)
    return out


@router.get("/contacts/{contact_id}", response_model=ContactPublic)
def get_contact(
    actor: CurrentActor, db: DbDep, contact_id: RecordId, when: AsOfDep
) -> ContactPublic:
    """The contact as it was on `on`, as known at `known_at`."""
    with db.reading() as s:
        return _public(ContactPublic, queries.get_contact_for(s, actor, contact_id, when=when))


@router.patch("/contacts/{contact_id}", response_model=ContactPublic)
def change_contact(
    actor: CurrentActor, db: DbDep, contact_id: RecordId, data: ContactUpdate
) -> ContactPublic:
    """Change some of a contact's details from `effective` on. Answers with the contact as
    of `effective`."""
    with db.unit_of_work() as s:
        service.change_contact(s, actor=actor, contact_id=contact_id, data=data)
        return _public(
            ContactPublic, queries.get_contact_for(s, actor, contact_id, when=_as_written(data))
        )


@router.post("/contacts/{contact_id}/remove", status_code=204)
def remove_contact(
    actor: CurrentActor,
    db: DbDep,
    contact_id: RecordId,
    data: Annotated[Removal | None, Body()] = None,
) -> Response:
    """The person is no longer a contact from `effective` on; what was true before stays
    on the record."""
    with db.unit_of_work() as s:
        service.remove_contact(s, actor=actor, contact_id=contact_id, data=data or Removal())
    return Response(status_code=204)


# --- sites --------------------------------------------------------------------------------


@router.get("/customers/{customer_id}/sites", response_model=list[SitePublic])
def list_sites(
    actor: CurrentActor, db: DbDep, customer_id: RecordId, when: AsOfDep
) -> list[SitePublic]:
    """The customer's sites on `on`, as known at `known_at`."""
    with db.reading() as s:
        return [_public(SitePublic, x) for x in queries.sites_of(s, actor, customer_id, when=when)]


@router.post("/customers/{customer_id}/sites", status_code=201, response_model=SitePublic)
def add_site(
    actor: CurrentActor,
    db: DbDep,
    customer_id: RecordId,
    data: SiteCreate,
    request: Request,
    response: Response,
) -> SitePublic:
    """Add a place where the customer has people or equipment, from `effective` on."""
    with db.unit_of_work() as s:
        site_id = service.add_site(s, actor=actor, customer_id=customer_id, data=data)
        out = _public(SitePublic, queries.get_site_for(s, actor, site_id, when=_as_written(data)))
    _located(request, response, "get_site", site_id=site_id)
    return out


@router.get("/sites/{site_id}", response_model=SitePublic)
def get_site(actor: CurrentActor, db: DbDep, site_id: RecordId, when: AsOfDep) -> SitePublic:
    """The site as it was on `on`, as known at `known_at`."""
    with db.reading() as s:
        return _public(SitePublic, queries.get_site_for(s, actor, site_id, when=when))


@router.patch("/sites/{site_id}", response_model=SitePublic)
def change_site(actor: CurrentActor, db: DbDep, site_id: RecordId, data: SiteUpdate) -> SitePublic:
    """Change some of a site's details from `effective` on. Answers with the site as of
    `effective`."""
    with db.unit_of_work() as s:
        service.change_site(s, actor=actor, site_id=site_id, data=data)
        return _public(SitePublic, queries.get_site_for(s, actor, site_id, when=_as_written(data)))


@router.post("/sites/{site_id}/remove", status_code=204)
def remove_site(
    actor: CurrentActor,
    db: DbDep,
    site_id: RecordId,
    data: Annotated[Removal | None, Body()] = None,
) -> Response:
    """The customer no longer has this site from `effective` on; its history stays."""
    with db.unit_of_work() as s:
        service.remove_site(s, actor=actor, site_id=site_id, data=data or Removal())
    return Response(status_code=204)
