"""`accord terms`, `accord offer` and `accord evidence export` on SQLite and PostgreSQL,
through the same services and queries as the API."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

from accord.access import Actor
from accord.evidence import service
from accord.evidence.schemas import parse_events
from accord.store import journal
from accord.store.db import Database
from tests.cli.conftest import Run, last_line
from tests.evidence.conftest import MSA_V2, Book, journey


def ok(run: Run, *args: str) -> str:
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result.stdout


def fails(run: Run, *args: str) -> str:
    result = run(*args)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    return last_line(result.stderr)


def size(db: Database, actor: Actor) -> int:
    with db.reading() as s:
        return journal.tree_size(s, actor.tenant_id)


def test_terms_add_publish_and_list(
    cli_on: Run, db: Database, book: Book, alice: Actor, tmp_path: Path
) -> None:
    doc_id = last_line(ok(cli_on, "terms", "add", "DPA", "--title", "Data processing addendum"))
    text = tmp_path / "dpa-v1.html"
    text.write_bytes(b"<h1>DPA</h1><p>Version one.</p>")
    version_id = last_line(
        ok(cli_on, "terms", "publish", "dpa", "--label", "v1", "--file", str(text),
           "--effective", "2026-01-01", "--published", "2025-12-01")
    )  # fmt: skip
    listed = json.loads(ok(cli_on, "terms", "list", "--json"))["items"]
    dpa = next(d for d in listed if d["code"] == "DPA")
    assert dpa["id"] == doc_id and dpa["latest_version_id"] == version_id
    (v1,) = dpa["versions"]
    assert (v1["media_type"], v1["effective_from"][:10]) == ("text/html", "2026-01-01")
    table = ok(cli_on, "terms", "list")
    assert "DPA" in table and "v2 (in effect)" in table


def test_terms_refusals_name_the_option(
    cli_on: Run, db: Database, book: Book, alice: Actor, tmp_path: Path
) -> None:
    before = size(db, alice)
    assert "code" in fails(cli_on, "terms", "add", "msa x", "--title", "T")
    assert fails(cli_on, "terms", "publish", "MSA", "--label", "v3", "--file",
                 str(tmp_path / "none.txt")).startswith("error: file: no file")  # fmt: skip
    pdf = tmp_path / "not.pdf"
    pdf.write_text("hello")
    assert "file: not a PDF" in fails(cli_on, "terms", "publish", "MSA", "--label", "v3",
                                      "--file", str(pdf))  # fmt: skip
    text = tmp_path / "v.txt"
    text.write_text("x")
    assert "effective: not a date" in fails(cli_on, "terms", "publish", "MSA", "--label", "v3",
                                            "--file", str(text), "--effective", "soon")  # fmt: skip
    assert "label" in fails(cli_on, "terms", "publish", "MSA", "--label", "v2", "--file", str(text))
    assert "not found" in fails(cli_on, "terms", "publish", "NOPE", "--label", "v1",
                                "--file", str(text))  # fmt: skip
    assert size(db, alice) == before


def _capture(db: Database, book: Book) -> None:
    with db.unit_of_work() as s:
        service.capture_events(
            s,
            offer_id=book.offer,
            token=book.token,
            events=parse_events({"events": journey()}),
            origin=service.Origin(ip="203.0.113.9", user_agent="Mozilla/5.0"),
        )


def test_offer_list_and_show(cli_on: Run, db: Database, book: Book) -> None:
    _capture(db, book)
    listed: dict[str, Any] = json.loads(ok(cli_on, "offer", "list", "--customer", "fab", "--json"))
    assert [o["id"] for o in listed["items"]] == [book.offer]
    assert listed["items"][0]["status"] == "accepted" and listed["items"][0]["terms"] == "MSA v2"
    assert json.loads(ok(cli_on, "offer", "list", "--terms", "MSA/v1", "--json"))["total"] == 0
    assert json.loads(ok(cli_on, "offer", "list", "--status", "open", "--json"))["total"] == 0
    assert "Fabrikam" in ok(cli_on, "offer", "list")
    shown = json.loads(ok(cli_on, "offer", "show", book.offer, "--json"))
    assert shown["decided_ip"] == "203.0.113.9" and shown["decided_by"] == "Fiona Park"
    assert [j["kind"] for j in shown["journey"]] == [
        "screen",
        "screen",
        "tick",
        "screen",
        "accepted",
    ]
    table = ok(cli_on, "offer", "show", book.offer)
    assert "[x] I agree to the" in table and "[ ] I agree to the" in table
    assert "accepted" in table and "Fabrikam Ltd" in table
    assert "not found" in fails(cli_on, "offer", "show", "00000000-0000-0000-0000-000000000000")
    assert cli_on("offer", "list", "--status", "maybe").exit_code == 2  # a usage error


def test_evidence_export(cli_on: Run, db: Database, book: Book, tmp_path: Path) -> None:
    _capture(db, book)
    target = tmp_path / "fab.zip"
    ok(cli_on, "evidence", "export", "FAB", "--out", str(target))
    z = zipfile.ZipFile(io.BytesIO(target.read_bytes()))
    manifest = json.loads(z.read("manifest.json"))
    assert manifest["customer"]["code"] == "FAB" and len(manifest["offers"]) == 1
    assert z.read(manifest["terms_versions"][0]["file"]) == MSA_V2
    assert "out" in fails(cli_on, "evidence", "export", "FAB", "--out", str(tmp_path))
    assert "not found" in fails(cli_on, "evidence", "export", "NOPE", "--out", str(target))
