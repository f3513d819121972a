"""`accord coverage`, `asset`, `contract`, `line`, `invoice` and `import`: the agreements
from the command line, through the same services and queries as the API, on SQLite and on
PostgreSQL. The book is the one of tests/agreements/conftest.py (northwind's FAB-MSP-1: a
laptop by itself at Gold, every server at HQ at Silver, a spare server at the depot)."""

from __future__ import annotations

import csv
import io
import json
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from accord.access import Actor
from accord.agreements import service
from accord.agreements.cli import importing as agreements_import
from accord.agreements.schemas import CalendarCreate, ServiceLevelCreate
from accord.store import journal
from accord.store.db import Database
from tests.agreements import conftest as agreements
from tests.agreements.conftest import DAY, Book, today
from tests.cli.conftest import Run, last_line

DATA = Path(__file__).resolve().parents[1] / "agreements" / "data"

book = agreements.book  # the fixture: northwind's book of agreements


def day(t: datetime) -> str:
    return f"{t:%Y-%m-%d}"


def ok(run: Run, *args: str) -> str:
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result.stdout


def as_json(run: Run, *args: str) -> Any:
    return json.loads(ok(run, *args, "--json"))


def fails(run: Run, *args: str) -> str:
    """Run a command that must fail with exit 1 and one line on stderr; that line."""
    result = run(*args)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    return last_line(result.stderr)


def size(db: Database, actor: Actor) -> int:
    with db.reading() as s:
        return journal.tree_size(s, actor.tenant_id)


# --- coverage ----------------------------------------------------------------------------------


def test_coverage_of_a_covered_asset(cli_on: Run, book: Book) -> None:
    page = ok(cli_on, "coverage", "fab-0001", "--on", day(today()))
    assert "FAB-0001 is covered on" in page
    assert "FAB-MSP-1" in page and "Gold" in page
    assert "respond within 30 min, resolve within 4 h" in page
    answer = as_json(cli_on, "coverage", "FAB-0002")
    assert answer["covered"] is True and answer["service_level"] == "Silver"
    assert answer["line_id"] == book.server_line
    assert answer["targets"] == {"p1": {"response": 60, "resolution": 480}}


def test_coverage_not_covered_says_why(cli_on: Run, book: Book) -> None:
    never = ok(cli_on, "coverage", "FAB-0003")
    assert "FAB-0003 is not covered" in never and "Never covered" in never

    before = datetime.now().astimezone().isoformat()
    tomorrow = day(today() + DAY)
    cancelled = cli_on(
        "contract", "cancel", "FAB-MSP-1", "--from", tomorrow, "--reason", "customer left",
        "--waive-notice",
    )  # fmt: skip
    assert cancelled.exit_code == 0, cancelled.output
    assert f"cancelled contract FAB-MSP-1 from {tomorrow}" in cancelled.stderr

    assert "is covered" in ok(cli_on, "coverage", "FAB-0001", "--on", day(today()))
    page = ok(cli_on, "coverage", "FAB-0001", "--on", tomorrow)
    assert "FAB-0001 is not covered" in page
    assert f"contract FAB-MSP-1 cancelled, effective {tomorrow}" in page
    assert "customer left" in page
    answer = as_json(cli_on, "coverage", "FAB-0001", "--on", tomorrow)
    assert answer["covered"] is False and answer["cause"] == "cancelled"
    # As Accord knew it before the cancellation, it was covered tomorrow too.
    known = as_json(cli_on, "coverage", "FAB-0001", "--on", tomorrow, "--known-at", before)
    assert known["covered"] is True


def test_coverage_of_an_unknown_tag_exits_1(cli_on: Run, book: Book) -> None:
    assert "no asset with the id, tag or serial 'NOPE-1'" in fails(cli_on, "coverage", "NOPE-1")
    assert fails(cli_on, "coverage", "FAB-0001", "--on", "yesterday") == (
        "error: on: not a date (YYYY-MM-DD) or date and time (ISO 8601, UTC or with an offset)"
    )


# --- assets, contracts, lines ------------------------------------------------------------------


def test_asset_list_and_show_with_its_coverage_over_time(cli_on: Run, book: Book) -> None:
    listed = as_json(cli_on, "asset", "list")
    assert listed["total"] == 3 and [a["tag"] for a in listed["items"]] == [
        "FAB-0001", "FAB-0002", "FAB-0003",
    ]  # fmt: skip
    assert listed["items"][0]["customer"] == "FAB" and listed["items"][0]["site"] == "HQ"
    assert as_json(cli_on, "asset", "list", "--q", "server")["total"] == 2
    assert as_json(cli_on, "asset", "list", "--customer", "fab", "--limit", "1")["total"] == 3
    assert "3 asset(s)" in ok(cli_on, "asset", "list")
    assert "no customer" in fails(cli_on, "asset", "list", "--customer", "NOPE")

    page = ok(cli_on, "asset", "show", "SN-LAP-1")  # by serial too
    assert "FAB-0001" in page and "Coverage over time" in page
    assert "FAB-MSP-1" in page and "£31.00" in page and day(book.start) in page
    shown = as_json(cli_on, "asset", "show", "FAB-0003")
    assert shown["coverage"] == [] and shown["entitlement"]["covered"] is False


