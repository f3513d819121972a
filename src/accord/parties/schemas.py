"""Input and output shapes for customers, contacts and sites (Create / Update / Public)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from accord.fields import Text
from accord.parties.models import CustomerStatus
from accord.timeinput import Instant

PHONE = r"^\+?[0-9 ()./-]{5,40}$"
PHONE_HINT = "digits, spaces and + ( ) . / -, 5 to 40 characters"

_strict = ConfigDict(str_strip_whitespace=True, extra="forbid")


class Change(BaseModel):
    """When a change takes effect in the world, and why it is made."""

    model_config = _strict
    effective: Instant | None = Field(
        default=None,
        description="valid-time start (date = midnight UTC); default now; may be past or future",
    )
    reason: Text = Field(default="", max_length=500)


class CustomerCreate(Change):
    name: Text = Field(min_length=1, max_length=200)
    code: Text = Field(
        min_length=2,
        max_length=20,
        pattern=r"^[A-Z0-9][A-Z0-9-]*$",
        description="short account code: capitals, digits, dashes",
    )
    status: CustomerStatus = CustomerStatus.ACTIVE
    email: EmailStr | None = None
    phone: Text | None = Field(default=None, pattern=PHONE, description=PHONE_HINT)
    notes: Text | None = Field(default=None, max_length=5000)


class CustomerUpdate(Change):
    name: Text | None = Field(default=None, min_length=1, max_length=200)
    code: Text | None = Field(
        default=None, min_length=2, max_length=20, pattern=r"^[A-Z0-9][A-Z0-9-]*$"
    )
    status: CustomerStatus | None = None
    email: EmailStr | None = None
    phone: Text | None = Field(default=None, pattern=PHONE, description=PHONE_HINT)
    notes: Text | None = Field(default=None, max_length=5000)


class ContactCreate(Change):
    name: Text = Field(min_length=1, max_length=200)
    role: Text | None = Field(default=None, max_length=100)
    email: EmailStr | None = None
    phone: Text | None = Field(default=None, pattern=PHONE, description=PHONE_HINT)


class ContactUpdate(Change):
    name: Text | None = Field(default=None, min_length=1, max_length=200)
    role: Text | None = Field(default=None, max_length=100)
    email: EmailStr | None = None
    phone: Text | None = Field(default=None, pattern=PHONE, description=PHONE_HINT)


SITE_KEY_HINT = (
    "its key in another system (the customer's register, the desk's), e.g. S-0042; "
    "no other site may have it; imports match the site by it"
)


class SiteCreate(Change):
    name: Text = Field(min_length=1, max_length=200)
    address: Text | None = Field(default=None, max_length=300)
    city: Text | None = Field(default=None, max_length=100)
    postcode: Text | None = Field(default=None, max_length=20)
    country: Text | None = Field(
        default=None, pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2, e.g. GB"
    )
    external_key: Text | None = Field(
        default=None, min_length=1, max_length=100, description=SITE_KEY_HINT
    )


class SiteUpdate(Change):
    name: Text | None = Field(default=None, min_length=1, max_length=200)
    address: Text | None = Field(default=None, max_length=300)
    city: Text | None = Field(default=None, max_length=100)
    postcode: Text | None = Field(default=None, max_length=20)
    country: Text | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    external_key: Text | None = Field(
        default=None, min_length=1, max_length=100, description=SITE_KEY_HINT
    )


class Removal(Change):
    """Ends a contact or site from `effective` on; its history stays."""


class VersionInfo(BaseModel):
    valid_from: datetime
    valid_to: datetime | None
    recorded_from: datetime
    seq: int = Field(description="journal entry that wrote this version")


class CustomerPublic(BaseModel):
    id: str
    name: str
    code: str
    status: CustomerStatus
    email: str | None
    phone: str | None
    notes: str | None
    version: VersionInfo


class ContactPublic(BaseModel):
    id: str
    customer_id: str
    name: str
    role: str | None
    email: str | None
    phone: str | None
    version: VersionInfo


class SitePublic(BaseModel):
    id: str
    customer_id: str
    name: str
    address: str | None
    city: str | None
    postcode: str | None
    country: str | None
    external_key: str | None = Field(description="its key in another system, if any")
    version: VersionInfo


class ChangePublic(BaseModel):
    """One journal entry about a customer or its contacts and sites, and what it changed."""

    seq: int
    at: datetime
    actor: str
    kind: str
    entity_type: str
    entity_id: str
    valid_from: datetime
    valid_to: datetime | None
    reason: str
    patch: list[dict[str, object]] = Field(description="RFC 6902 JSON Patch from before to after")


class CustomerList(BaseModel):
    """One page of customers and how many match in all."""

    items: list[CustomerPublic]
    total: int = Field(description="customers matching, across all pages")
    limit: int
    offset: int
