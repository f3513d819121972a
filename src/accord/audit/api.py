"""The audit REST API: the tenant's journal as an RFC 9162 transparency log.

What it serves lets anyone check Accord without trusting it: a signed checkpoint (C2SP
tlog-checkpoint in a C2SP signed note, Ed25519), each entry's exact bytes with an
inclusion proof, consistency proofs between tree sizes, and the public key that verifies
the checkpoints. Hashes and proofs are base64, as in the checkpoint itself.

Asking for the latest checkpoint signs a new one when the log has grown, so those routes
run in a unit of work even though they are GETs: the checkpoint is a statement about
entries already committed, and needs no journal entry of its own.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, Field

from accord.audit import queries
from accord.errors import Invalid, NotFound
from accord.store.journal import Checkpoint
from accord.web.deps import CurrentActor, DbDep
from accord.web.problems import problem_responses

PROBLEMS = problem_responses(s404="no such entry or tree size in your tenant's log")

router = APIRouter(prefix="/journal", tags=["journal"], responses=PROBLEMS)

#: Tree sizes and positions are BIGINTs; larger numbers are bad input, not a lookup.
MAX_SEQ = 2**63 - 1
ID_PATTERN = re.compile(r"[0-9A-Za-z-]{1,64}")


def key_dir(request: Request) -> FilePath:
    path: FilePath = request.app.state.settings.key_dir
    return path


KeyDirDep = Annotated[FilePath, Depends(key_dir)]


class CheckpointPublic(BaseModel):
    """A signed tree head: the log's size and root hash, signed by the tenant's key."""

    origin: str = Field(description="the log's name, first line of the checkpoint")
    size: int = Field(description="number of entries the checkpoint covers")
    root: str = Field(description="base64 RFC 9162 root hash of those entries")
    note: str = Field(description="the C2SP signed note: checkpoint text and signature lines")
    created_at: datetime


class JournalEntryPublic(BaseModel):
    """One journal entry: who changed which record, over which valid time, and why."""

    seq: int = Field(description="position in the log (leaf index)")
    tenant: str
    at: datetime = Field(description="recorded time")
    actor: str
    kind: str
    op: str = Field(description="assert, patch or end")
    type: str = Field(description="entity type")
    id: str = Field(description="entity id")
    valid_from: datetime
    valid_to: datetime | None
    data: dict[str, Any]
    reason: str


class EntryPage(BaseModel):
    items: list[JournalEntryPublic] = Field(description="newest first")
    next_before: int | None = Field(
        description="pass as `before` for the next page; null at the start"
    )


class EntryProofPublic(BaseModel):
    """An entry, its exact bytes, and the proof that it is in the latest checkpoint."""

    seq: int
    entry: JournalEntryPublic
    entry_b64: str = Field(description="the entry's canonical JSON (RFC 8785) bytes, base64")
    leaf_hash: str = Field(description="base64 SHA-256(0x00 || entry bytes)")
    tree_size: int
    root: str = Field(description="base64 root hash of the checkpoint")
    inclusion_proof: list[str] = Field(description="base64 hashes, RFC 9162 section 2.1.3")
    checkpoint: str = Field(description="the signed note the proof leads to")


class ConsistencyPublic(BaseModel):
    """Proof that the log at size `new` extends the log at size `old` (RFC 9162 2.1.4)."""

    old: int
    new: int
    proof: list[str] = Field(description="base64 hashes; empty when old == new")


def _checkpoint(cp: Checkpoint) -> CheckpointPublic:
    return CheckpointPublic(
        origin=cp.note.split("\n", 1)[0],
        size=cp.size,
        root=queries.b64(cp.root),
        note=cp.note,
        created_at=cp.created_at,
    )


@router.get("/checkpoint", response_model=CheckpointPublic)
def checkpoint(actor: CurrentActor, db: DbDep, keys: KeyDirDep) -> CheckpointPublic:
    """The latest signed checkpoint, covering every committed entry of your tenant's log."""
    with db.unit_of_work() as s:
        return _checkpoint(queries.latest_checkpoint(s, actor=actor, key_dir=keys))


@router.get("/checkpoint.txt", response_class=PlainTextResponse)
def checkpoint_text(actor: CurrentActor, db: DbDep, keys: KeyDirDep) -> PlainTextResponse:
    """The latest checkpoint as a plain signed note, as transparency-log tools fetch it."""
    with db.unit_of_work() as s:
        note = queries.latest_checkpoint(s, actor=actor, key_dir=keys).note
    return PlainTextResponse(note)


