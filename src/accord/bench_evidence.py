"""The evidence benchmark: what a captured offer journey costs to keep, and to prove.

On a throwaway database (`accord.bench.fresh_database`) it publishes a few versions of two
terms documents, then records `offers` synthetic journeys through the evidence service,
as a provider's backend would (server-side capture): an offer to one of a few hundred
customers, 5 to 8 screens of 20-60 KB of HTML each (the same screens for everyone, filled
with the customer's own name, address, amounts and dates), ticks and field changes, and
the outcome. Everything goes through the one write path and the blob store.

`bytes_per_offer` is the growth of the whole database (journal rows and tree nodes,
version rows, blobs, every index) per offer, measured on the file after a checkpoint;
`pack_p99_ms` the time to build one offer's evidence pack page (`accord.evidence.pack`),
over a sample of offers. Targets: under 4 KB per offer; the pack page under 200 ms.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from accord.access import Actor, Role
from accord.bench import Progress, fresh_database
from accord.evidence import pack
from accord.evidence import service as evidence
from accord.evidence.schemas import (
    OfferCreate,
    TermsDocumentCreate,
    TermsVersionCreate,
    parse_events,
)
from accord.parties import service as parties
from accord.parties.schemas import CustomerCreate
from accord.store.checkpoints import create_key
from accord.store.db import Database, utcnow
from accord.store.tenancy import create_tenant

CUSTOMERS = 300
PACK_SAMPLES = 50

_WORDS = [
    "agreement",
    "service",
    "provider",
    "customer",
    "period",
    "charges",
    "notice",
    "term",
    "renewal",
    "support",
    "hardware",
    "software",
    "licence",
    "data",
    "protection",
    "liability",
    "warranty",
    "payment",
    "invoice",
    "schedule",
    "monthly",
    "annual",
    "response",
    "resolution",
    "priority",
    "incident",
    "change",
    "request",
    "confidential",
    "information",
    "termination",
    "assignment",
    "governing",
    "law",
    "jurisdiction",
]
_SCREENS = ("offer", "details", "schedule", "terms", "privacy", "direct-debit", "confirm", "done")


def _paragraphs(rng: random.Random, size: int) -> str:
    out: list[str] = []
    total = 0
    while total < size:
        p = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(40, 90))).capitalize()
        out.append(f"<p>{p}.</p>")
        total += len(p) + 8
    return "\n".join(out)


class _Screens:
    """The provider's offer screens: fixed text per screen, the customer's values in it."""

    def __init__(self, rng: random.Random) -> None:
        self.bodies = {name: _paragraphs(rng, rng.randint(18_000, 56_000)) for name in _SCREENS}

    def html(self, name: str, values: dict[str, str]) -> str:
        facts = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in values.items())
        return (
            "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>Northwind Managed Services: {name}</title>"
            "<link rel='stylesheet' href='/static/offer.css'></head><body>"
            f"<header><h1>{name.replace('-', ' ').title()}</h1></header>"
            f"<table class='facts'>{facts}</table>"
            f"<main>{self.bodies[name]}</main>"
            "<form><label><input type='checkbox' name='agree' value='yes'> I have read and "
            "agree to the terms</label><label><input type='checkbox' name='marketing' "
            "value='yes' checked> Send me news</label></form></body></html>"
        )


def bench_evidence(
    database_url: str,
    offers: int = 10_000,
    progress: Progress | None = None,
    *,
    pack_samples: int = PACK_SAMPLES,
) -> dict[str, Any]:
    rng = random.Random(4)
    with fresh_database(database_url) as db:
        with db.unit_of_work() as s:
            tenant = create_tenant(s, slug=f"bench-{uuid.uuid4().hex[:8]}", name="Benchmark")
        actor = Actor(tenant_id=tenant.id, label="bench", role=Role.ADMIN)
        customers, versions = _setup(db, actor, rng)
        screens = _Screens(rng)
        before = _db_bytes(db)
        made: list[str] = []
        t0 = time.perf_counter()
        for i in range(offers):
            made.append(_journey(db, actor, rng, screens, customers, versions, i))
            if progress and (i % 50 == 0 or i == offers - 1):
                progress("recording journeys", i + 1, offers)
        ingest_s = time.perf_counter() - t0
        after = _db_bytes(db)
        sample = rng.sample(made, min(pack_samples, len(made)))
        pack_ms = _time_packs(db, actor, tenant.slug, sample, progress)
        return {
            "benchmark": "evidence",
            "engine": db.dialect,
            "offers": offers,
            "bytes_per_offer": round((after - before) / offers, 1),
            "offers_per_s": round(offers / ingest_s, 1),
            "pack_p50_ms": round(statistics.median(pack_ms), 1) if pack_ms else None,
            "pack_p99_ms": round(sorted(pack_ms)[max(0, int(len(pack_ms) * 0.99) - 1)], 1)
            if pack_ms
            else None,
            "pack_samples": len(pack_ms),
            "db_bytes": after,
        }


def _setup(
    db: Database, actor: Actor, rng: random.Random
) -> tuple[list[tuple[str, str]], list[str]]:
    customers: list[tuple[str, str]] = []
    versions: list[str] = []
    with db.unit_of_work() as s:
        for i in range(CUSTOMERS):
            name = f"{rng.choice(_WORDS).title()} {rng.choice(_WORDS).title()} Ltd {i}"
            cid = parties.create_customer(
                s, actor=actor, data=CustomerCreate(name=name, code=f"B{i:05d}", status="active")
            )
            customers.append((cid, name))
        for code in ("MSA", "DPA"):
            doc = evidence.create_terms_document(
                s, actor=actor, data=TermsDocumentCreate(code=code, title=f"{code} terms")
            )
            text_ = _paragraphs(rng, 30_000)
            for v in range(1, 4):
                text_ = text_.replace(rng.choice(_WORDS), rng.choice(_WORDS), 3)
                versions.append(
                    evidence.publish_terms_version(
                        s,
                        actor=actor,
                        document_id=doc,
                        data=TermsVersionCreate(label=f"v{v}", media_type="text/plain"),
                        content=text_.encode(),
                    )
                )
    return customers, versions


def _journey(
    db: Database,
    actor: Actor,
    rng: random.Random,
    screens: _Screens,
    customers: list[tuple[str, str]],
    versions: list[str],
    i: int,
) -> str:
    cid, name = rng.choice(customers)
    amount = rng.randrange(5_000, 250_000)
    months = rng.choice((12, 24, 36, 48))
    values = {
        "Customer": name,
        "Reference": f"OFF-{i:06d}",
        "Monthly fee": f"£{amount / 100:,.2f}",
        "Term": f"{months} months",
        "Start": f"2026-{rng.randint(1, 12):02d}-01",
    }
    shown = _SCREENS[: rng.randint(5, 8)]
    start = utcnow() - timedelta(minutes=10)
    events: list[dict[str, Any]] = []
    for k, screen in enumerate(shown):
        at = start + timedelta(seconds=30 * k)
        events.append(
            {
                "n": len(events),
                "type": "screen",
                "at": at.isoformat(),
                "name": screen,
                "url": f"https://offers.northwind.example/{screen}",
                "title": f"Northwind Managed Services: {screen}",
                "html": screens.html(screen, values),
                "form": [
                    {"name": "agree", "type": "checkbox", "checked": False, "value": "yes"},
                    {"name": "marketing", "type": "checkbox", "checked": True, "value": "yes"},
                ],
            }
        )
        if screen == "terms":
            for kind, field in (("tick", "agree"), ("untick", "marketing")):
                events.append(
                    {
                        "n": len(events),
                        "type": kind,
                        "at": (at + timedelta(seconds=10)).isoformat(),
                        "screen": screen,
                        "field": field,
                    }
                )
    events.append(
        {
            "n": len(events),
            "type": "accepted" if rng.random() < 0.8 else "declined",
            "at": (start + timedelta(seconds=30 * len(shown))).isoformat(),
            "screen": shown[-1],
            "ip": f"203.0.113.{rng.randint(1, 254)}",
            "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0",
        }
    )
    with db.unit_of_work() as s:
        offer_id, _ = evidence.create_offer(
            s,
            actor=actor,
            data=OfferCreate(
                customer_id=cid,
                product="Managed IT Support",
                parameters={"amount": amount, "term": months, "currency": "GBP"},
                terms_version_id=rng.choice(versions),
            ),
        )
        evidence.record_events(
            s,
            actor=actor,
            offer_id=offer_id,
            events=parse_events({"events": events}, server=True),
            origin=evidence.Origin(ip=None, user_agent=None),
        )
    return offer_id


def _time_packs(
    db: Database, actor: Actor, slug: str, offer_ids: list[str], progress: Progress | None
) -> list[float]:
    """Milliseconds to build each offer's evidence pack page: gather the evidence, prove
    every entry against the latest checkpoint, render. One page first, untimed: it signs
    the checkpoint that covers the journeys."""
    if not offer_ids:
        return []
    with tempfile.TemporaryDirectory(prefix="accord-bench-keys-") as keys:
        key_dir = Path(keys)
        create_key(key_dir, slug, f"accord.bench/{slug}")
        pack.page_html(db, actor, offer_ids[0], key_dir)
        timings: list[float] = []
        for i, offer_id in enumerate(offer_ids, 1):
            t0 = time.perf_counter()
            pack.page_html(db, actor, offer_id, key_dir)
            timings.append((time.perf_counter() - t0) * 1000)
            if progress:
                progress("building pack pages", i, len(offer_ids))
    return timings


def _db_bytes(db: Database) -> int:
    """Bytes of the pages in use: the WAL checkpointed into the file first (SQLite)."""
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        if db.dialect == "sqlite":
            c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            pages = c.exec_driver_sql("PRAGMA page_count").scalar() or 0
            size = c.exec_driver_sql("PRAGMA page_size").scalar() or 0
            free = c.exec_driver_sql("PRAGMA freelist_count").scalar() or 0
            return int((pages - free) * size)
        c.exec_driver_sql("VACUUM")
        return int(c.exec_driver_sql("SELECT pg_database_size(current_database())").scalar() or 0)
