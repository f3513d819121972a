"""The evidence REST API: terms documents and their versions, offers and their journeys,
the capture endpoints capture.js and rrweb recordings post to, reports and a customer's
evidence export.

Staff authenticate as everywhere (bearer token or session); sales and admins write,
everyone in the tenant reads. The two capture endpoints authenticate by the offer's
capture token instead (`Authorization: Bearer <capture token>`), which only appends to
that offer's journey; they answer any origin (CORS, no cookies), so an organisation's
own offer pages can post to them. Evidence is never edited: a second outcome, or events
after the outcome, are refused with 409.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.datastructures import MutableHeaders

from accord.access import Actor
from accord.errors import Invalid
from accord.evidence import exports, pack, queries, service
from accord.evidence.models import Offer, OfferStatus, TermsVersion
from accord.evidence.schemas import (
    MAX_TERMS_BYTES,
    MB,
    Acceptance,
    EventPublic,
    Ingested,
    NotOnLatest,
    OfferCreate,
    OfferCreated,
    OfferList,
    OfferPublic,
    TermsDocumentCreate,
    TermsDocumentPublic,
    TermsVersionCreate,
    TermsVersionPublic,
    TermsVersionPublish,
    parse_events,
    parse_rrweb,
)
from accord.parties.schemas import VersionInfo
from accord.store.db import FOREVER, Database
from accord.store.temporal import Versioned
from accord.web.deps import CurrentActor, DbDep
from accord.web.params import RecordId, instants
from accord.web.problems import PROBLEM, LoginRequired, problem_responses

PROBLEMS = problem_responses(s409="contradicts the record: evidence is never changed")
CAPTURE_PROBLEMS = problem_responses(
    s401="no capture token, or not this offer's",
    s403="not used: a capture token only appends to its offer's journey",
    s409="the offer has its outcome (no events after it, no second outcome); or an `n` of "
    "the request numbers another event already: the problem document then carries `next`, "
    "the number to renumber the unacknowledged events from, `taken` and `received`",
    s413="the request is too large",
)

router = APIRouter(tags=["evidence"], responses=PROBLEMS)
capture_router = APIRouter(tags=["capture"], responses=CAPTURE_PROBLEMS)

#: The most one ingest request may carry, all screens together.
MAX_BODY = 24 * MB

#: Served bytes someone else wrote (a terms document's HTML, a captured screen) must never
#: run as Accord's pages: no scripts, no plugins, an origin of their own.
UNTRUSTED = {
    "Content-Security-Policy": "sandbox; default-src 'none'; img-src data:; "
    "style-src 'unsafe-inline'; font-src data:",
    "X-Content-Type-Options": "nosniff",
}
OptionalId = Annotated[
    str | None, Query(pattern=r"^[0-9A-Za-z-]{1,64}$", description="a record's public id")
]


# --- rendering -------------------------------------------------------------------------------


def _open(t: datetime | None) -> datetime | None:
    return None if t is None or t == FOREVER else t


def _version(v: Versioned) -> VersionInfo:
    return VersionInfo(
        valid_from=v.valid_from,
        valid_to=_open(v.valid_to),
        recorded_from=v.recorded_from,
        seq=v.seq,
    )


def terms_version_public(v: TermsVersion) -> TermsVersionPublic:
    return TermsVersionPublic.model_validate(
        {**v.data(), "id": v.entity_id, "version": _version(v)}
    )


def _document(s: Session, actor: Actor, document_id: str) -> TermsDocumentPublic:
    d = queries.get_document_for(s, actor, document_id)
    versions = queries.versions_of(s, actor, document_id)
    latest = queries.latest_version(versions)
    return TermsDocumentPublic(
        id=d.entity_id,
        code=d.code,
        title=d.title,
        versions=[terms_version_public(v) for v in versions],
        latest_version_id=latest.entity_id if latest else None,
        version=_version(d),
    )


def offer_public(o: Offer, outcome: queries.Event | None) -> OfferPublic:
    data = {k: v for k, v in o.data().items() if k != "capture_token_hash"}
    return OfferPublic.model_validate(
        {
            **data,
            "parameters": queries.parameters_of(o),
            "id": o.entity_id,
            "status": o.status,
            "made_at": o.valid_from,
            "decided_at": outcome.at if outcome else None,
            "decided_by": queries.decided_by(o, outcome),
            "decided_ip": outcome.ip if outcome else None,
            "decided_user_agent": outcome.user_agent if outcome else None,
            "version": _version(o),
        }
    )


def event_public(e: queries.Event) -> EventPublic:
    return EventPublic.model_validate(
        {
            **dataclasses.asdict(e),
            "form": json.loads(e.form) if e.form else None,
            "media_type": queries.screen_media_type(e),
            "id": e.entity_id,
            "seq": e.seq,
            "recorded_at": e.recorded_from,
        }
    )


def _located(request: Request, response: Response, route: str, **ids: str) -> None:
    response.headers["Location"] = request.app.url_path_for(route, **ids)


def _conflict(exc: service.Conflict) -> HTTPException:
    return HTTPException(409, str(exc))


def number_taken(exc: service.NumberTaken) -> JSONResponse:
    """409 for events numbered with an `n` the journey holds for other events (another tab
    on the same offer): nothing was kept; `next` is the first free number, from which the
    sender numbers its unacknowledged events again, and `received` the request's events
    that are on record already (retries), which it drops instead."""
    body = {
        "type": "about:blank",
        "title": "Conflict",
        "status": 409,
        "detail": str(exc),
        "next": exc.next,
        "taken": exc.taken,
        "received": exc.received,
    }
    return JSONResponse(body, status_code=409, media_type=PROBLEM)


def _origin(request: Request) -> service.Origin:
    agent = request.headers.get("user-agent")
    return service.Origin(
        ip=request.client.host if request.client else None,
        user_agent=agent[:500].replace("\x00", "") if agent else None,
    )


# --- request bodies -----------------------------------------------------------------------------


async def raw_body(request: Request) -> bytes:
    """The request's body, read up to MAX_BODY bytes (413 beyond)."""
    declared = request.headers.get("content-length", "")
    too_big = HTTPException(
        413, f"the request is larger than {MAX_BODY // MB} MB: send fewer events per request"
    )
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise too_big
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)


