"""People's browsers use the API with their session cookie; then every write must carry
the session's CSRF token, so another site cannot make a signed-in browser change things."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from typing import Any

import itsdangerous
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from accord.access import Actor
from tests.api.helpers import problem

CSRF = "a-csrf-token-for-tests"


def session_cookie(data: dict[str, Any], secret: str = "test") -> str:
    """A session cookie as Starlette's SessionMiddleware signs it (the app's secret is "test")."""
    payload = base64.b64encode(json.dumps(data).encode())
    return itsdangerous.TimestampSigner(secret).sign(payload).decode()


@pytest.fixture
def browser(app: FastAPI, alice: Actor) -> Iterator[TestClient]:
    """Alice's browser, signed in (as the login page leaves a session)."""
    cookie = session_cookie({"uid": alice.user_id, "tid": alice.tenant_id, "csrf": CSRF})
    with TestClient(app, cookies={"accord_session": cookie}) as c:
        yield c


def test_session_reads_and_writes_with_its_csrf_token(browser: TestClient, alice: Actor) -> None:
    assert browser.get("/api/me").json()["id"] == alice.user_id
    customer = {"name": "Fabrikam Ltd", "code": "FAB"}
    refused = browser.post("/api/customers", json=customer)
    problem(refused, 403)
    assert "security token" in refused.text
    wrong = browser.post("/api/customers", json=customer, headers={"X-CSRF-Token": "guess"})
    problem(wrong, 403)
    assert browser.get("/api/customers").json()["total"] == 0

    r = browser.post("/api/customers", json=customer, headers={"X-CSRF-Token": CSRF})
    assert r.status_code == 201, r.text
    assert browser.get("/api/customers").json()["total"] == 1


def test_forged_or_foreign_sessions_are_refused(app: FastAPI, alice: Actor) -> None:
    forged = session_cookie({"uid": alice.user_id, "tid": alice.tenant_id}, secret="guessed")
    with TestClient(app, cookies={"accord_session": forged}) as c:
        problem(c.get("/api/me"), 401)
    # A user id with another tenant's id does not find the user.
    elsewhere = session_cookie({"uid": alice.user_id, "tid": alice.tenant_id + 1000})
    with TestClient(app, cookies={"accord_session": elsewhere}) as c:
        problem(c.get("/api/me"), 401)


def test_login_page_session_works_for_the_api(app: FastAPI, alice: Actor) -> None:
    with TestClient(app) as c:
        form = {"email": "alice@northwind.example", "password": "correct horse battery"}
        tag = re.search(r'<input[^>]*name="csrf_token"[^>]*>', c.get("/login").text)
        if tag and (value := re.search(r'value="([^"]*)"', tag[0])):
            form["csrf_token"] = value[1]
        r = c.post("/login", data=form, follow_redirects=False)
        assert r.status_code in (302, 303), r.text
        assert c.get("/api/me").json()["id"] == alice.user_id
        problem(c.post("/api/customers", json={"name": "Fabrikam Ltd", "code": "FAB"}), 403)
