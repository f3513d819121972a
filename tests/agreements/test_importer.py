"""Import from spreadsheets: CSV files and XLSX workbooks of customers, sites, assets,
contracts and lines; a dry run that validates everything and changes nothing; an apply
that is all or nothing; re-imports that change nothing; changed values become changes."""

from __future__ import annotations

import csv
import shutil
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from accord.access import Actor
from accord.agreements import importer, queries, service
from accord.agreements.importer import Report, run_import
from accord.agreements.schemas import CalendarCreate, ServiceLevelCreate
from accord.store import journal
from accord.store.db import Database
from accord.store.temporal import AsOf

DATA = Path(__file__).parent / "data"
GOOD = [DATA / "good" / f"{k}.csv" for k in importer.KINDS]
BAD = [DATA / "bad" / f"{k}.csv" for k in ("customers", "assets", "lines")]
START = datetime(2024, 12, 1, tzinfo=UTC)


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


@pytest.fixture
def levels(db: Database, alice: Actor) -> dict[str, str]:
    """The service levels the files name (an import refers to them; it does not make them)."""
    with db.unit_of_work() as s:
        cal = service.create_calendar(
            s,
            actor=alice,
            data=CalendarCreate(
                name="UK office hours",
                time_zone="Europe/London",
                weekly_hours={d: [("08:00", "18:00")] for d in ("mon", "tue", "wed", "thu", "fri")},
                effective=START,
            ),
        )
        return {
            name: service.create_service_level(
                s,
                actor=alice,
                data=ServiceLevelCreate(
                    name=name,
                    calendar_id=cal,
                    targets={"p1": {"response": minutes, "resolution": minutes * 8}},
                    effective=START,
                ),
            )
            for name, minutes in (("Gold", 30), ("Silver", 60))
        }


def size(db: Database, actor: Actor) -> int:
    with db.reading() as s:
        return journal.tree_size(s, actor.tenant_id)


def run(db: Database, actor: Actor, paths: list[Path], **kw: object) -> Report:
    with db.unit_of_work() as s:
        return run_import(s, actor=actor, paths=paths, **kw)  # type: ignore[arg-type]


def counts(report: Report) -> dict[str, tuple[int, int, int]]:
    return {k: (c.created, c.changed, c.unchanged) for k, c in report.counts.items()}


ALL_NEW = {
    "customers": (2, 0, 0),
    "sites": (3, 0, 0),
    "assets": (4, 0, 0),
    "contracts": (2, 0, 0),
    "lines": (3, 0, 0),
}
ALL_SAME = {k: (0, 0, n) for k, (n, _, _) in ALL_NEW.items()}


def test_dry_run_validates_everything_and_changes_nothing(
    db: Database, alice: Actor, levels: dict[str, str]
) -> None:
    before = size(db, alice)
    report = run(db, alice, GOOD)
    assert report.problems == []
    assert counts(report) == ALL_NEW
    assert report.rows == 14 and not report.applied
    assert size(db, alice) == before
    with db.reading() as s:
        assert queries.list_assets(s, actor=alice, when=AsOf.now())[1] == 0
        assert queries.contract_by_reference(s, alice, "FAB-MSP-1") is None


