"""Terms documents and their versions: publishing, reading, who accepted each."""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from accord.access import EVIDENCE_WRITERS, Actor, require
from accord.errors import Invalid, parse
from accord.evidence import queries, service
from accord.evidence.models import MediaType
from accord.evidence.pages.common import (
    MEDIA_NAMES,
    SECTION,
    acceptance_rows,
    screen_document,
    tabs,
)
from accord.evidence.schemas import MAX_TERMS_BYTES, MB, TermsDocumentCreate, TermsVersionCreate
from accord.web.deps import CSRF_FIELD, DbDep, check_csrf
from accord.web.pages import (
    CheckedForm,
    FormField,
    FormState,
    PageActor,
    flash,
    given,
    page,
    redirect,
    url,
)
from accord.web.params import RecordId

router = APIRouter(include_in_schema=False)

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
            "tabs": tabs("terms"),
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
        counts = queries.acceptance_counts(s, actor, [v.entity_id for v in versions])
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
            "tabs": tabs("terms"),
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
            "tabs": tabs("terms"),
            "v": v,
            "d": d,
            "media": MEDIA_NAMES.get(v.media_type, v.media_type),
            "shown": shown,
            "latest": latest,
            "is_latest": latest is not None and latest.entity_id == v.entity_id,
            "acceptances": acceptance_rows(accepted, names),
            "offers": total_offers,
            "offers_url": url("/offers", terms=version_id),
            "content_url": f"/api/terms-versions/{version_id}/content",
        },
    )