RawBody = Annotated[bytes, Depends(raw_body)]


def loads(raw: bytes) -> Any:
    """A request's JSON. Any content type is read as JSON: navigator.sendBeacon, which a
    page uses as it unloads, sends text/plain."""
    try:
        body = json.loads(raw)
        # Lone surrogates ("\ud800") parse, but are not text: no journal entry, blob or
        # database column could keep them.
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise Invalid.one("body", "not valid Unicode: it holds a lone surrogate") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise Invalid.one("body", f"not JSON: {exc}") from None
    except RecursionError:
        raise Invalid.one("body", "nested too deeply") from None
    return body


def capture_token(request: Request) -> str:
    """The capture token in `Authorization: Bearer`; 401 without one."""
    auth = request.headers.get("authorization", "")
    if not auth.lower().startswith("bearer ") or not auth[7:].strip():
        raise LoginRequired("send the offer's capture token: Authorization: Bearer <token>")
    return auth[7:].strip()


CaptureToken = Annotated[str, Depends(capture_token)]


# --- terms ------------------------------------------------------------------------------------


@router.get("/terms", response_model=list[TermsDocumentPublic])
def list_terms(actor: CurrentActor, db: DbDep) -> list[TermsDocumentPublic]:
    """Terms documents by code, each with its versions (oldest first) and the one in
    effect now."""
    with db.reading(detach=True) as s:
        return [_document(s, actor, d.entity_id) for d in queries.list_documents(s, actor)]


@router.post("/terms", status_code=201, response_model=TermsDocumentPublic)
def create_terms(
    actor: CurrentActor,
    db: DbDep,
    data: TermsDocumentCreate,
    request: Request,
    response: Response,
) -> TermsDocumentPublic:
    """A new terms document (sales, admins). Publish its versions next."""
    with db.unit_of_work() as s:
        document_id = service.create_terms_document(s, actor=actor, data=data)
        out = _document(s, actor, document_id)
    _located(request, response, "get_terms", document_id=document_id)
    return out


@router.get("/terms/{document_id}", response_model=TermsDocumentPublic)
def get_terms(actor: CurrentActor, db: DbDep, document_id: RecordId) -> TermsDocumentPublic:
    """A terms document with its versions (oldest first) and the one in effect now."""
    with db.reading(detach=True) as s:
        return _document(s, actor, document_id)


def _content(data: TermsVersionPublish) -> bytes:
    if (data.text is None) == (data.content_base64 is None):
        raise Invalid.one("text", "give the version as `text` or as `content_base64`, not both")
    if data.text is not None:
        if data.media_type == "application/pdf":
            raise Invalid.one("text", "a PDF is sent as content_base64")
        return data.text.encode("utf-8", "surrogatepass")
    raw = re.sub(r"\s+", "", data.content_base64 or "")
    if len(raw) > MAX_TERMS_BYTES * 4 // 3 + 8:
        raise Invalid.one("content_base64", f"at most {MAX_TERMS_BYTES // MB} MB")
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise Invalid.one("content_base64", "not base64") from None


