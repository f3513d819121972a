"""Input and output shapes for terms, offers and journeys (Create / Public), and the
checks of a journey's events as capture.js, a provider's backend or rrweb send them.

Events are checked one by one so that a problem names the event as the sender knows it:
`events[3].type`, `events[0].form[2].checked`.
"""

from __future__ import annotations

import ipaddress
import math
import re
from datetime import datetime
from typing import Annotated, Any, Literal, TypeGuard

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from accord.errors import Invalid
from accord.evidence.models import EventKind, EventSource, MediaType, OfferStatus
from accord.fields import Text
from accord.parties.schemas import VersionInfo
from accord.timeinput import Instant

_strict = ConfigDict(str_strip_whitespace=True, extra="forbid")
_exact = ConfigDict(extra="forbid")  # captured text is kept exactly as it was shown

ID = r"^[0-9A-Za-z-]{1,64}$"
CODE = r"^[A-Z0-9][A-Z0-9-]*$"
PARAMETER = r"^[A-Za-z][A-Za-z0-9_]{0,63}$"

#: Limits on what one request may carry; beyond them a request is refused, not cut.
MAX_TERMS_BYTES = 20 * 1024 * 1024
MAX_SCREEN_HTML = 2 * 1024 * 1024
MAX_EVENTS = 500
MAX_RRWEB_EVENTS = 20_000
#: A page's DOM nests a few dozen elements deep; a snapshot node is two JSON levels each.
MAX_RRWEB_DEPTH = 400
MAX_FORM_FIELDS = 1000
MAX_PARAMETERS_BYTES = 16 * 1024
MB = 1024 * 1024


# --- terms ---------------------------------------------------------------------------------


class TermsDocumentCreate(BaseModel):
    model_config = _strict
    code: Text = Field(
        min_length=2,
        max_length=40,
        pattern=CODE,
        description="short code both sides use, e.g. MSA: capitals, digits, dashes",
    )
    title: Text = Field(min_length=1, max_length=200)


class TermsVersionCreate(BaseModel):
    """A version's facts; its bytes come beside it (text, HTML or a PDF file)."""

    model_config = _strict
    label: Text = Field(
        min_length=1,
        max_length=40,
        pattern=r"^[0-9A-Za-z][0-9A-Za-z ._/-]*$",
        description="how people name the version, e.g. v2 or 2026-11",
    )
    media_type: MediaType = Field(description="text/plain, text/html or application/pdf")
    published_at: Instant | None = Field(default=None, description="default now")
    effective_from: Instant | None = Field(
        default=None, description="when it applies from; default its publication"
    )


class TermsVersionPublish(TermsVersionCreate):
    """Publishing through the API: the bytes as `text` (plain or HTML) or base64."""

    text: str | None = Field(default=None, description="the text or HTML itself")
    content_base64: str | None = Field(
        default=None, description="the bytes in base64 (any media type; needed for a PDF)"
    )


class TermsVersionPublic(BaseModel):
    id: str
    document_id: str
    label: str
    media_type: str
    blob: str = Field(description="SHA-256 (hex) of the bytes")
    size: int
    published_at: datetime
    effective_from: datetime
    version: VersionInfo


class TermsDocumentPublic(BaseModel):
    id: str
    code: str
    title: str
    versions: list[TermsVersionPublic]
    latest_version_id: str | None = Field(description="the version in effect now")
    version: VersionInfo


# --- offers --------------------------------------------------------------------------------


def _number(v: object) -> TypeGuard[int | float]:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _check_json(value: object, where: str, depth: int = 0) -> None:
    if depth > 4:
        raise ValueError(f"{where}: nested too deeply (at most 4 levels)")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{where}: not a finite number")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53 - 1:
        raise ValueError(f"{where}: a whole number beyond 2^53 cannot be kept exactly")
    if isinstance(value, str) and len(value) > 2000:
        raise ValueError(f"{where}: at most 2000 characters")
    if isinstance(value, dict):
        for k, v in value.items():
            _check_json(v, f"{where}.{k}", depth + 1)
    if isinstance(value, list):
        for i, v in enumerate(value):
            _check_json(v, f"{where}[{i}]", depth + 1)


def _parameters(value: dict[str, Any]) -> dict[str, Any]:
    problems = []
    for key in value:
        if not isinstance(key, str) or not _param_name(key):
            problems.append(f"{key!r}: a name is a letter, then letters, digits or _ (64 at most)")
    for name in ("amount", "term"):
        if value.get(name) in (None, ""):
            problems.append(f"{name}: required (the amount and the term of what is offered)")
    amount = value.get("amount")
    if amount not in (None, "") and not (_number(amount) or _decimal(amount)):
        problems.append("amount: a number, e.g. 250 or 249.99")
    if _number(amount) and amount < 0:
        problems.append("amount: cannot be negative")
    rate = value.get("rate")
    if rate is not None and not (_number(rate) or isinstance(rate, str)):
        problems.append("rate: a number or a text such as '6.9% APR'")
    if problems:
        raise ValueError("; ".join(problems))
    for key, v in value.items():
        _check_json(v, key)
    return value