def test_contract_list_show_and_renew(cli_on: Run, book: Book) -> None:
    listed = as_json(cli_on, "contract", "list")
    (item,) = listed["items"]
    assert item["reference"] == "FAB-MSP-1" and item["customer"] == "FAB" and item["in_force"]
    assert "FAB-MSP-1" in ok(cli_on, "contract", "list", "--customer", "FAB")
    page = ok(cli_on, "contract", "show", "fab-msp-1")
    assert "every server at HQ" in page and "asset FAB-0001" in page
    assert "Silver, £100.00, budget 2 h a month, from 2025-01-01" in page
    shown = as_json(cli_on, "contract", "show", "FAB-MSP-1")
    assert {ln["id"] for ln in shown["lines"]} == {book.laptop_line, book.server_line}
    assert fails(cli_on, "contract", "renew", "FAB-MSP-1", "--reason", "another year") == (
        "error: to: the contract is rolling: it has no term to renew"
    )
    assert "no contract" in fails(cli_on, "contract", "show", "NOPE-1")


def test_contract_cancel_with_a_bad_date_names_the_field(
    cli_on: Run,
    book: Book,
    db: Database,
    alice: Actor,
) -> None:
    before = size(db, alice)
    line = fails(
        cli_on, "contract", "cancel", "FAB-MSP-1", "--from", "2026-02-30", "--reason", "x y z"
    )
    assert line == (
        "error: from: not a date (YYYY-MM-DD) or date and time (ISO 8601, UTC or with an offset)"
    )
    # Inside the notice period without the waiver: the service says why, named by the option.
    line = fails(
        cli_on, "contract", "cancel", "FAB-MSP-1", "--from", day(today() + DAY), "--reason", "left"
    )
    assert line.startswith("error: from: the contract needs 30 days' notice")
    assert size(db, alice) == before


def test_line_price_and_take_off(cli_on: Run, book: Book, db: Database, alice: Actor) -> None:
    later = day(today() + 40 * DAY)
    changed = cli_on(
        "line", "price", book.laptop_line, "--price", "35.5", "--from", later,
        "--reason", "new price list",
    )  # fmt: skip
    assert changed.exit_code == 0, changed.output
    assert f"costs £35.50 from {later}" in changed.stderr
    assert "£31.00" in ok(cli_on, "contract", "show", "FAB-MSP-1")
    assert "£35.50" in ok(cli_on, "contract", "show", "FAB-MSP-1", "--on", later)

    before = size(db, alice)
    assert fails(
        cli_on, "line", "price", book.laptop_line, "--price", "35.555", "--from", later,
        "--reason", "typo",
    ) == "error: price: GBP amounts have at most 2 decimals"  # fmt: skip
    assert (
        fails(
            cli_on,
            "line",
            "price",
            book.laptop_line,
            "--price",
            "three",
            "--from",
            later,
            "--reason",
            "x y",
        )
        == "error: price: not an amount (e.g. 12.34)"
    )
    assert size(db, alice) == before

    gone = day(today() + 50 * DAY)
    off = cli_on("asset", "take-off", "FAB-0001", "--from", gone, "--reason", "sold the laptop")
    assert off.exit_code == 0, off.output
    answer = as_json(cli_on, "coverage", "FAB-0001", "--on", gone)
    assert answer["covered"] is False and answer["cause"] == "removed"
    assert "sold the laptop" in answer["reason"]
    ended = cli_on(
        "line", "take-off", book.server_line, "--from", later, "--reason", "servers to cloud"
    )
    assert ended.exit_code == 0, ended.output
    assert as_json(cli_on, "coverage", "FAB-0002", "--on", later)["covered"] is False


# --- invoices ----------------------------------------------------------------------------------


