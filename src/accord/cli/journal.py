"""Checking and signing the journal: verify, rebuild (--check, or repair), checkpoint, key show."""

from __future__ import annotations

import sys
from functools import partial
from typing import Annotated

import typer
from rich.progress import Progress
from rich.table import Table
from sqlalchemy.orm import Session

import accord.models  # noqa: F401  (every versioned table, so that replay knows them all)
from accord.audit import queries as audit
from accord.cli.common import (
    database,
    err,
    guarded,
    load_settings,
    naming,
    one_tenant,
    operator,
    out,
    progress_bar,
    snapshot,
    tenants,
)
from accord.errors import Invalid
from accord.store import blobs, journal
from accord.store import rebuild as rebuilding
from accord.store.checkpoints import Verifier, load_key
from accord.store.tenancy import Tenant
from accord.store.verify import (
    VerificationError,
    rebuild_check,
    verify_blob_store,
    verify_log,
)

EveryTenant = Annotated[
    str | None, typer.Option("--tenant", help="Tenant slug (default: every tenant).")
]
OneTenant = Annotated[
    str | None, typer.Option("--tenant", help="Tenant slug (default: the only tenant).")
]


@guarded
def verify(tenant: EveryTenant = None) -> None:
    """Check the journal, the checkpoints and the version tables; exit 1 naming the first fault.

    Recomputes every leaf from its entry bytes and every tree node from the leaves, checks
    the log head, every checkpoint's signature and root and the consistency between
    consecutive checkpoints, then replays the journal into empty tables and compares them
    with the live version tables, then decodes every stored blob and re-hashes it.
    """
    key_dir = load_settings().key_dir
    table = Table(
        "tenant", "entries", "nodes", "checkpoints", "version rows", "blobs", title="verified"
    )
    with database() as db, snapshot(db) as s:
        chosen = tenants(s, tenant)
        if not chosen:
            err.print("no tenants to verify")
            return
        with progress_bar() as bar:
            for t in chosen:
                verifier = Verifier.parse(load_key(key_dir, t.slug).verifier_key())
                size = journal.tree_size(s, t.id)
                log_task = bar.add_task(f"{t.slug}: journal", total=size)
                replay_task = bar.add_task(f"{t.slug}: rebuild", total=size)
                with naming(t):
                    log = verify_log(s, t, verifier, progress=partial(bar.advance, log_task))
                    rows = rebuild_check(s, t, progress=partial(bar.advance, replay_task))
                    blob_task = bar.add_task(f"{t.slug}: blobs", total=blobs.count(s, t.id))
                    checked = verify_blob_store(s, t, progress=partial(bar.advance, blob_task))
                counts = (log.entries, log.nodes, log.checkpoints, rows.rows, checked)
                table.add_row(t.slug, *map(str, counts))
    out.print(table)
    out.print(f"OK: {len(chosen)} tenant(s) verified")


def can_ask() -> bool:
    """Whether there is a person at a terminal to confirm a repair."""
    return sys.stdin.isatty()


@guarded
def rebuild(
    check: Annotated[
        bool,
        typer.Option("--check", help="Only compare: replay into empty tables, change nothing."),
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", help="Repair without asking for confirmation.")
    ] = False,
    tenant: EveryTenant = None,
) -> None:
    """Replay the journal and compare with the live version tables; without --check, repair them.

    With --check, exits 1 naming the first differing row. Without it, first verifies the
    journal (as `accord verify`) and refuses if it fails, shows the rows that differ, asks
    for confirmation (unless --yes), then, in one transaction, verifies and compares again
    and makes the version tables what the journal's replay says. The journal itself is
    never changed.
    """
    if check:
        _rebuild_check(tenant)
    else:
        _rebuild_repair(tenant, yes=yes)


