"""People and machines: user add, token create."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from accord.accounts import service as accounts
from accord.accounts.schemas import TokenCreate, UserCreate
from accord.cli.common import database, err, guarded, one_tenant, operator
from accord.errors import Invalid, parse

RequiredTenant = Annotated[str, typer.Option("--tenant", help="Tenant slug.")]
_PLACEHOLDER = "x" * 10


def can_ask() -> bool:
    """Whether there is a person at a terminal to type a password."""
    return sys.stdin.isatty()


def new_user(fields: dict[str, Any], password: str | None, *, prefix: str = "") -> UserCreate:
    """A valid new user, asking for the password (hidden, twice) only once the rest is right.

    `prefix` names the fields as the command's options do (``admin-email`` in init).
    """
    try:
        parse(UserCreate, {**fields, "password": password or _PLACEHOLDER})
        if password is None:
            if not can_ask():
                raise Invalid.one(
                    "password", "give it as an option: there is no terminal to ask on"
                )
            password = typer.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
        return parse(UserCreate, {**fields, "password": password})
    except Invalid as exc:
        raise Invalid([(prefix + f, r) for f, r in exc.problems]) from None


@guarded
def user_add(
    tenant: RequiredTenant,
    email: Annotated[
        str, typer.Option(help="Sign-in email; unique among the tenant's current users.")
    ],
    name: Annotated[str, typer.Option(help="Full name, as shown in the journal.")],
    role: Annotated[str, typer.Option(help="One of: admin, agent, finance, sales, auditor.")],
    password: Annotated[
        str | None, typer.Option(help="10+ characters (asked for when omitted).")
    ] = None,
) -> None:
    """Give a person a login with a role; the journal records the operator as the actor."""
    data = new_user({"email": email, "name": name, "role": role}, password)
    with database() as db, db.unit_of_work() as s:
        t = one_tenant(s, tenant)
        user = accounts.add_user(s, actor=operator(t), data=data)
        added = f"added {user.name} <{user.email}> as {user.role} to '{t.slug}'"
    err.print(added)


@guarded
def token_create(
    tenant: RequiredTenant,
    email: Annotated[str, typer.Option(help="The user the token acts as (an admin).")],
    name: Annotated[str, typer.Option(help="What the token is for, e.g. 'billing export'.")],
) -> None:
    """Issue an API bearer token acting as a user; printed once, only its hash is kept."""
    data = parse(TokenCreate, {"name": name})
    with database() as db, db.unit_of_work() as s:
        t = one_tenant(s, tenant)
        email = email.strip().lower()
        user = accounts.current_user_by_email(s, t.id, email)
        actor = accounts.actor_for_user(s, t.id, user.entity_id) if user else None
        if actor is None:
            raise Invalid.one("email", f"no current user with email {email} in '{t.slug}'")
        plain, tok = accounts.create_token(s, actor=actor, data=data)
    err.print(f"token '{tok.name}' acts as {actor.label}; keep it now, it is not shown again:")
    typer.echo(plain)
