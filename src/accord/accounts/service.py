"""Adding users, checking passwords, issuing API tokens. The only writers of accounts."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from functools import cache

import argon2.profiles
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.access import Actor, Role, require
from accord.accounts.models import ApiToken, Credential, User
from accord.accounts.schemas import TokenCreate, UserCreate
from accord.config import get_settings
from accord.errors import Invalid, NotFound
from accord.store import temporal
from accord.store.db import FOREVER, utcnow
from accord.store.journal import Draft, Op
from accord.store.writes import record


@cache
def _hasher() -> PasswordHasher:
    profile = get_settings().argon2_profile
    params = getattr(argon2.profiles, profile, None)
    if not isinstance(params, argon2.Parameters):
        raise ValueError(f"ACCORD_ARGON2_PROFILE: unknown argon2 profile {profile!r}")
    return PasswordHasher.from_parameters(params)


TOKEN_PREFIX = "acc_"


def current_user_by_email(session: Session, tenant_id: int, email: str) -> User | None:
    now = utcnow()
    return session.scalar(
        temporal.as_of(User, tenant_id, on=now, known_at=now).where(User.email == email.lower())
    )


def add_user(session: Session, *, actor: Actor, data: UserCreate) -> User:
    """Give a person a login with a role. Admins only."""
    require(actor)
    return _add_user(session, tenant_id=actor.tenant_id, actor_label=actor.label, data=data)


def bootstrap_admin(session: Session, *, tenant_id: int, data: UserCreate) -> User:
    """The first admin of a new tenant, made by `accord init` or the demo loader."""
    return _add_user(session, tenant_id=tenant_id, actor_label="system (accord init)", data=data)


def _add_user(session: Session, *, tenant_id: int, actor_label: str, data: UserCreate) -> User:
    email = data.email.lower()
    if current_user_by_email(session, tenant_id, email):
        raise Invalid.one("email", f"a user with email {email} already exists")
    user_id = str(uuid.uuid4())
    record(
        session,
        tenant_id=tenant_id,
        actor=actor_label,
        drafts=[
            Draft(
                kind="accounts.user.added",
                op=Op.ASSERT,
                type="user",
                id=user_id,
                valid_from=utcnow(),
                data={"email": email, "name": data.name, "role": str(data.role)},
            )
        ],
    )
    session.add(
        Credential(
            tenant_id=tenant_id,
            user_id=user_id,
            password_hash=_hasher().hash(data.password),
            updated_at=utcnow(),
        )
    )
    session.flush()
    user = current_user_by_email(session, tenant_id, email)
    assert user is not None
    return user


def actor_for_user(session: Session, tenant_id: int, user_id: str) -> Actor | None:
    now = utcnow()
    user = temporal.version_of(session, User, tenant_id, user_id, on=now, known_at=now)
    if user is None:
        return None
    return Actor(
        tenant_id=tenant_id,
        label=f"{user.name} <{user.email}>",
        role=Role(user.role),
        user_id=user_id,
    )


def authenticate(session: Session, *, email: str, password: str) -> Actor | None:
    """The actor for these credentials, or None. Same work whether the email exists or not."""
    now = utcnow()
    candidates = session.execute(
        select(User, Credential.password_hash)
        .join(
            Credential,
            (Credential.tenant_id == User.tenant_id) & (Credential.user_id == User.entity_id),
        )
        .where(
            User.email == email.strip().lower(),
            User.recorded_to == FOREVER,
            User.valid_from <= now,
            User.valid_to > now,
        )
    ).all()
    if not candidates:
        # Spend the time a real check would, so response time does not reveal accounts.
        _verify(_dummy_hash(), password)
        return None
    for user, pw_hash in candidates:
        if _verify(pw_hash, password):
            return actor_for_user(session, user.tenant_id, user.entity_id)
    return None


def _verify(pw_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(pw_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def _dummy_hash() -> str:
    return _hasher().hash("not a real password, only for timing")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, *, actor: Actor, data: TokenCreate) -> tuple[str, ApiToken]:
    """A new API token acting as a user of the tenant (by default the admin issuing it), with
    that user's role, so a machine gets no more rights than the person it stands for.
    The plain token is returned once, never stored."""
    require(actor)
    user_id = data.user_id or actor.user_id
    if user_id is None:
        raise Invalid.one("user_id", "tokens are issued to users")
    if actor_for_user(session, actor.tenant_id, user_id) is None:
        raise Invalid.one("user_id", f"no active user {user_id}")
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    tok = ApiToken(
        tenant_id=actor.tenant_id,
        public_id=str(uuid.uuid4()),
        user_id=user_id,
        name=data.name,
        token_sha256=_digest(plain),
        created_at=utcnow(),
    )
    session.add(tok)
    session.flush()
    return plain, tok


def revoke_token(session: Session, *, actor: Actor, token_id: str) -> ApiToken:
    require(actor)
    tok = session.scalar(
        select(ApiToken).where(
            ApiToken.tenant_id == actor.tenant_id, ApiToken.public_id == token_id
        )
    )
    if tok is None:
        raise NotFound(f"no token {token_id}")
    if tok.revoked_at is None:
        tok.revoked_at = utcnow()
        session.flush()
    return tok


def actor_for_token(session: Session, plain: str) -> Actor | None:
    if not plain.startswith(TOKEN_PREFIX):
        return None
    tok = session.scalar(select(ApiToken).where(ApiToken.token_sha256 == _digest(plain)))
    if tok is None or tok.revoked_at is not None:
        return None
    return actor_for_user(session, tok.tenant_id, tok.user_id)
