"""The evidence pack of one offer: a page and a PDF a customer or a court can read, and a
file that proves itself offline.

Both show one body (templates/evidence/_pack_body.html, styled by _pack.css): the PDF in
its own print layout (templates/pack.html), the page inside the site's layout
(templates/evidence/pack.html, rendered by the evidence pages). It holds who, what, when; the
pinned terms version's text; each screen as it was shown (its structure and form state,
rebuilt as inert HTML: no script, style, link or attribute of the capture survives); the
timeline; the customer record as it was then and what changed since; and an appendix with
each journal entry's leaf hash, its inclusion proof and the signed checkpoint.

Issuing a pack (`issue`):

1. sign checkpoint C1 covering every entry about the offer, and render the PDF (WeasyPrint,
   fetching nothing: every URL is refused) with the appendix proving them against C1;
2. record an `evidence_pack` entry (offer, SHA-256 and size of the PDF, C1's size) through
   the one write path, and sign checkpoint C2 covering it;
3. write the file: the PDF bytes, then one trailer line
   ``\\n%%ACCORD-PACK <base64 of the canonical JSON manifest>\\n`` holding both checkpoints,
   the consistency proof C1 -> C2, every entry with its proof (against C1), the pack's own
   entry with its proof (against C2), and every blob the entries name (terms, screens).

PDF readers ignore what follows a PDF's last %%EOF, so the file opens as the PDF; the
standalone verifier (accord.verifier.verify_pack) checks everything else.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import weasyprint  # type: ignore[import-untyped]
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from sqlalchemy.orm import Session
from weasyprint.urls import URLFetcher  # type: ignore[import-untyped]

from accord.access import Actor
from accord.audit import queries as audit
from accord.evidence import queries, rrweb
from accord.evidence.models import EventKind, EvidencePack, MediaType
from accord.store import journal, merkle
from accord.store.db import FOREVER, Database, utcnow
from accord.store.journal import Checkpoint, Draft, Op
from accord.store.writes import record
from accord.verifier import PACK_FORMAT, PACK_MARKER, parse_checkpoint

TEMPLATES = Path(__file__).resolve().parent / "templates"
env = Environment(
    loader=FileSystemLoader(str(TEMPLATES)),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)

#: The most of one screen's text shown (a capture is 20-60 KB of HTML; its structure less).
MAX_SCREEN_CHARS = 200_000


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def canonical_json(obj: Any) -> bytes:
    """The manifest's form: sorted keys, no spaces (the verifier insists on it)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def when(t: datetime | None) -> str:
    if t is None or t == FOREVER:
        return "—"
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


# --- screens as inert HTML --------------------------------------------------------------------

# fmt: off
_KEEP = frozenset((
    "h1", "h2", "h3", "h4", "h5", "h6", "p", "ul", "ol", "li", "dl", "dt", "dd", "table",
    "thead", "tbody", "tfoot", "tr", "td", "th", "caption", "label", "strong", "em", "b", "i",
    "u", "small", "blockquote", "pre", "code", "section", "article", "header", "footer",
    "main", "nav", "form", "fieldset", "legend", "div", "span", "button", "option",
))
_SKIP = frozenset((
    "script", "style", "head", "template", "noscript", "iframe", "object", "embed", "svg",
    "canvas",
))
_VOID = frozenset((
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
    "source", "track", "wbr",
))
# fmt: on