def test_apply_creates_the_book_through_the_services(
    db: Database, alice: Actor, levels: dict[str, str]
) -> None:
    seen: list[tuple[int, int]] = []
    report = run(
        db, alice, GOOD, apply=True, progress=lambda done, total: seen.append((done, total))
    )
    assert report.ok and report.applied and counts(report) == ALL_NEW
    assert seen[-1] == (14, 14) and len(seen) == 14

    with db.reading() as s:
        # A group line covers every server at HQ; the spare at the depot is not covered.
        e = queries.entitlement(
            s, alice, "fab-0002", on=at("2025-06-01"), known_at=at("2099-01-01")
        )
        assert e.covered and e.contract_reference == "FAB-MSP-1" and e.service_level == "Silver"
        e = queries.entitlement(
            s, alice, "FAB-0003", on=at("2025-06-01"), known_at=at("2099-01-01")
        )
        assert not e.covered
        # A line's own `from`: covered from February, not in January.
        con = queries.find_asset(s, alice, "CON-0001")
        e = queries.entitlement(
            s, alice, "CON-0001", on=at("2025-01-15"), known_at=at("2099-01-01")
        )
        assert not e.covered and e.cause == "not_yet_covered"
        e = queries.entitlement(
            s, alice, "CON-0001", on=at("2025-03-01"), known_at=at("2099-01-01")
        )
        assert e.covered and e.service_level == "Gold"  # names match in any case
        line = queries.get_line_for(s, alice, e.line_id or "")
        assert line.price == 25050 and line.budget_minutes == 90
        assert line.external_key == "con-server-1" and line.asset_id == con.entity_id
        assert con.external_key is None and con.make == "Lenovo"
        laptop = queries.find_asset(s, alice, "FAB-0001")
        assert laptop.external_key == "desk-1001" and laptop.valid_from == START
        contract = queries.contract_by_reference(s, alice, "CON-SUP-1")
        assert contract is not None and contract.billing_period == "quarterly"
        assert contract.notice_days == 60 and contract.term_end == at("2027-01-01")
        # Every change is in the journal with who and why.
        entry, _, _ = journal.read_entry(s, alice.tenant_id, laptop.seq) or (None, b"", b"")
        assert entry is not None and entry.reason == "import assets.csv"
        assert entry.actor == alice.label


def test_reimporting_the_same_files_changes_nothing(
    db: Database, alice: Actor, levels: dict[str, str]
) -> None:
    assert run(db, alice, GOOD, apply=True).applied
    before = size(db, alice)
    again = run(db, alice, GOOD, apply=True)
    assert again.ok and again.applied
    assert counts(again) == ALL_SAME
    assert size(db, alice) == before


