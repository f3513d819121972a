"""Journal benchmarks: append throughput against plain inserts, verification speed, proof time.

Each benchmark runs on a throwaway database next to the one it is given (a new SQLite file
in the same directory, or a new PostgreSQL database on the same server), which it drops
afterwards, so it never touches real data. Results are plain dicts for the CLI to print as
JSON. The targets (on SQLite) are: batched appends at least half as fast as plain inserts
of the same payloads, verification at 100 MB/s or more, an inclusion proof in under
0.5 ms at a million entries.
"""

from __future__ import annotations

import os
import random
import statistics
import string
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Column, Integer, LargeBinary, MetaData, Table, bindparam, make_url, text

from accord.store import journal, merkle, migrate
from accord.store.checkpoints import Signer, Verifier
from accord.store.db import Database, driver_executemany, utcnow
from accord.store.journal import Draft, Op, canonical
from accord.store.tenancy import Tenant, create_tenant
from accord.store.verify import PARALLEL_FROM, Report, verify_log

#: Called as progress(phase, done, total) while a benchmark runs.
Progress = Callable[[str, int, int], None]

BATCH = 1000
SINGLE_SAMPLE = 2000

_plain_metadata = MetaData()
#: What a system without a journal would do: one row per change, its JSON and nothing else.
plain_table = Table(
    "bench_plain",
    _plain_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant", Integer, nullable=False),
    Column("payload", LargeBinary, nullable=False),
)
# The same prepared executemany on the driver as journal appends use.
_PLAIN_INSERT = plain_table.insert().values(
    tenant=bindparam("tenant"), payload=bindparam("payload")
)


# --- a throwaway database ---------------------------------------------------------------


@contextmanager
def fresh_database(database_url: str) -> Iterator[Database]:
    """A new, migrated database beside `database_url`, removed on exit."""
    url = make_url(database_url)
    tag = uuid.uuid4().hex[:10]
    if url.get_backend_name() == "sqlite":
        where = (
            Path(url.database).resolve().parent
            if url.database not in (None, "", ":memory:")
            else None
        )
        directory = Path(tempfile.mkdtemp(prefix="accord-bench-", dir=where))
        path = directory / "bench.db"
        db = Database(f"sqlite:///{path}")
        try:
            migrate.upgrade(db.engine)
            yield db
        finally:
            db.dispose()
            for p in directory.iterdir():
                p.unlink()
            directory.rmdir()
        return
    if url.get_backend_name() != "postgresql":
        raise ValueError(f"benchmarks run on SQLite or PostgreSQL, not {url.get_backend_name()}")
    name = f"accord_bench_{tag}"
    admin = Database(database_url)
    try:
        with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        db = Database(url.set(database=name).render_as_string(hide_password=False))
        try:
            migrate.upgrade(db.engine)
            yield db
        finally:
            db.dispose()
            with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


# --- realistic payloads -----------------------------------------------------------------

_WORDS = [
    "account",
    "review",
    "quarterly",
    "escalation",
    "service",
    "delivery",
    "manager",
    "contract",
    "renewal",
    "site",
    "warehouse",
    "backup",
    "firewall",
    "laptop",
    "printer",
    "licence",
    "invoice",
    "purchase",
    "order",
    "approval",
    "callback",
    "network",
    "outage",
    "replacement",
    "warranty",
    "onboarding",
    "offboarding",
    "security",
    "audit",
    "budget",
    "finance",
    "director",
    "helpdesk",
    "ticket",
    "priority",
    "schedule",
    "maintenance",
    "window",
]
_STATUSES = ("prospect", "active", "former")


def payload(rng: random.Random, i: int) -> dict[str, Any]:
    """Customer data as an entry would carry it: about 300-600 bytes of JSON."""
    name = " ".join(rng.choice(_WORDS).title() for _ in range(rng.randint(2, 4))) + " Ltd"
    code = "".join(rng.choices(string.ascii_uppercase, k=3)) + str(i % 1000)
    notes = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(25, 70)))
    return {
        "name": name,
        "code": code,
        "status": rng.choice(_STATUSES),
        "email": f"{name.split()[0].lower()}.{i}@customer{rng.randint(1, 999)}.example",
        "phone": f"+44 20 7946 {rng.randint(0, 9999):04d}",
        "notes": notes.capitalize() + ".",
    }


