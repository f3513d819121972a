"""Dependencies every route uses: the database, who is acting, CSRF."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Request

from accord.access import Actor
from accord.accounts import service as accounts
from accord.store.db import Database
from accord.web.problems import LoginRequired

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


DbDep = Annotated[Database, Depends(get_db)]


def csrf_token(request: Request) -> str:
    """This session's CSRF token, made on first use."""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(24)
        request.session["csrf"] = token
    return str(token)


def check_csrf(request: Request, supplied: str | None) -> None:
    expected = request.session.get("csrf")
    if not expected or not supplied or not secrets.compare_digest(str(expected), supplied):
        from fastapi import HTTPException

        raise HTTPException(
            403, "the form's security token is missing or stale: reload the page and try again"
        )


def current_actor(request: Request, db: DbDep) -> Actor:
    """The actor for a bearer token (machines) or a session cookie (people).

    Cookie-authenticated API calls that change something must carry the session's CSRF
    token in X-CSRF-Token, so another site cannot make a signed-in browser write.
    """
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        with db.reading() as s:
            actor = accounts.actor_for_token(s, auth[7:].strip())
        if actor is None:
            raise LoginRequired("the bearer token is unknown or revoked")
        return actor
    uid, tid = request.session.get("uid"), request.session.get("tid")
    if not uid or not isinstance(tid, int):
        raise LoginRequired()
    with db.reading() as s:
        actor = accounts.actor_for_user(s, tid, uid)
    if actor is None:
        request.session.clear()
        raise LoginRequired("your account is no longer active")
    if request.url.path.startswith("/api") and request.method not in SAFE_METHODS:
        check_csrf(request, request.headers.get(CSRF_HEADER))
    return actor


CurrentActor = Annotated[Actor, Depends(current_actor)]
