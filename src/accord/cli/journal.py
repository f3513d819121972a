"""Checking and signing the journal: verify, rebuild --check, checkpoint, key show."""

from __future__ import annotations

from functools import partial
from typing import Annotated

import typer
from rich.table import Table

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
from accord.store import journal
from accord.store.checkpoints import Verifier, load_key
from accord.store.verify import rebuild_check, verify_log

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
    with the live version tables.
    """
    key_dir = load_settings().key_dir
    table = Table("tenant", "entries", "nodes", "checkpoints", "version rows", title="verified")
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
                counts = (log.entries, log.nodes, log.checkpoints, rows.rows)
                table.add_row(t.slug, *map(str, counts))
    out.print(table)
    out.print(f"OK: {len(chosen)} tenant(s) verified")


@guarded
def rebuild(
    check: Annotated[
        bool, typer.Option("--check", help="Replay into empty tables and compare (required).")
    ] = False,
    tenant: EveryTenant = None,
) -> None:
    """Replay the journal into empty tables and compare with the live ones; exit 1 on a difference.

    Only --check exists: the live tables are never rewritten, a difference is a fault to
    investigate. Exits 1 naming the first differing row.
    """
    if not check:
        raise Invalid.one(
            "check", "only 'accord rebuild --check' is supported: it compares, it never rewrites"
        )
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