class _Inert(HTMLParser):
    """Rebuilds a captured page as structure and text only: kept tags lose every attribute,
    dropped tags keep their text, scripts and styles vanish, form fields become marks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skipping = 0
        self.size = 0

    def _put(self, text: str) -> None:
        if self.size < MAX_SCREEN_CHARS:
            self.out.append(text)
            self.size += len(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            self.skipping = 0  # a page whose <head> was never closed still shows its body
        if tag in _SKIP:
            self.skipping += tag not in _VOID
            return
        if self.skipping:
            return
        a = {k: v or "" for k, v in attrs}
        if tag == "input":
            self._put(_field_mark(a))
        elif tag == "img":
            alt = f": {escape(a['alt'])}" if a.get("alt") else ""
            self._put(f'<span class="pk-img">[image{alt}]</span>')
        elif tag == "br":
            self._put("<br>")
        elif tag == "textarea" or tag == "select":
            self._put('<span class="pk-field">[')
        elif tag in _KEEP:
            cls = ' class="pk-btn"' if tag == "button" else ""
            self._put(f"<{tag}{cls}>")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skipping = max(0, self.skipping - 1)
            return
        if self.skipping:
            return
        if tag in ("textarea", "select"):
            self._put("]</span>")
        elif tag in _KEEP and tag not in _VOID:
            self._put(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self._put(escape(data))


def _field_mark(a: Mapping[str, str]) -> str:
    kind = a.get("type", "text").lower()
    if kind in ("checkbox", "radio"):
        mark = "☑" if "checked" in a else "☐"
        return f'<span class="pk-box">{mark}</span>'
    if kind == "password":
        return '<span class="pk-field">[••••••]</span>'
    if kind == "hidden":
        return ""
    if kind in ("submit", "button", "reset"):
        return f'<span class="pk-btn">{escape(a.get("value") or kind)}</span>'
    return f'<span class="pk-field">[{escape(a.get("value", ""))}]</span>'


def inert_screen(content: bytes, media_type: str | None) -> Markup:
    """A captured screen (HTML, or an rrweb recording) as inert HTML."""
    text = rrweb.capture_html(content, media_type) or ""
    parser = _Inert()
    parser.feed(text)
    parser.close()
    return Markup("".join(parser.out))  # noqa: S704 - rebuilt from escaped text and fixed tags


# --- gathering -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Proven:
    """A journal entry with its exact bytes, leaf hash and inclusion proof."""

    entry: journal.Entry
    raw: bytes
    leaf: bytes
    proof: list[bytes]


@dataclass
class Gathered:
    evidence: queries.OfferEvidence
    checkpoint: Checkpoint
    key: str
    proven: list[Proven]
    blobs: dict[str, bytes]


def entry_seqs(ev: queries.OfferEvidence) -> list[int]:
    """The journal entries a pack proves: the offer's, its journey's, its terms version and
    document, the customer version it pinned and the contacts it names."""
    s = ev.seqs
    seqs = {*s["offer"], *s["events"], s["terms_version"], s["terms_document"], s["customer"]}
    return sorted(seqs | set(s["contacts"]))


def _prove(session: Session, tenant_id: int, seqs: Sequence[int], cp: Checkpoint) -> list[Proven]:
    """Each entry (read in one query) with its inclusion proof in `cp`, checked here: the
    leaf is hashed from the entry's bytes, so a stored leaf hash is not taken on trust."""
    found = dict(journal.raw_entries_at(session, tenant_id, seqs))
    out = []
    for seq in seqs:
        raw = found.get(seq)
        if raw is None or seq >= cp.size:
            raise LookupError(f"journal entry {seq} is missing")
        entry, leaf = journal.Entry.from_bytes(raw), hashlib.sha256(b"\x00" + raw).digest()
        proof = journal.inclusion_proof(session, tenant_id, seq, cp.size)
        merkle.verify_inclusion(leaf, seq, cp.size, proof, cp.root)  # never hand out a bad one
        out.append(Proven(entry, raw, leaf, proof))
    return out


def gather(session: Session, actor: Actor, offer_id: str, key_dir: Path) -> Gathered:
    """The offer's evidence, a checkpoint covering all of it (signed now if the log grew),
    each entry's proof and every blob the entries name. Access: the offer's tenant."""
    ev = queries.offer_evidence(session, actor, offer_id)
    cp = audit.latest_checkpoint(session, actor=actor, key_dir=key_dir)
    proven = _prove(session, actor.tenant_id, entry_seqs(ev), cp)
    blobs = {ev.terms.blob: ev.terms_content}
    for screen in ev.events:
        if screen.event.blob and screen.content is not None:
            blobs[screen.event.blob] = screen.content
    key = audit.public_key(session, actor=actor, key_dir=key_dir)
    return Gathered(ev, cp, key, proven, blobs)


# --- rendering -------------------------------------------------------------------------------


def _label(key: str) -> str:
    return key.replace("_", " ").capitalize()


def _value(v: Any) -> str:
    if v is None or v == "":
        return "—"
    if isinstance(v, datetime):
        return when(v)
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False, sort_keys=True)
    return str(v)


