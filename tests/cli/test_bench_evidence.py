"""`accord bench evidence` on a few journeys: it records them for real through the evidence
service, reports its figures as JSON on the last line, and builds pack pages. Timings and
sizes are not checked against targets here (the README has the measured figures)."""

from __future__ import annotations

import json
from pathlib import Path

from accord.bench_evidence import bench_evidence
from accord.store.db import Database
from tests.cli.conftest import Run, last_line

KEYS = {"offers", "bytes_per_offer", "offers_per_s", "pack_p99_ms"}


def sane(figures: dict[str, object], offers: int, samples: int) -> None:
    assert set(figures) >= KEYS
    assert figures["offers"] == offers and figures["pack_samples"] == samples
    for key in KEYS - {"offers"}:
        value = figures[key]
        assert isinstance(value, int | float) and value > 0, key
    # Each journey holds 5-8 screens of 20-60 KB of HTML: the store keeps far less than that.
    assert figures["bytes_per_offer"] < 100_000  # type: ignore[operator]


def test_bench_evidence_prints_its_figures(cli: Run, env: Path) -> None:
    result = cli("bench", "evidence", "--offers", "6")
    assert result.exit_code == 0, result.output
    assert "recording journeys" in result.stderr and "building pack pages" in result.stderr
    sane(json.loads(last_line(result.stdout)), 6, 6)
    assert [p.name for p in env.iterdir() if p.name.startswith("accord-bench-")] == []
    assert cli("bench", "evidence", "--offers", "0").exit_code == 2


def test_bench_evidence_on_each_engine(db: Database) -> None:
    sane(bench_evidence(db.url, 4, pack_samples=2), 4, 2)
