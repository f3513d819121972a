"""The accounts API: who am I, staff users, and API tokens: issued once, listed without
their secret, revoked for good; admins only, and never across tenants."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from accord.access import Actor
from accord.accounts import service as accounts
from accord.store.db import Database
from tests.api.conftest import Client
from tests.api.helpers import invalid_fields, problem

Size = Callable[[Actor], int]
NEW_PASSWORD = "a long secret passphrase"


def test_me_is_the_user_the_token_acts_as(as_: Client, alice: Actor, bob: Actor) -> None:
    assert as_(alice).get("/api/me").json() == {
        "id": alice.user_id,
        "email": "alice@northwind.example",
        "name": "Alice",
        "role": "admin",
    }
    assert as_(bob).get("/api/me").json()["role"] == "agent"


def test_any_role_lists_the_tenants_users_only(
    as_: Client, alice: Actor, bob: Actor, carol: Actor, mallory: Actor
) -> None:
    listed = as_(carol).get("/api/users")
    assert listed.status_code == 200
    assert [(u["name"], u["role"]) for u in listed.json()] == [
        ("Alice", "admin"),
        ("Bob", "agent"),
        ("Carol", "auditor"),
    ]
    assert [u["email"] for u in as_(mallory).get("/api/users").json()] == [
        "mallory@contoso.example"
    ]


def test_admin_adds_a_user_and_the_password_is_never_echoed(
    as_: Client, alice: Actor, db: Database, journal_size: Size
) -> None:
    api = as_(alice)
    r = api.post(
        "/api/users",
        json={
            "email": "Dave@Northwind.example",
            "name": "Dave",
            "role": "finance",
            "password": NEW_PASSWORD,
        },
    )
    assert r.status_code == 201, r.text
    assert NEW_PASSWORD not in r.text
    user = r.json()
    assert (user["email"], user["role"]) == ("dave@northwind.example", "finance")
    assert user in api.get("/api/users").json()
    with db.reading() as s:
        signed_in = accounts.authenticate(s, email="dave@northwind.example", password=NEW_PASSWORD)
    assert signed_in is not None and signed_in.user_id == user["id"]

    size = journal_size(alice)
    taken = api.post(
        "/api/users",
        json={
            "email": "dave@northwind.example",
            "name": "Dave 2",
            "role": "agent",
            "password": NEW_PASSWORD,
        },
    )
    assert set(invalid_fields(taken)) == {"email"}
    short = api.post(
        "/api/users",
        json={
            "email": "erin@northwind.example",
            "name": "Erin",
            "role": "agent",
            "password": "hunter2",
        },
    )
    assert set(invalid_fields(short)) == {"password"}
    assert "hunter2" not in short.text
    no_role = api.post(
        "/api/users",
        json={
            "email": "erin@northwind.example",
            "name": "Erin",
            "role": "owner",
            "password": NEW_PASSWORD,
        },
    )
    assert set(invalid_fields(no_role)) == {"role"}
    assert NEW_PASSWORD not in no_role.text
    assert journal_size(alice) == size


def test_only_admins_add_users(as_: Client, bob: Actor, carol: Actor, journal_size: Size) -> None:
    size = journal_size(bob)
    for actor in (bob, carol):
        r = as_(actor).post(
            "/api/users",
            json={
                "email": "eve@northwind.example",
                "name": "Eve",
                "role": "admin",
                "password": NEW_PASSWORD,
            },
        )
        problem(r, 403)
    assert journal_size(bob) == size


def test_token_is_shown_once_works_and_stops_when_revoked(
    as_: Client, alice: Actor, anonymous: TestClient
) -> None:
    api = as_(alice)
    r = api.post("/api/tokens", json={"name": "billing export"})
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["token"].startswith("acc_") and created["revoked_at"] is None
    assert (created["name"], created["user_id"]) == ("billing export", alice.user_id)

    machine = {"Authorization": f"Bearer {created['token']}"}
    assert anonymous.get("/api/me", headers=machine).json()["id"] == alice.user_id

    listed = api.get("/api/tokens").json()
    mine = [t for t in listed if t["id"] == created["id"]]
    assert len(mine) == 1 and "token" not in mine[0]
    assert created["token"] not in api.get("/api/tokens").text

    revoked = api.post(f"/api/tokens/{created['id']}/revoke")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert api.post(f"/api/tokens/{created['id']}/revoke").json() == revoked.json()
    problem(anonymous.get("/api/me", headers=machine), 401)
    problem(anonymous.post("/api/tokens", headers=machine, json={"name": "again"}), 401)


def test_tokens_are_for_admins_and_stay_in_their_tenant(
    as_: Client, alice: Actor, bob: Actor, carol: Actor, mallory: Actor
) -> None:
    token_id = as_(alice).post("/api/tokens", json={"name": "backup"}).json()["id"]
    for actor in (bob, carol):
        api = as_(actor)
        problem(api.get("/api/tokens"), 403)
        problem(api.post("/api/tokens", json={"name": "mine"}), 403)
        problem(api.post(f"/api/tokens/{token_id}/revoke"), 403)

    outsider = as_(mallory)
    assert token_id not in {t["id"] for t in outsider.get("/api/tokens").json()}
    problem(outsider.post(f"/api/tokens/{token_id}/revoke"), 404)
    still = [t for t in as_(alice).get("/api/tokens").json() if t["id"] == token_id]
    assert still[0]["revoked_at"] is None


def test_token_input_is_checked(as_: Client, alice: Actor) -> None:
    api = as_(alice)
    assert set(invalid_fields(api.post("/api/tokens", json={"name": ""}))) == {"name"}
    assert set(invalid_fields(api.post("/api/tokens", json={"name": "x" * 101}))) == {"name"}
    assert set(invalid_fields(api.post("/api/tokens/not%20an%20id/revoke"))) == {"token_id"}
    problem(api.post("/api/tokens/00000000-0000-0000-0000-000000000000/revoke"), 404)
