"""Shared fixtures: the whole suite runs on SQLite and on PostgreSQL.

Each test gets an empty, migrated database: on SQLite a copy of a migrated template file,
on PostgreSQL a database migrated once per run and truncated before each test.
PostgreSQL is at ACCORD_TEST_POSTGRES (default postgresql+psycopg://postgres@127.0.0.1:5432/postgres);
without it those tests skip, unless ACCORD_REQUIRE_POSTGRES=1 (CI), when they fail.

Personas: alice (admin) and bob (agent) work for the provider "northwind"; carol is an
auditor there; mallory is the admin of another tenant, "contoso", and must see nothing of
northwind's.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

# Cheap password hashing for tests only; set before any settings are read.
os.environ.setdefault("ACCORD_ARGON2_PROFILE", "CHEAPEST")

import psycopg
import pytest
from sqlalchemy import text

from accord.access import Actor, Role
from accord.accounts import service as accounts
from accord.accounts.schemas import UserCreate
from accord.models import metadata
from accord.store import migrate
from accord.store.checkpoints import Signer, create_key
from accord.store.db import Database
from accord.store.tenancy import Tenant, create_tenant

PG_URL = os.environ.get(
    "ACCORD_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_PG = os.environ.get("ACCORD_REQUIRE_POSTGRES") == "1"
SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def _pg_admin_conninfo() -> str:
    return PG_URL.replace("postgresql+psycopg://", "postgresql://")


def _pg_reachable() -> str | None:
    try:
        with psycopg.connect(_pg_admin_conninfo(), connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return str(exc).splitlines()[0]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "accord.db"
    db = Database(f"sqlite:///{path}")
    migrate.upgrade(db.engine)
    db.dispose()
    return path


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    problem = _pg_reachable()
    if problem:
        if REQUIRE_PG:
            pytest.fail(
                f"PostgreSQL is required (ACCORD_REQUIRE_POSTGRES=1) but unreachable: {problem}"
            )
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {problem}")
    name = f"accord_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(_pg_admin_conninfo(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
        # A throwaway database: no need to wait for the disk on every commit.
        conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    url = PG_URL.rsplit("/", 1)[0] + f"/{name}"
    db = Database(url)
    migrate.upgrade(db.engine)
    db.dispose()
    yield url
    with psycopg.connect(_pg_admin_conninfo(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty, migrated database on each engine."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "accord.db"
        shutil.copy(template, path)
        database = Database(f"sqlite:///{path}")
    else:
        url: str = request.getfixturevalue("pg_database")
        database = Database(url)
        tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
        with database.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    yield database
    database.dispose()


@pytest.fixture
def key_dir(tmp_path: Path) -> Path:
    return tmp_path / "keys"


def _tenant_with_admin(
    db: Database, key_dir: Path, slug: str, email: str
) -> tuple[Tenant, Actor, Signer]:
    with db.unit_of_work() as s:
        tenant = create_tenant(s, slug=slug, name=slug.title())
        accounts.bootstrap_admin(
            s,
            tenant_id=tenant.id,
            data=UserCreate(
                email=email,
                name=email.split("@")[0].title(),
                role=Role.ADMIN,
                password="correct horse battery",
            ),
        )
    with db.reading() as s:
        admin = accounts.authenticate(s, email=email, password="correct horse battery")
    assert admin is not None
    signer = create_key(key_dir, slug, f"accord.test/{slug}")
    return tenant, admin, signer


@pytest.fixture
def northwind(db: Database, key_dir: Path) -> tuple[Tenant, Actor, Signer]:
    return _tenant_with_admin(db, key_dir, "northwind", "alice@northwind.example")


@pytest.fixture
def alice(northwind: tuple[Tenant, Actor, Signer]) -> Actor:
    return northwind[1]


@pytest.fixture
def bob(db: Database, alice: Actor) -> Actor:
    with db.unit_of_work() as s:
        user = accounts.add_user(
            s,
            actor=alice,
            data=UserCreate(
                email="bob@northwind.example",
                name="Bob",
                role=Role.AGENT,
                password="bob's long password",
            ),
        )
        return Actor(
            tenant_id=alice.tenant_id,
            label="Bob <bob@northwind.example>",
            role=Role.AGENT,
            user_id=user.entity_id,
        )


@pytest.fixture
def carol(db: Database, alice: Actor) -> Actor:
    with db.unit_of_work() as s:
        user = accounts.add_user(
            s,
            actor=alice,
            data=UserCreate(
                email="carol@northwind.example",
                name="Carol",
                role=Role.AUDITOR,
                password="carol's long password",
            ),
        )
        return Actor(
            tenant_id=alice.tenant_id,
            label="Carol <carol@northwind.example>",
            role=Role.AUDITOR,
            user_id=user.entity_id,
        )


@pytest.fixture
def mallory(db: Database, key_dir: Path) -> Actor:
    return _tenant_with_admin(db, key_dir, "contoso", "mallory@contoso.example")[1]