def _rebuild_check(tenant: str | None) -> None:
    table = Table("tenant", "entries replayed", "version rows identical", title="rebuild check")
    with database() as db, snapshot(db) as s:
        chosen = tenants(s, tenant)
        with progress_bar() as bar:
            for t in chosen:
                task = bar.add_task(f"{t.slug}: rebuild", total=journal.tree_size(s, t.id))
                with naming(t):
                    rows = rebuild_check(s, t, progress=partial(bar.advance, task))
                table.add_row(t.slug, str(rows.entries), str(rows.rows))
    out.print(table)
    out.print(f"OK: {len(chosen)} tenant(s) rebuild identically")


def _differences(plans: list[rebuilding.Plan], title: str) -> Table:
    table = Table("tenant", "table", "live rows", "journal's rows", "removed", "added", title=title)
    for p in plans:
        for d in p.tables:
            if d.differs:
                counts = (d.live, d.replayed, d.removed, d.added)
                table.add_row(p.tenant, d.table, *map(str, counts))
    return table


def _rebuild_repair(tenant: str | None, *, yes: bool) -> None:
    key_dir = load_settings().key_dir

    def compare(s: Session, t: Tenant, bar: Progress, *, fix: bool) -> rebuilding.Plan:
        verifier = Verifier.parse(load_key(key_dir, t.slug).verifier_key())
        size = journal.tree_size(s, t.id)
        verified = partial(bar.advance, bar.add_task(f"{t.slug}: verify journal", total=size))
        replayed = partial(bar.advance, bar.add_task(f"{t.slug}: replay", total=size))
        run = rebuilding.repair if fix else rebuilding.plan
        with naming(t):
            return run(s, t, verifier, verified=verified, replayed=replayed)

    with database() as db:
        # First a look, from one snapshot, without holding up the server's writes while a
        # person reads it; then the repair, which verifies and compares again under lock.
        with snapshot(db) as s, progress_bar() as bar:
            chosen = tenants(s, tenant)
            try:
                plans = [compare(s, t, bar, fix=False) for t in chosen]
            except VerificationError as exc:
                raise VerificationError(f"{exc}; refusing to rebuild from it") from None
        if not any(p.differs for p in plans):
            out.print(f"OK: {len(plans)} tenant(s) already rebuild identically; nothing to repair")
            return
        out.print(_differences(plans, "version rows that differ from the journal"))
        slugs = [p.tenant for p in plans if p.differs]
        if not yes:
            if not can_ask():
                raise Invalid.one("yes", "give --yes to repair: there is no terminal to confirm on")
            prompt = f"Rewrite these rows of {', '.join(slugs)} to what the journal says?"
            if not typer.confirm(prompt, err=True):
                err.print("not repaired: nothing changed")
                raise typer.Exit(1)
        with db.unit_of_work() as w, progress_bar() as bar:
            done = []
            for slug in slugs:
                t = one_tenant(w, slug)
                try:
                    done.append(compare(w, t, bar, fix=True))
                except VerificationError as exc:
                    raise VerificationError(f"{exc}; refusing to rebuild from it") from None
    for p in done:
        out.print(
            f"{p.tenant}: removed {p.removed} and added {p.added} version row(s); "
            f"the tables now match the journal's {p.entries} entries"
        )
    out.print(f"OK: {len(done)} tenant(s) rebuilt from the journal")


@guarded
def checkpoint(tenant: OneTenant = None) -> None:
    """Sign the current tree head and print the checkpoint (a C2SP signed note).

    If the latest checkpoint already covers every entry, that one is printed again.
    """
    with database() as db, db.unit_of_work() as s:
        t = one_tenant(s, tenant)
        cp = audit.latest_checkpoint(s, actor=operator(t), key_dir=load_settings().key_dir)
    typer.echo(cp.note, nl=False)


@guarded
def key_show(tenant: OneTenant = None) -> None:
    """Print the verifier key line (`<origin>+<hash>+<key>`) to check checkpoints with."""
    with database() as db, db.reading() as s:
        t = one_tenant(s, tenant)
        line = audit.public_key(s, actor=operator(t), key_dir=load_settings().key_dir)
    typer.echo(line)
