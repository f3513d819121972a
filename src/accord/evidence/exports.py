"""One customer's evidence as a ZIP file, for a data-subject access request.

`manifest.json` holds the customer's record (its versions and every recorded change to it,
its contacts and sites, with who, when and why), every offer made to it with its journey
and outcome, the terms versions those offers were made under, and the journal entries of
all of it (their exact bytes, so they can be checked against the provider's signed
checkpoints). `blobs/<sha256>` holds every byte the manifest names by digest: the terms
documents and the screens as captured. The file is the same for the same record: its
entries are in a fixed order with a fixed date.
"""

from __future__ import annotations

import dataclasses
import io
import json
import zipfile
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from accord.access import Actor
from accord.errors import NotFound
from accord.evidence import queries
from accord.parties import queries as parties
from accord.store import blobs, journal
from accord.store.db import FOREVER, utcnow
from accord.store.journal import iso
from accord.store.temporal import AsOf, Versioned

FORMAT = "accord-evidence-export/1"
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)

_README = """\
Evidence held about you (a data-subject access export from Accord)

manifest.json   your record as the provider keeps it (every version and every change,
                with who made it, when and why), every offer made to you with each screen
                you were shown, each box you ticked and your decision, and the terms
                versions those offers were made under.
blobs/          the documents and screens themselves, each named by the SHA-256 of its
                bytes (sha256sum blobs/<name> prints the name back).
journal         in manifest.json: the provider's tamper-evident journal entries for all
                of it (RFC 8785 JSON). Each entry's leaf hash is SHA-256(0x00 || entry);
                the provider's signed checkpoints prove the entries are in its log.
"""


def time_json(t: datetime | None) -> str | None:
    return None if t is None or t == FOREVER else iso(t)


def plain_json(v: Versioned) -> dict[str, Any]:
    return {
        k: (time_json(x) if isinstance(x, datetime) else x)
        for k, x in v.data().items()
        if k != "capture_token_hash"
    }


#: what an event's export leaves out: keys of the record around it, or shown otherwise
_NOT_EVENT_DATA = frozenset(
    {"tenant_id", "entity_id", "offer_id", "form", "blob", "seq", "recorded_from", "valid_from"}
)


def version_json(v: Versioned) -> dict[str, Any]:
    return {
        "id": v.entity_id,
        "valid_from": time_json(v.valid_from),
        "valid_to": time_json(v.valid_to),
        "recorded_from": time_json(v.recorded_from),
        "seq": v.seq,
        "data": plain_json(v),
    }


def customer_export(session: Session, actor: Actor, customer_id: str) -> tuple[str, bytes]:
    """(a file name, the ZIP's bytes) of everything Accord holds about the customer."""
    now = utcnow()
    periods = parties.customer_timeline(session, actor, customer_id, known_at=now)
    if not periods:
        raise NotFound(f"no customer {customer_id}")
    # As it stands now; or, when it is not on record today (a future start), its last version.
    current = [p for p in periods if p.valid_from <= now < p.valid_to]
    customer = current[0] if current else periods[-1]
    seen = AsOf(now if current else customer.valid_from, now)
    history = parties.customer_history(session, actor, customer_id)
    contacts = parties.contacts_of(session, actor, customer_id, when=seen)
    sites = parties.sites_of(session, actor, customer_id, when=seen)
    seqs: set[int] = {c["entry"].seq for c in history}
    files: dict[str, bytes] = {}
    described: dict[str, dict[str, Any]] = {}

    def keep(digest: str, media_type: str | None, what: str) -> str:
        if digest not in files:
            files[digest] = blobs.get(session, actor.tenant_id, digest)
            described[digest] = {
                "path": f"blobs/{digest}",
                "size": len(files[digest]),
                "media_type": media_type,
                "what": what,
            }
        return f"blobs/{digest}"

    offers_out = []
    versions: dict[str, dict[str, Any]] = {}
    found, _ = queries.list_offers(session, actor=actor, customer_id=customer_id, limit=100_000)
    for offer, outcome in sorted(found, key=lambda x: (x[0].valid_from, x[0].entity_id)):
        evidence = queries.offer_evidence(session, actor, offer.entity_id)
        terms = evidence.terms
        if terms.entity_id not in versions:
            versions[terms.entity_id] = {
                **version_json(terms),
                "document": {"id": evidence.document.entity_id, **plain_json(evidence.document)},
                "file": keep(terms.blob, terms.media_type, f"terms {terms.label}"),
            }
            seqs.update((terms.seq, evidence.document.seq))
        events = []
        for s in evidence.events:
            e = s.event
            item = {
                k: (time_json(x) if isinstance(x, datetime) else x)
                for k, x in dataclasses.asdict(e).items()
                if k not in _NOT_EVENT_DATA
            }
            item |= {"seq": e.seq, "recorded_at": time_json(e.recorded_from), "form": s.form}
            if e.blob:
                item["screen_file"] = keep(e.blob, s.media_type, f"screen {e.screen}")
                item["blob"] = e.blob
            events.append(item)
        offer_seqs = evidence.seqs["offer"]
        seqs.update(offer_seqs, evidence.seqs["events"], [offer.customer_seq])
        offers_out.append(
            {
                "id": offer.entity_id,
                "made_at": time_json(offer.valid_from),
                **{
                    k: v
                    for k, v in plain_json(offer).items()
                    if k not in ("parameters", "customer_id")
                },
                "status": offer.status,
                "decided_at": time_json(outcome.at) if outcome else None,
                "decided_by": queries.decided_by(offer, outcome),
                "decided_ip": outcome.ip if outcome else None,
                "decided_user_agent": outcome.user_agent if outcome else None,
                "parameters": evidence.parameters,
                "customer_as_offered": version_json(evidence.customer_then),
                "journey": events,
                "journal_seqs": offer_seqs,
            }
        )
    entries = journal.raw_entries_at(session, actor.tenant_id, seqs)
    manifest = {
        "format": FORMAT,
        "exported_at": iso(now),
        "exported_by": actor.label,
        "customer": {"id": customer_id, "name": customer.name, "code": customer.code},
        "customer_versions": [version_json(p) for p in periods],
        "contacts": [version_json(c) for c in contacts],
        "sites": [version_json(s) for s in sites],
        "history": [
            {
                "seq": c["entry"].seq,
                "at": iso(c["entry"].at),
                "actor": c["entry"].actor,
                "kind": c["entry"].kind,
                "entity_type": c["entry"].type,
                "entity_id": c["entry"].id,
                "valid_from": time_json(c["entry"].valid_from),
                "valid_to": time_json(c["entry"].valid_to),
                "reason": c["entry"].reason,
                "patch": c["patch"],
            }
            for c in sorted(history, key=lambda c: c["entry"].seq)
        ],
        "offers": offers_out,
        "terms_versions": [versions[k] for k in sorted(versions)],
        "blobs": {d: described[d] for d in sorted(described)},
        "journal": [{"seq": seq, "entry": bytes(raw).decode("utf-8")} for seq, raw in entries],
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
        _add(z, "README.txt", _README.encode("utf-8"))
        body = json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=False)
        _add(z, "manifest.json", body.encode("utf-8"))
        for digest in sorted(files):
            _add(z, f"blobs/{digest}", files[digest])
    name = f"evidence-{customer.code.lower()}-{now:%Y%m%d}.zip"
    return name, out.getvalue()


def _add(z: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    z.writestr(info, data)
