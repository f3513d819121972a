"""Whatever a user can get wrong around a command ends in one line naming it, exit 1."""

from __future__ import annotations

import pytest

from tests.cli.conftest import Run, last_line


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("ACCORD_DATABASE_URL", "nonsense", "error: database: not a database URL: 'nonsense'"),
        (
            "ACCORD_DATABASE_URL",
            "mysql://db/accord",
            "error: database: Accord runs on SQLite or PostgreSQL, not mysql",
        ),
        (
            "ACCORD_DATABASE_URL",
            "postgresql+psycopg://postgres:secret@127.0.0.1:1/accord",
            "error: database: connection failed: ",
        ),
        (
            "ACCORD_SESSION_MAX_AGE",
            "a day",
            "error: ACCORD_SESSION_MAX_AGE: Input should be a valid integer",
        ),
    ],
)
def test_bad_settings_are_named(
    cli: Run, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    for command in (["verify"], ["init"], ["key", "show"]):
        result = cli(*command)
        assert result.exit_code == 1, result.output
        assert last_line(result.stderr).startswith(message), result.stderr
        assert "secret" not in result.output and "Traceback" not in result.output


def test_commands_on_a_missing_database_say_to_run_init(cli: Run) -> None:
    for command in (
        ["verify"],
        ["rebuild", "--check"],
        ["checkpoint"],
        ["key", "show"],
        ["serve"],
        [
            "user",
            "add",
            "--tenant",
            "a",
            "--email",
            "a@b.example",
            "--name",
            "A",
            "--role",
            "agent",
            "--password",
            "long enough pw",
        ],
    ):
        result = cli(*command)
        assert result.exit_code == 1, command
        assert "run 'accord init' first" in last_line(result.stderr), command


def test_commands_needing_one_tenant_ask_which(cli: Run) -> None:
    assert cli("init").exit_code == 0
    none = cli("key", "show")
    assert none.exit_code == 1 and last_line(none.stderr).startswith(
        "error: tenant: there are no tenants yet"
    )
    for slug in ("acme", "globex"):
        assert (
            cli(
                "init",
                "--tenant",
                slug,
                "--admin-email",
                f"admin@{slug}.example",
                "--admin-password",
                "correct horse battery",
            ).exit_code
            == 0
        )
    two = cli("checkpoint")
    assert (
        two.exit_code == 1
        and last_line(two.stderr) == "error: tenant: give --tenant, one of: acme, globex"
    )
    unknown = cli("verify", "--tenant", "initech")
    assert unknown.exit_code == 1
    assert last_line(unknown.stderr) == "error: tenant: no tenant 'initech' (known: acme, globex)"
    assert cli("verify").exit_code == 0


def test_no_arguments_shows_help_and_version_works(cli: Run) -> None:
    assert "init" in cli().output
    version = cli("--version")
    assert version.exit_code == 0 and version.stdout.startswith("accord ")
