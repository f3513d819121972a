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
from accord.evidence.models import (
    EvidencePack,
    JourneyEvent,
    Offer,
    TermsDocument,
    TermsVersion,
)
from accord.parties.models import Contact, Customer, Site
from accord.store.blobs import Blob, BlobFamily
from accord.store.db import Base
from accord.store.entry_codec import JournalDictionary
from accord.store.journal import Checkpoint, JournalEntry, LogHead, MerkleNode
from accord.store.tenancy import Tenant

metadata = Base.metadata

__all__ = [
    "ApiToken",
    "Asset",
    "Blob",
    "BlobFamily",
    "Calendar",
    "Contract",
    "ContractLine",
    "Invoice",
    "ServiceLevel",
    "Checkpoint",
    "Contact",
    "Credential",
    "EvidencePack",
    "Customer",
    "JournalDictionary",
    "JournalEntry",
    "JourneyEvent",
    "LogHead",
    "MerkleNode",
    "Offer",
    "Site",
    "Tenant",
    "TermsDocument",
    "TermsVersion",
    "TimeEntry",
    "User",
    "metadata",
]
