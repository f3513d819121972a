"""Service level pages: the levels with their targets per priority and their calendars."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from accord.agreements import queries
from accord.agreements.models import PRIORITIES
from accord.agreements.pages.common import duration_text
from accord.agreements.queries import AsOf
from accord.web.deps import DbDep
from accord.web.pages import PageActor, page

router = APIRouter(include_in_schema=False)

# --- service levels --------------------------------------------------------------------------

DAYS = (
    ("mon", "Mon"),
    ("tue", "Tue"),
    ("wed", "Wed"),
    ("thu", "Thu"),
    ("fri", "Fri"),
    ("sat", "Sat"),
    ("sun", "Sun"),
)


@router.get("/service-levels")
def service_levels(request: Request, actor: PageActor, db: DbDep) -> Response:
    now = AsOf.now()
    with db.reading() as s:
        calendars = {
            c.entity_id: {
                "name": c.name,
                "time_zone": c.time_zone,
                "hours": [
                    (label, ", ".join(f"{a}–{b}" for a, b in c.weekly_hours.get(d, [])) or "closed")
                    for d, label in DAYS
                ],
                "holidays": list(c.holidays),
            }
            for c in queries.list_calendars(s, actor=actor, when=now)
        }
        levels = [
            {
                "id": x.entity_id,
                "name": x.name,
                "calendar": calendars.get(x.calendar_id, {}).get("name", "unknown calendar"),
                "targets": [
                    (
                        p.upper(),
                        duration_text(x.targets[p]["response"]),
                        duration_text(x.targets[p]["resolution"]),
                    )
                    for p in PRIORITIES
                    if p in x.targets
                ],
            }
            for x in queries.list_service_levels(s, actor=actor, when=now)
        ]
    return page(
        request,
        "agreements/service_levels.html",
        {"section": "contracts", "levels": levels, "calendars": list(calendars.values())},
    )
