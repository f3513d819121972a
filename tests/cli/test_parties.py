"""`accord customer`, `accord contact`, `accord site`: the parties from the command line,
through the same services and queries as the API, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import pytest

from accord.parties.models import Customer
from accord.store import journal, temporal
from accord.store.db import Database
from accord.store.tenancy import get_tenant
from accord.timeinput import parse_instant
from tests.cli.conftest import Run, last_line

PASSWORD = "correct horse battery"


def init(run: Run, slug: str) -> None:
    result = run(
        "init",
        "--tenant",
        slug,
        "--admin-email",
        f"admin@{slug}.example",
        "--admin-password",
        PASSWORD,
    )
    assert result.exit_code == 0, result.output


@pytest.fixture
def acme(cli_on: Run) -> Run:
    init(cli_on, "acme")
    return cli_on


def ok(run: Run, *args: str) -> str:
    """Run a command that must succeed; its stdout."""
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result.stdout


def as_json(run: Run, *args: str) -> Any:
    return json.loads(ok(run, *args, "--json"))


def add_acme_ltd(run: Run) -> str:
    out = ok(
        run,
        "customer", "add", "--name", "Acme Ltd", "--code", "ACME",
        "--email", "it@acme-ltd.example", "--phone", "+44 20 7946 0000",
        "--from", "2020-01-01", "--reason", "signed the first agreement",
    )  # fmt: skip
    return out.strip()


def journal_size(db: Database, slug: str = "acme") -> int:
    with db.reading() as s:
        tenant = get_tenant(s, slug)
        assert tenant is not None
        return journal.tree_size(s, tenant.id)


def test_add_then_list_and_show_by_code_or_id(acme: Run, db: Database) -> None:
    result = acme("customer", "add", "--name", "Acme Ltd", "--code", "ACME", "--from", "2020-01-01")
    assert result.exit_code == 0, result.output
    customer_id = result.stdout.strip()
    assert len(customer_id) == 36 and "\n" not in customer_id
    assert "added customer Acme Ltd (ACME) to 'acme', from 2020-01-01" in result.stderr

    listed = as_json(acme, "customer", "list")
    assert listed["total"] == 1
    (item,) = listed["items"]
    assert item["id"] == customer_id and item["code"] == "ACME" and item["status"] == "active"
    assert item["version"]["valid_from"] == "2020-01-01T00:00:00Z"
    table = ok(acme, "customer", "list")
    assert "Acme Ltd" in table and "ACME" in table and customer_id in table
    assert "1 customer(s)" in table

    for ref in ("ACME", "acme", customer_id):
        shown = as_json(acme, "customer", "show", ref)
        assert shown["customer"]["id"] == customer_id
        assert shown["contacts"] == [] and shown["sites"] == []
    page = ok(acme, "customer", "show", "ACME")
    assert "Acme Ltd (ACME)" in page and "No contacts." in page and "No sites." in page

    # Not on record before it was taken on; the search finds by part of the name.
    before = acme("customer", "show", "ACME", "--on", "2019-12-31")
    assert before.exit_code == 1 and "did not exist on 2019-12-31" in last_line(before.stderr)
    assert as_json(acme, "customer", "list", "--on", "2019-12-31")["total"] == 0
    assert as_json(acme, "customer", "list", "--search", "cme l")["total"] == 1
    assert as_json(acme, "customer", "list", "--search", "nothing")["total"] == 0
    assert as_json(acme, "customer", "list", "--status", "prospect")["total"] == 0


def test_change_planned_for_the_future_and_corrected_in_the_past(acme: Run, db: Database) -> None:
    customer_id = add_acme_ltd(acme)
    known_before = as_json(acme, "customer", "show", "ACME")["customer"]["version"]["recorded_from"]

    planned = acme(
        "customer", "change", "ACME", "--name", "Acme Group", "--from", "2099-01-01",
        "--reason", "rename agreed",
    )  # fmt: skip
    assert planned.exit_code == 0, planned.output
    assert "changed name of customer Acme Group (ACME), from 2099-01-01" in planned.stderr
    corrected = acme(
        "customer", "change", customer_id, "--phone", "+44 20 7946 0999", "--email", "",
        "--from", "2021-01-01", "--reason", "mistyped at onboarding",
    )  # fmt: skip
    assert corrected.exit_code == 0, corrected.output

    def shown(*times: str) -> dict[str, Any]:
        return as_json(acme, "customer", "show", "ACME", *times)["customer"]  # type: ignore[no-any-return]

    now = shown()
    assert now["name"] == "Acme Ltd" and now["phone"] == "+44 20 7946 0999" and now["email"] is None
    assert shown("--on", "2099-01-02")["name"] == "Acme Group"
    assert shown("--on", "2099-01-02")["phone"] == "+44 20 7946 0999"  # the fix carries on
    assert shown("--on", "2020-06-01")["phone"] == "+44 20 7946 0000"  # before the fix's date
    # What Accord believed before the correction was recorded is still there.
    believed = shown("--on", "2021-06-01", "--known-at", known_before)
    assert believed["phone"] == "+44 20 7946 0000" and believed["email"] == "it@acme-ltd.example"
    with db.reading() as s:
        tenant = get_tenant(s, "acme")
        assert tenant is not None
        entry = journal.read_entry(s, tenant.id, journal.tree_size(s, tenant.id) - 1)
        assert entry is not None
        assert (
            entry[0].actor.endswith("(accord cli)") and entry[0].reason == "mistyped at onboarding"
        )
        assert entry[0].valid_from == parse_instant("2021-01-01")


def test_history_says_what_changed_when_and_by_whom(acme: Run) -> None:
    customer_id = add_acme_ltd(acme)
    ok(acme, "customer", "change", "ACME", "--name", "Acme Group", "--from", "2099-01-01",
       "--reason", "rename agreed")  # fmt: skip
    contact_id = ok(acme, "contact", "add", "ACME", "--name", "Ada Byron", "--role", "CTO").strip()

    changes = as_json(acme, "customer", "history", "ACME")
    assert [c["kind"] for c in changes] == [
        "parties.contact.added",
        "parties.customer.changed",
        "parties.customer.created",
    ]
    assert changes[0]["entity_id"] == contact_id
    assert changes[1]["entity_id"] == customer_id and changes[1]["reason"] == "rename agreed"
    assert changes[1]["valid_from"] == "2099-01-01T00:00:00Z"
    assert {"op": "replace", "path": "/name", "value": "Acme Group"} in changes[1]["patch"]
    assert all(c["actor"].endswith("(accord cli)") for c in changes)

    text = ok(acme, "customer", "history", customer_id)
    assert "History of Acme" in text and "3 change(s), newest first" in text
    assert "Customer changed, true from 2099-01-01" in text
    assert "name: Acme Ltd → Acme Group" in text and "reason: rename agreed" in text
    assert "Contact added: Ada Byron" in text and "role: CTO" in text
    assert "(accord cli)" in text
    # As it stood before anything was recorded: nothing.
    assert as_json(acme, "customer", "history", "ACME", "--known-at", "2020-01-01") == []


def test_contacts_and_sites_are_added_changed_and_removed_from_a_date(acme: Run) -> None:
    add_acme_ltd(acme)
    contact = ok(
        acme, "contact", "add", "ACME", "--name", "Ada Byron", "--role", "CTO",
        "--email", "ada@acme-ltd.example", "--from", "2020-02-01",
    ).strip()  # fmt: skip
    ok(acme, "contact", "change", contact, "--phone", "+44 7700 900123", "--role", "",
       "--from", "2021-01-01")  # fmt: skip
    removed = acme("contact", "remove", contact, "--from", "2099-01-01", "--reason", "retiring")
    assert removed.exit_code == 0, removed.output
    assert "removed contact Ada Byron, from 2099-01-01" in removed.stderr

    site = ok(
        acme, "site", "add", "ACME", "--name", "Head office", "--city", "London",
        "--country", "GB", "--from", "2020-01-01",
    ).strip()  # fmt: skip
    ok(acme, "site", "change", site, "--postcode", "EC1A 1BB", "--from", "2022-01-01")
    ok(acme, "site", "remove", site, "--from", "2023-01-01", "--reason", "moved out")

    def parts(*times: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        shown = as_json(acme, "customer", "show", "ACME", *times)
        return shown["contacts"], shown["sites"]

    contacts, sites = parts()
    assert [(c["name"], c["role"], c["phone"]) for c in contacts] == [
        ("Ada Byron", None, "+44 7700 900123")
    ]
    assert sites == []  # removed from 2023
    contacts, sites = parts("--on", "2020-06-01")
    assert contacts[0]["role"] == "CTO" and contacts[0]["phone"] is None
    assert [(x["name"], x["postcode"]) for x in sites] == [("Head office", None)]
    assert parts("--on", "2022-06-01")[1][0]["postcode"] == "EC1A 1BB"
    assert parts("--on", "2099-01-02")[0] == []  # the planned removal

    page = ok(acme, "customer", "show", "ACME", "--on", "2022-06-01")
    assert "Ada Byron" in page and contact in page and site in page and "EC1A 1BB" in page
    kinds = [c["kind"] for c in as_json(acme, "customer", "history", "ACME")]
    for kind in ("contact.added", "contact.changed", "contact.removed", "site.added",
                 "site.changed", "site.removed"):  # fmt: skip
        assert f"parties.{kind}" in kinds


BAD = [
    (["customer", "add", "--name", "Globex", "--code", "GLX", "--status", "boss"], "status"),
    (["customer", "add", "--name", "Globex", "--code", "GLX", "--from", "2026-13-01"], "from"),
    (["customer", "add", "--name", "Globex", "--code", "glx"], "code"),
    (["customer", "add", "--name", "Globex", "--code", "ACME"], "code"),  # taken
    (["customer", "add", "--name", " ", "--code", "GLX"], "name"),
    (["customer", "add", "--name", "Globex", "--code", "GLX", "--email", "it at glx"], "email"),
    (["customer", "add", "--name", "Globex", "--code", "GLX", "--phone", "call me"], "phone"),
    (["customer", "add", "--name", "Globex", "--code", "GLX", "--notes", "a\x00b"], "notes"),
    (["customer", "change", "ACME", "--status", "gone"], "status"),
    (["customer", "change", "ACME", "--name", "X", "--from", "next week"], "from"),
    (["customer", "change", "ACME", "--name", "X", "--from", "2019-01-01"], "from"),
    (["customer", "change", "ACME", "--name", ""], "name"),
    (["customer", "change", "ACME", "--reason", "nothing"], "options"),
    (["customer", "change", "ACME", "--name", "X", "--tenant", "nowhere"], "tenant"),
    (["customer", "change", "AC ME", "--name", "X"], "customer"),
    (["customer", "list", "--on", "yesterday"], "on"),
    (["customer", "list", "--status", "gone"], "status"),
    (["customer", "show", "ACME", "--known-at", "2026-02-30"], "known-at"),
    (["contact", "add", "ACME", "--name", "Ada", "--email", "ada"], "email"),
    (["contact", "change", "no/such", "--name", "Ada"], "contact"),
    (["site", "add", "ACME", "--name", "HQ", "--country", "gb"], "country"),
    (["site", "remove", "x;y"], "site"),
]


@pytest.mark.parametrize(("args", "field"), BAD, ids=[f"{a[0]}-{a[1]}-{f}" for a, f in BAD])
def test_bad_input_names_the_field_and_changes_nothing(
    acme: Run, db: Database, args: list[str], field: str
) -> None:
    add_acme_ltd(acme)
    size = journal_size(db)
    result = acme(*args)
    assert result.exit_code == 1, result.output
    assert last_line(result.stderr).startswith(f"error: {field}: "), result.stderr
    assert "Traceback" not in result.output
    assert journal_size(db) == size
    assert as_json(acme, "customer", "show", "ACME")["customer"]["name"] == "Acme Ltd"


@pytest.mark.parametrize(
    "args",
    [
        ["customer", "show", "NOPE"],
        ["customer", "change", "NOPE", "--name", "X"],
        ["customer", "history", "NOPE"],
        ["contact", "add", "NOPE", "--name", "Ada"],
        ["site", "add", "NOPE", "--name", "HQ"],
    ],
)
def test_an_unknown_customer_is_named_and_nothing_changes(
    acme: Run, db: Database, args: list[str]
) -> None:
    add_acme_ltd(acme)
    size = journal_size(db)
    result = acme(*args)
    assert result.exit_code == 1
    assert last_line(result.stderr) == "error: not found: no customer NOPE"
    assert journal_size(db) == size


def test_an_unknown_contact_or_site_is_named(acme: Run) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    for kind in ("contact", "site"):
        result = acme(kind, "remove", missing)
        assert result.exit_code == 1
        assert last_line(result.stderr) == f"error: not found: no {kind} {missing}"


def test_another_tenants_customers_are_not_found(acme: Run, db: Database) -> None:
    customer_id = add_acme_ltd(acme)
    contact_id = ok(acme, "contact", "add", "ACME", "--name", "Ada Byron").strip()
    init(acme, "globex")
    globex_size = journal_size(db, "globex")
    acme_size = journal_size(db, "acme")

    two = acme("customer", "list")
    assert two.exit_code == 1
    assert last_line(two.stderr) == "error: tenant: give --tenant, one of: acme, globex"
    assert as_json(acme, "customer", "list", "--tenant", "globex")["total"] == 0
    assert as_json(acme, "customer", "list", "--tenant", "acme")["total"] == 1
    for args in (
        ["customer", "show", "ACME"],
        ["customer", "show", customer_id],
        ["customer", "history", customer_id],
        ["customer", "change", customer_id, "--name", "Stolen"],
        ["contact", "add", customer_id, "--name", "Mallory"],
        ["contact", "change", contact_id, "--name", "Mallory"],
        ["contact", "remove", contact_id],
    ):
        result = acme(*args, "--tenant", "globex")
        assert result.exit_code == 1, args
        assert last_line(result.stderr).startswith("error: not found: no "), args
    assert journal_size(db, "globex") == globex_size
    assert journal_size(db, "acme") == acme_size
    with db.reading() as s:
        globex = get_tenant(s, "globex")
        assert globex is not None
        assert not temporal.exists_ever(s, Customer, globex.id, customer_id)
    assert as_json(acme, "customer", "show", "ACME", "--tenant", "acme")["customer"]["name"] == (
        "Acme Ltd"
    )


def test_text_is_printed_as_typed_not_as_markup(acme: Run) -> None:
    ok(acme, "customer", "add", "--name", "[bold]Acme[/bold] & Sons", "--code", "AS")
    assert "[bold]Acme[/bold]" in ok(acme, "customer", "list")
    assert "[bold]Acme[/bold] & Sons (AS)" in ok(acme, "customer", "show", "AS")
