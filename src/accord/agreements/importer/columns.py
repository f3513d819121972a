"""The shape of the files: the kinds of record an import brings in, in the order they are
applied, and the columns of each with the field each fills.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The kinds of record, in the order they are applied (each may refer to those before it).
KINDS = ("customers", "sites", "assets", "contracts", "lines")
KIND_LIST = ", ".join(KINDS)

TEXT, DATE, INT, MONEY, HOURS = "text", "date", "int", "money", "hours"


@dataclass(frozen=True)
class Column:
    type: str = TEXT
    required: bool = False


COLUMNS: dict[str, dict[str, Column]] = {
    "customers": {
        "code": Column(required=True),
        "name": Column(required=True),
        "status": Column(),
        "email": Column(),
        "phone": Column(),
        "notes": Column(),
        "from": Column(DATE),
    },
    "sites": {
        "customer_code": Column(required=True),
        "name": Column(required=True),
        "address": Column(),
        "city": Column(),
        "postcode": Column(),
        "country": Column(),
        "external_key": Column(),
        "from": Column(DATE),
    },
    "assets": {
        "tag": Column(required=True),
        "customer_code": Column(required=True),
        "asset_type": Column(required=True),
        "site": Column(),
        "serial": Column(),
        "make": Column(),
        "model": Column(),
        "status": Column(),
        "external_key": Column(),
        "from": Column(DATE),
    },
    "contracts": {
        "reference": Column(required=True),
        "customer_code": Column(required=True),
        "title": Column(required=True),
        "start": Column(DATE, required=True),
        "term_end": Column(DATE),
        "renewal_months": Column(INT),
        "notice_days": Column(INT),
        "billing_period": Column(),
        "currency": Column(),
    },
    "lines": {
        "external_key": Column(required=True),
        "contract": Column(required=True),
        "asset_tag": Column(),
        "site": Column(),
        "asset_type": Column(),
        "service_level": Column(required=True),
        "price": Column(MONEY, required=True),
        "budget_hours": Column(HOURS),
        "from": Column(DATE),
        "until": Column(DATE),
    },
}

#: The schema field a service names in a problem -> the column it came from, per kind.
FIELD_COLUMNS: dict[str, dict[str, str]] = {
    "customers": {"effective": "from"},
    "sites": {"effective": "from", "customer_id": "customer_code"},
    "assets": {"effective": "from", "customer_id": "customer_code", "site_id": "site"},
    "contracts": {"customer_id": "customer_code"},
    "lines": {
        "effective": "from",
        "contract_id": "contract",
        "asset_id": "asset_tag",
        "site_id": "site",
        "service_level_id": "service_level",
        "budget_minutes": "budget_hours",
    },
}
