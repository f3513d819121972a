"""The accounts REST API: who is calling, the provider's staff, and API tokens.

Passwords go in and never come out. A token's plain value is shown once, in the answer
that creates it; Accord keeps only its hash, so a lost token is revoked and replaced.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from accord.access import Role
from accord.accounts import queries, service
from accord.accounts.models import ApiToken, User
from accord.accounts.schemas import TokenCreate, TokenCreated, TokenPublic, UserCreate, UserPublic
from accord.errors import NotFound
from accord.web.deps import CurrentActor, DbDep
from accord.web.problems import problem_responses

PROBLEMS = problem_responses()

router = APIRouter(tags=["accounts"], responses=PROBLEMS)

TokenId = Annotated[str, Path(pattern=r"^[0-9A-Za-z-]{1,64}$", description="the token's public id")]


def _user(u: User) -> UserPublic:
    return UserPublic(id=u.entity_id, email=u.email, name=u.name, role=Role(u.role))


def _token(t: ApiToken) -> TokenPublic:
    return TokenPublic(
        id=t.public_id,
        name=t.name,
        user_id=t.user_id,
        created_at=t.created_at,
        revoked_at=t.revoked_at,
    )


@router.get("/me", response_model=UserPublic)
def me(actor: CurrentActor, db: DbDep) -> UserPublic:
    """Who this request acts as: the signed-in user, or the user a token was issued to."""
    if actor.user_id is None:
        raise NotFound("this request acts for no user")
    with db.reading() as s:
        return _user(queries.get_user_for(s, actor, actor.user_id))


@router.get("/users", response_model=list[UserPublic])
def list_users(actor: CurrentActor, db: DbDep) -> list[UserPublic]:
    """The provider's staff who can sign in, with their roles, by name."""
    with db.reading() as s:
        return [_user(u) for u in queries.list_users(s, actor=actor)]


@router.post("/users", status_code=201, response_model=UserPublic)
def add_user(actor: CurrentActor, db: DbDep, data: UserCreate) -> UserPublic:
    """Give a person a login with a role (admins only). The password is never shown again."""
    with db.unit_of_work() as s:
        return _user(service.add_user(s, actor=actor, data=data))


@router.get("/tokens", response_model=list[TokenPublic])
def list_tokens(actor: CurrentActor, db: DbDep) -> list[TokenPublic]:
    """The tenant's API tokens, revoked ones included, oldest first (admins only)."""
    with db.reading() as s:
        return [_token(t) for t in queries.list_tokens(s, actor=actor)]


@router.post("/tokens", status_code=201, response_model=TokenCreated)
def create_token(actor: CurrentActor, db: DbDep, data: TokenCreate) -> TokenCreated:
    """Issue a bearer token acting as you, for a machine (admins only). The plain token is
    in this answer and nowhere else: store it now."""
    with db.unit_of_work() as s:
        plain, tok = service.create_token(s, actor=actor, data=data)
        return TokenCreated(**_token(tok).model_dump(), token=plain)


@router.post("/tokens/{token_id}/revoke", response_model=TokenPublic)
def revoke_token(actor: CurrentActor, db: DbDep, token_id: TokenId) -> TokenPublic:
    """Stop a token working, at once and for good (admins only). Revoking twice is harmless."""
    with db.unit_of_work() as s:
        return _token(service.revoke_token(s, actor=actor, token_id=token_id))