@router.post("/terms/{document_id}/versions", status_code=201, response_model=TermsVersionPublic)
def publish_terms_version(
    actor: CurrentActor,
    db: DbDep,
    document_id: RecordId,
    data: TermsVersionPublish,
    request: Request,
    response: Response,
) -> TermsVersionPublic:
    """Publish a version of the document: its text or HTML as `text`, or any bytes (a PDF)
    as `content_base64`, with its label, publication date and effective date. Stored once,
    delta-encoded against the previous version; never changed."""
    content = _content(data)
    facts = TermsVersionCreate.model_validate(
        data.model_dump(include={"label", "media_type", "published_at", "effective_from"})
    )
    with db.unit_of_work() as s:
        version_id = service.publish_terms_version(
            s, actor=actor, document_id=document_id, data=facts, content=content
        )
        out = terms_version_public(queries.get_version_for(s, actor, version_id))
    _located(request, response, "get_terms_version", version_id=version_id)
    return out


@router.get("/terms-versions/{version_id}", response_model=TermsVersionPublic)
def get_terms_version(actor: CurrentActor, db: DbDep, version_id: RecordId) -> TermsVersionPublic:
    """A terms version: its label, media type, SHA-256, size, publication and effective
    dates. Its bytes are at `/content`."""
    with db.reading(detach=True) as s:
        return terms_version_public(queries.get_version_for(s, actor, version_id))


@router.get(
    "/terms-versions/{version_id}/content",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}, "text/html": {}, "application/pdf": {}}}},
)
def terms_version_content(actor: CurrentActor, db: DbDep, version_id: RecordId) -> Response:
    """The version's bytes exactly as published, with its media type."""
    with db.reading(detach=True) as s:
        version, content = queries.version_content(s, actor, version_id)
    media = version.media_type + (
        "; charset=utf-8" if version.media_type.startswith("text/") else ""
    )
    return Response(content, media_type=media, headers={**UNTRUSTED, "ETag": f'"{version.blob}"'})


@router.get("/terms-versions/{version_id}/acceptances", response_model=list[Acceptance])
def terms_acceptances(actor: CurrentActor, db: DbDep, version_id: RecordId) -> list[Acceptance]:
    """Which customers accepted this terms version: each accepted offer, by decision time."""
    with db.reading(detach=True) as s:
        version = queries.get_version_for(s, actor, version_id)
        names = queries.customer_names(s, actor)
        return [
            Acceptance(
                customer_id=a.offer.customer_id,
                customer=names.get(a.offer.customer_id, ""),
                offer_id=a.offer.entity_id,
                terms_version_id=version_id,
                label=version.label,
                decided_at=a.outcome.at,
                decided_by=a.decided_by,
            )
            for a in queries.acceptances(s, actor, version_id)
        ]


@router.get("/terms/{document_id}/not-on-latest", response_model=list[NotOnLatest])
def not_on_latest(
    actor: CurrentActor,
    db: DbDep,
    document_id: RecordId,
    on: Annotated[
        str | None, Query(description="the latest version as of this day; default now")
    ] = None,
) -> list[NotOnLatest]:
    """Customers whose latest acceptance of this document is of an older version than the
    one in effect on `on` (default now)."""
    when = instants(on=on)["on"]
    with db.reading(detach=True) as s:
        _, behind = queries.not_on_latest(s, actor, document_id, when)
        names = queries.customer_names(s, actor)
        return [
            NotOnLatest(
                customer_id=b.customer_id,
                customer=names.get(b.customer_id, ""),
                offer_id=b.offer.entity_id,
                accepted_version_id=b.accepted.entity_id,
                accepted_label=b.accepted.label,
                accepted_at=b.acceptance.outcome.at,
                latest_version_id=b.latest.entity_id,
                latest_label=b.latest.label,
            )
            for b in behind
        ]


# --- offers -------------------------------------------------------------------------------------


