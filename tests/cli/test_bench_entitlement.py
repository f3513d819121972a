"""`accord bench entitlement` on a tiny book: it runs for real, reports its figures as JSON
on the last line, and the service layer agrees with the hand-written SQL on every lookup.
Timings are not checked here (the README has the measured figures)."""

from __future__ import annotations

import json
from pathlib import Path

from accord.bench_entitlement import bench_entitlement
from accord.store.db import Database
from tests.cli.conftest import Run, last_line

KEYS = {
    "assets",
    "p50_ms",
    "p99_ms",
    "sql_p50_ms",
    "sql_p99_ms",
    "ratio",
    "build_rows_per_s",
    "db_bytes",
}


def sane(figures: dict[str, object], assets: int) -> None:
    assert set(figures) >= KEYS
    assert figures["assets"] == assets and figures["disagreements"] == 0
    assert isinstance(figures["version_rows"], int) and figures["version_rows"] >= 2 * assets
    for key in KEYS - {"assets"}:
        value = figures[key]
        assert isinstance(value, int | float) and value > 0, key
    assert 0 < figures["covered_share"] < 1  # type: ignore[operator]


def test_bench_entitlement_prints_its_figures(cli: Run, env: Path) -> None:
    result = cli("bench", "entitlement", "--assets", "300")
    assert result.exit_code == 0, result.output
    assert "building the book" in result.stderr and "timing lookups" in result.stderr
    sane(json.loads(last_line(result.stdout)), 300)
    assert [p.name for p in env.iterdir() if p.name.startswith("accord-bench-")] == []
    assert cli("bench", "entitlement", "--assets", "0").exit_code == 2


def test_bench_entitlement_on_each_engine(db: Database) -> None:
    sane(bench_entitlement(db.url, 250, lookups=200), 250)
