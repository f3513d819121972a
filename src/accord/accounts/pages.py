"""Accounts pages: signing in and out, and the provider's staff and API tokens.

Signing in checks the password with `service.authenticate` (argon2) and keeps only the
user's id and tenant in the signed session cookie; the CSRF token is replaced, so a token
seen before sign-in is worth nothing after it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import Response

from accord.access import Actor, Role, require
from accord.accounts import queries, service
from accord.accounts.schemas import TokenCreate, UserCreate
from accord.errors import Invalid, parse
from accord.web.deps import CSRF_FIELD, DbDep, check_csrf, csrf_token
from accord.web.pages import (
    CheckedForm,
    FormField,
    FormState,
    PageActor,
    RawForm,
    flash,
    given,
    local_path,
    page,
    redirect,
)

router = APIRouter(include_in_schema=False)

HOME = "/customers"

LOGIN_FIELDS = (
    FormField("email", "Email", type="email", required=True, autocomplete="username"),
    FormField(
        "password", "Password", type="password", required=True, autocomplete="current-password"
    ),
)

USER_FIELDS = (
    FormField("name", "Name", required=True, autocomplete="off"),
    FormField("email", "Email", type="email", required=True, autocomplete="off"),
    FormField(
        "role",
        "Role",
        type="select",
        required=True,
        choices=tuple((r.value, r.value.capitalize()) for r in Role),
        hint="Admins manage users and tokens; auditors read everything and change nothing.",
    ),
    FormField(
        "password",
        "First password",
        type="password",
        required=True,
        autocomplete="new-password",
        hint="At least 10 characters. Give it to them privately.",
    ),
)

TOKEN_FIELDS = (
    FormField("name", "What is it for?", required=True, placeholder="e.g. billing export"),
)

TokenId = Annotated[str, Path(pattern=r"^[0-9A-Za-z-]{1,64}$")]


# --- signing in and out ----------------------------------------------------------------------


def _login_page(
    request: Request, form: FormState, next_path: str | None, status_code: int = 200
) -> Response:
    return page(
        request,
        "accounts/login.html",
        {"form": form, "fields": LOGIN_FIELDS, "next": next_path or ""},
        status_code=status_code,
    )


@router.get("/login")
def login_form(request: Request, next: str = "") -> Response:
    if request.session.get("uid"):
        return redirect(local_path(next) or HOME)
    return _login_page(request, FormState(), local_path(next))


@router.post("/login")
def login(request: Request, db: DbDep, form: RawForm) -> Response:
    email, password = form.get("email", "").strip(), form.get("password", "")
    next_path = local_path(form.get("next"))
    state = FormState(values={"email": email})
    try:
        check_csrf(request, form.get(CSRF_FIELD))
    except HTTPException:
        # A sign-in form left open past its session: say so, and offer a fresh one.
        state.general.append("The sign-in form had expired. Please sign in again.")
        return _login_page(request, state, next_path, status_code=403)
    if not email:
        state.errors["email"] = "Enter your email address."
    if not password:
        state.errors["password"] = "Enter your password."
    if state.errors:
        return _login_page(request, state, next_path, status_code=422)
    with db.reading() as s:
        actor = service.authenticate(s, email=email, password=password)
    if actor is None:
        state.general.append("That email and password do not match an active account.")
        return _login_page(request, state, next_path)
    request.session.clear()
    request.session["uid"] = actor.user_id
    request.session["tid"] = actor.tenant_id
    csrf_token(request)  # a new token for the new session
    return redirect(next_path or HOME)


@router.post("/logout")
def logout(request: Request, form: CheckedForm) -> Response:
    request.session.clear()
    flash(request, "You are signed out.")
    return redirect("/login")


# --- users and tokens --------------------------------------------------------------------------


def _users_page(
    request: Request,
    actor: Actor,
    db: DbDep,
    *,
    user_form: FormState | None = None,
    token_form: FormState | None = None,
    new_token: str | None = None,
    status_code: int = 200,
) -> Response:
    is_admin = actor.may()
    with db.reading() as s:
        users = [
            {
                "id": u.entity_id,
                "name": u.name,
                "email": u.email,
                "role": u.role,
                "since": u.valid_from,
                "is_you": u.entity_id == actor.user_id,
            }
            for u in queries.list_users(s, actor=actor)
        ]
        tokens = queries.list_tokens(s, actor=actor) if is_admin else []
        names = {u["id"]: u["name"] for u in users}
        token_rows = [
            {
                "id": t.public_id,
                "name": t.name,
                "owner": names.get(t.user_id, "a former user"),
                "created_at": t.created_at,
                "revoked_at": t.revoked_at,
            }
            for t in reversed(tokens)
        ]
    return page(
        request,
        "accounts/users.html",
        {
            "section": "users",
            "users": users,
            "tokens": token_rows,
            "is_admin": is_admin,
            "user_fields": USER_FIELDS,
            "token_fields": TOKEN_FIELDS,
            "user_form": user_form or FormState(values={"role": Role.AGENT.value}),
            "token_form": token_form or FormState(),
            "new_token": new_token,
        },
        status_code=status_code,
    )


@router.get("/users")
def users(request: Request, actor: PageActor, db: DbDep) -> Response:
    return _users_page(request, actor, db)


@router.post("/users")
def add_user(request: Request, actor: PageActor, db: DbDep, form: CheckedForm) -> Response:
    require(actor)
    try:
        data = parse(UserCreate, given(form, [f.name for f in USER_FIELDS]))
        with db.unit_of_work() as s:
            user = service.add_user(s, actor=actor, data=data)
            name, email = user.name, user.email
    except Invalid as exc:
        typed = {k: v for k, v in form.items() if k != "password"}  # never echo a password
        state = FormState.failed(typed, exc, USER_FIELDS)
        return _users_page(request, actor, db, user_form=state, status_code=422)
    flash(request, f"{name} can now sign in as {email}.")
    return redirect("/users")


@router.post("/users/tokens")
def create_token(request: Request, actor: PageActor, db: DbDep, form: CheckedForm) -> Response:
    require(actor)
    try:
        data = parse(TokenCreate, given(form, ["name"]))
        with db.unit_of_work() as s:
            plain, _ = service.create_token(s, actor=actor, data=data)
    except Invalid as exc:
        state = FormState.failed(form, exc, TOKEN_FIELDS)
        return _users_page(request, actor, db, token_form=state, status_code=422)
    # Shown on this answer only: Accord keeps the token's hash, never the token.
    return _users_page(request, actor, db, new_token=plain, status_code=201)


@router.post("/users/tokens/{token_id}/revoke")
def revoke_token(
    request: Request, actor: PageActor, db: DbDep, token_id: TokenId, form: CheckedForm
) -> Response:
    with db.unit_of_work() as s:
        name = service.revoke_token(s, actor=actor, token_id=token_id).name
    flash(request, f"The token “{name}” is revoked: it no longer works.")
    return redirect("/users")
