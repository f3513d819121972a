"""Agreements pages: assets and their coverage over time, contracts and their lines, the
forms that change them from a date, budgets, invoices and service levels.

Every read shows what is true `on` a date as Accord knew it `known_at` a time (both
default to now). Every change takes effect from a date (past: a correction; future:
planned) and says why; the journal keeps who. Coverage, budgets and charges are never
stored: the pages ask the queries, which derive them from contracts and lines. Tenant
and role are checked by the query and service helpers; the pages only hide the forms a
person may not use.
"""

from fastapi import APIRouter

from accord.agreements.pages import assets, contracts, invoices, levels, lines

router = APIRouter(include_in_schema=False)
# Each module declares a fixed path ("/assets/find", "/contracts/new") before the pattern
# that would also match it; no path of one module matches another module's.
for module in (assets, contracts, lines, invoices, levels):
    router.include_router(module.router)

__all__ = ["router"]