def workbook(path: Path, sources: list[Path]) -> Path:
    """The CSV files as the sheets of one workbook, with real date and number cells."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for src in sources:
        ws = wb.create_sheet(src.stem.capitalize())  # sheet names match in any case
        with src.open(encoding="utf-8") as f:
            rows = list(csv.reader(f))
        header = rows[0]
        ws.append(header)
        for row in rows[1:]:
            cells: list[object] = []
            for name, value in zip(header, row, strict=True):
                if not value:
                    cells.append(None)
                elif name in ("from", "until", "start", "term_end"):
                    cells.append(date.fromisoformat(value))  # a date cell
                elif name in ("price", "budget_hours"):
                    cells.append(float(value))
                elif name in ("notice_days", "renewal_months"):
                    cells.append(int(value))
                else:
                    cells.append(value)
            ws.append(cells)
    wb.save(path)
    return path


def test_an_xlsx_workbook_imports_the_same_as_the_csv_files(
    db: Database, alice: Actor, levels: dict[str, str], tmp_path: Path
) -> None:
    book = workbook(tmp_path / "book.xlsx", GOOD)
    dry = run(db, alice, [book])
    assert dry.ok and counts(dry) == ALL_NEW
    applied = run(db, alice, [book], apply=True)
    assert applied.ok and applied.applied and counts(applied) == ALL_NEW
    before = size(db, alice)
    # The same records: the CSV files find every one of them unchanged.
    same = run(db, alice, GOOD, apply=True)
    assert same.ok and counts(same) == ALL_SAME
    assert size(db, alice) == before
    with db.reading() as s:
        entry = journal.read_entry(s, alice.tenant_id, before - 1)
        assert entry is not None and entry[0].reason == "import book.xlsx"


def test_a_workbook_may_hold_some_kinds_and_csv_files_the_rest(
    db: Database, alice: Actor, levels: dict[str, str], tmp_path: Path
) -> None:
    book = workbook(tmp_path / "parties.xlsx", GOOD[:2])
    report = run(db, alice, [book, *GOOD[2:]], apply=True)
    assert report.ok and counts(report) == ALL_NEW


def copy_good(tmp_path: Path) -> list[Path]:
    out = []
    for p in GOOD:
        shutil.copy(p, tmp_path / p.name)
        out.append(tmp_path / p.name)
    return out


def edit(path: Path, key: str, column: str, value: str) -> None:
    with path.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    fields = list(rows[0])
    for r in rows:
        if key in r.values():
            r[column] = value
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)


def test_a_changed_price_becomes_a_change_from_the_day_given(
    db: Database, alice: Actor, levels: dict[str, str], tmp_path: Path
) -> None:
    assert run(db, alice, GOOD, apply=True).applied
    files = copy_good(tmp_path)
    edit(files[4], "fab-laptop-1", "price", "35.50")
    edit(files[0], "CON", "name", "Contoso Dental Group")
    before = size(db, alice)

    dry = run(db, alice, files, changes_from=at("2026-01-01"))
    assert dry.ok and dry.counts["lines"].changed == 1 and dry.counts["customers"].changed == 1
    assert size(db, alice) == before

    report = run(db, alice, files, apply=True, changes_from=at("2026-01-01"))
    assert report.ok and report.applied
    assert (report.counts["lines"].changed, report.counts["lines"].unchanged) == (1, 2)
    assert size(db, alice) == before + 2  # one change each, nothing else
    with db.reading() as s:
        e = queries.entitlement(
            s, alice, "FAB-0001", on=at("2026-01-01"), known_at=at("2099-01-01")
        )
        line_id = e.line_id or ""
        assert (
            queries.get_line_for(s, alice, line_id, AsOf(at("2025-12-31"), at("2099-01-01"))).price
            == 3100
        )
        now = queries.get_line_for(s, alice, line_id, AsOf(at("2026-01-01"), at("2099-01-01")))
        assert now.price == 3550
        entry = journal.read_entry(s, alice.tenant_id, now.seq)
        assert entry is not None
        assert entry[0].op == "patch" and entry[0].data == {"price": 3550}
        assert entry[0].reason == "import lines.csv"
    # And importing the edited files again changes nothing more.
    assert counts(run(db, alice, files, apply=True, changes_from=at("2026-01-01"))) == ALL_SAME
    assert size(db, alice) == before + 2


def test_problems_are_reported_by_file_row_and_column_and_nothing_is_applied(
    db: Database, alice: Actor, levels: dict[str, str]
) -> None:
    before = size(db, alice)
    report = run(db, alice, BAD, apply=True)
    assert not report.applied
    got = {(p.file, p.row, p.column): p.problem for p in report.problems}
    assert got[("customers.csv", 2, "email")].startswith("value is not a valid email address")
    assert got[("customers.csv", 4, "code")] == "duplicate: row 3 has the same key"
    assert got[("assets.csv", 2, "customer_code")] == (
        "customer NOPE is neither on record nor in the import"
    )
    assert "should match pattern" in got[("assets.csv", 3, "asset_type")]
    assert got[("assets.csv", 4, "from")] == "not a date (YYYY-MM-DD)"
    assert got[("assets.csv", 5, "customer_code")] == (
        "customer FAB: its row (customers.csv row 2) has problems"
    )
    assert got[("lines.csv", 2, "contract")] == (
        "contract NO-SUCH is neither on record nor in the import"
    )
    assert got[("lines.csv", 3, "price")] == "not an amount (e.g. 12.34)"
    assert len(report.problems) == 8, report.problems
    # In the order of the files and their rows.
    assert [p.file for p in report.problems] == sorted(
        (p.file for p in report.problems), key=["customers.csv", "assets.csv", "lines.csv"].index
    )
    # The good row (GOOD) was not kept either: all or nothing.
    assert size(db, alice) == before
    assert report.counts["customers"].created == 1


def test_the_services_checks_are_reported_against_the_row(
    db: Database, alice: Actor, levels: dict[str, str], tmp_path: Path
) -> None:
    files = copy_good(tmp_path)
    # The customer is on record only from today, so not when the contract starts.
    edit(files[0], "FAB", "from", "")
    report = run(db, alice, files)
    problems = {(p.file, p.row, p.column) for p in report.problems}
    assert ("sites.csv", 2, "from") in problems  # a site of FAB from 2024-12-01
    assert ("contracts.csv", 2, "customer_code") in problems
    assert not report.applied


def test_header_problems(
    db: Database, alice: Actor, levels: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "assets.csv").write_text("tag,customer_code,colour\nX-1,FAB,red\n")
    (tmp_path / "notes.csv").write_text("a,b\n1,2\n")
    (tmp_path / "sites.txt").write_text("")
    wb = openpyxl.Workbook()
    wb.active.title = "Summary"
    wb.save(tmp_path / "book.xlsx")
    (tmp_path / "broken.xlsx").write_bytes(b"not a zip file")
    paths = [
        tmp_path / n for n in ("assets.csv", "notes.csv", "sites.txt", "book.xlsx", "broken.xlsx")
    ]
    report = run(db, alice, [*paths, tmp_path / "customers.csv"])
    got = {(p.file, p.row, p.column): p.problem for p in report.problems}
    assert got[("assets.csv", 1, "colour")].startswith(
        "unknown column: the columns of assets are tag,"
    )
    assert got[("assets.csv", 1, "asset_type")] == "required column is missing"
    assert got[("notes.csv", 0, "")].startswith("name the file after what it holds: customers,")
    assert got[("sites.txt", 0, "")] == "not a .csv or .xlsx file"
    assert got[("book.xlsx:Summary", 0, "")].startswith("name the sheet after what it holds")
    assert got[("broken.xlsx", 0, "")].startswith("not a readable XLSX workbook")
    assert got[("customers.csv", 0, "")] == "no such file"


def test_cells_are_typed_as_their_columns(
    db: Database, alice: Actor, levels: dict[str, str], tmp_path: Path
) -> None:
    files = copy_good(tmp_path)
    edit(files[4], "fab-laptop-1", "price", "31.005")
    edit(files[4], "fab-servers-hq", "budget_hours", "0.001")
    edit(files[3], "CON-SUP-1", "notice_days", "thirty")
    report = run(db, alice, files)
    got = {(p.file, p.row, p.column): p.problem for p in report.problems}
    assert got[("lines.csv", 2, "price")] == "GBP amounts have at most 2 decimals"
    assert got[("lines.csv", 3, "budget_hours")] == "hours as a number of whole minutes, e.g. 1.5"
    assert got[("contracts.csv", 3, "notice_days")] == "not a whole number"
    # A line of a contract whose row failed says so.
    assert got[("lines.csv", 4, "contract")] == (
        "contract CON-SUP-1: its row (contracts.csv row 3) has problems"
    )
    assert len(got) == 4


def test_what_an_import_cannot_change_is_a_problem(
    db: Database, alice: Actor, levels: dict[str, str], tmp_path: Path
) -> None:
    assert run(db, alice, GOOD, apply=True).applied
    files = copy_good(tmp_path)
    edit(files[3], "FAB-MSP-1", "billing_period", "annual")
    edit(files[4], "fab-laptop-1", "asset_tag", "FAB-0002")
    report = run(db, alice, files, apply=True)
    got = {(p.file, p.row, p.column): p.problem for p in report.problems}
    assert got[("contracts.csv", 2, "billing_period")].startswith(
        "differs from the record (monthly): an import cannot change it"
    )
    assert got[("lines.csv", 2, "asset_tag")].startswith("differs from the line on record")
    assert not report.applied


def test_an_asset_matched_by_external_key_is_retagged(
    db: Database, alice: Actor, levels: dict[str, str], tmp_path: Path
) -> None:
    assert run(db, alice, GOOD, apply=True).applied
    files = copy_good(tmp_path)
    edit(files[2], "desk-1001", "tag", "FAB-L-0001")
    edit(files[4], "fab-laptop-1", "asset_tag", "FAB-L-0001")
    report = run(db, alice, files, apply=True, changes_from=at("2026-01-01"))
    assert report.ok, report.problems
    assert (report.counts["assets"].created, report.counts["assets"].changed) == (0, 1)
    with db.reading() as s:
        a = queries.find_asset(s, alice, "FAB-L-0001")
        assert a.external_key == "desk-1001"


def test_money_in_major_units() -> None:
    assert importer.to_minor(Decimal("12.34"), "GBP") == 1234
    assert importer.to_minor(Decimal("1200"), "JPY") == 1200
    assert importer.to_minor(Decimal("1.234"), "KWD") == 1234
    with pytest.raises(ValueError, match="at most 2 decimals"):
        importer.to_minor(Decimal("0.001"), "EUR")
    with pytest.raises(ValueError, match="negative"):
        importer.to_minor(Decimal("-1"), "EUR")
    assert importer.parse_amount(12.34) == Decimal("12.34")
    assert importer.parse_amount(" £1,234.50 ") == Decimal("1234.50")
    with pytest.raises(ValueError, match="not an amount"):
        importer.parse_amount("twelve")


def test_only_writers_may_import(db: Database, carol: Actor, levels: dict[str, str]) -> None:
    from accord.errors import Forbidden

    with pytest.raises(Forbidden):
        run(db, carol, GOOD)


def test_a_change_the_services_refuse_is_a_problem_of_its_row(
    db: Database, alice: Actor, levels: dict[str, str], tmp_path: Path
) -> None:
    assert run(db, alice, GOOD, apply=True).applied
    files = copy_good(tmp_path)
    edit(files[3], "CON-SUP-1", "title", "Server and backup support")
    # CON-SUP-1's term ends 2027-01-01: there is no contract to change in 2028.
    report = run(db, alice, files, apply=True, changes_from=at("2028-01-01"))
    assert [(p.file, p.row, p.column) for p in report.problems] == [("contracts.csv", 3, "")]
    assert report.problems[0].problem.startswith(
        "changing it from 2028-01-01: the contract is not in force on 2028-01-01"
    )
    assert not report.applied


SITES_HEADER = "customer_code,name,address,city,postcode,country,external_key,from\n"
KEYED_SITES = (
    "FAB,HQ,1 High Street,Leeds,LS1 1AA,GB,S-1,2024-12-01\n"
    "FAB,Depot,Unit 4 Canal Road,Bradford,BD1 2BB,GB,S-2,2024-12-01\n"
    "CON,Surgery,12 Market Place,York,YO1 7HH,GB,S-3,2024-12-01\n"
)


def sites_file(tmp_path: Path, rows: str) -> Path:
    path = tmp_path / "sites.csv"
    path.write_text(SITES_HEADER + rows, encoding="utf-8")
    return path


def site_names(db: Database, actor: Actor) -> dict[str, tuple[str, str | None]]:
    """Site id -> (name, external key), every site of every customer, as of now."""
    from accord.parties import queries as parties

    out = {}
    with db.reading() as s:
        for c in parties.list_customers(s, actor=actor, when=AsOf.now())[0]:
            for x in parties.sites_of(s, actor, c.entity_id, when=AsOf.now()):
                out[x.entity_id] = (x.name, x.external_key)
    return out


def test_sites_with_external_keys_reimport_as_no_change_and_a_new_name_is_a_rename(
    db: Database, alice: Actor, levels: dict[str, str], tmp_path: Path
) -> None:
    sites = sites_file(tmp_path, KEYED_SITES)
    first = run(db, alice, [GOOD[0], sites], apply=True)
    assert first.ok and first.counts["sites"].created == 3
    ids = site_names(db, alice)
    assert sorted(ids.values()) == [("Depot", "S-2"), ("HQ", "S-1"), ("Surgery", "S-3")]

    before = size(db, alice)
    again = run(db, alice, [GOOD[0], sites], apply=True)
    assert again.ok and counts(again)["sites"] == (0, 0, 3)
    assert size(db, alice) == before

    # The same key under a new name: the site is renamed, not a second one created.
    sites.write_text(SITES_HEADER + KEYED_SITES.replace("FAB,HQ,", "FAB,Head office,"))
    renamed = run(db, alice, [sites], apply=True, changes_from=at("2026-01-01"))
    assert renamed.ok, renamed.problems
    assert counts(renamed)["sites"] == (0, 1, 2)
    assert size(db, alice) == before + 1
    hq = next(i for i, (_, key) in ids.items() if key == "S-1")
    assert site_names(db, alice)[hq] == ("Head office", "S-1")
    with db.reading() as s:
        from accord.parties import queries as parties

        was = parties.get_site_for(s, alice, hq, when=AsOf(at("2025-12-31"), at("2099-01-01")))
        assert was.name == "HQ"
    # Assets in the same import may name the site by its new name.
    assets = tmp_path / "assets.csv"
    shutil.copy(GOOD[2], assets)
    edit(assets, "FAB-0001", "site", "Head office")
    edit(assets, "FAB-0002", "site", "Head office")
    edit(assets, "FAB-0003", "site", "Depot")
    with_assets = run(db, alice, [sites, assets])
    assert with_assets.ok, with_assets.problems
    assert counts(with_assets)["sites"] == (0, 0, 3)


def test_sites_without_keys_match_by_name_and_take_the_key_when_one_is_given(
    db: Database, alice: Actor, levels: dict[str, str], tmp_path: Path
) -> None:
    assert run(db, alice, GOOD[:2], apply=True).applied  # the sites file has no keys
    ids = set(site_names(db, alice))
    keyed = run(db, alice, [sites_file(tmp_path, KEYED_SITES)], apply=True)
    assert keyed.ok and counts(keyed)["sites"] == (0, 3, 0)
    after = site_names(db, alice)
    assert set(after) == ids and sorted(k for _, k in after.values()) == ["S-1", "S-2", "S-3"]
    # A file without the column leaves the keys alone.
    before = size(db, alice)
    assert counts(run(db, alice, GOOD[:2], apply=True))["sites"] == (0, 0, 3)
    assert size(db, alice) == before and site_names(db, alice) == after


def test_site_external_key_problems_name_file_row_and_column(
    db: Database, alice: Actor, levels: dict[str, str], tmp_path: Path
) -> None:
    before = size(db, alice)
    dup = KEYED_SITES.replace(",S-2,", ",S-1,")
    report = run(db, alice, [GOOD[0], sites_file(tmp_path, dup)], apply=True)
    assert not report.applied
    got = {(p.file, p.row, p.column): p.problem for p in report.problems}
    assert got == {("sites.csv", 3, "external_key"): "duplicate: row 2 has the same key"}
    assert size(db, alice) == before

    # A key on record for another customer's site: an import does not move sites.
    assert run(db, alice, [GOOD[0], sites_file(tmp_path, KEYED_SITES)], apply=True).applied
    moved = KEYED_SITES.replace("CON,Surgery,", "FAB,Surgery,")
    report = run(db, alice, [sites_file(tmp_path, moved)], apply=True)
    got = {(p.file, p.row, p.column): p.problem for p in report.problems}
    assert got == {
        ("sites.csv", 4, "customer_code"): "the site with this key (Surgery) is on record for "
        "another customer: an import cannot move it"
    }
    assert not report.applied


def test_an_asset_matched_by_tag_takes_the_key_given_once(
    db: Database, alice: Actor, levels: dict[str, str], tmp_path: Path
) -> None:
    assert run(db, alice, GOOD, apply=True).applied  # CON-0001 comes without a key
    files = copy_good(tmp_path)
    edit(files[2], "CON-0001", "external_key", "desk-2001")
    report = run(db, alice, files, apply=True, changes_from=at("2026-01-01"))
    assert report.ok, report.problems
    assert (report.counts["assets"].created, report.counts["assets"].changed) == (0, 1)
    with db.reading() as s:
        assert queries.find_asset(s, alice, "CON-0001").external_key == "desk-2001"
    before = size(db, alice)
    again = run(db, alice, files, apply=True, changes_from=at("2026-01-01"))
    assert again.ok and counts(again)["assets"] == (0, 0, 4) and size(db, alice) == before


def test_no_two_assets_share_an_external_key(
    db: Database, alice: Actor, levels: dict[str, str]
) -> None:
    from accord.agreements.schemas import AssetUpdate
    from accord.errors import Invalid

    assert run(db, alice, GOOD, apply=True).applied
    before = size(db, alice)
    with db.reading() as s:
        con = queries.find_asset(s, alice, "CON-0001").entity_id
    change = AssetUpdate(external_key="desk-1001", reason="the desk's key")
    with (
        pytest.raises(Invalid, match="another asset already has the key desk-1001"),
        db.unit_of_work() as s,
    ):
        service.change_asset(s, actor=alice, asset_id=con, data=change)
    assert size(db, alice) == before