def _param_name(key: str) -> bool:
    return re.match(PARAMETER, key) is not None


def _decimal(v: object) -> bool:
    return isinstance(v, str) and re.fullmatch(r"-?[0-9]{1,15}(\.[0-9]{1,6})?", v) is not None


Parameters = Annotated[dict[str, Any], AfterValidator(_parameters)]


class OfferCreate(BaseModel):
    model_config = _strict
    customer_id: str = Field(pattern=ID)
    contact_id: str | None = Field(
        default=None, pattern=ID, description="the person it is made to (a contact of the customer)"
    )
    product: Text = Field(min_length=1, max_length=200)
    parameters: Parameters = Field(
        description="amount, term, rate (optional) and any custom fields: an object, kept as "
        "RFC 8785 canonical JSON"
    )
    terms_version_id: str = Field(pattern=ID)
    effective: Instant | None = Field(
        default=None, description="when the offer was made (default now; not in the future)"
    )


class OfferPublic(BaseModel):
    id: str
    customer_id: str
    customer_seq: int = Field(description="journal entry of the customer's version pinned")
    contact_id: str | None
    product: str
    parameters: dict[str, Any]
    terms_version_id: str
    status: OfferStatus
    made_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    decided_ip: str | None
    decided_user_agent: str | None
    version: VersionInfo


class OfferCreated(OfferPublic):
    capture_token: str = Field(
        description="lets capture.js append to this offer's journey; shown once, kept hashed"
    )


class OfferList(BaseModel):
    items: list[OfferPublic]
    total: int
    limit: int
    offset: int


class EventPublic(BaseModel):
    id: str
    n: int
    kind: EventKind
    at: datetime
    screen: str | None
    url: str | None
    title: str | None
    blob: str | None
    media_type: str | None = Field(description="of the screen capture: text/html or rrweb JSON")
    form: list[dict[str, Any]] | None
    field: str | None
    label: str | None
    value: str | None
    source: EventSource
    ip: str | None
    user_agent: str | None
    contact: str | None = Field(default=None, description="the outcome's: the contact who decided")
    seq: int = Field(description="the journal entry that recorded it")
    recorded_at: datetime


class Ingested(BaseModel):
    received: list[int] = Field(description="the n of every event of the request now on record")
    length: int = Field(description="how many events of the offer's journey are on record")


class Acceptance(BaseModel):
    customer_id: str
    customer: str
    offer_id: str
    terms_version_id: str
    label: str
    decided_at: datetime | None
    decided_by: str | None


class NotOnLatest(BaseModel):
    customer_id: str
    customer: str
    offer_id: str
    accepted_version_id: str
    accepted_label: str
    accepted_at: datetime | None
    latest_version_id: str
    latest_label: str


# --- journey events ------------------------------------------------------------------------

ShortText = Annotated[str, Field(max_length=200)]


def _no_nul(v: str | None) -> str | None:
    # PostgreSQL cannot keep NUL in text; no page shows one.
    if v is not None and "\x00" in v:
        raise ValueError("contains a NUL character")
    return v


Captured = Annotated[str, AfterValidator(_no_nul)]


class FormEntry(BaseModel):
    """One field of a form as a screen showed it. Password values never arrive (capture.js
    masks them); should one, it is blanked here too."""

    model_config = _exact
    name: Captured = Field(max_length=200)
    type: Captured = Field(max_length=40)
    label: Captured | None = Field(default=None, max_length=1000)
    checked: bool | None = None
    value: Captured | None = Field(default=None, max_length=10_000)
    masked: bool = False