@router.get("/entries", response_model=EntryPage)
def entries(
    actor: CurrentActor,
    db: DbDep,
    before: Annotated[
        int | None, Query(ge=0, le=MAX_SEQ, description="only entries with a smaller seq")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> EntryPage:
    """What was recorded, newest first, a page at a time."""
    with db.reading() as s:
        found = queries.recent_entries(s, actor=actor, before=before, limit=limit)
    items = [JournalEntryPublic.model_validate(e.to_json()) for e in found]
    # A short page is the last; otherwise the oldest entry shown is where the next starts.
    more = len(found) == limit and found[-1].seq > 0
    return EntryPage(items=items, next_before=found[-1].seq if more else None)


@router.get("/entries/{seq}", response_model=EntryProofPublic)
def entry(
    actor: CurrentActor,
    db: DbDep,
    keys: KeyDirDep,
    seq: Annotated[int, Path(ge=0, le=MAX_SEQ, description="the entry's position in the log")],
) -> EntryProofPublic:
    """One entry with its exact bytes and its inclusion proof in the latest checkpoint."""
    with db.unit_of_work() as s:
        proof = queries.entry_with_proof(s, actor=actor, seq=seq, key_dir=keys)
    return EntryProofPublic.model_validate(proof.to_json())


@router.get("/consistency", response_model=ConsistencyPublic)
def consistency(
    actor: CurrentActor,
    db: DbDep,
    old: Annotated[int, Query(ge=1, le=MAX_SEQ, description="the smaller tree size")],
    new: Annotated[int, Query(ge=1, le=MAX_SEQ, description="the larger tree size")],
) -> ConsistencyPublic:
    """Proof that the log only grew from size `old` to size `new`: nothing was changed,
    removed or reordered. Check it against the two checkpoints' roots."""
    with db.reading() as s:
        proof = queries.consistency(s, actor=actor, old=old, new=new)
    return ConsistencyPublic(old=old, new=new, proof=[queries.b64(p) for p in proof])


#: More entries than this in one bundle is an export job, not a request.
MAX_BUNDLE = 10_000


@router.get("/bundle")
def bundle(
    actor: CurrentActor,
    db: DbDep,
    keys: KeyDirDep,
    entity_id: Annotated[
        list[str],
        Query(description="every entry about these records (repeatable)"),
    ] = [],  # noqa: B006 - FastAPI copies defaults; a list is how repeated params are declared
    seq: Annotated[list[int], Query(description="these entries (repeatable)")] = [],  # noqa: B006
) -> JSONResponse:
    """An offline-verifiable bundle: the chosen entries' exact bytes with inclusion proofs
    against the latest signed checkpoint. Check it with the standalone verifier
    (`python verifier.py bundle.json --key KEYLINE`), which needs no database or server."""
    if not entity_id and not seq:
        raise Invalid.one("entity_id", "give at least one entity_id or seq")
    for value in entity_id:
        if not ID_PATTERN.fullmatch(value):
            raise Invalid.one("entity_id", f"not a record id: {value[:40]!r}")
    for value in seq:
        if not 0 <= value <= MAX_SEQ:
            raise Invalid.one("seq", f"not an entry number: {value}")
    with db.unit_of_work() as s:
        seqs = set(seq)
        if entity_id:
            found = queries.entity_seqs(s, actor=actor, entity_ids=entity_id)
            if not found:
                raise NotFound("no journal entries about those records")
            seqs.update(found)
        if len(seqs) > MAX_BUNDLE:
            raise Invalid.one("entity_id", f"more than {MAX_BUNDLE} entries: ask for fewer records")
        body = queries.bundle(s, actor=actor, seqs=sorted(seqs), key_dir=keys)
    return JSONResponse(
        body, headers={"Content-Disposition": 'attachment; filename="accord-bundle.json"'}
    )


@router.get("/key", response_class=PlainTextResponse)
def key(actor: CurrentActor, db: DbDep, keys: KeyDirDep) -> PlainTextResponse:
    """The public verifier key of your tenant's log, as one line in the Go note format
    (<name>+<hash>+<base64 key>): what a third party needs to check checkpoints."""
    with db.reading() as s:
        return PlainTextResponse(queries.public_key(s, actor=actor, key_dir=keys) + "\n")
