"""Evidence pages: offers and their journeys, terms documents and their versions, the
reports (who accepted a version, who is not on the latest terms, a customer's export),
and the capture script itself (`/capture.js`).

A screen is shown as it was captured, inside an `<iframe sandbox srcdoc=...>` with no
scripts, forms or network (a Content-Security-Policy in the document says so too), with
its form state listed beside it. Tenant and role are checked by the query and service
helpers; the pages only hide the forms a person may not use.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, Response
from sqlalchemy.orm import Session

from accord.access import EVIDENCE_WRITERS, Actor, require
from accord.errors import Invalid, NotFound, parse
from accord.evidence import exports, pack, queries, rrweb, service
from accord.evidence.models import (
    RRWEB_MEDIA_TYPE,
    EventKind,
    JourneyEvent,
    MediaType,
    Offer,
    OfferStatus,
)
from accord.evidence.schemas import MAX_TERMS_BYTES, MB, TermsDocumentCreate, TermsVersionCreate
from accord.parties import queries as parties
from accord.store.temporal import AsOf
from accord.web.deps import CSRF_FIELD, DbDep, check_csrf
from accord.web.pages import (
    CheckedForm,
    FormField,
    FormState,
    PageActor,
    flash,
    given,
    page,
    pager,
    redirect,
    sentence,
    url,
)
from accord.web.params import RecordId

router = APIRouter(include_in_schema=False)

CAPTURE_JS = FilePath(__file__).resolve().parent / "capture.js"
PER_PAGE = 25
SECTION = "evidence"

STATUS_BADGE = {"open": "prospect", "accepted": "active", "declined": "revoked"}
STATUS_CHOICES = tuple((s.value, s.value.capitalize()) for s in OfferStatus)
MEDIA_NAMES = {
    MediaType.TEXT.value: "Plain text",
    MediaType.HTML.value: "HTML",
    MediaType.PDF.value: "PDF",
}
CURRENCY_SIGNS = {"GBP": "£", "EUR": "€", "USD": "$"}

#: Put at the top of every captured document shown: nothing it names is fetched.
_SCREEN_CSP = (
    '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
    "style-src 'unsafe-inline'; img-src data:; font-src data:\">"
)


# --- the capture script ----------------------------------------------------------------------


@router.get("/capture.js")
def capture_js() -> Response:
    """The capture script an organisation adds to its offer pages (public: it holds no
    secret; each offer page gives it the offer's own capture token)."""
    if not CAPTURE_JS.is_file():
        raise NotFound("the capture script is not installed")
    return FileResponse(
        CAPTURE_JS,
        media_type="application/javascript; charset=utf-8",
        headers={
            "Cache-Control": "public, max-age=3600",
            "Access-Control-Allow-Origin": "*",
            "X-Content-Type-Options": "nosniff",
        },
    )


# --- shared bits -----------------------------------------------------------------------------


def screen_document(content: bytes, media_type: str | None) -> str:
    """A capture as an HTML document to put in a sandboxed iframe's srcdoc."""
    if media_type == RRWEB_MEDIA_TYPE:
        node = rrweb.snapshot_of(content)
        text = rrweb.to_html(node) if node is not None else "<p>(no snapshot)</p>"
    else:
        text = content.decode("utf-8", "replace")
    head = re.search(r"<head\b[^>]*>", text, re.IGNORECASE)
    if head:
        return text[: head.end()] + _SCREEN_CSP + text[head.end() :]
    doctype = re.match(r"\s*<!doctype[^>]*>", text, re.IGNORECASE)
    at = doctype.end() if doctype else 0
    return text[:at] + _SCREEN_CSP + text[at:]


def _label(key: str) -> str:
    return sentence(key.replace("_", " "))


def money_text(value: Any, currency: str | None) -> str:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    sign = CURRENCY_SIGNS.get((currency or "").upper(), "")
    text = f"{amount:,.2f}" if amount != amount.to_integral() or sign else f"{amount:,}"
    return f"{sign}{text}" if sign else (f"{text} {currency}" if currency else text)


def parameter_rows(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """An offer's parameters as people read them: amount with its currency, then term and
    rate, then the rest by name."""
    currency = params.get("currency") if isinstance(params.get("currency"), str) else None
    first = [k for k in ("amount", "term", "rate") if k in params]
    rest = sorted(k for k in params if k not in first and k != "currency")
    rows = []
    for k in [*first, *rest]:
        v = params[k]
        if k == "amount":
            text = money_text(v, currency)
        elif isinstance(v, bool):
            text = "Yes" if v else "No"
        elif isinstance(v, dict | list):
            text = json.dumps(v, ensure_ascii=False)
        elif v is None:
            text = "—"
        else:
            text = str(v)
        rows.append((_label(k), text))
    if currency and "amount" not in params:
        rows.append(("Currency", currency))
    return rows


def offer_summary(params: Mapping[str, Any]) -> str:
    parts = []
    if "amount" in params:
        parts.append(money_text(params["amount"], params.get("currency")))
    for k in ("term", "rate"):
        if params.get(k) not in (None, ""):
            parts.append(str(params[k]))
    return " · ".join(parts)


def _tabs(active: str) -> list[dict[str, Any]]:
    return [
        {"label": "Offers", "href": "/offers", "current": active == "offers"},
        {"label": "Terms", "href": "/terms", "current": active == "terms"},
        {"label": "Reports", "href": "/evidence/reports", "current": active == "reports"},
    ]


def _version_names(s: Session, actor: Actor) -> dict[str, dict[str, str]]:
    """Every terms version's label, with its document's code and title."""
    docs = {d.entity_id: d for d in queries.list_documents(s, actor)}
    out = {}
    for v in queries.all_versions(s, actor):
        d = docs.get(v.document_id)
        out[v.entity_id] = {
            "label": v.label,
            "code": d.code if d else "",
            "title": d.title if d else "",
            "document_id": v.document_id,
            "name": f"{d.code if d else '?'} {v.label}",
        }
    return out


def _customer_choices(s: Session, actor: Actor) -> list[tuple[str, str]]:
    rows, _ = parties.list_customers(s, actor=actor, when=AsOf.now(), limit=1_000_000)
    return [(c.entity_id, f"{c.name} ({c.code})") for c in rows]


# --- offers ----------------------------------------------------------------------------------

Filter = Annotated[str, Query(max_length=64, pattern=r"^[0-9A-Za-z-]*$")]


@router.get("/offers")
def offers(
    request: Request,
    actor: PageActor,
    db: DbDep,
    customer: Filter = "",
    status: Annotated[str, Query(pattern=r"^(open|accepted|declined)?$")] = "",
    terms: Filter = "",
    page_no: Annotated[int, Query(alias="page", ge=1, le=1_000_000)] = 1,
) -> Response:
    with db.reading(detach=True) as s:
        rows, total = queries.list_offers(
            s,
            actor=actor,
            customer_id=customer or None,
            status=status or None,
            terms_version_id=terms or None,
            limit=PER_PAGE,
            offset=(page_no - 1) * PER_PAGE,
        )
        names = queries.customer_names(s, actor)
        versions = _version_names(s, actor)
        customers = _customer_choices(s, actor)
    items = []
    for o, made in rows:
        params = queries.parameters_of(o)
        items.append(
            {
                "id": o.entity_id,
                "made_at": made,
                "customer": names.get(o.customer_id, "Unknown customer"),
                "customer_id": o.customer_id,
                "product": o.product,
                "summary": offer_summary(params),
                "terms": versions.get(o.terms_version_id, {}).get("name", ""),
                "terms_id": o.terms_version_id,
                "status": o.status,
                "badge": STATUS_BADGE[o.status],
                "decided_at": o.decided_at,
            }
        )
    filters = {"customer": customer, "status": status, "terms": terms}
    return page(
        request,
        "evidence/offers.html",
        {
            "section": SECTION,
            "tabs": _tabs("offers"),
            "items": items,
            "total": total,
            "customers": customers,
            "statuses": STATUS_CHOICES,
            "versions": sorted(versions.items(), key=lambda kv: kv[1]["name"]),
            "filters": filters,
            "filtered": any(filters.values()),
            "export_url": f"/evidence/export?customer={customer}" if customer else None,
            "pager": pager(
                total=total, page_no=page_no, per_page=PER_PAGE, path="/offers", params=filters
            ),
        },
    )


def _event_view(s: queries.Screen, offer_id: str) -> dict[str, Any]:
    e: JourneyEvent = s.event
    view: dict[str, Any] = {
        "n": e.n,
        "kind": e.kind,
        "at": e.at,
        "recorded_at": e.recorded_from,
        "seq": e.seq,
        "screen": e.screen,
        "url": e.url,
        "title": e.title,
        "field": e.field,
        "label": e.label or e.field,
        "value": e.value,
        "source": e.source,
        "ip": e.ip,
        "user_agent": e.user_agent,
    }
    if e.kind == EventKind.SCREEN:
        view["srcdoc"] = screen_document(s.content or b"", s.media_type)
        view["raw_url"] = f"/api/offers/{offer_id}/events/{e.n}/screen"
        view["rrweb"] = s.media_type == RRWEB_MEDIA_TYPE
        view["form"] = [
            {
                **f,
                "box": f.get("type") in ("checkbox", "radio"),
                "shown": f.get("label") or f.get("name"),
            }
            for f in (s.form or [])
        ]
    return view


@router.get("/offers/{offer_id}/pack")
def offer_pack(request: Request, actor: PageActor, db: DbDep, offer_id: RecordId) -> Response:
    """The offer's evidence pack as a page (the PDF's content, proven against the latest
    checkpoint). The signed PDF is at /api/offers/{id}/pack.pdf."""
    html = pack.page_html(db, actor, offer_id, request.app.state.settings.key_dir)
    return Response(html, media_type="text/html; charset=utf-8")


@router.get("/offers/{offer_id}")
def offer(request: Request, actor: PageActor, db: DbDep, offer_id: RecordId) -> Response:
    with db.reading(detach=True) as s:
        ev = queries.offer_evidence(s, actor, offer_id)
        history = queries.offer_history(s, actor, offer_id)
        journey = [_event_view(x, offer_id) for x in ev.events]
    o: Offer = ev.offer
    then = ev.customer_then
    changed = [
        {
            "field": _label(p["path"].lstrip("/")),
            "op": p["op"],
            "old": then.data().get(p["path"].lstrip("/")),
            "new": p.get("value"),
        }
        for p in ev.customer_patch
    ]
    ticks = sum(1 for j in journey if j["kind"] in ("tick", "untick"))
    screens = sum(1 for j in journey if j["kind"] == "screen")
    return page(
        request,
        "evidence/offer.html",
        {
            "section": SECTION,
            "tabs": _tabs("offers"),
            "o": o,
            "made_at": ev.made_at,
            "made_by": history[0].actor if history else "",
            "badge": STATUS_BADGE[o.status],
            "parameters": parameter_rows(ev.parameters),
            "summary": offer_summary(ev.parameters),
            "customer": then,
            "customer_now": ev.customer_now,
            "changed": changed,
            "changes_since": ev.customer_changes,
            "contact": ev.contact,
            "decided_by": ev.decided_by,
            "document": ev.document,
            "terms": ev.terms,
            "journey": journey,
            "screens": screens,
            "ticks": ticks,
            "seqs": ev.seqs,
            "can_write": actor.may(*EVIDENCE_WRITERS),
            "origin": str(request.base_url).rstrip("/"),
        },
    )


# --- terms -----------------------------------------------------------------------------------

DOC_FIELDS = (
    FormField(
        "code",
        "Code",
        required=True,
        hint="Short, in capitals, e.g. MSA or DPA.",
        autocomplete="off",
    ),
    FormField("title", "Title", required=True, placeholder="e.g. Managed services agreement"),
)

MEDIA_CHOICES = tuple((m.value, MEDIA_NAMES[m.value]) for m in MediaType)
VERSION_FIELDS = (
    FormField(
        "label", "Version label", required=True, hint="How people name it, e.g. v3 or 2026-11."
    ),
    FormField(
        "media_type",
        "Format of pasted text",
        type="select",
        required=True,
        choices=MEDIA_CHOICES[:2],
        hint="For an uploaded file it is taken from the file (.txt, .html or .pdf).",
    ),
    FormField("published_at", "Published", type="date", hint="Empty means now.", quiet=False),
    FormField(
        "effective_from",
        "Applies from",
        type="date",
        hint="Empty means from publication. Not before it is published.",
    ),
    FormField(
        "text",
        "Paste the text",
        type="textarea",
        hint="Plain text or HTML, exactly as customers see it. Or upload a file below.",
        wide=True,
    ),
)


def _terms_page(
    request: Request, db: DbDep, actor: Actor, form: FormState, status_code: int = 200
) -> Response:
    with db.reading(detach=True) as s:
        rows = []
        for d in queries.list_documents(s, actor):
            versions = queries.versions_of(s, actor, d.entity_id)
            latest = queries.latest_version(versions)
            rows.append(
                {
                    "id": d.entity_id,
                    "code": d.code,
                    "title": d.title,
                    "count": len(versions),
                    "latest": latest.label if latest else None,
                    "latest_from": latest.effective_from if latest else None,
                    "planned": [
                        v.label
                        for v in versions
                        if latest is None or v.effective_from > latest.effective_from
                    ],
                }
            )
    return page(
        request,
        "evidence/terms.html",
        {
            "section": SECTION,
            "tabs": _tabs("terms"),
            "items": rows,
            "form": form,
            "fields": DOC_FIELDS,
            "can_write": actor.may(*EVIDENCE_WRITERS),
        },
        status_code=status_code,
    )


@router.get("/terms")
def terms(request: Request, actor: PageActor, db: DbDep) -> Response:
    return _terms_page(request, db, actor, FormState())


@router.post("/terms")
def create_terms(request: Request, actor: PageActor, db: DbDep, form: CheckedForm) -> Response:
    require(actor, *EVIDENCE_WRITERS)
    try:
        data = parse(TermsDocumentCreate, given(form, ["code", "title"]))
        with db.unit_of_work() as s:
            document_id = service.create_terms_document(s, actor=actor, data=data)
    except Invalid as exc:
        state = FormState.failed(form, exc, DOC_FIELDS)
        return _terms_page(request, db, actor, state, status_code=422)
    flash(request, f"Terms document {data.code} created. Publish its first version.")
    return redirect(f"/terms/{document_id}")


def _document_page(
    request: Request,
    db: DbDep,
    actor: Actor,
    document_id: str,
    form: FormState,
    status_code: int = 200,
) -> Response:
    with db.reading(detach=True) as s:
        d = queries.get_document_for(s, actor, document_id)
        versions = queries.versions_of(s, actor, document_id)
        latest = queries.latest_version(versions)
        counts = {v.entity_id: len(queries.acceptances(s, actor, v.entity_id)) for v in versions}
    rows = [
        {
            "id": v.entity_id,
            "label": v.label,
            "media": MEDIA_NAMES.get(v.media_type, v.media_type),
            "size": v.size,
            "published_at": v.published_at,
            "effective_from": v.effective_from,
            "latest": latest is not None and v.entity_id == latest.entity_id,
            "planned": latest is None or v.effective_from > latest.effective_from,
            "accepted": counts[v.entity_id],
            "seq": v.seq,
        }
        for v in reversed(versions)
    ]
    return page(
        request,
        "evidence/document.html",
        {
            "section": SECTION,
            "tabs": _tabs("terms"),
            "d": d,
            "versions": rows,
            "form": form,
            "fields": VERSION_FIELDS,
            "can_write": actor.may(*EVIDENCE_WRITERS),
            "max_mb": MAX_TERMS_BYTES // MB,
        },
        status_code=status_code,
    )


@router.get("/terms/{document_id}")
def document(request: Request, actor: PageActor, db: DbDep, document_id: RecordId) -> Response:
    return _document_page(
        request, db, actor, document_id, FormState(values={"media_type": "text/plain"})
    )


async def upload_form(request: Request) -> tuple[dict[str, str], tuple[str, str, bytes] | None]:
    """A publish form: its text fields (after the CSRF check) and the uploaded file, if
    any, as (name, content type, bytes)."""
    form = await request.form(max_files=1, max_fields=20, max_part_size=MAX_TERMS_BYTES + MB)
    check_csrf(request, str(form.get(CSRF_FIELD) or "") or None)
    fields = {k: v for k, v in form.multi_items() if isinstance(v, str) and k != CSRF_FIELD}
    upload = form.get("file")
    try:
        if upload is None or isinstance(upload, str) or not upload.filename:
            return fields, None
        data = await upload.read(MAX_TERMS_BYTES + 1)
        return fields, (upload.filename, upload.content_type or "", data)
    finally:
        await form.close()  # the upload's temporary file


UploadForm = Annotated[tuple[dict[str, str], tuple[str, str, bytes] | None], Depends(upload_form)]

_BY_SUFFIX = {
    ".pdf": MediaType.PDF,
    ".html": MediaType.HTML,
    ".htm": MediaType.HTML,
    ".txt": MediaType.TEXT,
    ".md": MediaType.TEXT,
}


def _upload_media_type(name: str, declared: str) -> str:
    suffix = FilePath(name).suffix.lower()
    if suffix in _BY_SUFFIX:
        return _BY_SUFFIX[suffix].value
    base = declared.split(";")[0].strip().lower()
    if base in {m.value for m in MediaType}:
        return base
    raise Invalid.one("file", "a .txt, .html or .pdf file")


@router.post("/terms/{document_id}/versions")
def publish_version(
    request: Request,
    actor: PageActor,
    db: DbDep,
    document_id: RecordId,
    submitted: UploadForm,
) -> Response:
    require(actor, *EVIDENCE_WRITERS)
    form, upload = submitted
    try:
        text = form.get("text", "")
        if upload is not None and text.strip():
            raise Invalid.one("text", "paste the text or upload a file, not both")
        if upload is not None:
            name, declared, content = upload
            media_type = _upload_media_type(name, declared)
            if len(content) > MAX_TERMS_BYTES:
                raise Invalid.one("file", f"at most {MAX_TERMS_BYTES // MB} MB")
        elif text.strip():
            media_type = form.get("media_type", "")
            content = text.replace("\r\n", "\n").encode("utf-8", "surrogatepass")
        else:
            raise Invalid.one("text", "paste the text, or upload a file")
        facts = {
            **given(form, ["label", "published_at", "effective_from"]),
            "media_type": media_type,
        }
        data = parse(TermsVersionCreate, facts)
        with db.unit_of_work() as s:
            service.publish_terms_version(
                s, actor=actor, document_id=document_id, data=data, content=content
            )
    except Invalid as exc:
        problems = [
            ("text" if f == "content" and upload is None else ("file" if f == "content" else f), r)
            for f, r in exc.problems
        ]
        fields = (*VERSION_FIELDS, FormField("file", "Upload a file"))
        state = FormState.failed(form, Invalid(problems), fields)
        if upload is not None:
            state.general.append(f"Choose the file {upload[0]} again.")
        return _document_page(request, db, actor, document_id, state, status_code=422)
    flash(request, f"Version {data.label} published.")
    return redirect(f"/terms/{document_id}")


@router.get("/terms/versions/{version_id}")
def terms_version(request: Request, actor: PageActor, db: DbDep, version_id: RecordId) -> Response:
    with db.reading(detach=True) as s:
        v, content = queries.version_content(s, actor, version_id)
        d = queries.get_document_for(s, actor, v.document_id)
        versions = queries.versions_of(s, actor, v.document_id)
        latest = queries.latest_version(versions)
        accepted = queries.acceptances(s, actor, version_id)
        names = queries.customer_names(s, actor)
        _, total_offers = queries.list_offers(s, actor=actor, terms_version_id=version_id, limit=1)
    shown: dict[str, Any] = {"kind": v.media_type}
    if v.media_type == MediaType.TEXT:
        shown["text"] = content.decode("utf-8", "replace")
    elif v.media_type == MediaType.HTML:
        shown["srcdoc"] = screen_document(content, "text/html")
    return page(
        request,
        "evidence/version.html",
        {
            "section": SECTION,
            "tabs": _tabs("terms"),
            "v": v,
            "d": d,
            "media": MEDIA_NAMES.get(v.media_type, v.media_type),
            "shown": shown,
            "latest": latest,
            "is_latest": latest is not None and latest.entity_id == v.entity_id,
            "acceptances": [
                {
                    "customer": names.get(o.customer_id, "Unknown customer"),
                    "customer_id": o.customer_id,
                    "offer_id": o.entity_id,
                    "product": o.product,
                    "decided_at": o.decided_at,
                }
                for o in accepted
            ],
            "offers": total_offers,
            "offers_url": url("/offers", terms=version_id),
            "content_url": f"/api/terms-versions/{version_id}/content",
        },
    )


# --- reports ---------------------------------------------------------------------------------


@router.get("/evidence/reports")
def reports(
    request: Request,
    actor: PageActor,
    db: DbDep,
    version: Filter = "",
) -> Response:
    with db.reading(detach=True) as s:
        names = queries.customer_names(s, actor)
        versions = _version_names(s, actor)
        chosen = version if version in versions else ""
        accepted = queries.acceptances(s, actor, chosen) if chosen else []
        documents = []
        for d in queries.list_documents(s, actor):
            latest, behind = queries.not_on_latest(s, actor, d.entity_id)
            accepted_any = sum(
                len(queries.acceptances(s, actor, v.entity_id))
                for v in queries.versions_of(s, actor, d.entity_id)
            )
            documents.append(
                {
                    "accepted_any": accepted_any,
                    "id": d.entity_id,
                    "code": d.code,
                    "title": d.title,
                    "latest": latest,
                    "behind": [
                        {
                            "customer": names.get(b.customer_id, "Unknown customer"),
                            "customer_id": b.customer_id,
                            "offer_id": b.offer.entity_id,
                            "accepted": b.accepted.label,
                            "accepted_id": b.accepted.entity_id,
                            "accepted_at": b.offer.decided_at,
                        }
                        for b in behind
                    ],
                }
            )
        customers = _customer_choices(s, actor)
    return page(
        request,
        "evidence/reports.html",
        {
            "section": SECTION,
            "tabs": _tabs("reports"),
            "versions": sorted(versions.items(), key=lambda kv: kv[1]["name"]),
            "version": chosen,
            "version_name": versions.get(chosen, {}).get("name", ""),
            "accepted": [
                {
                    "customer": names.get(o.customer_id, "Unknown customer"),
                    "customer_id": o.customer_id,
                    "offer_id": o.entity_id,
                    "product": o.product,
                    "decided_at": o.decided_at,
                }
                for o in accepted
            ],
            "documents": documents,
            "customers": customers,
        },
    )


@router.get("/evidence/export")
def export(
    actor: PageActor,
    db: DbDep,
    customer: Annotated[str, Query(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z-]+$")],
) -> Response:
    """One customer's evidence as a ZIP (for a data-subject access request)."""
    with db.reading(detach=True) as s:
        name, data = exports.customer_export(s, actor, customer)
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
