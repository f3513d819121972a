"""`accord rebuild` without `--check`: the version tables are repaired from a journal that
verifies, and never from one that does not. On SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text, update

from accord.store import journal
from accord.store.db import Database
from accord.store.journal import JournalEntry
from accord.store.tenancy import get_tenant
from tests.cli.conftest import Run, last_line


@pytest.fixture
def acme(cli_on: Run) -> Run:
    """A tenant with a customer renamed from a future date, a contact and a site."""
    init = ["init", "--tenant", "acme", "--admin-email", "ada@acme.example"]
    assert cli_on(*init, "--admin-password", "correct horse battery").exit_code == 0
    for args in (
        ["customer", "add", "--name", "Acme Ltd", "--code", "ACME", "--from", "2020-01-01"],
        ["customer", "change", "ACME", "--name", "Acme Group", "--from", "2099-01-01"],
        ["customer", "add", "--name", "Globex", "--code", "GLX"],
        ["contact", "add", "ACME", "--name", "Ada Byron", "--from", "2020-02-01"],
        ["site", "add", "GLX", "--name", "Head office", "--country", "GB"],
    ):
        result = cli_on(*args)
        assert result.exit_code == 0, result.output
    return cli_on


def log_state(db: Database) -> tuple[int, bytes]:
    with db.reading() as s:
        tenant = get_tenant(s, "acme")
        assert tenant is not None
        size = journal.tree_size(s, tenant.id)
        return size, journal.root_at(s, tenant.id, size)


def names(db: Database) -> list[str]:
    with db.engine.connect() as conn:
        return list(conn.scalars(text("SELECT name FROM customers ORDER BY row_id")))


def test_a_tampered_row_is_found_then_repaired_and_the_journal_is_untouched(
    acme: Run, db: Database
) -> None:
    log = log_state(db)
    honest = sorted(names(db))
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE customers SET name = 'Forged Ltd' WHERE name = 'Acme Ltd'"))

    check = acme("rebuild", "--check")
    assert check.exit_code == 1
    assert "customer versions differ from the journal" in last_line(check.stderr)
    assert "Forged Ltd" in last_line(check.stderr)

    repaired = acme("rebuild", "--yes")
    assert repaired.exit_code == 0, repaired.output
    assert "customers" in repaired.stdout and "version rows that differ" in repaired.stdout
    assert "acme: removed 2 and added 2 version row(s)" in repaired.stdout  # 2 rows had the name
    assert last_line(repaired.stdout) == "OK: 1 tenant(s) rebuilt from the journal"

    assert sorted(names(db)) == honest
    assert acme("rebuild", "--check").exit_code == 0
    assert acme("verify").exit_code == 0
    assert log_state(db) == log  # same size, same root: the journal was not written

    again = acme("rebuild", "--yes")
    assert again.exit_code == 0
    assert "nothing to repair" in last_line(again.stdout)
    assert log_state(db) == log


def test_missing_and_extra_rows_are_put_right_and_agreeing_rows_left_alone(
    acme: Run, db: Database
) -> None:
    with db.engine.begin() as conn:
        kept = list(conn.execute(text("SELECT row_id, name FROM sites ORDER BY row_id")))
        conn.execute(text("DELETE FROM contacts"))
        conn.execute(
            text(
                "INSERT INTO users (tenant_id, entity_id, valid_from, valid_to, recorded_from, "
                "recorded_to, seq, email, name, role) SELECT tenant_id, entity_id, valid_from, "
                "valid_to, recorded_from, recorded_to, seq, email, name, role FROM users"
            )
        )
    repaired = acme("rebuild", "--yes")
    assert repaired.exit_code == 0, repaired.output
    for table in ("contacts", "users"):
        assert table in repaired.stdout
    assert "sites" not in repaired.stdout and "customers" not in repaired.stdout
    assert "acme: removed 1 and added 1 version row(s)" in repaired.stdout
    assert acme("rebuild", "--check").exit_code == 0
    with db.engine.connect() as conn:
        assert list(conn.execute(text("SELECT row_id, name FROM sites ORDER BY row_id"))) == kept
        assert conn.scalar(text("SELECT count(*) FROM contacts")) == 1


def test_it_asks_before_repairing_and_needs_yes_without_a_terminal(
    acme: Run, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE customers SET name = 'Forged Ltd' WHERE name = 'Globex'"))

    nobody = acme("rebuild")
    assert nobody.exit_code == 1
    assert last_line(nobody.stderr) == (
        "error: yes: give --yes to repair: there is no terminal to confirm on"
    )
    assert "Forged Ltd" in names(db)

    monkeypatch.setattr("accord.cli.journal.can_ask", lambda: True)
    declined = acme("rebuild", input="n\n")
    assert declined.exit_code == 1
    assert last_line(declined.stderr).endswith("not repaired: nothing changed")
    assert "Forged Ltd" in names(db)

    accepted = acme("rebuild", "--tenant", "acme", input="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert "Rewrite these rows of acme to what the journal says?" in accepted.stderr
    assert "Forged Ltd" not in names(db) and "Globex" in names(db)


def test_a_journal_that_fails_verification_is_no_ground_to_rebuild_from(
    acme: Run, db: Database
) -> None:
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE customers SET name = 'Forged Ltd' WHERE name = 'Globex'"))
        entries = conn.execute(select(JournalEntry.seq, JournalEntry.entry).order_by("seq"))
        seq, raw = next((seq, raw) for seq, raw in entries if b'"name":"Acme Ltd"' in raw)
        forged = raw.replace(b"Acme Ltd", b"Acme Plc")
        conn.execute(update(JournalEntry).where(JournalEntry.seq == seq).values(entry=forged))
    for args in (["rebuild", "--yes"], ["rebuild"]):
        refused = acme(*args)
        assert refused.exit_code == 1
        # The fault as `accord verify` names it, and why nothing is done about the rows.
        message = last_line(refused.stderr)
        assert message.startswith("error: verification failed: tenant acme: "), message
        assert message.endswith("; refusing to rebuild from it"), message
        assert "Traceback" not in refused.output
    assert "Forged Ltd" in names(db)  # nothing was rewritten


def test_nothing_to_repair_on_a_new_instance(cli_on: Run) -> None:
    assert cli_on("init").exit_code == 0
    result = cli_on("rebuild")
    assert result.exit_code == 0
    assert (
        last_line(result.stdout) == "OK: 0 tenant(s) already rebuild identically; nothing to repair"
    )
