"""Two writers appending to one tenant's log at once: both commit, the log stays one line.

On PostgreSQL the writers serialise on the log head row (SELECT ... FOR UPDATE); on SQLite
on the write lock that a writing unit of work takes when it begins (BEGIN IMMEDIATE).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.store import journal, temporal
from accord.store.db import utcnow
from accord.store.journal import JournalEntry, Op
from accord.store.verify import rebuild_check, verify_log
from accord.store.writes import record
from tests.store.helpers import Log, customer, new_id

ROUNDS = 12


def concurrently(log: Log, work: Callable[[Session, int, int], None], writers: int = 2) -> None:
    """Run `work(session, writer, round)` in `writers` threads, one unit of work per round."""
    start = threading.Barrier(writers)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            start.wait(timeout=30)
            for i in range(ROUNDS):
                with log.db.unit_of_work() as s:
                    work(s, n, i)
        except BaseException as exc:  # reported by the test's thread
            errors.append(exc)
            start.abort()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    assert errors == []


def check_log(log: Log, total: int, shared: str) -> None:
    with log.db.reading() as s:
        assert journal.tree_size(s, log.tenant_id) == total
        stored = s.scalars(
            select(JournalEntry.seq)
            .where(JournalEntry.tenant_id == log.tenant_id)
            .order_by(JournalEntry.seq)
        )
        assert list(stored) == list(range(total))
        times = [e.at for e in temporal.entries_for(s, log.tenant_id, shared)]
        assert times == sorted(times) and len(set(times)) == len(times)
    log.checkpoint()
    with log.db.reading() as s:
        assert verify_log(s, log.tenant, log.verifier).entries == total
        rebuild_check(s, log.tenant)


def test_two_writers_patch_one_customer_at_once(log: Log) -> None:
    shared = new_id()
    log.write(customer(shared, name="Shared"))

    def work(s: Session, n: int, i: int) -> None:
        record(
            s,
            tenant_id=log.tenant_id,
            actor=f"writer {n}",
            drafts=[
                customer(shared, Op.PATCH, notes=f"writer {n} change {i}"),
                customer(new_id(), name=f"New from {n}/{i}"),
            ],
        )

    concurrently(log, work)
    check_log(log, 1 + 2 * ROUNDS * 2, shared)


@pytest.mark.parametrize("writers", [2, 3])
def test_writers_racing_to_make_a_new_log(log: Log, writers: int) -> None:
    """No log head exists yet: the first appends race to create it."""
    shared = new_id()

    def work(s: Session, n: int, i: int) -> None:
        record(
            s,
            tenant_id=log.tenant_id,
            actor=f"writer {n}",
            drafts=[customer(shared, name=f"Shared, as {n} had it in round {i}")],
        )

    concurrently(log, work, writers)
    check_log(log, writers * ROUNDS, shared)


def test_signers_racing_for_the_latest_checkpoint_sign_it_once(log: Log) -> None:
    """Right after the log grows, several requests ask for the latest checkpoint at once:
    each gets a checkpoint covering the whole log, and it is stored once per size."""
    signed: list[tuple[int, int]] = []

    def work(s: Session, n: int, i: int) -> None:
        if n == 0:  # one writer grows the log between the signers' rounds
            log_grows = customer(new_id(), name=f"Grown {i}")
            record(s, tenant_id=log.tenant_id, actor="writer", drafts=[log_grows])
            return
        cp = journal.sign_checkpoint(s, tenant_id=log.tenant_id, signer=log.signer, now=utcnow())
        signed.append((cp.size, journal.tree_size(s, log.tenant_id)))

    concurrently(log, work, writers=4)
    assert len(signed) == 3 * ROUNDS
    assert all(size == current for size, current in signed)
    with log.db.reading() as s:
        sizes = s.scalars(
            select(journal.Checkpoint.size).where(journal.Checkpoint.tenant_id == log.tenant_id)
        ).all()
        assert len(sizes) == len(set(sizes))
        assert verify_log(s, log.tenant, log.verifier).checkpoints == len(sizes)
