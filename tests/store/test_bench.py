"""The benchmarks run end to end on a tiny log and leave nothing behind (no timing checks)."""

from __future__ import annotations

from pathlib import Path

import psycopg
from sqlalchemy import make_url

from accord import bench
from accord.store.db import Database

JOURNAL_KEYS = {
    "entries",
    "single_appends_per_s",
    "batched_appends_per_s",
    "plain_inserts_per_s",
    "ratio",
    "engine",
    "batch_size",
    "single_commits_timed",
}
VERIFY_KEYS = {
    "entries",
    "mb_per_s",
    "entries_per_s",
    "inclusion_proof_us",
    "engine",
    "checkpoints",
    "mb_per_s_one_process",
}


def databases(db: Database) -> set[str]:
    url = make_url(db.url)
    if url.get_backend_name() == "sqlite":
        return {p.name for p in Path(str(url.database)).parent.iterdir()}
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo) as conn:
        return {r[0] for r in conn.execute("SELECT datname FROM pg_database")}


def test_bench_journal(db: Database) -> None:
    before = databases(db)
    phases: set[str] = set()
    result = bench.bench_journal(
        db.url, 250, lambda phase, done, total: phases.add(phase), batch=100, single_sample=20
    )
    assert result.keys() >= JOURNAL_KEYS
    assert result["engine"] == db.dialect
    assert (result["entries"], result["single_commits_timed"], result["batch_size"]) == (
        250,
        20,
        100,
    )
    assert min(result[k] for k in JOURNAL_KEYS - {"engine"}) > 0
    assert 300 <= result["mean_plain_payload_bytes"] <= 700  # realistic entity data
    assert phases == {"single appends", "batched appends and plain inserts"}
    assert databases(db) == before


def test_bench_verify(db: Database) -> None:
    before = databases(db)
    result = bench.bench_verify(db.url, 300, checkpoints=3, proof_samples=50)
    assert result.keys() >= VERIFY_KEYS
    assert (result["entries"], result["checkpoints"], result["proof_samples"]) == (300, 3, 50)
    assert result["entry_bytes"] > 300 * 500
    assert min(result[k] for k in VERIFY_KEYS - {"engine"}) > 0
    assert databases(db) == before
