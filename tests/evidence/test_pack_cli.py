"""`accord evidence pack` and `accord evidence verify` on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from accord.access import Actor
from accord.store.checkpoints import load_key
from accord.store.db import Database
from tests.cli.conftest import Run, last_line
from tests.evidence.conftest import Book
from tests.evidence.test_cli import _capture, fails, ok


def test_pack_then_verify(
    cli_on: Run, db: Database, book: Book, tmp_path: Path, alice: Actor, mallory: Actor
) -> None:
    _capture(db, book)
    target = tmp_path / "pack.pdf"
    pack_id = last_line(ok(cli_on, "evidence", "pack", book.offer, "--tenant", "northwind",
                           "--out", str(target)))  # fmt: skip
    assert len(pack_id) == 36
    data = target.read_bytes()
    assert data.startswith(b"%PDF-") and b"\n%%ACCORD-PACK " in data
    shown = ok(cli_on, "evidence", "verify", str(target), "--tenant", "northwind")
    assert shown.splitlines()[-1] == "verified"
    assert "consistency proof" in shown and "blobs" in shown

    # an explicit key: the tenant's passes, another tenant's does not
    keys = tmp_path / "keys"
    key = load_key(keys, "northwind").verifier_key()
    assert last_line(ok(cli_on, "evidence", "verify", str(target), "--key", key)) == "verified"
    other = load_key(keys, "contoso").verifier_key()
    assert "FAILED" in fails(cli_on, "evidence", "verify", str(target), "--key", other)

    # one byte altered fails, naming what
    middle = len(data) // 3
    target.write_bytes(data[:middle] + bytes([data[middle] ^ 1]) + data[middle + 1 :])
    assert "SHA-256" in fails(cli_on, "evidence", "verify", str(target), "--key", key)


def test_pack_refusals_name_the_option(
    cli_on: Run, db: Database, book: Book, tmp_path: Path
) -> None:
    assert "out" in fails(cli_on, "evidence", "pack", book.offer, "--out", str(tmp_path))
    missing = "00000000-0000-0000-0000-000000000000"
    assert "no offer" in fails(cli_on, "evidence", "pack", missing, "--out", str(tmp_path / "x"))
    assert "pack" in fails(cli_on, "evidence", "verify", str(tmp_path / "absent.pdf"))
    (tmp_path / "plain.pdf").write_bytes(b"%PDF-1.7\n%%EOF\n")
    assert "trailer" in fails(cli_on, "evidence", "verify", str(tmp_path / "plain.pdf"))
