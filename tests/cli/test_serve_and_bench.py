"""`accord serve` (without binding a port: uvicorn.run is replaced) and `accord bench`."""

from __future__ import annotations

import json
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from accord import demo
from tests.cli.conftest import Run, last_line


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    calls: dict[str, Any] = {}

    def run(app: FastAPI, *, host: str, port: int) -> None:
        calls.update(app=app, host=host, port=port)

    monkeypatch.setattr("uvicorn.run", run)
    return calls


def test_serve_demo_on_an_empty_database_loads_the_demo_and_prints_the_login(
    cli: Run, served: dict[str, Any], env: Path
) -> None:
    result = cli("serve", "--demo", "--port", "8123")
    assert result.exit_code == 0, result.output
    assert served["host"] == "127.0.0.1" and served["port"] == 8123
    assert "http://127.0.0.1:8123" in result.stdout
    assert (
        f"password for all: {demo.PASSWORD}" in result.stdout
        and "alice@northwind.example" in result.stdout
    )
    assert (env / "keys" / "northwind.key").is_file()
    with TestClient(served["app"]) as client:
        assert client.get("/api/openapi.json").status_code == 200

    again = cli("serve", "--demo")  # a second start serves what is there
    assert again.exit_code == 0, again.output
    assert "loading" not in again.stderr and "alice@northwind.example" in again.stdout


def test_serve_demo_reuses_a_leftover_demo_key(cli: Run, served: dict[str, Any], env: Path) -> None:
    assert cli("demo").exit_code == 0
    key = (env / "keys" / "northwind.key").read_text()
    (env / "accord.db").unlink()  # the database is gone, its demo key is not
    result = cli("serve", "--demo")
    assert result.exit_code == 0, result.output
    assert (env / "keys" / "northwind.key").read_text() == key
    assert cli("verify").exit_code == 0


def test_serve_without_demo_needs_an_initialised_database(cli: Run, served: dict[str, Any]) -> None:
    result = cli("serve")
    assert result.exit_code == 1 and "run 'accord init' first" in last_line(result.stderr)
    assert served == {}


def test_serve_rejects_a_bad_port(cli: Run, served: dict[str, Any]) -> None:
    result = cli("serve", "--port", "70000")
    assert result.exit_code == 2 and "--port" in result.output
    assert served == {}


def fake_bench(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, int]]:
    calls: list[tuple[str, str, int]] = []

    def make(name: str) -> Callable[[str, int, Callable[[str, int, int], None]], dict[str, object]]:
        def bench(
            database_url: str, entries: int, progress: Callable[[str, int, int], None]
        ) -> dict[str, object]:
            calls.append((name, database_url, entries))
            print("some chatter", flush=True)
            for phase in ("building", "timing"):
                progress(phase, entries // 2, entries)
                progress(phase, entries, entries)
            return {"entries": entries, "per_second": 1234.5}

        return bench

    module = types.ModuleType("accord.bench")
    module.bench_journal = make("journal")  # type: ignore[attr-defined]
    module.bench_verify = make("verify")  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "accord.bench", module)
    return calls


@pytest.mark.parametrize("kind", ["journal", "verify"])
def test_bench_prints_its_figures_as_json_on_the_last_line(
    cli: Run, monkeypatch: pytest.MonkeyPatch, env: Path, kind: str
) -> None:
    calls = fake_bench(monkeypatch)
    result = cli("bench", kind, "--entries", "50")
    assert result.exit_code == 0, result.output
    assert json.loads(last_line(result.stdout)) == {"entries": 50, "per_second": 1234.5}
    assert "building" in result.stderr and "timing" in result.stderr
    assert calls == [(kind, f"sqlite:///{env / 'accord.db'}", 50)]  # beside the configured one


def test_bench_uses_the_database_url_given(
    cli: Run, monkeypatch: pytest.MonkeyPatch, env: Path
) -> None:
    calls = fake_bench(monkeypatch)
    url = f"sqlite:///{env / 'scratch' / 'x.db'}"
    result = cli("bench", "journal", "--entries", "5", "--database-url", url)
    assert result.exit_code == 0 and calls == [("journal", url, 5)]
    assert (env / "scratch").is_dir()
    assert cli("bench", "journal", "--entries", "0").exit_code == 2


def test_bench_without_the_bench_module_says_so(cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "accord.bench", None)  # import raises ModuleNotFoundError
    result = cli("bench", "verify", "--entries", "5")
    assert result.exit_code == 1
    assert (
        last_line(result.stderr) == "error: bench: this build of Accord has no accord.bench module"
    )


def test_the_real_bench_runs_small_and_leaves_nothing_behind(cli: Run, env: Path) -> None:
    pytest.importorskip("accord.bench")
    before = sorted(env.iterdir())
    for kind in ("journal", "verify"):
        result = cli("bench", kind, "--entries", "64")
        assert result.exit_code == 0, result.output
        figures = json.loads(last_line(result.stdout))
        assert isinstance(figures, dict) and figures
    assert sorted(env.iterdir()) == before
