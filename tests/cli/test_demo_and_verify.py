"""The demo provider loads through the services, and `accord verify` / `rebuild --check`
hold on it, and find a single changed byte or row. On SQLite and on PostgreSQL."""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select, text, update
from sqlalchemy.pool import StaticPool

from accord import demo
from accord.access import Role
from accord.accounts import service as accounts
from accord.parties import queries
from accord.parties.models import Contact, Customer, Site
from accord.store import journal, migrate
from accord.store.checkpoints import Verifier, parse_checkpoint
from accord.store.db import FOREVER, Database, utcnow
from accord.store.journal import JournalEntry
from accord.store.tenancy import create_tenant, get_tenant
from tests.cli.conftest import Run, last_line


def load(cli_on: Run) -> None:
    result = cli_on("demo")
    assert result.exit_code == 0, result.output
    assert f"password for all: {demo.PASSWORD}" in result.stdout
    for user in demo.USERS:
        assert user.email in result.stdout


def test_demo_is_a_believable_provider_and_verifies(cli_on: Run, db: Database) -> None:
    load(cli_on)
    with db.reading() as s:
        tenant = get_tenant(s, "northwind")
        assert tenant is not None and tenant.name == "Northwind IT Services"
        for user in demo.USERS:  # every role can sign in with the one demo password
            actor = accounts.authenticate(s, email=user.email, password=demo.PASSWORD)
            assert actor is not None and actor.role == user.role
        bob = accounts.authenticate(s, email="bob@northwind.example", password=demo.PASSWORD)
        assert bob is not None
        now = queries.AsOf.now()
        customers, total = queries.list_customers(s, actor=bob, when=now, limit=100)
        assert 30 <= total <= 40 and total == len(demo.CUSTOMERS)
        by_code = {c.code: c for c in customers}
        assert by_code["ALDGATE"].status == "former"
        assert {c.code for c in customers if c.status == "prospect"} == {"MENDIP", "MOREAU"}
        for c in customers:
            assert 1 <= len(queries.contacts_of(s, bob, c.entity_id, when=now)) <= 4
            assert 1 <= len(queries.sites_of(s, bob, c.entity_id, when=now)) <= 3

        # A rename agreed now that takes effect next month.
        pennine = by_code["PENNINE"]
        later = queries.AsOf.of(utcnow() + timedelta(days=30), None)
        assert pennine.name == "Pennine Freight Ltd"
        assert queries.get_customer_for(s, bob, pennine.entity_id, when=later).name == (
            "Pennine Freight & Storage Ltd"
        )
        # A typo fixed from the start: what we believed before the fix is still there.
        hdp = by_code["HDP"]
        history = queries.customer_history(s, bob, hdp.entity_id)
        created = next(c["entry"] for c in history if c["entry"].kind == "parties.customer.created")
        fixes = [
            c["entry"]
            for c in history
            if c["entry"].kind == "parties.customer.changed" and "mistyped" in c["entry"].reason
        ]
        assert len(fixes) == 1 and fixes[0].valid_from == created.valid_from
        before_fix = queries.AsOf.of(hdp.valid_from, fixes[0].at - timedelta(microseconds=1))
        assert queries.get_customer_for(s, bob, hdp.entity_id, when=before_fix).phone != hdp.phone
        # A contact who left stays in the history.
        kinds = [
            c["entry"].kind for c in queries.customer_history(s, bob, by_code["STAIDANS"].entity_id)
        ]
        assert "parties.contact.removed" in kinds

    verified = cli_on("verify")
    assert verified.exit_code == 0, verified.output
    assert (
        "northwind" in verified.stdout and last_line(verified.stdout) == "OK: 1 tenant(s) verified"
    )
    rebuilt = cli_on("rebuild", "--check", "--tenant", "northwind")
    assert rebuilt.exit_code == 0, rebuilt.output