@router.get("/offers", response_model=OfferList)
def list_offers(
    actor: CurrentActor,
    db: DbDep,
    customer_id: OptionalId = None,
    status: OfferStatus | None = None,
    terms_version_id: OptionalId = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> OfferList:
    """Offers, newest first: all to a customer, by status, under a terms version."""
    with db.reading(detach=True) as s:
        rows, total = queries.list_offers(
            s,
            actor=actor,
            customer_id=customer_id,
            status=status,
            terms_version_id=terms_version_id,
            limit=limit,
            offset=offset,
        )
        items = [offer_public(o, outcome) for o, outcome in rows]
    return OfferList(items=items, total=total, limit=limit, offset=offset)


@router.post("/offers", status_code=201, response_model=OfferCreated)
def create_offer(
    actor: CurrentActor, db: DbDep, data: OfferCreate, request: Request, response: Response
) -> OfferCreated:
    """Make an offer (sales, admins): a product with its parameters to a customer (and
    optionally one of its contacts) under a terms version. The customer's record is pinned
    as it stands. Answers with the capture token, shown this once: put it in the offer
    page's capture snippet."""
    with db.unit_of_work() as s:
        offer_id, token = service.create_offer(s, actor=actor, data=data)
        offer = queries.get_offer_for(s, actor, offer_id)
        public = offer_public(offer, None)
    _located(request, response, "get_offer", offer_id=offer_id)
    return OfferCreated(**public.model_dump(), capture_token=token)


@router.get("/offers/{offer_id}", response_model=OfferPublic)
def get_offer(actor: CurrentActor, db: DbDep, offer_id: RecordId) -> OfferPublic:
    """An offer: to whom, what, under which terms version, and its outcome."""
    with db.reading(detach=True) as s:
        offer = queries.get_offer_for(s, actor, offer_id)
        return offer_public(offer, queries.outcome_of(s, actor.tenant_id, offer))


@router.get("/offers/{offer_id}/events", response_model=list[EventPublic])
def offer_events(actor: CurrentActor, db: DbDep, offer_id: RecordId) -> list[EventPublic]:
    """The offer's journey in order: screens (with their form state), ticks, unticks,
    changes and the outcome, each with the journal entry that recorded it."""
    with db.reading(detach=True) as s:
        return [event_public(e) for e in queries.journey(s, actor, offer_id)]


@router.post("/offers/{offer_id}/events", response_model=Ingested)
def record_offer_events(
    actor: CurrentActor,
    db: DbDep,
    offer_id: RecordId,
    body: RawBody,
    request: Request,
) -> Ingested | JSONResponse:
    """Server-side capture (sales, admins): the provider's backend records the journey
    with the body capture.js sends. An event may also give the customer's `ip` and
    `user_agent` as the backend saw them (default: this request's). An `n` on record for
    another event is a 409 whose `next` is the first free number."""
    events = parse_events(loads(body), server=True)
    try:
        with db.unit_of_work() as s:
            done = service.record_events(
                s, actor=actor, offer_id=offer_id, events=events, origin=_origin(request)
            )
    except service.NumberTaken as exc:
        return number_taken(exc)
    except service.Conflict as exc:
        raise _conflict(exc) from None
    return Ingested(received=done.received, length=done.length)


@router.get(
    "/offers/{offer_id}/events/{n}/screen",
    response_class=Response,
    responses={200: {"content": {"text/html": {}, "application/vnd.rrweb+json": {}}}},
)
def offer_screen(
    actor: CurrentActor,
    db: DbDep,
    offer_id: RecordId,
    n: Annotated[int, Path(ge=0, le=1_000_000, description="the event's place in the journey")],
) -> Response:
    """A screen exactly as captured: its HTML, or its rrweb recording (JSON)."""
    with db.reading(detach=True) as s:
        event = queries.get_event_for(s, actor, offer_id, n)
        content = queries.screen_content(s, actor, event)
        media = queries.screen_media_type(event) or "application/octet-stream"
    if media == "text/html":
        media += "; charset=utf-8"
    return Response(content, media_type=media, headers={**UNTRUSTED, "ETag": f'"{event.blob}"'})


@router.get(
    "/offers/{offer_id}/pack.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
def offer_pack(actor: CurrentActor, db: DbDep, offer_id: RecordId, request: Request) -> Response:
    """The offer's evidence pack: a PDF whose trailer carries the proof of everything in it
    (check it with `accord evidence verify` or the standalone verifier). Issuing one is
    recorded in the journal, with the PDF's SHA-256."""
    issued = pack.issue(db, actor, offer_id, request.app.state.settings.key_dir)
    return Response(
        issued.data,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{issued.filename}"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/offers/{offer_id}/evidence")
def offer_evidence(actor: CurrentActor, db: DbDep, offer_id: RecordId) -> dict[str, Any]:
    """What an evidence pack of the offer holds, as JSON: the offer, the customer as it
    was then and the RFC 6902 patch to now with the changes since, the terms version, the
    journey in order (screens by digest), and the journal entry of every record."""
    with db.reading(detach=True) as s:
        ev = queries.offer_evidence(s, actor, offer_id)
        return {
            "offer": offer_public(ev.offer, ev.outcome).model_dump(mode="json"),
            "customer_then": exports.version_json(ev.customer_then),
            "customer_now": exports.version_json(ev.customer_now) if ev.customer_now else None,
            "customer_patch": ev.customer_patch,
            "customer_changes": ev.customer_changes,
            "terms": {
                **terms_version_public(ev.terms).model_dump(mode="json"),
                "document": {
                    "id": ev.document.entity_id,
                    "code": ev.document.code,
                    "title": ev.document.title,
                },
            },
            "journey": [event_public(x.event).model_dump(mode="json") for x in ev.events],
            "seqs": ev.seqs,
        }


@router.get(
    "/evidence/export",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}}},
)
def customer_evidence_export(
    actor: CurrentActor,
    db: DbDep,
    customer_id: Annotated[
        str, Query(pattern=r"^[0-9A-Za-z-]{1,64}$", description="the customer's public id")
    ],
) -> Response:
    """Everything Accord holds about one customer now, for a data-subject access request:
    a ZIP with manifest.json (its versions and every recorded change, offers, journeys,
    terms versions and their journal entries) and every document and screen by SHA-256
    under blobs/."""
    with db.reading(detach=True) as s:
        name, data = exports.customer_export(s, actor, customer_id)
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# --- capture: the customer's browser ------------------------------------------------------------


