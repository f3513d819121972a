from __future__ import annotations

import stat
from pathlib import Path

import pytest

from accord.accounts import service as accounts
from accord.store.checkpoints import Verifier
from accord.store.db import Database
from accord.store.tenancy import list_tenants
from tests.cli.conftest import Run, last_line

ADMIN = ["--tenant", "acme", "--name", "Acme IT", "--admin-email", "ada@acme.example"]
PASSWORD = ["--admin-password", "correct horse battery"]


def test_init_on_a_fresh_machine_creates_var_the_tenant_its_key_and_admin(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.cli.conftest import _runner

    monkeypatch.delenv("ACCORD_KEY_DIR")
    run = _runner()  # the defaults: sqlite:///var/accord.db and var/keys, under the cwd
    result = run("init", *ADMIN, *PASSWORD)
    assert result.exit_code == 0, result.output
    assert (env / "var" / "accord.db").is_file()
    key = env / "var" / "keys" / "acme.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert "PRIVATE+KEY+accord.local/acme+" in key.read_text()

    shown = run("key", "show")
    assert shown.exit_code == 0, shown.output
    verifier = Verifier.parse(shown.stdout.strip())
    assert verifier.name == "accord.local/acme"
    assert last_line(result.stdout) == shown.stdout.strip()  # init printed the same line

    db = Database("sqlite:///var/accord.db")
    with db.reading() as s:
        admin = accounts.authenticate(s, email="ada@acme.example", password="correct horse battery")
        assert (
            admin is not None and admin.role == "admin" and admin.label == "Ada <ada@acme.example>"
        )
    db.dispose()


def test_init_on_each_engine_and_again_changes_nothing(
    cli_on: Run, db: Database, env: Path
) -> None:
    first = cli_on("init", *ADMIN, *PASSWORD)
    assert first.exit_code == 0, first.output
    key = (env / "keys" / "acme.key").read_bytes()
    again = cli_on("init", *ADMIN, *PASSWORD)
    assert again.exit_code == 0, again.output
    assert "already exists" in again.stderr
    assert (env / "keys" / "acme.key").read_bytes() == key
    with db.reading() as s:
        assert [t.slug for t in list_tenants(s)] == ["acme"]


def test_init_without_a_tenant_only_creates_the_schema(cli: Run, env: Path) -> None:
    result = cli("init")
    assert result.exit_code == 0, result.output
    assert "no tenant created" in result.stderr
    assert (env / "accord.db").is_file() and not (env / "keys").exists()
    assert cli("verify").exit_code == 0  # an empty, valid instance


def test_init_refuses_to_overwrite_a_key_without_its_tenant(cli: Run, env: Path) -> None:
    (env / "keys").mkdir()
    (env / "keys" / "acme.key").write_text("someone's key\n")
    result = cli("init", *ADMIN, *PASSWORD)
    assert result.exit_code == 1
    assert last_line(result.stderr).startswith(
        "error: tenant: a signing key for 'acme' already exists"
    )
    assert (env / "keys" / "acme.key").read_text() == "someone's key\n"
    assert "no such tenant" in result.stderr and cli("key", "show").exit_code == 1


def test_init_with_a_missing_key_for_an_existing_tenant_fails(cli: Run, env: Path) -> None:
    assert cli("init", *ADMIN, *PASSWORD).exit_code == 0
    (env / "keys" / "acme.key").unlink()
    result = cli("init", *ADMIN, *PASSWORD)
    assert result.exit_code == 1
    assert "signing key is missing" in result.stderr
    assert not (env / "keys" / "acme.key").exists()


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--tenant", "Not A Slug", "--admin-email", "ada@acme.example", *PASSWORD], "tenant"),
        (["--tenant", "acme", "--admin-email", "not-an-email", *PASSWORD], "admin-email"),
        (
            ["--tenant", "acme", "--admin-email", "ada@acme.example", "--admin-password", "short"],
            "admin-password",
        ),
        (["--tenant", "acme", *PASSWORD], "admin-email"),
        (["--tenant", "acme", "--admin-email", "ada@acme.example"], "admin-password"),  # no tty
    ],
)
def test_init_bad_input_names_the_field_and_changes_nothing(
    cli: Run, env: Path, args: list[str], field: str
) -> None:
    result = cli("init", *args)
    assert result.exit_code == 1, result.output
    assert last_line(result.stderr).startswith(f"error: {field}: "), result.stderr
    assert "Traceback" not in result.output
    assert not (env / "keys").exists() or not any((env / "keys").iterdir())
    assert "no tenants" in cli("verify").stderr
