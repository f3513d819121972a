"""A small book of agreements for northwind: one customer with a site, a few assets, a
business-hours calendar, two service levels and a monthly contract covering one laptop
by itself and every server at the site as a group."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from accord.access import Actor
from accord.agreements import service
from accord.agreements.schemas import (
    AssetCreate,
    CalendarCreate,
    ContractCreate,
    LineCreate,
    ServiceLevelCreate,
)
from accord.parties import service as parties
from accord.parties.schemas import CustomerCreate, SiteCreate
from accord.store.db import Database, utcnow


def today() -> datetime:
    now = utcnow()
    return datetime(now.year, now.month, now.day, tzinfo=UTC)


DAY = timedelta(days=1)


@dataclass
class Book:
    customer: str
    site: str
    other_site: str
    laptop: str
    server: str
    spare_server: str
    calendar: str
    gold: str
    silver: str
    contract: str
    laptop_line: str
    server_line: str
    start: datetime


@pytest.fixture
def book(db: Database, alice: Actor) -> Book:
    start = datetime(today().year - 1, 1, 1, tzinfo=UTC)
    with db.unit_of_work() as s:
        customer = parties.create_customer(
            s,
            actor=alice,
            data=CustomerCreate(name="Fabrikam Ltd", code="FAB", effective=start),
        )
        site = parties.add_site(
            s, actor=alice, customer_id=customer, data=SiteCreate(name="HQ", effective=start)
        )
        other = parties.add_site(
            s, actor=alice, customer_id=customer, data=SiteCreate(name="Depot", effective=start)
        )

        def asset(tag: str, kind: str, site_id: str, serial: str) -> str:
            return service.add_asset(
                s,
                actor=alice,
                data=AssetCreate(
                    customer_id=customer,
                    site_id=site_id,
                    tag=tag,
                    serial=serial,
                    asset_type=kind,
                    make="Dell",
                    model="X",
                    effective=start,
                ),
            )

        laptop = asset("FAB-0001", "laptop", site, "SN-LAP-1")
        server = asset("FAB-0002", "server", site, "SN-SRV-1")
        spare = asset("FAB-0003", "server", other, "SN-SRV-2")
        cal = service.create_calendar(
            s,
            actor=alice,
            data=CalendarCreate(
                name="UK office hours",
                time_zone="Europe/London",
                weekly_hours={d: [("08:00", "18:00")] for d in ("mon", "tue", "wed", "thu", "fri")},
                holidays=["2026-12-25", "2026-12-28"],
                effective=start,
            ),
        )
        gold = service.create_service_level(
            s,
            actor=alice,
            data=ServiceLevelCreate(
                name="Gold",
                calendar_id=cal,
                targets={"p1": {"response": 30, "resolution": 240}},
                effective=start,
            ),
        )
        silver = service.create_service_level(
            s,
            actor=alice,
            data=ServiceLevelCreate(
                name="Silver",
                calendar_id=cal,
                targets={"p1": {"response": 60, "resolution": 480}},
                effective=start,
            ),
        )
        contract = service.create_contract(
            s,
            actor=alice,
            data=ContractCreate(
                customer_id=customer,
                reference="FAB-MSP-1",
                title="Managed support",
                start=start,
                notice_days=30,
                billing_period="monthly",
                currency="GBP",
            ),
        )
        laptop_line = service.add_line(
            s,
            actor=alice,
            contract_id=contract,
            data=LineCreate(
                asset_id=laptop,
                service_level_id=gold,
                price=3100,
                budget_minutes=60,
                effective=start,
            ),
        )
        server_line = service.add_line(
            s,
            actor=alice,
            contract_id=contract,
            data=LineCreate(
                site_id=site,
                asset_type="server",
                service_level_id=silver,
                price=10000,
                budget_minutes=120,
                effective=start,
            ),
        )
    return Book(
        customer,
        site,
        other,
        laptop,
        server,
        spare,
        cal,
        gold,
        silver,
        contract,
        laptop_line,
        server_line,
        start,
    )
