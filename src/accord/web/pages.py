"""Shared parts of the HTML pages: the signed-in actor, forms and their errors, the as-of
form, paging and one-time messages.

A capability's pages.py parses with these, calls its service or queries, and renders. Forms
are parsed with the same schemas as the API (`accord.errors.parse`), so a form and an API
call accept and refuse the same input; this module only carries what the person typed
back to them, with each problem next to the field it names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response

from accord.access import Actor
from accord.errors import Invalid
from accord.store.db import FOREVER
from accord.store.tenancy import Tenant
from accord.timeinput import parse_instant
from accord.web.deps import CSRF_FIELD, CurrentActor, DbDep, check_csrf
from accord.web.templating import env, render

# --- who is signed in ------------------------------------------------------------------


def page_actor(request: Request, actor: CurrentActor, db: DbDep) -> Actor:
    """The signed-in actor, kept on the request so the layout (and error pages) show who
    is signed in, for which provider, with which role."""
    request.state.actor = actor
    with db.reading() as s:
        tenant = s.get(Tenant, actor.tenant_id)
        request.state.tenant_name = tenant.name if tenant else ""
    return actor


PageActor = Annotated[Actor, Depends(page_actor)]


# --- rendering, redirects, one-time messages ---------------------------------------------


def flash(request: Request, message: str) -> None:
    """A message for the next page shown to this session (after a redirect)."""
    request.session["flash"] = [*request.session.get("flash", []), message]


def page(
    request: Request, name: str, context: Mapping[str, Any] | None = None, *, status_code: int = 200
) -> Response:
    return render(
        request,
        name,
        {"flashes": request.session.pop("flash", []), **(context or {})},
        status_code=status_code,
    )


def redirect(url: str) -> RedirectResponse:
    """After a successful POST: see the result with a GET (no resubmission on reload)."""
    return RedirectResponse(url, status_code=303)


def url(path: str, **params: str | int | None) -> str:
    """`path` with the given query parameters; empty ones are left out."""
    given = {k: v for k, v in params.items() if v not in (None, "")}
    return f"{path}?{urlencode(given)}" if given else path


def local_path(target: str | None) -> str | None:
    """`target` if it is a path on this site (a safe place to send someone after sign-in)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return None
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc else target


# --- forms ---------------------------------------------------------------------------------


async def raw_form(request: Request) -> dict[str, str]:
    """The submitted form's text fields (a repeated name keeps its last value)."""
    form = await request.form()
    return {k: v for k, v in form.multi_items() if isinstance(v, str)}


RawForm = Annotated[dict[str, str], Depends(raw_form)]


async def checked_form(request: Request) -> dict[str, str]:
    """The submitted form, after checking its CSRF token (403 and nothing done if wrong)."""
    form = await raw_form(request)
    check_csrf(request, form.pop(CSRF_FIELD, None))
    return form


CheckedForm = Annotated[dict[str, str], Depends(checked_form)]


@dataclass(frozen=True)
class FormField:
    """How one input of a form is shown: its label, kind and hint."""

    name: str
    label: str
    type: str = "text"  # text, email, tel, date, datetime-local, password, select, textarea
    hint: str = ""
    required: bool = False
    choices: tuple[tuple[str, str], ...] = ()
    autocomplete: str = ""
    placeholder: str = ""
    wide: bool = False
    quiet: bool = False  # do not label it "optional"


@dataclass
class FormState:
    """What a form shows: the values (as typed), an error per field, errors about the
    whole form, and the values it was opened with (so an edit sends only what changed)."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)
    originals: dict[str, str] = field(default_factory=dict)

    @classmethod
    def failed(
        cls,
        values: Mapping[str, str],
        exc: Invalid,
        fields: Sequence[FormField],
        originals: Mapping[str, str] | None = None,
    ) -> FormState:
        """The form again, with what was typed and each problem next to its field."""
        state = cls(values=dict(values), originals=dict(originals or {}))
        by_name = {f.name: f for f in fields}
        for where, reason in exc.problems:
            name = where.split(".", 1)[0]
            f = by_name.get(name)
            if f is not None and name not in state.errors:
                state.errors[name] = friendly(reason, f)
            elif f is not None:
                continue
            elif name in ("body", ""):
                state.general.append(sentence(reason))
            else:
                state.general.append(f"{name}: {reason}")
        return state


def sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] if text else text


def friendly(reason: str, f: FormField) -> str:
    """The schema's reason, said for a person filling in a form."""
    if reason == "Field required":
        return "This is required."
    if reason.startswith("String should match pattern") and f.hint:
        hint = f.hint[:1].lower() + f.hint[1:] if f.hint[1:2].islower() else f.hint
        return f"Not in the expected form ({hint})."
    if reason.startswith("value is not a valid email address"):
        detail = reason.partition(": ")[2]
        return f"Not a valid email address{': ' + detail if detail else '.'}"
    return sentence(reason)