def test_invoice_run_show_and_csv(cli_on: Run, book: Book) -> None:
    month = f"{today():%Y-%m}"
    run = cli_on("invoice", "run", "--period", month)
    assert run.exit_code == 0, run.output
    number = f"FAB-MSP-1/{month}"
    assert run.stdout.strip() == f"{number}\t£131.00\t2 line(s)"
    assert "issued 1 invoice(s)" in run.stderr
    again = cli_on("invoice", "run", "--period", month, "--contract", "FAB-MSP-1")
    assert again.exit_code == 0 and f"already invoiced for {month}" in again.stderr

    listed = as_json(cli_on, "invoice", "list")
    assert [i["number"] for i in listed["items"]] == [number] and listed["items"][0][
        "total"
    ] == 13100
    page = ok(cli_on, "invoice", "show", number)
    assert f"Invoice {number}" in page and "Total £131.00" in page and "FAB-0002" in page

    rows = list(csv.DictReader(io.StringIO(ok(cli_on, "invoice", "csv", number))))
    assert [(r["tag"], r["kind"], r["amount"], r["currency"]) for r in rows] == [
        ("FAB-0001", "charge", "31.00", "GBP"),
        ("FAB-0002", "charge", "100.00", "GBP"),
    ]
    assert rows[0]["service_level"] == "Gold" and rows[0]["number"] == number

    assert "no invoice FAB-MSP-1/1999-01" in fails(cli_on, "invoice", "show", "FAB-MSP-1/1999-01")
    assert fails(cli_on, "invoice", "run", "--period", "next month") == (
        "error: period: a month, YYYY-MM (or a day of the period, YYYY-MM-DD)"
    )


# --- import ------------------------------------------------------------------------------------


@pytest.fixture
def levels(db: Database, alice: Actor) -> None:
    with db.unit_of_work() as s:
        cal = service.create_calendar(
            s,
            actor=alice,
            data=CalendarCreate(
                name="Office hours",
                weekly_hours={"mon": [("09:00", "17:00")]},
                effective="2024-01-01",
            ),  # fmt: skip
        )
        for name in ("Gold", "Silver"):
            service.create_service_level(
                s,
                actor=alice,
                data=ServiceLevelCreate(
                    name=name,
                    calendar_id=cal,
                    targets={"p1": {"response": 30, "resolution": 60}},
                    effective="2024-01-01",
                ),  # fmt: skip
            )


def test_import_dry_run_then_apply_then_again(
    cli_on: Run, db: Database, alice: Actor, levels: None, tmp_path: Path
) -> None:
    files = [str(p) for p in sorted((DATA / "good").glob("*.csv"))]
    before = size(db, alice)
    dry = cli_on("import", *files)
    assert dry.exit_code == 0, dry.output
    assert (
        "Rows would import" in dry.stdout and "dry run of 14 row(s): nothing changed" in dry.stderr
    )
    assert size(db, alice) == before
    assert as_json(cli_on, "asset", "list")["total"] == 0

    applied = cli_on("import", *files, "--apply")
    assert applied.exit_code == 0, applied.output
    assert "imported 14 row(s)" in applied.stderr
    after = size(db, alice)
    assert after > before
    assert as_json(cli_on, "coverage", "FAB-0002", "--on", "2025-06-01")["contract_reference"] == (
        "FAB-MSP-1"
    )

    again = cli_on("import", *files, "--apply")
    assert again.exit_code == 0, again.output
    assert size(db, alice) == after

    # A changed price is a change from --from.
    lines = tmp_path / "lines.csv"
    shutil.copy(DATA / "good" / "lines.csv", lines)
    lines.write_text(lines.read_text().replace("31.00", "33.00"))
    changed = cli_on("import", str(lines), "--apply", "--from", "2026-01-01")
    assert changed.exit_code == 0, changed.output
    assert size(db, alice) == after + 1


def test_import_with_problems_prints_them_and_exits_1(
    cli_on: Run, db: Database, alice: Actor, levels: None
) -> None:
    files = [str(p) for p in sorted((DATA / "bad").glob("*.csv"))]
    before = size(db, alice)
    for extra in ((), ("--apply",)):
        result = cli_on("import", *files, *extra)
        assert result.exit_code == 1, result.output
        assert "Problems (8)" in result.stdout
        assert (
            "customers.csv" in result.stdout
            and "duplicate: row 3 has the same key" in result.stdout
        )
        assert "not a date (YYYY-MM-DD)" in result.stdout
        assert last_line(result.stderr).startswith("error: 8 problem(s) in the files")
    assert size(db, alice) == before
    assert "no such file" in cli_on("import", "nowhere/assets.csv").stdout


def test_import_shows_a_progress_bar_on_large_files(
    cli_on: Run, levels: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(agreements_import, "BAR_FROM", 10)  # "large", for a test's sake
    files = [str(p) for p in sorted((DATA / "good").glob("*.csv"))]
    result = cli_on("import", *files)
    assert result.exit_code == 0, result.output
    assert "importing rows" in result.stderr and "14/14" in result.stderr
