"""Benchmarks: bench journal, bench verify, bench entitlement. The work is in accord.bench
and accord.bench_entitlement (each runs on a throwaway database of its own); this shows
its progress on stderr and prints its figures as JSON on the last line of stdout."""

from __future__ import annotations

import importlib
import json
from typing import Annotated

import typer
from rich.progress import TaskID

from accord.cli.common import err, fail, guarded, load_settings, progress_bar, shown, sqlite_file

Entries = Annotated[int, typer.Option(min=1, help="How many journal entries to write.")]
Url = Annotated[
    str | None,
    typer.Option(
        help="Run beside this database (default: ACCORD_DATABASE_URL). The benchmark makes "
        "and drops a throwaway database next to it (a new SQLite file in the same directory, "
        "or a new PostgreSQL database on the same server); it never touches the data in it."
    ),
]


def run(
    name: str,
    entries: int,
    database_url: str | None,
    *,
    module: str = "accord.bench",
    unit: str = "entries",
) -> None:
    try:
        bench = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise
        fail(f"bench: this build of Accord has no {module} module")
    url = database_url or load_settings().database_url
    path = sqlite_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    err.print(f"{name}: {entries} {unit}, beside {shown(url)}")
    with progress_bar() as bar:
        phases: dict[str, TaskID] = {}

        def progress(phase: str, done: int, total: int) -> None:
            if phase not in phases:
                phases[phase] = bar.add_task(phase, total=total)
            bar.update(phases[phase], completed=done, total=total)

        result = getattr(bench, name)(url, entries, progress)
    typer.echo(json.dumps(result, sort_keys=True))


@guarded
def journal(entries: Entries = 100_000, database_url: Url = None) -> None:
    """Time appends through the one write path, single and batched, against plain inserts."""
    run("bench_journal", entries, database_url)


@guarded
def verify(entries: Entries = 100_000, database_url: Url = None) -> None:
    """Time a full verify of a log of the given size, and inclusion proofs in it."""
    run("bench_verify", entries, database_url)


Assets = Annotated[int, typer.Option(min=1, help="How many assets the synthetic book has.")]


@guarded
def entitlement(assets: Assets = 1_000_000, database_url: Url = None) -> None:
    """Time entitlement lookups through the service layer against one hand-written SQL
    query, on a synthetic book of assets built through the journal."""
    run(
        "bench_entitlement",
        assets,
        database_url,
        module="accord.bench_entitlement",
        unit="assets",
    )
