"""`accord bench corpus` builds a corpus from a git history; `accord bench storage` stores it
in the blob store, reads every version back and reports its figures (beside git's with
`--git`) as JSON on the last line; `accord verify` re-hashes every blob. On SQLite and on
PostgreSQL. Timings and ratios are not checked here (the README has the measured ones)."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select, update

from accord.bench_storage import bench_storage, read_corpus
from accord.store import blobs
from accord.store.blobs import Blob
from accord.store.db import Database
from accord.store.tenancy import get_tenant
from tests.cli.conftest import Run, last_line

KEYS = {
    "documents",
    "versions",
    "raw_bytes",
    "stored_bytes",
    "ratio",
    "ingest_s",
    "read_p50_ms",
    "read_p99_ms",
    "identical",
}
has_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
_VOCABULARY = "offer amount repay term rate notice consent account payment schedule"
WORDS = tuple(_VOCABULARY.split())


def make_corpus(root: Path, documents: int = 3, versions: int = 12) -> tuple[int, int]:
    """Documents of a few KB, each version a few words different from the one before; one
    version repeats the one before it. (versions, raw bytes)"""
    rng = random.Random(42)
    total = raw = 0
    for d in range(documents):
        folder = root / f"policy-{d}"
        folder.mkdir(parents=True)
        lines = [" ".join(rng.choice(WORDS) for _ in range(10)) for _ in range(60)]
        for v in range(versions):
            if v != 5:  # version 6 repeats version 5
                lines[rng.randrange(len(lines))] = " ".join(rng.choice(WORDS) for _ in range(10))
            data = ("\n".join(lines) + "\n").encode()
            (folder / f"{v + 1:04d}.md").write_bytes(data)
            total += 1
            raw += len(data)
    (root / "README.txt").write_text("not a document: not in a folder")
    (root / "empty").mkdir()
    return total, raw


def sane(figures: dict[str, object], versions: int, raw: int) -> None:
    assert set(figures) >= KEYS
    assert figures["documents"] == 3 and figures["versions"] == versions
    assert figures["raw_bytes"] == raw and figures["identical"] is True
    assert figures["blobs"] == versions - 3  # the repeated versions are stored once
    stored = figures["stored_bytes"]
    assert isinstance(stored, int) and stored > 0
    assert figures["ratio"] == round(raw / stored, 2)
    for key in ("ingest_s", "read_p50_ms", "read_p99_ms"):
        value = figures[key]
        assert isinstance(value, float) and value > 0, key
    assert figures["read_p50_ms"] <= figures["read_p99_ms"]  # type: ignore[operator]


def test_read_corpus_takes_every_folder_with_files_in_name_order(tmp_path: Path) -> None:
    make_corpus(tmp_path)
    nested = tmp_path / "group" / "nested"
    nested.mkdir(parents=True)
    (nested / "b.txt").write_bytes(b"2")
    (nested / "a.txt").write_bytes(b"1")
    (nested / ".hidden").write_bytes(b"x")
    docs = read_corpus(tmp_path)
    assert [d.name for d in docs] == ["group/nested", "policy-0", "policy-1", "policy-2"]
    assert [p.name for p in docs[0].versions] == ["a.txt", "b.txt"]
    assert [p.name for p in docs[1].versions][:3] == ["0001.md", "0002.md", "0003.md"]


@has_git
def test_bench_storage_prints_its_figures_beside_git(cli: Run, env: Path) -> None:
    corpus = env / "corpus"
    versions, raw = make_corpus(corpus)
    result = cli("bench", "storage", "--corpus", str(corpus), "--git")
    assert result.exit_code == 0, result.output
    assert "storing versions" in result.stderr and "reading back" in result.stderr
    figures = json.loads(last_line(result.stdout))
    sane(figures, versions, raw)
    git_bytes = figures["git_bytes"]
    assert isinstance(git_bytes, int) and git_bytes > 0
    assert figures["git_ratio"] == round(raw / git_bytes, 2)
    assert [p.name for p in env.iterdir() if p.name.startswith("accord-bench-")] == []


def test_bench_storage_on_each_engine(db: Database, tmp_path: Path) -> None:
    versions, raw = make_corpus(tmp_path)
    figures = bench_storage(db.url, tmp_path)
    sane(figures, versions, raw)
    assert "git_bytes" not in figures


def test_bench_storage_refuses_a_corpus_without_documents(cli: Run, env: Path) -> None:
    missing = cli("bench", "storage", "--corpus", str(env / "nowhere"))
    assert missing.exit_code == 1
    assert last_line(missing.stderr) == f"error: --corpus: {env / 'nowhere'} is not a directory"
    (env / "flat").mkdir()
    (env / "flat" / "0001.md").write_text("a file, but no folder holding files")
    flat = cli("bench", "storage", "--corpus", str(env / "flat"))
    assert flat.exit_code == 1
    assert last_line(flat.stderr) == f"error: --corpus: no folder under {env / 'flat'} holds files"
    assert "Traceback" not in flat.output
    assert cli("bench", "storage").exit_code == 2  # --corpus is required


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


@has_git
def test_bench_corpus_writes_each_files_versions_from_git_history(cli: Run, env: Path) -> None:
    repo = env / "site-policy"
    repo.mkdir()
    git(repo, "init", "-q")
    git(repo, "config", "user.email", "test@example.org")
    git(repo, "config", "user.name", "Test")
    policies = repo / "Policies" / "terms"
    policies.mkdir(parents=True)

    def commit(message: str) -> None:
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", message)

    privacy_text = "".join(f"clause {i}: we keep your data safe\n" for i in range(20))
    (policies / "terms-of-service.md").write_text("v1\n")
    (policies / "privacy.md").write_text(privacy_text)
    (repo / "README.md").write_text("outside the prefix\n")
    commit("first")
    (policies / "terms-of-service.md").write_text("v2\n")
    commit("second")
    (policies / "terms-of-service.md").write_text("v1\n")  # back to the first text
    commit("revert")
    git(repo, "mv", "Policies/terms/privacy.md", "Policies/terms/privacy-statement.md")
    (policies / "privacy-statement.md").write_text(privacy_text + "clause 20: and more\n")
    commit("rename and change")

    out = env / "corpus"
    result = cli(
        "bench", "corpus", "--from-git", str(repo), "--out", str(out), "--path-prefix", "Policies/"
    )
    assert result.exit_code == 0, result.output
    assert json.loads(last_line(result.stdout)) == {
        "documents": 2,
        "versions": 5,
        "raw_bytes": 3 * 3 + 2 * len(privacy_text) + len("clause 20: and more\n"),
        "repeated_versions": 0,
    }
    terms = out / "terms--terms-of-service"
    assert sorted(p.name for p in terms.iterdir()) == ["0001.md", "0002.md", "0003.md"]
    assert [(terms / n).read_text() for n in ("0001.md", "0002.md", "0003.md")] == [
        "v1\n",
        "v2\n",
        "v1\n",
    ]
    privacy = out / "terms--privacy-statement"  # its history follows the rename
    assert [p.read_text() for p in sorted(privacy.iterdir())] == [
        privacy_text,
        privacy_text + "clause 20: and more\n",
    ]

    again = cli("bench", "corpus", "--from-git", str(repo), "--out", str(out))
    assert again.exit_code == 1
    assert last_line(again.stderr) == f"error: --out: {out} exists and is not empty"
    not_git = cli("bench", "corpus", "--from-git", str(env), "--out", str(env / "other"))
    assert not_git.exit_code == 1
    assert last_line(not_git.stderr) == f"error: --from-git: {env} is not a git repository"
    nothing = cli(
        "bench", "corpus", "--from-git", str(repo), "--out", str(env / "c2"), "--path-prefix", "X/"
    )
    assert nothing.exit_code == 1
    assert "no file tracked at HEAD starts with 'X/'" in last_line(nothing.stderr)


ADMIN = ["--tenant", "acme", "--name", "Acme IT", "--admin-email", "ada@acme.example"]
PASSWORD = ["--admin-password", "correct horse battery"]


def test_verify_re_hashes_every_blob(cli_on: Run, db: Database) -> None:
    assert cli_on("init", *ADMIN, *PASSWORD).exit_code == 0
    with db.reading() as s:
        acme = get_tenant(s, "acme")
        assert acme is not None
        acme_id = acme.id
    rng = random.Random(1)
    doc = " ".join(rng.choice(WORDS) for _ in range(2_000)).encode()
    with db.unit_of_work() as s:
        first = blobs.put(s, acme_id, doc, family="terms")
        second = blobs.put(s, acme_id, doc + b" amended", base=first, family="terms")
    verified = cli_on("verify")
    assert verified.exit_code == 0, verified.output
    assert last_line(verified.stdout) == "OK: 1 tenant(s) verified"

    with db.engine.begin() as conn:
        frame = conn.scalar(select(Blob.data).where(Blob.digest == bytes.fromhex(first)))
        assert frame is not None
        middle = len(frame) // 2
        changed = frame[:middle] + bytes([frame[middle] ^ 0x04]) + frame[middle + 1 :]
        conn.execute(update(Blob).where(Blob.digest == bytes.fromhex(first)).values(data=changed))
    result = cli_on("verify")
    assert result.exit_code == 1
    message = last_line(result.stderr)
    assert message.startswith(f"error: verification failed: tenant acme: blob {first} ")
    assert message.endswith("(and 1 more problems)")  # the second depends on the first
    assert second not in message and "Traceback" not in result.output
