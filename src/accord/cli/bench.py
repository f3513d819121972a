"""Benchmarks: bench journal, bench verify, bench entitlement, bench evidence, bench storage
(and bench corpus, which builds a corpus for it). The work is in accord.bench,
accord.bench_entitlement, accord.bench_evidence and accord.bench_storage (each runs on a
throwaway database of its own); this shows its progress on stderr and prints its figures
as JSON on the last line of stdout."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Annotated

import typer
from rich.progress import Progress, TaskID

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


Offers = Annotated[int, typer.Option(min=1, help="How many offer journeys to record.")]


@guarded
def evidence(offers: Offers = 10_000, database_url: Url = None) -> None:
    """Record synthetic offer journeys (5-8 screens of 20-60 KB each) through the evidence
    service; report the bytes kept per offer, offers per second and the pack page's time."""
    run("bench_evidence", offers, database_url, module="accord.bench_evidence", unit="offers")


def _storage_bench() -> ModuleType:
    try:
        return importlib.import_module("accord.bench_storage")
    except ModuleNotFoundError as exc:
        if exc.name != "accord.bench_storage":
            raise
        fail("bench: this build of Accord has no accord.bench_storage module")


Corpus = Annotated[
    Path,
    typer.Option(
        help="A directory in which every folder that holds files is one document, its "
        "files (sorted by name) its successive versions (see `accord bench corpus`)."
    ),
]
Git = Annotated[
    bool,
    typer.Option(
        "--git",
        help="Also commit the same versions in order into a new git repository, run "
        "`git gc --aggressive` and report the pack's size beside the store's.",
    ),
]


@guarded
def storage(corpus: Corpus, database_url: Url = None, git: Git = False) -> None:
    """Store every version of every document of a corpus in the blob store, read each back
    and compare; report the bytes stored on disk, the ratio, and read times."""
    bench = _storage_bench()
    url = database_url or load_settings().database_url
    path = sqlite_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    err.print(f"bench storage: corpus {corpus}, beside {shown(url)}")
    with progress_bar() as bar:
        result = bench.bench_storage(url, corpus, _progress(bar), git=git)
    typer.echo(json.dumps(result, sort_keys=True))


@guarded
def corpus(
    from_git: Annotated[
        Path, typer.Option("--from-git", help="A git repository (a work tree or a bare one).")
    ],
    out: Annotated[Path, typer.Option(help="The corpus directory to write (new or empty).")],
    path_prefix: Annotated[
        str, typer.Option(help="Only files under this path, e.g. Policies/.")
    ] = "",
) -> None:
    """Write a corpus for `accord bench storage` from a git repository's history: every file
    tracked at HEAD, one version per commit that changed it, oldest first."""
    bench = _storage_bench()
    with progress_bar() as bar:
        result = bench.build_corpus(from_git, out, path_prefix, _progress(bar))
    typer.echo(json.dumps(result, sort_keys=True))


def _progress(bar: Progress) -> Callable[[str, int, int], None]:
    phases: dict[str, TaskID] = {}

    def progress(phase: str, done: int, total: int) -> None:
        if phase not in phases:
            phases[phase] = bar.add_task(phase, total=total)
        bar.update(phases[phase], completed=done, total=total)

    return progress
