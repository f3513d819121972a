"""Reading users and tokens, scoped to the actor's tenant."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.access import Actor, require
from accord.accounts.models import ApiToken, User
from accord.errors import NotFound
from accord.store import temporal
from accord.store.temporal import AsOf


def list_users(session: Session, *, actor: Actor, when: AsOf | None = None) -> list[User]:
    """The tenant's users as of `when` (default now)."""
    when = when or AsOf.now()
    stmt = temporal.as_of(User, actor.tenant_id, on=when.on, known_at=when.known_at)
    return list(session.scalars(stmt.order_by(User.name)))


def get_user_for(session: Session, actor: Actor, user_id: str, *, when: AsOf | None = None) -> User:
    """A user of the actor's tenant; NotFound for anyone else's."""
    when = when or AsOf.now()
    user = temporal.version_of(
        session, User, actor.tenant_id, user_id, on=when.on, known_at=when.known_at
    )
    if user is None:
        raise NotFound(f"no user {user_id}")
    return user


def list_tokens(session: Session, *, actor: Actor) -> list[ApiToken]:
    require(actor)
    return list(
        session.scalars(
            select(ApiToken)
            .where(ApiToken.tenant_id == actor.tenant_id)
            .order_by(ApiToken.created_at)
        )
    )