@capture_router.post("/capture/{offer_id}/events", response_model=Ingested)
def capture(
    token: CaptureToken,
    db: DbDep,
    offer_id: RecordId,
    body: RawBody,
    request: Request,
) -> Ingested | JSONResponse:
    """capture.js posts the journey here: screens with their HTML and form state, ticks,
    unticks, changes and the outcome, numbered by `n` per offer. An event already on
    record (the same `n` and content) is acknowledged again and not stored twice, so
    retries and reloads are safe; an `n` on record for another event (a second tab on the
    offer) is a 409 whose `next` is the first free number to renumber from. The address
    and browser are taken from the request."""
    return _capture(
        db, token, offer_id, request, lambda: parse_events(loads(body)), service.capture_events
    )


@capture_router.post("/capture/{offer_id}/rrweb", response_model=Ingested)
def capture_rrweb(
    token: CaptureToken,
    db: DbDep,
    offer_id: RecordId,
    body: RawBody,
    request: Request,
) -> Ingested | JSONResponse:
    """An rrweb recording of the journey (`{"events": [rrweb events]}`): each full
    snapshot becomes a screen (its recording kept as application/vnd.rrweb+json), inputs
    on boxes ticks and unticks, other inputs changes, and custom events tagged `accepted`
    or `declined` the outcome. Posting the same recording again stores nothing twice."""
    return _capture(
        db, token, offer_id, request, lambda: parse_rrweb(loads(body)), service.capture_rrweb
    )


def _capture(
    db: Database,
    token: str | None,
    offer_id: str,
    request: Request,
    parse: Callable[[], Any],
    ingest: Callable[..., service.Ingested],
) -> Ingested | JSONResponse:
    """One capture request: the token checked first (a stranger learns nothing of the
    body's shape), then the body parsed and ingested in one unit of work."""
    try:
        with db.unit_of_work() as s:
            service.capture_tenant(s, offer_id=offer_id, token=token)
            done = ingest(
                s, offer_id=offer_id, token=token, events=parse(), origin=_origin(request)
            )
    except service.CaptureDenied as exc:
        raise LoginRequired(str(exc)) from None
    except service.NumberTaken as exc:
        return number_taken(exc)
    except service.Conflict as exc:
        raise _conflict(exc) from None
    return Ingested(received=done.received, length=done.length)


# --- CORS for the capture endpoints only -------------------------------------------------------

CAPTURE_PATH = re.compile(r"^/api/capture/[^/]+/(events|rrweb)$")
_PREFLIGHT = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-methods", b"POST, OPTIONS"),
    (b"access-control-allow-headers", b"Authorization, Content-Type"),
    (b"access-control-max-age", b"86400"),
    (b"content-length", b"0"),
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class CaptureCors:
    """Lets pages on any origin post to the capture endpoints (and read the answer), and
    nothing else: every other path keeps the browser's same-origin rule. No credentials:
    the capture token is the only authority, so cookies are never needed or allowed."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not CAPTURE_PATH.match(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS":
            await send({"type": "http.response.start", "status": 204, "headers": _PREFLIGHT})
            await send({"type": "http.response.body", "body": b""})
            return

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Access-Control-Allow-Origin"] = "*"
            await send(message)

        await self.app(scope, receive, with_cors)