def test_demo_is_deterministic() -> None:
    """Two loads write the same customers, contacts and sites (only ids and times differ)."""

    def load_into_memory() -> list[tuple[object, ...]]:
        db = Database("sqlite://", poolclass=StaticPool)
        migrate.upgrade(db.engine)
        with db.unit_of_work() as s:
            tenant = create_tenant(s, slug=demo.TENANT_SLUG, name=demo.TENANT_NAME)
            demo.load(s, tenant_id=tenant.id, today=date(2026, 1, 15))
        rows: list[tuple[object, ...]] = []
        with db.reading() as s:
            for model in (Customer, Contact, Site):
                cols = [getattr(model, f) for f in model.data_fields() if f != "customer_id"]
                cols += [model.valid_from, model.valid_to]
                current = select(*cols).where(model.recorded_to == FOREVER).order_by(*cols)
                rows += [tuple(row) for row in s.execute(current)]
        db.dispose()
        return rows

    first = load_into_memory()
    assert len(first) > 150 and load_into_memory() == first


def test_demo_twice_is_refused(cli_on: Run, db: Database) -> None:
    load(cli_on)
    with db.reading() as s:
        size = journal.tree_size(s, 1)
    result = cli_on("demo")
    assert result.exit_code == 1
    assert last_line(result.stderr) == "error: tenant: a tenant 'northwind' already exists"
    with db.reading() as s:
        assert journal.tree_size(s, 1) == size


def test_one_changed_byte_in_a_journal_entry_fails_verify_naming_it(
    cli_on: Run, db: Database
) -> None:
    load(cli_on)
    with db.engine.begin() as conn:
        raw = conn.scalar(select(JournalEntry.entry).where(JournalEntry.seq == 42))
        assert raw is not None and b"parties." in raw
        forged = raw.replace(b"parties.", b"partieS.", 1)
        assert (
            len(forged) == len(raw) and sum(a != b for a, b in zip(raw, forged, strict=True)) == 1
        )
        conn.execute(update(JournalEntry).where(JournalEntry.seq == 42).values(entry=forged))
    result = cli_on("verify")
    assert result.exit_code == 1
    assert last_line(result.stderr) == (
        "error: verification failed: tenant northwind: "
        "journal entry 42: leaf hash does not match the entry bytes"
    )
    assert "Traceback" not in result.output


def test_a_changed_version_row_fails_the_rebuild_check(cli_on: Run, db: Database) -> None:
    load(cli_on)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE customers SET name = 'Harbour Dental Ltd' WHERE code = 'HDP'"))
    for args in (["rebuild", "--check"], ["verify", "--tenant", "northwind"]):
        result = cli_on(*args)
        assert result.exit_code == 1, args
        assert "customer versions differ from the journal" in last_line(result.stderr)
        assert "Harbour Dental Ltd" in last_line(result.stderr)


def test_checkpoint_is_a_signed_note_the_key_line_verifies(cli_on: Run, db: Database) -> None:
    load(cli_on)
    key = cli_on("key", "show", "--tenant", "northwind")
    note = cli_on("checkpoint")
    assert key.exit_code == 0 and note.exit_code == 0, note.output
    body = Verifier.parse(key.stdout).open(note.stdout)
    origin, size, root = parse_checkpoint(body)
    with db.reading() as s:
        assert origin == "accord.local/northwind"
        assert size == journal.tree_size(s, 1) and root == journal.root_at(s, 1, size)
    assert cli_on("checkpoint").stdout == note.stdout  # nothing new to sign


def test_checks_read_one_snapshot_while_a_server_writes(cli_on: Run, db: Database) -> None:
    from accord.accounts.schemas import UserCreate
    from accord.cli.common import operator, snapshot
    from accord.store.checkpoints import load_key
    from accord.store.verify import verify_log

    init = ["init", "--tenant", "acme", "--admin-email", "ada@acme.example"]
    assert cli_on(*init, "--admin-password", "correct horse battery").exit_code == 0
    with snapshot(db) as s:
        tenant = get_tenant(s, "acme")
        assert tenant is not None
        size = journal.tree_size(s, tenant.id)
        with db.unit_of_work() as w:  # committed while the check runs
            accounts.add_user(
                w,
                actor=operator(tenant),
                data=UserCreate(
                    email="bob@acme.example",
                    name="Bob",
                    role=Role.AGENT,
                    password="bob's long password",
                ),
            )
        key = Verifier.parse(load_key(Path(os.environ["ACCORD_KEY_DIR"]), "acme").verifier_key())
        assert verify_log(s, tenant, key).entries == size
    assert cli_on("verify").exit_code == 0