def given(form: Mapping[str, str], names: Iterable[str]) -> dict[str, str]:
    """The fields that were filled in. An empty field means "not given", never ""."""
    return {n: form[n] for n in names if form.get(n, "").strip()}


def changed(form: Mapping[str, str], names: Iterable[str]) -> dict[str, str | None]:
    """The fields the person changed from what the form showed (`was_<name>`); a field
    they emptied becomes None (cleared). Sending only these keeps a change from
    overwriting fields it did not touch, including changes already planned for later."""
    out: dict[str, str | None] = {}
    for n in names:
        now, was = form.get(n, "").strip(), form.get(f"was_{n}", "").strip()
        if now != was:
            out[n] = now or None
    return out


def shown(value: Any) -> str:
    """A stored value as a form shows it."""
    return "" if value is None else str(value)


def values_of(record: Mapping[str, Any], fields: Iterable[FormField]) -> dict[str, str]:
    return {f.name: shown(record.get(f.name)) for f in fields}


# --- time -------------------------------------------------------------------------------------

TIME_REASON = "Not a date (YYYY-MM-DD) or a date and time (ISO 8601, UTC unless it has an offset)."


def instant_param(t: datetime) -> str:
    """An instant for a link: the date alone when it is midnight UTC, else exact ISO 8601."""
    t = t.astimezone(UTC)
    if t.time() == time(0):
        return t.strftime("%Y-%m-%d")
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def instant_text(t: datetime | None) -> str:
    """An instant as people read it: the date alone when it is midnight UTC."""
    if t is None or t == FOREVER:
        return "—"
    t = t.astimezone(UTC)
    return t.strftime("%Y-%m-%d") if t.time() == time(0) else t.strftime("%Y-%m-%d %H:%M UTC")


env.filters["instant"] = instant_text


def open_end(t: datetime) -> datetime | None:
    """None for an interval that has no end."""
    return None if t == FOREVER else t


def parse_times(
    given_times: Mapping[str, str | None],
) -> tuple[dict[str, datetime | None], dict[str, str]]:
    """Read typed dates and times (empty = not given); a problem per bad one."""
    out: dict[str, datetime | None] = {}
    errors: dict[str, str] = {}
    for name, text in given_times.items():
        out[name] = None
        if text and text.strip():
            try:
                out[name] = parse_instant(text)
            except (ValueError, OverflowError):
                errors[name] = TIME_REASON
    return out, errors


@dataclass
class AsOfForm:
    """The "view as of" form: a valid time (`on`) and a recorded time (`known_at`)."""

    form: FormState
    fields: list[FormField]
    on: datetime | None
    known_at: datetime | None
    keep: list[tuple[str, str]]
    now_url: str

    @property
    def is_now(self) -> bool:
        return self.on is None and self.known_at is None and not self.form.errors

    def params(self) -> dict[str, str]:
        """The query parameters that keep this view on another page."""
        return {k: v for k, v in self.form.values.items() if v and k not in self.form.errors}


def as_of_form(
    path: str, *, on: str, known_at: str, keep: Mapping[str, str] | None = None
) -> AsOfForm:
    values = {"on": on.strip(), "known_at": known_at.strip()}
    times, errors = parse_times(values)
    fields = [
        FormField("on", "True on", type="date", quiet=True),
        FormField("known_at", "As known at (UTC)", type="datetime-local", quiet=True),
    ]
    kept = {k: v for k, v in (keep or {}).items() if v}
    return AsOfForm(
        form=FormState(values=values, errors=errors),
        fields=fields,
        on=times["on"],
        known_at=times["known_at"],
        keep=list(kept.items()),
        now_url=url(path, **kept),
    )


# --- paging -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pager:
    summary: str
    prev_url: str | None
    next_url: str | None


def pager(
    *, total: int, page_no: int, per_page: int, path: str, params: Mapping[str, str]
) -> Pager:
    first = (page_no - 1) * per_page + 1
    last = min(total, page_no * per_page)
    summary = f"{first}–{last} of {total}" if total and first <= total else f"0 of {total}"
    prev_url = (
        url(path, **params, page=page_no - 1 if page_no > 2 else None) if page_no > 1 else None
    )
    next_url = url(path, **params, page=page_no + 1) if last < total else None
    return Pager(summary=summary, prev_url=prev_url, next_url=next_url)
