"""`accord user add` and `accord token create`: the operator's way in, with the same
validation and role checks as the API."""

from __future__ import annotations

import pytest

from accord.accounts import service as accounts
from accord.accounts.queries import list_tokens
from accord.store import journal
from accord.store.db import Database
from accord.store.tenancy import get_tenant
from tests.cli.conftest import Run, last_line

INIT = [
    "init",
    "--tenant",
    "acme",
    "--admin-email",
    "ada@acme.example",
    "--admin-password",
    "correct horse battery",
]
BOB = [
    "--email",
    "bob@acme.example",
    "--name",
    "Bob Stone",
    "--role",
    "agent",
    "--password",
    "bob's long password",
]


@pytest.fixture
def acme(cli_on: Run) -> Run:
    assert cli_on(*INIT).exit_code == 0
    return cli_on


def test_user_add_gives_a_login_recorded_as_the_operator(acme: Run, db: Database) -> None:
    result = acme("user", "add", "--tenant", "acme", *BOB)
    assert result.exit_code == 0, result.output
    assert "added Bob Stone <bob@acme.example> as agent to 'acme'" in result.stderr
    with db.reading() as s:
        bob = accounts.authenticate(s, email="bob@acme.example", password="bob's long password")
        assert bob is not None and bob.role == "agent"
        tenant = get_tenant(s, "acme")
        assert tenant is not None
        entry = journal.read_entry(s, tenant.id, journal.tree_size(s, tenant.id) - 1)
        assert entry is not None and entry[0].actor.endswith("(accord cli)")
        assert "password" not in entry[0].data  # secrets never reach the journal


def test_user_add_asks_for_the_password_on_a_terminal(
    acme: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("accord.cli.accounts.can_ask", lambda: True)
    args = BOB[:-2]
    result = acme(
        "user", "add", "--tenant", "acme", *args, input="bob's long password\nbob's long password\n"
    )
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"--role": "boss"}, "role"),
        ({"--email": "bob at acme"}, "email"),
        ({"--password": "short"}, "password"),
        ({"--name": "  "}, "name"),
        ({"--email": "ada@acme.example"}, "email"),  # taken
        ({"--tenant": "nowhere"}, "tenant"),
    ],
)
def test_user_add_bad_input_names_the_field_and_changes_nothing(
    acme: Run, db: Database, change: dict[str, str], field: str
) -> None:
    with db.reading() as s:
        size = journal.tree_size(s, 1)
    opts = dict(zip(BOB[::2], BOB[1::2], strict=True)) | {"--tenant": "acme"} | change
    result = acme("user", "add", *[x for kv in opts.items() for x in kv])
    assert result.exit_code == 1, result.output
    assert last_line(result.stderr).startswith(f"error: {field}: "), result.stderr
    assert "Traceback" not in result.output
    with db.reading() as s:
        assert journal.tree_size(s, 1) == size
        assert accounts.current_user_by_email(s, 1, "bob@acme.example") is None


def test_user_add_without_a_password_or_a_terminal_says_so(acme: Run) -> None:
    result = acme("user", "add", "--tenant", "acme", *BOB[:-2])
    assert result.exit_code == 1
    assert (
        last_line(result.stderr)
        == "error: password: give it as an option: there is no terminal to ask on"
    )


def test_a_required_option_missing_is_a_usage_error(acme: Run) -> None:
    result = acme("user", "add", "--tenant", "acme", "--email", "x@acme.example")
    assert result.exit_code == 2 and "--name" in result.output


def test_token_create_prints_the_token_once(acme: Run, db: Database) -> None:
    result = acme(
        "token",
        "create",
        "--tenant",
        "acme",
        "--email",
        "ADA@acme.example",
        "--name",
        "billing export",
    )
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert token.startswith(accounts.TOKEN_PREFIX) and "\n" not in token
    with db.reading() as s:
        actor = accounts.actor_for_token(s, token)
        assert actor is not None and actor.label == "Ada <ada@acme.example>"
        (stored,) = list_tokens(s, actor=actor)
        assert stored.name == "billing export" and token not in stored.token_sha256


def test_token_create_for_unknown_or_non_admin_users_is_refused(acme: Run, db: Database) -> None:
    assert acme("user", "add", "--tenant", "acme", *BOB).exit_code == 0
    unknown = acme(
        "token", "create", "--tenant", "acme", "--email", "eve@acme.example", "--name", "x"
    )
    assert unknown.exit_code == 1
    assert (
        last_line(unknown.stderr)
        == "error: email: no current user with email eve@acme.example in 'acme'"
    )
    agent = acme(
        "token", "create", "--tenant", "acme", "--email", "bob@acme.example", "--name", "x"
    )
    assert agent.exit_code == 1 and last_line(agent.stderr).startswith("error: forbidden: ")
    unnamed = acme(
        "token", "create", "--tenant", "acme", "--email", "ada@acme.example", "--name", " "
    )
    assert unnamed.exit_code == 1 and last_line(unnamed.stderr).startswith("error: name: ")
    with db.reading() as s:
        ada = accounts.authenticate(s, email="ada@acme.example", password="correct horse battery")
        assert ada is not None and list_tokens(s, actor=ada) == []
