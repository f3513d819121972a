"""Asset pages: the list, find by tag or serial, one asset with its coverage over time,
and the forms that change an asset or take it off service from a date.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any

from dateutil.relativedelta import relativedelta
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from accord.access import AGREEMENT_WRITERS, ASSET_WRITERS, Actor, require
from accord.agreements import coverage, queries, service
from accord.agreements.coverage import Segment
from accord.agreements.models import PRIORITIES, AssetStatus
from accord.agreements.pages.common import (
    MINUTE,
    PER_PAGE,
    REASON,
    Action,
    customer_name,
    customer_names,
    day_text,
    effect_note,
    effective_field,
    failed_form,
    form_page,
    level_names,
    site_name,
    time_banner,
)
from accord.agreements.queries import AsOf
from accord.agreements.schemas import AssetUpdate, TakeOff
from accord.errors import Invalid, NotFound, parse
from accord.parties import queries as parties
from accord.store.db import FOREVER, utcnow
from accord.web.deps import DbDep
from accord.web.pages import (
    CheckedForm,
    FormField,
    FormState,
    PageActor,
    as_of_form,
    changed,
    flash,
    given,
    instant_text,
    page,
    pager,
    parse_times,
    redirect,
    url,
)
from accord.web.params import RecordId

router = APIRouter(include_in_schema=False)

#: An asset's id, tag or serial, as typed in a link (a tag with "/" is found by search).
AssetKey = Annotated[str, Path(pattern=r"^[0-9A-Za-z][0-9A-Za-z._-]{0,99}$")]

ASSET_STATUSES = (
    (AssetStatus.IN_SERVICE.value, "In service"),
    (AssetStatus.IN_STOCK.value, "In stock"),
    (AssetStatus.RETIRED.value, "Retired"),
)
STATUS_LABEL = dict(ASSET_STATUSES)


# --- assets: list and find ---------------------------------------------------------------------


@router.get("/assets")
def assets(
    request: Request,
    actor: PageActor,
    db: DbDep,
    q: Annotated[str, Query(max_length=200, pattern=r"^[^\x00]*$")] = "",
    page_no: Annotated[int, Query(alias="page", ge=1, le=1_000_000)] = 1,
    on: str = "",
    known_at: str = "",
) -> Response:
    return _assets_page(request, actor, db, q=q, page_no=page_no, on=on, known_at=known_at)


def _assets_page(
    request: Request,
    actor: Actor,
    db: DbDep,
    *,
    q: str = "",
    page_no: int = 1,
    on: str = "",
    known_at: str = "",
    find: FormState | None = None,
) -> Response:
    asof = as_of_form("/assets", on=on, known_at=known_at, keep={"q": q})
    when = AsOf.of(asof.on, asof.known_at)
    view = asof.params()
    with db.reading() as s:
        rows, total = queries.list_assets(
            s,
            actor=actor,
            when=when,
            q=q or None,
            limit=PER_PAGE,
            offset=(page_no - 1) * PER_PAGE,
        )
        names = customer_names(s, actor, when) if rows else {}
        items = []
        for a in rows:
            ent = queries.entitlement(s, actor, a.entity_id, on=when.on, known_at=when.known_at)
            items.append(
                {
                    **a.data(),
                    "id": a.entity_id,
                    "customer": names.get(a.customer_id, ""),
                    "site": site_name(s, actor, a.site_id, when),
                    "status_label": STATUS_LABEL.get(a.status, a.status),
                    "covered": ent.covered,
                    "coverage": ent.contract_reference if ent.covered else ent.reason,
                    "level": ent.service_level,
                    "url": url(f"/assets/{a.entity_id}", **view),
                }
            )
    status = 422 if asof.form.errors or (find and find.errors) else 200
    return page(
        request,
        "agreements/assets.html",
        {
            "section": "assets",
            "items": items,
            "total": total,
            "q": q,
            "asof": asof,
            "view": view,
            "banner": time_banner(asof),
            "find": find or FormState(),
            "find_field": FIND_FIELD,
            "clear_url": url("/assets", **view),
            "pager": pager(
                total=total,
                page_no=page_no,
                per_page=PER_PAGE,
                path="/assets",
                params={"q": q, **view},
            ),
        },
        status_code=status,
    )


FIND_FIELD = FormField("key", "Find by tag or serial", quiet=True, placeholder="e.g. NW-0042")


@router.get("/assets/find")
def find_asset(
    request: Request,
    actor: PageActor,
    db: DbDep,
    key: Annotated[str, Query(max_length=200, pattern=r"^[^\x00]*$")] = "",
    on: str = "",
    known_at: str = "",
) -> Response:
    """Straight to the asset with this tag or serial (exact, any case)."""
    asof = as_of_form("/assets", on=on, known_at=known_at)
    when = AsOf.of(asof.on, asof.known_at)
    if not key.strip():
        state = FormState(values={"key": key}, errors={"key": "Type a tag or a serial."})
        return _assets_page(request, actor, db, on=on, known_at=known_at, find=state)
    try:
        with db.reading() as s:
            found = queries.find_asset(s, actor, key, when).entity_id
    except NotFound:
        state = FormState(
            values={"key": key},
            errors={"key": f"No asset has the tag or serial {key.strip()!r}."},
        )
        return _assets_page(request, actor, db, on=on, known_at=known_at, find=state)
    return redirect(url(f"/assets/{found}", **asof.params()))


# --- assets: one asset, its entitlement and its coverage over time ------------------------------

CHECK_FIELDS = (
    FormField("check_on", "Covered on", type="date", required=True),
    FormField(
        "check_known_at",
        "As known at (UTC)",
        type="datetime-local",
        hint="Empty means as known now.",
    ),
)


def _entitlement(e: Any) -> dict[str, Any]:
    targets = e.targets or {}
    now = utcnow()
    return {
        "covered": e.covered,
        "cause": e.cause,
        "reason": e.reason,
        "on": instant_text(e.on),
        "known_at": instant_text(e.known_at),
        "when_text": (
            ("today" if abs(e.on - now) < MINUTE else f"on {instant_text(e.on)}")
            + (
                ", as known now"
                if abs(e.known_at - now) < MINUTE
                else f", as known at {instant_text(e.known_at)}"
            )
        ),
        "contract_id": e.contract_id,
        "contract_reference": e.contract_reference,
        "service_level": e.service_level,
        "targets": [(p, targets[p]) for p in PRIORITIES if p in targets],
        "covered_until": day_text(e.covered_until),
        "next_covered_from": day_text(e.next_covered_from),
    }


@router.get("/assets/{key}")
def asset(
    request: Request,
    actor: PageActor,
    db: DbDep,
    key: AssetKey,
    on: str = "",
    known_at: str = "",
    check_on: str = "",
    check_known_at: str = "",
) -> Response:
    now = utcnow()
    check = FormState(values={"check_on": check_on, "check_known_at": check_known_at})
    checked: dict[str, Any] | None = None
    with db.reading() as s:
        # Found as known now first: another tenant's asset (or none) is a 404 here.
        current = queries.find_asset(s, actor, key)
        asset_id = current.entity_id
        path = f"/assets/{asset_id}"
        asof = as_of_form(path, on=on, known_at=known_at)
        when = AsOf.of(asof.on, asof.known_at)
        try:
            a = queries.get_asset_for(s, actor, asset_id, when)
            known_then = True
        except NotFound:  # not yet recorded at `known_at`: show what is known now
            a, known_then = current, False
        record = {
            **a.data(),
            "id": a.entity_id,
            "valid_from": a.valid_from,
            "valid_to": None if a.valid_to == FOREVER else a.valid_to,
            "recorded_from": a.recorded_from,
            "seq": a.seq,
            "status_label": STATUS_LABEL.get(a.status, a.status),
            "customer": customer_name(s, actor, a.customer_id, when),
            "site": site_name(s, actor, a.site_id, when),
        }
        ent = today = None
        segs: list[Segment] = []
        if known_then:
            ent = _entitlement(
                queries.entitlement(s, actor, asset_id, on=when.on, known_at=when.known_at)
            )
            if asof.on is not None:
                today = _entitlement(
                    queries.entitlement(s, actor, asset_id, on=now, known_at=when.known_at)
                )
            segs = queries.coverage_timeline(s, actor, asset_id, known_at=when.known_at)
        if check_on or check_known_at:
            times, errors = parse_times({"check_on": check_on, "check_known_at": check_known_at})
            if not check_on.strip():
                errors.setdefault("check_on", "This is required.")
            check.errors = errors
            if not errors:
                check_on_t = times["check_on"] or now
                check_at_t = times["check_known_at"] or now
                checked = _entitlement(
                    queries.entitlement(s, actor, asset_id, on=check_on_t, known_at=check_at_t)
                )
        timeline = _timeline(
            segs,
            today=now,
            on=asof.on,
            levels=level_names(s, actor),
            sites={ln.site_id: site_name(s, actor, ln.site_id, when) for ln in _lines(segs)},
            view=asof.params(),
        )
    own_live = any(sg.per_asset and sg.end > now for sg in segs)
    return page(
        request,
        "agreements/asset.html",
        {
            "section": "assets",
            "asset": record,
            "known_then": known_then,
            "entitlement": ent,
            "today": today,
            "timeline": timeline,
            "timeline_known": instant_text(asof.known_at) if asof.known_at else None,
            "check": check,
            "check_fields": CHECK_FIELDS,
            "checked": checked,
            "asof": asof,
            "banner": time_banner(asof),
            "path": path,
            "list_url": url("/assets", **asof.params()),
            "can_change": actor.may(*ASSET_WRITERS),
            "can_take_off": actor.may(*AGREEMENT_WRITERS) and own_live,
        },
        status_code=422 if asof.form.errors or check.errors else 200,
    )


def _lines(segs: Iterable[Segment]) -> list[Any]:
    seen: dict[str, Any] = {}
    for sg in segs:
        seen.setdefault(sg.line.line_id, sg.line)
    return list(seen.values())


# The timeline is drawn server-side as SVG: one row per contract line, a bar for each
# period it covers the asset (joined where one version follows another), the part after
# today lighter (planned), and markers for today and for the date viewed.
TL_WIDTH, TL_LABEL, TL_PAD, TL_ROW, TL_AXIS = 960, 250, 18, 40, 34


def _timeline(
    segs: Sequence[Segment],
    *,
    today: datetime,
    on: datetime | None,
    levels: Mapping[str, str],
    sites: Mapping[str | None, str],
    view: Mapping[str, str],
) -> dict[str, Any]:
    # From the first coverage (at most two years before today, or the day viewed) to
    # the last end, and at least six months past today so planned changes show.
    this_month = coverage.month_start(today)
    starts = [sg.start for sg in segs]
    earliest = this_month - relativedelta(months=24)
    lo = coverage.month_start(max(min(starts + [today]), earliest))
    if on is not None:
        lo = min(lo, coverage.month_start(on))
    ends = [sg.end for sg in segs if sg.end != FOREVER]
    hi = coverage.month_start(max([today] + ([on] if on else []) + ends))
    hi = max(hi + relativedelta(months=1), this_month + relativedelta(months=6))
    if hi < lo + relativedelta(months=12):
        lo = hi - relativedelta(months=12)
    clipped = any(st < lo for st in starts)
    left, right = TL_LABEL, TL_WIDTH - TL_PAD
    span = (hi - lo).total_seconds()

    def x(t: datetime) -> float:
        t = min(max(t, lo), hi)
        return round(left + (t - lo).total_seconds() / span * (right - left), 1)

    months = (hi.year - lo.year) * 12 + hi.month - lo.month
    step = next(n for n in (1, 2, 3, 6, 12, 24, 60) if months / n <= 14)
    ticks = []
    m = lo
    while m <= hi:
        if ((m.year * 12 + m.month - 1) % step) == 0:
            label = f"{m:%b %Y}" if step < 12 else f"{m:%Y}"
            near_end = x(m) > right - 50
            ticks.append({"x": x(m), "label": "" if near_end else label})
        m += relativedelta(months=1)

    rows: list[dict[str, Any]] = []
    by_line: dict[str, list[Segment]] = {}
    for sg in segs:
        by_line.setdefault(sg.line.line_id, []).append(sg)
    for i, (line_id, group) in enumerate(by_line.items()):
        first = group[0]
        ln, c = first.line, first.contract
        what = (
            "this asset"
            if first.per_asset
            else f"every {ln.asset_type} at {sites.get(ln.site_id) or 'its site'}"
        )
        y = TL_AXIS + i * TL_ROW
        bars = []
        for start, end in _spans_of(group):
            title = f"{c.reference}: covered {day_text(start)} to " + (
                day_text(end) if end != FOREVER else "open-ended"
            )
            pieces = [(start, min(end, today), False), (max(start, today), end, True)]
            for a, b, planned in pieces:
                if a >= b:
                    continue
                x1, x2 = x(a), x(b)
                bars.append(
                    {
                        "x": x1,
                        "w": max(round(x2 - x1, 1), 2.0),
                        "planned": planned,
                        "open": b == FOREVER,
                        "title": title + (" (planned)" if planned else ""),
                    }
                )
        rows.append(
            {
                "line_id": line_id,
                "y": y,
                "label": c.reference,
                "sub": f"{what} · {levels.get(ln.service_level_id, 'unknown level')}",
                "bars": bars,
                "url": url(f"/contracts/{c.contract_id}", **view),
            }
        )
    height = TL_AXIS + max(len(rows), 1) * TL_ROW + 14
    markers = [{"x": x(today), "label": "Today", "kind": "today"}]
    if on is not None and abs((on - today).total_seconds()) >= 86400:
        markers.append({"x": x(on), "label": f"On {instant_text(on)}", "kind": "on"})
    return {
        "width": TL_WIDTH,
        "height": height,
        "left": left,
        "right": right,
        "axis": TL_AXIS,
        "ticks": ticks,
        "rows": rows,
        "markers": markers,
        "bottom": height - 8,
        "clipped": clipped,
        "from": f"{lo:%b %Y}",
        "to": f"{hi:%b %Y}",
    }


def _spans_of(group: Sequence[Segment]) -> list[tuple[datetime, datetime]]:
    out: list[list[datetime]] = []
    for sg in sorted(group, key=lambda sg: sg.start):
        if out and out[-1][1] >= sg.start:
            out[-1][1] = max(out[-1][1], sg.end)
        else:
            out.append([sg.start, sg.end])
    return [(a, b) for a, b in out]


# --- assets: change, take off -------------------------------------------------------------------


def _asset_fields(sites: Sequence[tuple[str, str]]) -> tuple[FormField, ...]:
    return (
        FormField("site_id", "Site", type="select", choices=tuple(sites)),
        FormField("tag", "Tag", required=True, hint="The provider's label on the thing."),
        FormField("serial", "Serial number"),
        FormField("status", "Status", type="select", required=True, choices=ASSET_STATUSES),
    )


def _asset_form_page(
    request: Request,
    db: DbDep,
    actor: Actor,
    asset_id: str,
    *,
    mode: str,
    form: FormState | None,
    view_on: str,
    status_code: int = 200,
) -> Response:
    when = AsOf.of(parse_times({"on": view_on})[0]["on"], None)
    with db.reading() as s:
        a = queries.get_asset_for(s, actor, asset_id, when)
        rec = {**a.data(), "id": a.entity_id}
        sites = [
            (x.entity_id, x.name) for x in parties.sites_of(s, actor, a.customer_id, when=when)
        ]
        customer = customer_name(s, actor, a.customer_id, when)
    path = f"/assets/{asset_id}"
    if mode == "change":
        fields = _asset_fields(sites)
        shown = {f.name: str(rec.get(f.name) or "") for f in fields}
        action = Action(
            title=f"Change {rec['tag']}",
            submit="Save change",
            intro="Move it to another site, retag it or retire it from a date. "
            "Change only what is different; coverage follows from the new record.",
            fields=fields,
            when=(effective_field(), REASON),
            edit=True,
        )
        state = form or FormState(values={**shown, "effective": view_on}, originals=shown)
    else:
        action = Action(
            title=f"Take {rec['tag']} off its contract",
            submit="Take off contract",
            intro="From the date you choose (the first day not covered) every line that "
            "covers this asset by itself ends. What was covered before stays on record.",
            fields=(),
            when=(
                effective_field(
                    required=True,
                    label="First day not covered",
                    hint="The day after the last covered day; may be in the future.",
                ),
                REASON,
            ),
            danger=True,
        )
        state = form or FormState(values={"effective": view_on})
    return form_page(
        request,
        action,
        form=state,
        post_to=f"{path}/{'change' if mode == 'change' else 'take-off'}",
        cancel=url(path, on=view_on),
        crumbs=[("Assets", "/assets"), (f"{rec['tag']} · {customer}", url(path, on=view_on))],
        view_on=view_on,
        section="assets",
        status_code=status_code,
    )


@router.get("/assets/{asset_id}/change")
def change_asset_form(
    request: Request, actor: PageActor, db: DbDep, asset_id: RecordId, on: str = ""
) -> Response:
    require(actor, *ASSET_WRITERS)
    return _asset_form_page(request, db, actor, asset_id, mode="change", form=None, view_on=on)


@router.post("/assets/{asset_id}/change")
def change_asset(
    request: Request, actor: PageActor, db: DbDep, asset_id: RecordId, form: CheckedForm
) -> Response:
    require(actor, *ASSET_WRITERS)
    names = ["site_id", "tag", "serial", "status"]
    payload = {**changed(form, names), **given(form, ["effective", "reason"])}
    try:
        data = parse(AssetUpdate, payload)
        with db.unit_of_work() as s:
            service.change_asset(s, actor=actor, asset_id=asset_id, data=data)
    except Invalid as exc:
        fields = (*_asset_fields(()), effective_field(), REASON)
        originals = {n: form.get(f"was_{n}", "") for n in names}
        state = failed_form(form, exc, fields, originals)
        return _asset_form_page(
            request,
            db,
            actor,
            asset_id,
            mode="change",
            form=state,
            view_on=form.get("view_on", ""),
            status_code=422,
        )
    flash(request, f"Change to the asset saved.{effect_note(data.effective)}")
    return redirect(f"/assets/{asset_id}")


@router.get("/assets/{asset_id}/take-off")
def take_asset_off_form(
    request: Request, actor: PageActor, db: DbDep, asset_id: RecordId, on: str = ""
) -> Response:
    require(actor, *AGREEMENT_WRITERS)
    return _asset_form_page(request, db, actor, asset_id, mode="take-off", form=None, view_on=on)


@router.post("/assets/{asset_id}/take-off")
def take_asset_off(
    request: Request, actor: PageActor, db: DbDep, asset_id: RecordId, form: CheckedForm
) -> Response:
    require(actor, *AGREEMENT_WRITERS)
    try:
        data = parse(TakeOff, given(form, ["effective", "reason"]))
        with db.unit_of_work() as s:
            ended = service.take_asset_off(s, actor=actor, asset_id=asset_id, data=data)
    except Invalid as exc:
        state = failed_form(form, exc, (effective_field(required=True), REASON))
        return _asset_form_page(
            request,
            db,
            actor,
            asset_id,
            mode="take-off",
            form=state,
            view_on=form.get("view_on", ""),
            status_code=422,
        )
    n = len(ended)
    flash(
        request,
        f"Taken off {n} contract line{'s' if n != 1 else ''}: not covered from "
        f"{instant_text(data.effective)}.",
    )
    return redirect(f"/assets/{asset_id}")