def _parameters(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The product's parameters as shown: the amount with its currency, then the rest."""
    currency = params.get("currency")
    rows = []
    for k, v in params.items():
        if k == "currency" and "amount" in params:
            continue
        shown = _value(v)
        if k == "amount" and isinstance(currency, str):
            shown = f"{currency} {shown}"
        rows.append((_label(k), shown))
    return rows


def _person(p: Any) -> dict[str, str] | None:
    if p is None:
        return None
    return {"name": p.name, "role": getattr(p, "role", None) or "", "email": p.email or ""}


def _terms_body(ev: queries.OfferEvidence) -> dict[str, Any]:
    t = ev.terms
    body: dict[str, Any] = {"kind": t.media_type, "text": None, "html": None}
    if t.media_type == MediaType.TEXT:
        body["text"] = ev.terms_content.decode("utf-8", "replace")
    elif t.media_type == MediaType.HTML:
        body["html"] = inert_screen(ev.terms_content, "text/html")
    return body


def _event(s: queries.Screen) -> dict[str, Any]:
    e = s.event
    view: dict[str, Any] = {
        "n": e.n,
        "kind": e.kind,
        "at": when(e.at),
        "recorded": when(e.recorded_from),
        "seq": e.seq,
        "screen": e.screen or "",
        "url": e.url or "",
        "title": e.title or "",
        "field": e.field or "",
        "label": e.label or e.field or "",
        "value": e.value or "",
        "source": e.source,
        "ip": e.ip or "",
        "user_agent": e.user_agent or "",
    }
    if e.kind == EventKind.SCREEN:
        view["blob"] = e.blob or ""
        view["html"] = inert_screen(s.content or b"", s.media_type) if s.content else Markup("")
        view["form"] = [
            {
                "label": f.get("label") or f.get("name") or "",
                "name": f.get("name") or "",
                "type": f.get("type") or "",
                "box": f.get("type") in ("checkbox", "radio"),
                "checked": bool(f.get("checked")),
                "value": "(masked)" if f.get("masked") else (f.get("value") or ""),
            }
            for f in (s.form or [])
        ]
    return view


def _entry_view(p: Proven) -> dict[str, Any]:
    return {
        "seq": p.entry.seq,
        "type": p.entry.type,
        "id": p.entry.id,
        "kind": p.entry.kind,
        "at": when(p.entry.at),
        "leaf": p.leaf.hex(),
        "proof": [h.hex() for h in p.proof],
    }


def context(g: Gathered, *, pdf: bool) -> dict[str, Any]:
    ev = g.evidence
    o = ev.offer
    then = ev.customer_then
    skip = {"name"}
    _, size, root = parse_checkpoint(g.checkpoint.note.rpartition("\n\n")[0] + "\n")
    return {
        "pdf": pdf,
        "generated": when(utcnow()),
        "offer": {
            "id": o.entity_id,
            "customer_id": o.customer_id,
            "product": o.product,
            "status": o.status,
            "made": when(ev.made_at),
            "decided_at": when(ev.outcome.at) if ev.outcome else None,
            "decided_ip": (ev.outcome.ip if ev.outcome else None) or "—",
            "decided_user_agent": (ev.outcome.user_agent if ev.outcome else None) or "—",
            "seqs": ev.seqs["offer"],
        },
        "parameters": _parameters(ev.parameters),
        "customer": {
            "name": then.name,
            "seq": o.customer_seq,
            "rows": [(_label(k), _value(v)) for k, v in then.data().items() if k not in skip],
        },
        "now_name": ev.customer_now.name if ev.customer_now is not None else None,
        "patch": [
            {"op": p.get("op"), "path": p.get("path"), "value": _value(p.get("value"))}
            for p in ev.customer_patch
        ],
        "changes": [
            {**c, "at": when(c["at"]), "n_ops": len(c["patch"] or [])} for c in ev.customer_changes
        ],
        "contact": _person(ev.contact),
        "decided_by": _person(ev.decided_by),
        "document": {"title": ev.document.title, "code": ev.document.code},
        "terms": {
            "id": ev.terms.entity_id,
            "label": ev.terms.label,
            "media_type": ev.terms.media_type,
            "sha256": ev.terms.blob,
            "size": ev.terms.size,
            "published": when(ev.terms.published_at),
            "effective": when(ev.terms.effective_from),
            "seq": ev.terms.seq,
            **_terms_body(ev),
        },
        "events": [_event(s) for s in ev.events],
        "screens": sum(1 for s in ev.events if s.event.kind == EventKind.SCREEN),
        "entries": [_entry_view(p) for p in g.proven],
        "checkpoint": {"note": g.checkpoint.note, "size": size, "root": root.hex()},
        "key": g.key,
    }


def render_html(ctx: Mapping[str, Any]) -> str:
    return env.get_template("pack.html").render(**ctx)


class RefuseAll(URLFetcher):  # type: ignore[misc] # weasyprint is untyped
    """WeasyPrint may fetch nothing: no network, no file, not even data: URLs."""

    def fetch(self, url: str, headers: Any = None) -> Any:
        raise ValueError(f"evidence packs fetch nothing ({url[:40]})")


def render_pdf(html: str, g: Gathered) -> bytes:
    fetcher = RefuseAll()
    attachments = []
    if g.evidence.terms.media_type == MediaType.PDF:
        attachments.append(
            weasyprint.Attachment(
                string=g.evidence.terms_content,
                name=f"{g.evidence.document.code}-{g.evidence.terms.label}.pdf",
                description=f"{g.evidence.document.title}, {g.evidence.terms.label}",
                url_fetcher=fetcher,
            )
        )
    doc = weasyprint.HTML(string=html, base_url=None, url_fetcher=fetcher)
    data: bytes = doc.write_pdf(attachments=attachments)
    return data


def page_context(db: Database, actor: Actor, offer_id: str, key_dir: Path) -> dict[str, Any]:
    """What the pack's page shows (the evidence pages put it in the site's layout): its
    entries proven against the latest checkpoint."""
    with db.unit_of_work() as s:
        g = gather(s, actor, offer_id, key_dir)
        return context(g, pdf=False)


def page_html(db: Database, actor: Actor, offer_id: str, key_dir: Path) -> str:
    """The page's pack body alone, without the site's layout (what the benchmark times)."""
    ctx = page_context(db, actor, offer_id, key_dir)
    return env.get_template("evidence/_pack_body.html").render(**ctx)


# --- issuing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Issued:
    data: bytes  # the whole file
    pdf: bytes
    manifest: dict[str, Any]
    pack_id: str

    @property
    def filename(self) -> str:
        return f"evidence-{self.manifest['offer_id']}.pdf"


def _item(p: Proven) -> dict[str, Any]:
    return {"seq": p.entry.seq, "entry": b64(p.raw), "proof": [b64(h) for h in p.proof]}


def issue(db: Database, actor: Actor, offer_id: str, key_dir: Path) -> Issued:
    """Issue an evidence pack of the offer (see the module's description). Anyone of the
    offer's tenant may: a pack changes no evidence, and its issue is itself on record."""
    with db.unit_of_work() as s:
        g = gather(s, actor, offer_id, key_dir)
        ctx = context(g, pdf=True)
    pdf = render_pdf(render_html(ctx), g)
    digest = hashlib.sha256(pdf).hexdigest()
    c1 = g.checkpoint
    pack_id = str(uuid.uuid4())
    with db.unit_of_work() as s:
        queries.get_offer_for(s, actor, offer_id)
        (entry,) = record(
            s,
            tenant_id=actor.tenant_id,
            actor=actor.label,
            drafts=[
                Draft(
                    kind="evidence.pack.issued",
                    op=Op.ASSERT,
                    type=EvidencePack.entity_type,
                    id=pack_id,
                    valid_from=utcnow(),
                    valid_to=FOREVER,
                    data={
                        "offer_id": offer_id,
                        "pdf_sha256": digest,
                        "size": len(pdf),
                        "checkpoint_size": c1.size,
                    },
                )
            ],
        )
        c2 = audit.latest_checkpoint(s, actor=actor, key_dir=key_dir)
        (pack_proven,) = _prove(s, actor.tenant_id, [entry.seq], c2)
        consistency = journal.consistency_proof(s, actor.tenant_id, c1.size, c2.size)
        merkle.verify_consistency(c1.size, c2.size, consistency, c1.root, c2.root)
        c2_note = c2.note
    manifest = {
        "format": PACK_FORMAT,
        "offer_id": offer_id,
        "pdf_sha256": digest,
        "checkpoints": [c1.note, c2_note],
        "consistency": [h.hex() for h in consistency],
        "entries": [_item(p) for p in g.proven],
        "pack_entry": _item(pack_proven),
        "blobs": {d: b64(raw) for d, raw in sorted(g.blobs.items())},
    }
    data = pdf + PACK_MARKER + b64(canonical_json(manifest)).encode() + b"\n"
    return Issued(data, pdf, manifest, pack_id)
