"""Who is acting, and what their role lets them do. Used by API, pages and CLI alike."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from accord.errors import Forbidden


class Role(StrEnum):
    ADMIN = "admin"  # everything, including users and tokens
    AGENT = "agent"  # the service desk: customers, contacts, sites, cases
    FINANCE = "finance"  # contracts, billing, budgets
    SALES = "sales"  # customers, quotes, offers
    AUDITOR = "auditor"  # reads everything, changes nothing


@dataclass(frozen=True)
class Actor:
    """Who makes a change. `label` is kept in the journal as text, so history outlives accounts."""

    tenant_id: int
    label: str
    role: Role
    user_id: str | None = None

    def may(self, *roles: Role) -> bool:
        return self.role == Role.ADMIN or self.role in roles


def require(actor: Actor, *roles: Role) -> None:
    """Raise Forbidden unless the actor is an admin or has one of `roles`."""
    if not actor.may(*roles):
        allowed = ", ".join(sorted({Role.ADMIN, *roles}))
        raise Forbidden(f"this needs one of the roles: {allowed} (you are {actor.role})")


#: Who may change parties (customers, contacts, sites).
PARTY_WRITERS = (Role.AGENT, Role.SALES, Role.FINANCE)

#: Who may change assets (the desk keeps them up to date; finance imports them).
ASSET_WRITERS = (Role.AGENT, Role.FINANCE)

#: Who may change contracts, their lines, service levels and run invoices.
AGREEMENT_WRITERS = (Role.FINANCE,)

#: Who may publish terms, make offers and record their journeys (server-side capture).
EVIDENCE_WRITERS = (Role.SALES,)