def _drafts(rng: random.Random, start: int, count: int, ids: list[str]) -> list[Draft]:
    base = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        Draft(
            kind="bench.customer.recorded",
            op=Op.ASSERT,
            type="customer",
            id=rng.choice(ids),
            valid_from=base + timedelta(minutes=i),
            data=payload(rng, i),
            reason="benchmark",
        )
        for i in range(start, start + count)
    ]


def _tenant(db: Database) -> tuple[int, str]:
    with db.unit_of_work() as s:
        t = create_tenant(s, slug=f"bench-{uuid.uuid4().hex[:8]}", name="Benchmark")
        return t.id, t.public_id


def _append(db: Database, tenant: tuple[int, str], drafts: list[Draft]) -> list[journal.Entry]:
    with db.unit_of_work() as s:
        return journal.append(
            s,
            tenant_id=tenant[0],
            tenant_public_id=tenant[1],
            actor="bench",
            drafts=drafts,
            now=utcnow(),
        )


def verify_workers(entries: int) -> int:
    """How many worker processes `verify_log` uses by default for a log this long."""
    return (os.cpu_count() or 1) if entries >= PARALLEL_FROM else 0


# --- benchmarks ---------------------------------------------------------------------------


def bench_journal(
    database_url: str,
    entries: int = 100_000,
    progress: Progress | None = None,
    *,
    batch: int = BATCH,
    single_sample: int = SINGLE_SAMPLE,
) -> dict[str, Any]:
    """Appends per second, one per commit and `batch` per commit, against plain inserts.

    Single commits are timed over min(entries, single_sample) appends because each one
    waits for the disk. Plain inserts write the same rows, batched the same way, through
    the same engine and session: `ratio` compares with plain inserts of the same canonical
    entries (serialized in the same timed region), what a log without a tree would write.
    For information, `ratio_vs_data_only` compares with plain inserts of only each change's
    entity data (no envelope: who, when, what, why), a stricter baseline.
    """
    rng = random.Random(9162)
    ids = [str(uuid.uuid4()) for _ in range(max(1, entries // 10))]
    singles = min(entries, single_sample)
    with fresh_database(database_url) as db:
        with db.engine.begin() as conn:
            _plain_metadata.create_all(conn)
        tenant = _tenant(db)

        single_drafts = _drafts(rng, 0, singles, ids)
        t0 = time.perf_counter()
        for i, d in enumerate(single_drafts, 1):
            _append(db, tenant, [d])
            if progress and (i % 100 == 0 or i == singles):
                progress("single appends", i, singles)
        single_s = time.perf_counter() - t0

        batched_s = plain_s = plain_entries_s = 0.0
        entry_bytes = payload_bytes = 0
        done = 0
        while done < entries:
            n = min(batch, entries - done)
            drafts = _drafts(rng, singles + done, n, ids)
            t0 = time.perf_counter()
            appended = _append(db, tenant, drafts)
            batched_s += time.perf_counter() - t0

            t0 = time.perf_counter()
            with db.unit_of_work() as s:
                rows = [(tenant[0], canonical(d.data)) for d in drafts]
                driver_executemany(s, _PLAIN_INSERT, ("tenant", "payload"), rows)
            plain_s += time.perf_counter() - t0

            t0 = time.perf_counter()
            with db.unit_of_work() as s:
                rows = [(tenant[0], e.canonical()) for e in appended]
                driver_executemany(s, _PLAIN_INSERT, ("tenant", "payload"), rows)
            plain_entries_s += time.perf_counter() - t0
            payload_bytes += sum(len(canonical(d.data)) for d in drafts)
            done += n
            if progress:
                progress("batched appends and plain inserts", done, entries)
        with db.reading() as s:
            entry_bytes = s.scalar(
                text("SELECT sum(length(entry)) FROM journal_entries WHERE tenant_id = :t"),
                {"t": tenant[0]},
            )
        batched = entries / batched_s
        plain = entries / plain_s
        plain_entries = entries / plain_entries_s
        return {
            "benchmark": "journal",
            "engine": db.dialect,
            "entries": entries,
            "batch_size": batch,
            "single_commits_timed": singles,
            "single_appends_per_s": round(singles / single_s, 1),
            "batched_appends_per_s": round(batched, 1),
            "plain_inserts_per_s": round(plain_entries, 1),
            "ratio": round(batched / plain_entries, 3),
            "plain_data_inserts_per_s": round(plain, 1),
            "ratio_vs_data_only": round(batched / plain, 3),
            "mean_entry_bytes": round((entry_bytes or 0) / (entries + singles), 1),
            "mean_plain_payload_bytes": round(payload_bytes / entries, 1),
        }


def bench_verify(
    database_url: str,
    entries: int = 100_000,
    progress: Progress | None = None,
    *,
    checkpoints: int = 4,
    proof_samples: int = 1000,
) -> dict[str, Any]:
    """Speed of `verify_log` over a journal of `entries`, and of one inclusion proof.

    The journal is built with `checkpoints` signed checkpoints spread over it. The proof
    time is the median over `proof_samples` random leaves in the full tree; every proof
    is checked against the root afterwards, outside the timing.
    """
    rng = random.Random(6962)
    ids = [str(uuid.uuid4()) for _ in range(max(1, entries // 10))]
    signer = Signer("accord.bench/log", Ed25519PrivateKey.generate())
    marks = {entries * (k + 1) // checkpoints for k in range(checkpoints)}
    with fresh_database(database_url) as db:
        tenant = _tenant(db)
        done = 0
        while done < entries:
            n = min(BATCH, entries - done, *(m - done for m in marks if m > done))
            _append(db, tenant, _drafts(rng, done, n, ids))
            done += n
            if done in marks:
                with db.unit_of_work() as s:
                    journal.sign_checkpoint(s, tenant_id=tenant[0], signer=signer, now=utcnow())
            if progress:
                progress("building the journal", done, entries)

        verifier = Verifier.parse(signer.verifier_key())
        timed: dict[str, tuple[float, Report]] = {}
        # As `accord verify` runs it (worker processes on a long log), then in one process.
        for label, jobs in (("verifying", None), ("verifying in one process", 1)):
            with db.reading() as s:
                t = s.get(Tenant, tenant[0])
                assert t is not None
                counted = 0

                def tick(n: int, label: str = label) -> None:
                    nonlocal counted
                    counted += n
                    if progress:
                        progress(label, counted, entries)

                t0 = time.perf_counter()
                report = verify_log(s, t, verifier, tick, jobs=jobs)
                timed[label] = (time.perf_counter() - t0, report)
        verify_s, report = timed["verifying"]
        one_s = timed["verifying in one process"][0]

        samples = [rng.randrange(entries) for _ in range(proof_samples)]
        timings: list[float] = []
        proofs: list[list[bytes]] = []
        with db.reading() as s:
            for i, seq in enumerate(samples, 1):
                t0 = time.perf_counter_ns()
                proofs.append(journal.inclusion_proof(s, tenant[0], seq, entries))
                timings.append((time.perf_counter_ns() - t0) / 1000)
                if progress and (i % 100 == 0 or i == proof_samples):
                    progress("inclusion proofs", i, proof_samples)
            root = journal.root_at(s, tenant[0], entries)
            for seq, proof in zip(samples, proofs, strict=True):
                found = journal.read_entry(s, tenant[0], seq)
                assert found is not None
                merkle.verify_inclusion(found[2], seq, entries, proof, root)
        return {
            "benchmark": "verify",
            "engine": db.dialect,
            "entries": entries,
            "checkpoints": report.checkpoints,
            "entry_bytes": report.entry_bytes,
            "verify_s": round(verify_s, 3),
            "mb_per_s": round(report.entry_bytes / verify_s / 1e6, 1),
            "entries_per_s": round(report.entries / verify_s, 1),
            "verify_workers": verify_workers(entries),
            "mb_per_s_one_process": round(report.entry_bytes / one_s / 1e6, 1),
            "mean_entry_bytes": round(report.entry_bytes / entries, 1),
            "inclusion_proof_us": round(statistics.median(timings), 1),
            "inclusion_proof_p99_us": round(sorted(timings)[int(len(timings) * 0.99) - 1], 1),
            "proof_samples": proof_samples,
        }
