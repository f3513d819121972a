"""Journal pages: what was recorded, newest first; the latest signed checkpoint and the
key line that checks it; and each entry with its exact bytes and inclusion proof.

Like the API, showing the latest checkpoint signs a new one when the log has grown, so
these pages read in a unit of work. Everyone in the tenant may read them.
"""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from accord.audit import queries
from accord.store.checkpoints import NoteError
from accord.store.journal import Checkpoint, Entry
from accord.web.deps import DbDep
from accord.web.pages import PageActor, open_end, page, url

router = APIRouter(include_in_schema=False)

#: Positions are BIGINTs; larger numbers are bad input, not a lookup.
MAX_SEQ = 2**63 - 1
PER_PAGE = 50


def _key_dir(request: Request) -> FilePath:
    path: FilePath = request.app.state.settings.key_dir
    return path


def _checkpoint(cp: Checkpoint) -> dict[str, Any]:
    return {
        "note": cp.note,
        "origin": cp.note.split("\n", 1)[0],
        "size": cp.size,
        "root": queries.b64(cp.root),
        "created_at": cp.created_at,
    }


def _customer_of(e: Entry) -> str | None:
    """The customer an entry is about, when the entry says so."""
    if e.type == "customer":
        return e.id
    customer_id = e.data.get("customer_id")
    return customer_id if isinstance(customer_id, str) else None


def _entry(e: Entry) -> dict[str, Any]:
    customer_id = _customer_of(e)
    actor_name, _, email = e.actor.partition(" <")
    return {
        "seq": e.seq,
        "at": e.at,
        "actor": e.actor,
        "actor_name": actor_name,
        "actor_email": email.rstrip(">"),
        "kind": e.kind,
        "op": str(e.op),
        "type": e.type,
        "id": e.id,
        "name": e.data.get("name") or "",
        "valid_from": e.valid_from,
        "valid_to": open_end(e.valid_to),
        "reason": e.reason,
        "customer_url": f"/customers/{customer_id}" if customer_id else None,
    }


def _no_key(request: Request, exc: NoteError) -> Response:
    # The key file is missing or damaged: an operator must restore it; not a bug to log.
    return page(
        request,
        "error.html",
        {
            "title": "The journal's signing key is not available",
            "detail": f"{exc}. Checkpoints and proofs cannot be shown until it is restored.",
        },
        status_code=503,
    )


@router.get("/journal")
def journal(
    request: Request,
    actor: PageActor,
    db: DbDep,
    before: Annotated[int | None, Query(ge=0, le=MAX_SEQ)] = None,
) -> Response:
    keys = _key_dir(request)
    try:
        with db.unit_of_work() as s:
            found = queries.recent_entries(s, actor=actor, before=before, limit=PER_PAGE)
            checkpoint = _checkpoint(queries.latest_checkpoint(s, actor=actor, key_dir=keys))
            key = queries.public_key(s, actor=actor, key_dir=keys)
    except NoteError as exc:
        return _no_key(request, exc)
    size = checkpoint["size"]
    older = found[-1].seq if len(found) == PER_PAGE and found[-1].seq > 0 else None
    newer = None
    if before is not None and before < size:
        newer = url("/journal", before=before + PER_PAGE if before + PER_PAGE < size else None)
    return page(
        request,
        "audit/journal.html",
        {
            "section": "journal",
            "entries": [_entry(e) for e in found],
            "checkpoint": checkpoint,
            "key": key,
            "older_url": url("/journal", before=older) if older is not None else None,
            "newer_url": newer,
        },
    )


@router.get("/journal/{seq}")
def entry(
    request: Request,
    actor: PageActor,
    db: DbDep,
    seq: Annotated[int, Path(ge=0, le=MAX_SEQ)],
) -> Response:
    keys = _key_dir(request)
    try:
        with db.unit_of_work() as s:
            proof = queries.entry_with_proof(s, actor=actor, seq=seq, key_dir=keys)
            key = queries.public_key(s, actor=actor, key_dir=keys)
            checkpoint = _checkpoint(proof.checkpoint)
    except NoteError as exc:
        return _no_key(request, exc)
    return page(
        request,
        "audit/entry.html",
        {
            "section": "journal",
            "entry": _entry(proof.entry),
            "data": sorted(proof.entry.data.items()),
            "canonical": proof.raw.decode("utf-8"),
            "size_bytes": len(proof.raw),
            "leaf_hash": queries.b64(proof.leaf_hash),
            "proof": [queries.b64(p) for p in proof.proof],
            "checkpoint": checkpoint,
            "key": key,
        },
    )
