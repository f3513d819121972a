"""The HTML pages in-process: the app over the `db` fixture's database (SQLite and
PostgreSQL), and one browser-like client per persona, signed in through the login form.

`as_(actor)` is a signed-in client for that persona (redirects are not followed, so a test
sees each 303); `anonymous` has no session. `journal_size(actor)` reads the tenant's log
size from the database, so a test can show that a refused form changed nothing.
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
from tests.pages.helpers import PASSWORDS, email_of, location, login

Client = Callable[[Actor], TestClient]


@pytest.fixture
def app(db: Database, key_dir: Path, northwind: tuple[Tenant, Actor, Signer]) -> FastAPI:
    return create_app(Settings(database_url=db.url, key_dir=key_dir, secret_key="test"), db=db)


@pytest.fixture
def as_(app: FastAPI) -> Iterator[Client]:
    clients: list[TestClient] = []

    def client(actor: Actor) -> TestClient:
        c = TestClient(app, follow_redirects=False)
        clients.append(c)
        email = email_of(actor)
        assert location(login(c, email, PASSWORDS[email])) == "/customers"
        return c

    yield client
    for c in clients:
        c.close()


@pytest.fixture
def anonymous(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as c:
        yield c


@pytest.fixture
def journal_size(db: Database) -> Callable[[Actor], int]:
    def size(actor: Actor) -> int:
        with db.reading() as s:
            return audit.tree_size(s, actor=actor)

    return size
