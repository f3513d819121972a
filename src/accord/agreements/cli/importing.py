"""`accord import`: customers, sites, assets, contracts and lines from CSV and XLSX files,
checked in full before anything is written, with a progress bar on large files.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress, TaskID

from accord.agreements import importer
from accord.agreements.cli.common import RENAMED, cell, new_table, operator_of
from accord.agreements.importer import Report
from accord.cli.common import (
    TIME,
    TenantOpt,
    as_options,
    database,
    err,
    fail,
    guarded,
    instant,
    out,
    progress_bar,
)

# --- import -------------------------------------------------------------------------------------

#: Below this many rows an import is over before a progress bar would help.
BAR_FROM = 500


@guarded
def import_files(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="CSV files named customers.csv, sites.csv, assets.csv, contracts.csv, "
            "lines.csv, or XLSX workbooks with sheets of those names.",
            show_default=False,
            metavar="FILE...",
        ),
    ],
    apply: Annotated[
        bool, typer.Option("--apply", help="Import (all or nothing). Default: a dry run.")
    ] = False,
    from_: Annotated[
        str | None,
        typer.Option(
            "--from",
            help=f"When changed values take effect, {TIME}. Default today (midnight UTC).",
        ),
    ] = None,
    tenant: TenantOpt = None,
) -> None:
    """Import customers, sites, assets, contracts and lines from CSV or XLSX files. A dry run
    (the default) validates everything and prints what would be created or changed; --apply
    imports it all or nothing. Records already on file with the same values are left alone."""
    with as_options(RENAMED):
        changes_from = instant("from", from_)
        with database() as db, db.unit_of_work() as s:
            actor = operator_of(s, tenant)
            with _progress() as tick:
                report = importer.run_import(
                    s, actor=actor, paths=files, apply=apply, changes_from=changes_from,
                    progress=tick,
                )  # fmt: skip
    _print_report(report, apply)
    if not report.ok:
        what = "nothing imported" if apply else "fix them, then run with --apply"
        fail(f"{len(report.problems)} problem(s) in the files: {what}")


@contextmanager
def _progress() -> Iterator[importer.ProgressFn]:
    bar: Progress | None = None
    task: TaskID | None = None

    def tick(done: int, total: int) -> None:
        nonlocal bar, task
        if total < BAR_FROM:
            return
        if bar is None:
            bar = progress_bar()
            bar.start()
            task = bar.add_task("importing rows", total=total)
        assert task is not None
        bar.update(task, completed=done)

    try:
        yield tick
    finally:
        if bar is not None:
            bar.stop()


def _print_report(report: Report, apply: bool) -> None:
    if report.problems:
        table = new_table(
            "file", "row", "column", "problem", title=f"Problems ({len(report.problems)})"
        )
        for p in report.problems:
            table.add_row(
                cell(p.file), str(p.row) if p.row else "", cell(p.column), cell(p.problem)
            )
        out.print(table)
    verb = "imported" if report.applied else "would import" if report.ok else "checked"
    table = new_table("records", "created", "changed", "unchanged", title=f"Rows {verb}")
    for kind, c in report.counts.items():
        table.add_row(kind, str(c.created), str(c.changed), str(c.unchanged))
    out.print(table)
    if report.applied:
        err.print(f"imported {report.rows} row(s)")
    elif report.ok:
        err.print(f"dry run of {report.rows} row(s): nothing changed; run with --apply to import")
