"""What the agreements pages share: the as-of banner, the form helpers (effective date,
reason, problems at their fields, the generic change form), names of customers, sites and
service levels as of a time, and the `money`, `hours` and `duration` template filters.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from accord.access import Actor
from accord.agreements import exports, queries
from accord.agreements.queries import AsOf
from accord.errors import Invalid, NotFound
from accord.parties import queries as parties
from accord.store.db import FOREVER, utcnow
from accord.web.pages import AsOfForm, FormField, FormState, instant_text, page
from accord.web.templating import env

DAY = timedelta(days=1)
MINUTE = timedelta(minutes=1)

PER_PAGE = 25


def hours(minutes: int | None) -> str:
    """Minutes as hours for people: 90 -> "1.5 h"."""
    if minutes is None:
        return ""
    h = (Decimal(minutes) / 60).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"{h.normalize():f} h" if h != h.to_integral() else f"{int(h)} h"


def duration_text(minutes: int) -> str:
    """A target in business minutes: 30 -> "30 min", 480 -> "8 h"."""
    if minutes < 60:
        return f"{minutes} min"
    h, m = divmod(minutes, 60)
    return f"{h} h {m} min" if m else f"{h} h"


env.filters["money"] = exports.money
env.filters["hours"] = hours
env.filters["duration"] = duration_text


# --- shared bits ------------------------------------------------------------------------------

EFFECTIVE_HINT = (
    "Empty means now. A past date corrects the record from then on; a future date plans it."
)
REASON = FormField(
    "reason",
    "Reason",
    required=True,
    hint="Kept with the change in the journal, with who made it.",
    wide=True,
)


def effective_field(
    required: bool = False, label: str = "Effective from", hint: str = ""
) -> FormField:
    return FormField(
        "effective", label, type="date", required=required, hint=hint or EFFECTIVE_HINT
    )


def field_names(fields: Iterable[FormField]) -> list[str]:
    return [f.name for f in fields]


def failed_form(
    form: Mapping[str, str],
    exc: Invalid,
    fields: Sequence[FormField],
    originals: Mapping[str, str] | None = None,
    aliases: Mapping[str, str] | None = None,
) -> FormState:
    """The form again with each problem at its field; problems about fields the form does
    not show (`asset_id` of a take-off) are said about the whole form."""
    names = {f.name for f in fields}
    problems = []
    for where, reason in exc.problems:
        name = where.split(".", 1)[0]
        name = (aliases or {}).get(name, name)
        reason = reason.removeprefix("Value error, ")
        if name not in names:
            # A rule across fields ("term_end must be after start"): at the field it names.
            first, _, rest = reason.partition(" ")
            if first in names and rest:
                name, reason = first, rest
        problems.append((name if name in names else "body", reason))
    return FormState.failed(form, Invalid(problems), fields, originals)


def time_banner(asof: AsOfForm) -> dict[str, Any] | None:
    """What a page says when it shows another time than now (the parties banner's data)."""
    if asof.on is None and asof.known_at is None:
        return None
    kind = "known"
    if asof.on is not None:
        kind = "future" if asof.on > utcnow() else "past"
    return {
        "kind": kind,
        "on": instant_text(asof.on) if asof.on else None,
        "known_at": instant_text(asof.known_at) if asof.known_at else None,
        "now_url": asof.now_url,
    }


def effect_note(effective: datetime | None) -> str:
    if effective is None:
        return ""
    if effective > utcnow():
        return f" It takes effect on {instant_text(effective)}."
    return f" Recorded as true from {instant_text(effective)}."


def day_text(t: datetime | None) -> str:
    return "" if t is None or t == FOREVER else f"{t:%Y-%m-%d}"


def customer_names(s: Session, actor: Actor, when: AsOf) -> dict[str, str]:
    """Customers' names as of `when`, and as known now for those not on record then."""
    names: dict[str, str] = {}
    for w in (AsOf.now(), when):
        rows, _ = parties.list_customers(s, actor=actor, when=w, limit=100_000)
        names.update({c.entity_id: c.name for c in rows})
    return names


def customer_name(s: Session, actor: Actor, customer_id: str, when: AsOf) -> str:
    for w in (when, AsOf.now()):
        try:
            return parties.get_customer_for(s, actor, customer_id, when=w).name
        except NotFound:
            continue
    return "Unknown customer"


def site_name(s: Session, actor: Actor, site_id: str | None, when: AsOf) -> str:
    if not site_id:
        return ""
    for w in (when, AsOf.now()):
        try:
            return parties.get_site_for(s, actor, site_id, when=w).name
        except NotFound:
            continue
    return "a former site"


def level_names(s: Session, actor: Actor) -> dict[str, str]:
    return {
        x.entity_id: x.name for x in queries.list_service_levels(s, actor=actor, when=AsOf.now())
    }


def joined_spans(versions: Iterable[Any]) -> list[tuple[datetime, datetime]]:
    """Valid-time versions joined where one ends as the next starts."""
    out: list[list[datetime]] = []
    for v in sorted(versions, key=lambda v: v.valid_from):
        if out and out[-1][1] == v.valid_from:
            out[-1][1] = v.valid_to
        else:
            out.append([v.valid_from, v.valid_to])
    return [(a, b) for a, b in out]


def line_label(s: Session, actor: Actor, ln: Any, when: AsOf) -> dict[str, Any]:
    if ln.asset_id:
        try:
            a = queries.get_asset_for(s, actor, ln.asset_id, when)
            return {"what": a.tag, "asset_url": f"/assets/{a.entity_id}", "detail": a.asset_type}
        except NotFound:
            return {"what": "an asset", "asset_url": None, "detail": ""}
    site = site_name(s, actor, ln.site_id, when)
    return {"what": f"Every {ln.asset_type} at {site}", "asset_url": None, "detail": "group"}


# --- generic form page -----------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """A change made through a form: what it is called, its fields, when and why."""

    title: str
    submit: str
    intro: str
    fields: tuple[FormField, ...]
    when: tuple[FormField, ...]
    danger: bool = False
    edit: bool = False  # send only what changed (the form keeps what it showed)
    checkbox: tuple[str, str, str] | None = None  # name, label, hint


def form_page(
    request: Request,
    action: Action,
    *,
    form: FormState,
    post_to: str,
    cancel: str,
    crumbs: list[tuple[str, str]],
    view_on: str,
    section: str,
    facts: list[tuple[str, str]] | None = None,
    status_code: int = 200,
) -> Response:
    return page(
        request,
        "agreements/form.html",
        {
            "section": section,
            "a": action,
            "form": form,
            "action": post_to,
            "cancel": cancel,
            "crumbs": crumbs,
            "view_on": view_on,
            "facts": facts or [],
        },
        status_code=status_code,
    )
