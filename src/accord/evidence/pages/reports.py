"""Reports: who accepted a terms version, who is not on the latest terms, and a
customer's evidence export."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from accord.evidence import exports, queries
from accord.evidence.pages.common import (
    SECTION,
    Filter,
    acceptance_rows,
    customer_choices,
    tabs,
    version_names,
)
from accord.web.deps import DbDep
from accord.web.pages import PageActor, page

router = APIRouter(include_in_schema=False)

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
        versions = version_names(s, actor)
        chosen = version if version in versions else ""
        accepted = queries.acceptances(s, actor, chosen) if chosen else []
        documents = []
        for d in queries.list_documents(s, actor):
            latest, behind = queries.not_on_latest(s, actor, d.entity_id)
            accepted_any = sum(
                queries.acceptance_counts(
                    s, actor, [v.entity_id for v in queries.versions_of(s, actor, d.entity_id)]
                ).values()
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
                            "accepted_at": b.acceptance.outcome.at,
                        }
                        for b in behind
                    ],
                }
            )
        customers = customer_choices(s, actor)
    return page(
        request,
        "evidence/reports.html",
        {
            "section": SECTION,
            "tabs": tabs("reports"),
            "versions": sorted(versions.items(), key=lambda kv: kv[1]["name"]),
            "version": chosen,
            "version_name": versions.get(chosen, {}).get("name", ""),
            "accepted": acceptance_rows(accepted, names),
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
