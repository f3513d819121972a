"""Evidence pages: offers and their journeys (and the form that makes one), evidence packs,
terms documents and their versions, the reports (who accepted a version, who is not on
the latest terms, a customer's export), and the capture script itself (`/capture.js`).

A screen is shown as it was captured, inside an `<iframe sandbox srcdoc=...>` with no
scripts, forms or network (a Content-Security-Policy in the document says so too), with
its form state listed beside it. Tenant and role are checked by the query and service
helpers; the pages only hide the forms a person may not use.
"""

from fastapi import APIRouter

from accord.evidence.pages import common, offers, reports, terms

router = APIRouter(include_in_schema=False)
# Each module declares a fixed path ("/offers/new") before the pattern that would also
# match it; no path of one module matches another module's.
for module in (common, offers, terms, reports):
    router.include_router(module.router)

__all__ = ["router"]
