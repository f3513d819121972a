"""API test helpers: bearer tokens for personas, and reading problem documents."""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx2

from accord.access import Actor, Role
from accord.accounts import service as accounts
from accord.accounts.schemas import TokenCreate
from accord.store.db import Database

PROBLEM = "application/problem+json"


def issue_token(db: Database, actor: Actor, name: str = "tests") -> tuple[str, str]:
    """A bearer token for `actor`'s user: (plain token, token id).

    `create_token` issues tokens only to the calling admin's own user, so for an agent or
    an auditor the test asks as an admin acting for that user; the token still acts with
    the user's real role, which is what is under test.
    """
    issuer = actor if actor.role == Role.ADMIN else dataclasses.replace(actor, role=Role.ADMIN)
    with db.unit_of_work() as s:
        plain, tok = accounts.create_token(s, actor=issuer, data=TokenCreate(name=name))
        return plain, tok.public_id


def problem(response: httpx2.Response, status: int) -> dict[str, Any]:
    """The response's RFC 9457 problem document, after checking it is one with `status`."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"]
    return body


def invalid_fields(response: httpx2.Response) -> dict[str, str]:
    """field -> reason of a 422 problem document."""
    return {e["field"]: e["reason"] for e in problem(response, 422)["errors"]}
