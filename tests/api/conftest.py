"""The REST API in-process: the app over the `db` fixture's database (SQLite and
PostgreSQL), and one HTTP client per persona, authenticated with a bearer token.

`as_(actor)` is a client for that persona; `anonymous` sends no credentials.
`journal_size(actor)` reads the tenant's log size straight from the database, so a test
can show that a refused request changed nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from accord.access import Actor
from accord.audit import queries as audit
from accord.config import Settings
from accord.store.checkpoints import Signer
from accord.store.db import Database
from accord.store.tenancy import Tenant
from accord.web.app import create_app
from tests.api.helpers import issue_token

Client = Callable[[Actor], TestClient]


@pytest.fixture
def app(db: Database, key_dir: Path, northwind: tuple[Tenant, Actor, Signer]) -> FastAPI:
    return create_app(Settings(database_url=db.url, key_dir=key_dir, secret_key="test"), db=db)


@pytest.fixture
def as_(app: FastAPI, db: Database) -> Iterator[Client]:
    clients: list[TestClient] = []

    def client(actor: Actor) -> TestClient:
        plain, _ = issue_token(db, actor)
        c = TestClient(app, headers={"Authorization": f"Bearer {plain}"})
        clients.append(c)
        return c

    yield client
    for c in clients:
        c.close()


@pytest.fixture
def anonymous(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def journal_size(db: Database) -> Callable[[Actor], int]:
    def size(actor: Actor) -> int:
        with db.reading() as s:
            return audit.tree_size(s, actor=actor)

    return size
