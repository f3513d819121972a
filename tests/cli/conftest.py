"""Running the `accord` command in-process against a temporary database and key directory.

`cli` runs it with ACCORD_DATABASE_URL and ACCORD_KEY_DIR pointing into the test's
temporary directory (also the working directory, so the default ./var lands there too);
`cli_on(db)` points it at the `db` fixture's database instead, so a test runs on SQLite and
on PostgreSQL.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

import pytest
from typer.testing import CliRunner

from accord.cli import app
from accord.config import get_settings
from accord.store.db import Database

#: What the suite sets for itself (tests/conftest.py), kept; any other ACCORD_* is removed.
SUITE_SETTINGS = ("ACCORD_TEST_", "ACCORD_REQUIRE_", "ACCORD_ARGON2_PROFILE")


class Result(Protocol):
    """What the tests read of a run (typer's and click's results both have it)."""

    @property
    def exit_code(self) -> int: ...
    @property
    def output(self) -> str: ...  # stdout and stderr as a terminal would show them
    @property
    def stdout(self) -> str: ...
    @property
    def stderr(self) -> str: ...


Run = Callable[..., Result]


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A clean environment: no ACCORD_* from outside, cwd in the temporary directory."""
    for name in list(os.environ):
        if name.startswith("ACCORD_") and not name.startswith(SUITE_SETTINGS):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ACCORD_KEY_DIR", str(tmp_path / "keys"))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def _runner(input_: str | None = None) -> Run:
    def run(*args: str, input: str | None = input_) -> Result:
        get_settings.cache_clear()
        result: Result = CliRunner().invoke(app, list(args), input=input)
        return result

    return run


@pytest.fixture
def cli(env: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    """`accord` on a fresh SQLite file in the test's directory."""
    monkeypatch.setenv("ACCORD_DATABASE_URL", f"sqlite:///{env / 'accord.db'}")
    return _runner()


@pytest.fixture
def cli_on(db: Database, env: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    """`accord` on the `db` fixture's database (migrated and empty; SQLite and PostgreSQL)."""
    monkeypatch.setenv("ACCORD_DATABASE_URL", db.url)
    return _runner()


def last_line(text: str) -> str:
    return text.rstrip("\n").rsplit("\n", 1)[-1]