class _Event(BaseModel):
    model_config = _exact
    n: int = Field(ge=0, le=1_000_000)
    at: Instant
    # Server-side capture only: the customer's address and browser as the backend saw them.
    ip: str | None = Field(default=None, max_length=45)
    user_agent: Captured | None = Field(default=None, max_length=500)

    @field_validator("ip")
    @classmethod
    def _ip(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                return str(ipaddress.ip_address(v.strip()))
            except ValueError:
                raise ValueError("not an IPv4 or IPv6 address") from None
        return v


class ScreenIn(_Event):
    type: Literal["screen"]
    name: Captured = Field(min_length=1, max_length=200)
    url: Captured | None = Field(default=None, max_length=2000)
    title: Captured | None = Field(default=None, max_length=500)
    html: Captured = Field(min_length=1, description="the page's DOM with its form state")
    form: list[FormEntry] = Field(default_factory=list, max_length=MAX_FORM_FIELDS)

    @field_validator("html")
    @classmethod
    def _size(cls, v: str) -> str:
        if len(v) > MAX_SCREEN_HTML or len(v.encode("utf-8", "surrogatepass")) > MAX_SCREEN_HTML:
            raise ValueError(f"at most {MAX_SCREEN_HTML // MB} MB of HTML per screen")
        return v


class InteractionIn(_Event):
    type: Literal["tick", "untick", "change"]
    screen: Captured | None = Field(default=None, max_length=200)
    field: Captured = Field(min_length=1, max_length=200)
    label: Captured | None = Field(default=None, max_length=1000)
    value: Captured | None = Field(default=None, max_length=10_000)


class OutcomeIn(_Event):
    type: Literal["accepted", "declined"]
    screen: Captured | None = Field(default=None, max_length=200)
    contact: str | None = Field(default=None, pattern=ID, description="the contact deciding")


EventIn = ScreenIn | InteractionIn | OutcomeIn
_BY_TYPE: dict[str, type[_Event]] = {
    "screen": ScreenIn,
    "tick": InteractionIn,
    "untick": InteractionIn,
    "change": InteractionIn,
    "accepted": OutcomeIn,
    "declined": OutcomeIn,
}


def _where(prefix: str, loc: tuple[int | str, ...]) -> str:
    out = prefix
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def parse_events(body: object, *, server: bool = False) -> list[EventIn]:
    """The events of an ingest request, checked; Invalid names every bad one
    (`events[3].type`). Only server-side capture may give `ip` and `user_agent`: from a
    browser they are taken from the request itself."""
    if not isinstance(body, dict):
        raise Invalid.one("body", 'a JSON object: {"events": [...]}')
    unknown = sorted(set(body) - {"events"})
    if unknown:
        raise Invalid([(k, "unknown field: the body has only 'events'") for k in unknown])
    raw = body.get("events")
    if not isinstance(raw, list):
        raise Invalid.one("events", "required: a list of events")
    if not raw:
        raise Invalid.one("events", "at least one event")
    if len(raw) > MAX_EVENTS:
        raise Invalid.one("events", f"at most {MAX_EVENTS} events per request (got {len(raw)})")
    problems: list[tuple[str, str]] = []
    events: list[EventIn] = []
    seen: dict[int, int] = {}
    for i, item in enumerate(raw):
        where = f"events[{i}]"
        if not isinstance(item, dict):
            problems.append((where, "an object"))
            continue
        kind = item.get("type")
        model = _BY_TYPE.get(kind) if isinstance(kind, str) else None
        if model is None:
            kinds = ", ".join(_BY_TYPE)
            problems.append((f"{where}.type", f"one of {kinds} (got {kind!r})"))
            continue
        if not server:
            for name in ("ip", "user_agent"):
                if name in item:
                    problems.append(
                        (f"{where}.{name}", "taken from the request; a browser may not send it")
                    )
        try:
            event = model.model_validate(item)
        except ValidationError as exc:
            for err in exc.errors():
                problems.append((_where(where, tuple(err["loc"])), _reason(err["msg"])))
            continue
        if event.n in seen:
            problems.append((f"{where}.n", f"n={event.n} is also events[{seen[event.n]}]"))
            continue
        seen[event.n] = i
        events.append(event)  # type: ignore[arg-type]
    if problems:
        raise Invalid(problems)
    return events


def _reason(msg: str) -> str:
    return msg.removeprefix("Value error, ")


def _deeper_than(value: object, limit: int) -> bool:
    """Whether JSON `value` nests more than `limit` levels (walked without recursion)."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        v, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(v, dict):
            stack.extend((x, depth + 1) for x in v.values())
        elif isinstance(v, list):
            stack.extend((x, depth + 1) for x in v)
    return False


def parse_rrweb(body: object) -> list[dict[str, Any]]:
    """The events of an rrweb recording as sent: a list of objects with a numeric `type`
    and `timestamp` (milliseconds since the epoch) and `data`."""
    if not isinstance(body, dict):
        raise Invalid.one("body", 'a JSON object: {"events": [rrweb events]}')
    unknown = sorted(set(body) - {"events"})
    if unknown:
        raise Invalid([(k, "unknown field: the body has only 'events'") for k in unknown])
    raw = body.get("events")
    if not isinstance(raw, list) or not raw:
        raise Invalid.one("events", "required: a non-empty list of rrweb events")
    if len(raw) > MAX_RRWEB_EVENTS:
        raise Invalid.one("events", f"at most {MAX_RRWEB_EVENTS} rrweb events per request")
    problems: list[tuple[str, str]] = []
    for i, e in enumerate(raw):
        where = f"events[{i}]"
        if not isinstance(e, dict):
            problems.append((where, "an rrweb event object"))
            continue
        if _deeper_than(e, MAX_RRWEB_DEPTH):
            problems.append((where, f"nested more than {MAX_RRWEB_DEPTH} levels deep"))
            continue
        t, ts = e.get("type"), e.get("timestamp")
        if not isinstance(t, int) or isinstance(t, bool) or not 0 <= t <= 6:
            problems.append((f"{where}.type", "an rrweb event type, 0 to 6"))
        if not _number(ts) or not 0 < ts < 253_402_300_800_000:
            problems.append((f"{where}.timestamp", "milliseconds since 1970 (a number)"))
        if not isinstance(e.get("data"), dict):
            problems.append((f"{where}.data", "an object"))
        if len(problems) >= 50:
            break
    if problems:
        raise Invalid(problems)
    return raw
