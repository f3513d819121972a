"""Reading users and tokens, scoped to the actor's tenant."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.access import Actor, require
from accord.accounts.models import ApiToken, User
from accord.store import temporal
from accord.store.db import utcnow


def list_users(session: Session, *, actor: Actor) -> list[User]:
    now = utcnow()
    return list(session.scalars(temporal.as_of(User, actor.tenant_id, on=now, known_at=now).order_by(User.name)))


def list_tokens(session: Session, *, actor: Actor) -> list[ApiToken]:
    require(actor)
    return list(session.scalars(
        select(ApiToken).where(ApiToken.tenant_id == actor.tenant_id).order_by(ApiToken.created_at)
    ))
