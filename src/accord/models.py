"""Every table, imported in one place so metadata, migrations and replay see them all."""

from accord.accounts.models import ApiToken, Credential, User
from accord.agreements.models import (
    Asset,
    Calendar,
    Contract,
    ContractLine,
    Invoice,
    ServiceLevel,
)
from accord.desk.models import TimeEntry
from accord.parties.models import Contact, Customer, Site
from accord.store.db import Base
from accord.store.journal import Checkpoint, JournalEntry, LogHead, MerkleNode
from accord.store.tenancy import Tenant

metadata = Base.metadata

__all__ = [
    "ApiToken",
    "Asset",
    "Calendar",
    "Contract",
    "ContractLine",
    "Invoice",
    "ServiceLevel",
    "Checkpoint",
    "Contact",
    "Credential",
    "Customer",
    "JournalEntry",
    "LogHead",
    "MerkleNode",
    "Site",
    "Tenant",
    "TimeEntry",
    "User",
    "metadata",
]
