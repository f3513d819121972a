"""What the evidence pages share: the section's tabs, how offers, parameters and captured
screens are shown, the choices of customers and terms versions; and the capture script
itself (`/capture.js`)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, Response
from sqlalchemy.orm import Session

from accord.access import Actor
from accord.errors import NotFound
from accord.evidence import queries, rrweb
from accord.evidence.models import MediaType, OfferStatus
from accord.parties import queries as parties
from accord.store.temporal import AsOf
from accord.web.pages import sentence

router = APIRouter(include_in_schema=False)

CAPTURE_JS = FilePath(__file__).resolve().parent.parent / "capture.js"
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


Filter = Annotated[str, Query(max_length=64, pattern=r"^[0-9A-Za-z-]*$")]


# --- shared bits -----------------------------------------------------------------------------


def screen_document(content: bytes, media_type: str | None) -> str:
    """A capture as an HTML document to put in a sandboxed iframe's srcdoc."""
    text = rrweb.capture_html(content, media_type) or "<p>(no snapshot)</p>"
    head = re.search(r"<head\b[^>]*>", text, re.IGNORECASE)
    if head:
        return text[: head.end()] + _SCREEN_CSP + text[head.end() :]
    doctype = re.match(r"\s*<!doctype[^>]*>", text, re.IGNORECASE)
    at = doctype.end() if doctype else 0
    return text[:at] + _SCREEN_CSP + text[at:]


def field_label(key: str) -> str:
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
        rows.append((field_label(k), text))
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


def tabs(active: str) -> list[dict[str, Any]]:
    return [
        {"label": "Offers", "href": "/offers", "current": active == "offers"},
        {"label": "Terms", "href": "/terms", "current": active == "terms"},
        {"label": "Reports", "href": "/evidence/reports", "current": active == "reports"},
    ]


def version_names(s: Session, actor: Actor) -> dict[str, dict[str, str]]:
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


def customer_choices(s: Session, actor: Actor) -> list[tuple[str, str]]:
    rows, _ = parties.list_customers(s, actor=actor, when=AsOf.now(), limit=1_000_000)
    return [(c.entity_id, f"{c.name} ({c.code})") for c in rows]


def acceptance_rows(
    accepted: Sequence[queries.Acceptance], names: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Accepted offers as the rows of an acceptances table: who, which offer, when."""
    return [
        {
            "customer": names.get(a.offer.customer_id, "Unknown customer"),
            "customer_id": a.offer.customer_id,
            "offer_id": a.offer.entity_id,
            "product": a.offer.product,
            "decided_at": a.outcome.at,
        }
        for a in accepted
    ]
