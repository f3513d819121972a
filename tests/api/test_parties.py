"""The parties API: customers, contacts and sites over valid and recorded time, with
tenant and role checks, problem documents for bad input, and nothing changed on refusal."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event

from accord.access import Actor
from accord.store.db import Database, utcnow
from tests.api.conftest import Client
from tests.api.helpers import invalid_fields, problem

Size = Callable[[Actor], int]


def day(offset: int) -> str:
    """A date `offset` days from today (UTC), as people type it."""
    return (utcnow().date() + timedelta(days=offset)).isoformat()


def midnight(offset: int) -> str:
    """The instant `day(offset)` means, as the API renders it."""
    return f"{day(offset)}T00:00:00Z"


def new_customer(api: TestClient, **fields: Any) -> dict[str, Any]:
    r = api.post("/api/customers", json={"name": "Fabrikam Ltd", "code": "FAB", **fields})
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def new_contact(api: TestClient, customer_id: str, **fields: Any) -> dict[str, Any]:
    r = api.post(f"/api/customers/{customer_id}/contacts", json={"name": "Dana Scully", **fields})
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def new_site(api: TestClient, customer_id: str, **fields: Any) -> dict[str, Any]:
    r = api.post(f"/api/customers/{customer_id}/sites", json={"name": "Head office", **fields})
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def test_create_and_read_back(as_: Client, alice: Actor) -> None:
    api = as_(alice)
    r = api.post(
        "/api/customers",
        json={
            "name": "Fabrikam Ltd",
            "code": "FAB",
            "email": "it@fabrikam.example",
            "phone": "+44 20 7946 0000",
            "reason": "signed the MSA",
        },
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert r.headers["location"] == f"/api/customers/{created['id']}"
    assert {k: created[k] for k in ("name", "code", "status", "email", "phone", "notes")} == {
        "name": "Fabrikam Ltd",
        "code": "FAB",
        "status": "active",
        "email": "it@fabrikam.example",
        "phone": "+44 20 7946 0000",
        "notes": None,
    }
    assert created["version"]["valid_to"] is None and created["version"]["seq"] >= 1

    assert api.get(r.headers["location"]).json() == created
    listing = api.get("/api/customers").json()
    assert listing == {"items": [created], "total": 1, "limit": 100, "offset": 0}


def test_list_searches_filters_and_pages(as_: Client, alice: Actor) -> None:
    api = as_(alice)
    new_customer(api, name="Fabrikam Ltd", code="FAB")
    new_customer(api, name="Adatum Corp", code="ADA", status="prospect")
    new_customer(api, name="Contoso Pharma", code="CPH", email="it@cph.example")

    def names(**params: Any) -> tuple[list[str], int]:
        r = api.get("/api/customers", params=params)
        assert r.status_code == 200, r.text
        return [c["name"] for c in r.json()["items"]], r.json()["total"]

    assert names() == (["Adatum Corp", "Contoso Pharma", "Fabrikam Ltd"], 3)
    assert names(q="fab") == (["Fabrikam Ltd"], 1)
    assert names(q="CPH.EXAMPLE") == (["Contoso Pharma"], 1)
    assert names(status="prospect") == (["Adatum Corp"], 1)
    assert names(limit=2) == (["Adatum Corp", "Contoso Pharma"], 3)
    assert names(limit=2, offset=2) == (["Fabrikam Ltd"], 3)


def test_future_change_is_invisible_today_and_visible_with_on(as_: Client, alice: Actor) -> None:
    api = as_(alice)
    cid = new_customer(api)["id"]
    r = api.patch(
        f"/api/customers/{cid}",
        json={
            "name": "Fabrikam Group",
            "effective": day(30),
            "reason": "rename agreed for next month",
        },
    )
    assert r.status_code == 200, r.text
    # The answer is the customer from the change's effective time on.
    assert r.json()["name"] == "Fabrikam Group"
    assert r.json()["version"]["valid_from"] == midnight(30)

    assert api.get(f"/api/customers/{cid}").json()["name"] == "Fabrikam Ltd"
    later = api.get(f"/api/customers/{cid}", params={"on": day(31)}).json()
    assert later["name"] == "Fabrikam Group"
    in_list = api.get("/api/customers", params={"on": day(31)}).json()["items"]
    assert [c["name"] for c in in_list] == ["Fabrikam Group"]

    periods = api.get(f"/api/customers/{cid}/timeline").json()
    assert [(p["name"], p["version"]["valid_to"]) for p in periods] == [
        ("Fabrikam Ltd", midnight(30)),
        ("Fabrikam Group", None),
    ]


def test_retroactive_correction_is_seen_only_as_known_after_it(as_: Client, alice: Actor) -> None:
    api = as_(alice)
    created = new_customer(api, effective=day(-100))
    cid, known_before = created["id"], created["version"]["recorded_from"]
    r = api.patch(
        f"/api/customers/{cid}",
        json={"phone": "+44 20 7946 0000", "effective": day(-100), "reason": "typo in the phone"},
    )
    assert r.status_code == 200, r.text
    known_after = r.json()["version"]["recorded_from"]

    then = day(-99)
    assert (
        api.get(f"/api/customers/{cid}", params={"on": then}).json()["phone"] == "+44 20 7946 0000"
    )
    as_first_known = api.get(f"/api/customers/{cid}", params={"on": then, "known_at": known_before})
    assert as_first_known.json()["phone"] is None
    as_corrected = api.get(f"/api/customers/{cid}", params={"on": then, "known_at": known_after})
    assert as_corrected.json()["phone"] == "+44 20 7946 0000"

    # Before the customer existed, and before Accord knew of it, there is nothing.
    before_start = api.get(f"/api/customers/{cid}", params={"on": day(-101)})
    assert "did not exist" in problem(before_start, 404)["detail"]
    known_earlier = api.get("/api/customers", params={"on": then, "known_at": day(-1)}).json()
    assert known_earlier["total"] == 0

    # The timeline as known before the correction has one period, without the phone.
    timeline = api.get(f"/api/customers/{cid}/timeline", params={"known_at": known_before}).json()
    assert [(p["phone"], p["version"]["valid_from"]) for p in timeline] == [(None, midnight(-100))]


def test_history_is_newest_first_with_each_changes_patch(as_: Client, alice: Actor) -> None:
    api = as_(alice)
    cid = new_customer(api, effective=day(-10))["id"]
    api.patch(
        f"/api/customers/{cid}",
        json={"phone": "+44 20 7946 0000", "effective": day(-10), "reason": "typo"},
    )
    pid = new_contact(api, cid, role="IT lead")["id"]
    assert api.patch(f"/api/contacts/{pid}", json={"role": "CIO"}).status_code == 200
    assert api.post(f"/api/contacts/{pid}/remove", json={"reason": "left"}).status_code == 204

    history = api.get(f"/api/customers/{cid}/history").json()
    assert [h["kind"] for h in history] == [
        "parties.contact.removed",
        "parties.contact.changed",
        "parties.contact.added",
        "parties.customer.changed",
        "parties.customer.created",
    ]
    assert [h["seq"] for h in history] == sorted((h["seq"] for h in history), reverse=True)
    removed, role_change, added, correction, created = history
    assert correction["patch"] == [{"op": "replace", "path": "/phone", "value": "+44 20 7946 0000"}]
    assert correction["reason"] == "typo"
    assert correction["actor"] == "Alice <alice@northwind.example>"
    assert (correction["entity_type"], correction["entity_id"]) == ("customer", cid)
    assert correction["valid_from"] == midnight(-10) and correction["valid_to"] is None
    assert role_change["patch"] == [{"op": "replace", "path": "/role", "value": "CIO"}]
    assert {"op": "add", "path": "/name", "value": "Dana Scully"} in added["patch"]
    assert {"op": "remove", "path": "/name"} in removed["patch"] and removed["reason"] == "left"
    assert {"op": "add", "path": "/code", "value": "FAB"} in created["patch"]


def test_contacts_listed_changed_and_removed_in_the_future(as_: Client, alice: Actor) -> None:
    api = as_(alice)
    cid = new_customer(api)["id"]
    r = api.post(
        f"/api/customers/{cid}/contacts",
        json={"name": "Dana Scully", "role": "IT lead", "email": "dana@fabrikam.example"},
    )
    assert r.status_code == 201, r.text
    contact = r.json()
    assert r.headers["location"] == f"/api/contacts/{contact['id']}"
    assert api.get(r.headers["location"]).json() == contact
    assert contact["customer_id"] == cid

    changed = api.patch(f"/api/contacts/{contact['id']}", json={"phone": "+44 1632 960000"})
    assert changed.status_code == 200 and changed.json()["phone"] == "+44 1632 960000"
    r = api.post(
        f"/api/contacts/{contact['id']}/remove", json={"effective": day(7), "reason": "leaving"}
    )
    assert r.status_code == 204 and r.content == b""

    today = api.get(f"/api/customers/{cid}/contacts").json()
    assert [(c["name"], c["phone"]) for c in today] == [("Dana Scully", "+44 1632 960000")]
    assert api.get(f"/api/customers/{cid}/contacts", params={"on": day(8)}).json() == []
    problem(api.get(f"/api/contacts/{contact['id']}", params={"on": day(8)}), 404)


def test_sites_listed_changed_and_removed(as_: Client, alice: Actor) -> None:
    api = as_(alice)
    cid = new_customer(api)["id"]
    r = api.post(f"/api/customers/{cid}/sites", json={"name": "Head office", "city": "Reading"})
    assert r.status_code == 201, r.text
    site = r.json()
    assert r.headers["location"] == f"/api/sites/{site['id']}"
    assert api.get(r.headers["location"]).json() == site

    changed = api.patch(f"/api/sites/{site['id']}", json={"country": "GB", "postcode": "RG1 1AA"})
    assert (changed.json()["country"], changed.json()["city"]) == ("GB", "Reading")
    assert [s["country"] for s in api.get(f"/api/customers/{cid}/sites").json()] == ["GB"]

    # A removal needs no body: it takes effect now.
    assert api.post(f"/api/sites/{site['id']}/remove").status_code == 204
    assert api.get(f"/api/customers/{cid}/sites").json() == []
    problem(api.get(f"/api/sites/{site['id']}"), 404)
    kinds = [h["kind"] for h in api.get(f"/api/customers/{cid}/history").json()]
    assert kinds[:3] == ["parties.site.removed", "parties.site.changed", "parties.site.added"]


def test_bad_input_is_422_naming_the_field_and_changes_nothing(
    as_: Client, alice: Actor, journal_size: Size
) -> None:
    api = as_(alice)
    cid = new_customer(api)["id"]
    pid = new_contact(api, cid)["id"]
    sid = new_site(api, cid)["id"]
    size = journal_size(alice)
    customer = {"name": "Other Ltd", "code": "OTH"}

    cases: list[tuple[str, str, dict[str, Any], set[str]]] = [
        ("POST", "/api/customers", {"json": {**customer, "code": "oth"}}, {"code"}),
        ("POST", "/api/customers", {"json": {**customer, "code": "FAB"}}, {"code"}),  # taken
        ("POST", "/api/customers", {"json": {**customer, "name": ""}}, {"name"}),
        ("POST", "/api/customers", {"json": {**customer, "email": "not-an-email"}}, {"email"}),
        (
            "POST",
            "/api/customers",
            {"json": {**customer, "effective": "next tuesday"}},
            {"effective"},
        ),
        ("POST", "/api/customers", {"json": {**customer, "colour": "red"}}, {"colour"}),
        ("POST", "/api/customers", {"json": {"code": "OTH"}}, {"name"}),
        ("PATCH", f"/api/customers/{cid}", {"json": {}}, {"body"}),
        ("PATCH", f"/api/customers/{cid}", {"json": {"status": "bankrupt"}}, {"status"}),
        ("PATCH", f"/api/customers/{cid}", {"json": {"name": None}}, {"name"}),
        # It did not exist ten years ago, so it cannot have been renamed then.
        (
            "PATCH",
            f"/api/customers/{cid}",
            {"json": {"name": "X", "effective": day(-3650)}},
            {"effective"},
        ),
        (
            "POST",
            f"/api/customers/{cid}/contacts",
            {"json": {"name": "Eve", "phone": "call me"}},
            {"phone"},
        ),
        ("PATCH", f"/api/contacts/{pid}", {"json": {"email": "@"}}, {"email"}),
        ("POST", f"/api/contacts/{pid}/remove", {"json": {"effective": "soon"}}, {"effective"}),
        (
            "POST",
            f"/api/customers/{cid}/sites",
            {"json": {"name": "HQ", "country": "gb"}},
            {"country"},
        ),
        ("PATCH", f"/api/sites/{sid}", {"json": {}}, {"body"}),
        ("GET", "/api/customers", {"params": {"on": "yesterday"}}, {"on"}),
        (
            "GET",
            "/api/customers",
            {"params": {"on": "2026-02-30", "known_at": "x"}},
            {"on", "known_at"},
        ),
        # An offset that takes the instant past the year 9999 is still just bad input.
        ("GET", f"/api/customers/{cid}", {"params": {"on": "9999-12-31T23:00:00-05:00"}}, {"on"}),
        (
            "GET",
            f"/api/customers/{cid}/timeline",
            {"params": {"known_at": "13/01/2026"}},
            {"known_at"},
        ),
        ("GET", f"/api/customers/{cid}/contacts", {"params": {"on": "2026-1-1"}}, {"on"}),
        ("GET", "/api/customers", {"params": {"limit": 501}}, {"limit"}),
        ("GET", "/api/customers", {"params": {"offset": -1}}, {"offset"}),
        ("GET", "/api/customers", {"params": {"status": "gone"}}, {"status"}),
        ("GET", "/api/customers", {"params": {"q": "a\x00b"}}, {"q"}),
        ("GET", "/api/customers/not an id", {}, {"customer_id"}),
        ("PATCH", "/api/contacts/%00", {"json": {"name": "X"}}, {"contact_id"}),
    ]
    for method, path, kwargs, fields in cases:
        r = api.request(method, path, **kwargs)
        reasons = invalid_fields(r)
        assert set(reasons) == fields, (method, path, kwargs, r.text)
        assert all(reasons.values())

    assert journal_size(alice) == size
    assert api.get(f"/api/customers/{cid}").json()["name"] == "Fabrikam Ltd"
    assert api.get("/api/customers").json()["total"] == 1


def test_agent_writes_and_is_named_in_history(as_: Client, bob: Actor) -> None:
    api = as_(bob)
    cid = new_customer(api)["id"]
    assert api.patch(f"/api/customers/{cid}", json={"notes": "prefers email"}).status_code == 200
    history = api.get(f"/api/customers/{cid}/history").json()
    assert {h["actor"] for h in history} == {"Bob <bob@northwind.example>"}


def test_auditor_reads_everything_and_may_change_nothing(
    as_: Client, alice: Actor, carol: Actor, journal_size: Size
) -> None:
    cid = new_customer(as_(alice))["id"]
    pid = new_contact(as_(alice), cid)["id"]
    sid = new_site(as_(alice), cid)["id"]
    size = journal_size(alice)
    api = as_(carol)

    for path in (
        f"/api/customers/{cid}",
        f"/api/customers/{cid}/history",
        f"/api/customers/{cid}/contacts",
        f"/api/sites/{sid}",
        "/api/customers",
    ):
        assert api.get(path).status_code == 200, path

    writes: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", "/api/customers", {"name": "Other Ltd", "code": "OTH"}),
        ("PATCH", f"/api/customers/{cid}", {"name": "Mine now"}),
        ("POST", f"/api/customers/{cid}/contacts", {"name": "Eve"}),
        ("PATCH", f"/api/contacts/{pid}", {"name": "Eve"}),
        ("POST", f"/api/contacts/{pid}/remove", {}),
        ("POST", f"/api/customers/{cid}/sites", {"name": "Annex"}),
        ("PATCH", f"/api/sites/{sid}", {"city": "Slough"}),
        ("POST", f"/api/sites/{sid}/remove", {}),
    ]
    for method, path, body in writes:
        detail = problem(api.request(method, path, json=body), 403)["detail"]
        assert "auditor" in detail, (method, path)
    assert journal_size(alice) == size


def test_other_tenant_gets_404_and_an_empty_list(
    as_: Client, alice: Actor, mallory: Actor, journal_size: Size
) -> None:
    owner = as_(alice)
    customer = new_customer(owner)
    cid = customer["id"]
    pid = new_contact(owner, cid)["id"]
    sid = new_site(owner, cid)["id"]
    size = journal_size(alice)
    api = as_(mallory)

    assert api.get("/api/customers").json() == {"items": [], "total": 0, "limit": 100, "offset": 0}
    assert api.get("/api/customers", params={"q": "fab"}).json()["total"] == 0
    attempts: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", f"/api/customers/{cid}", None),
        ("PATCH", f"/api/customers/{cid}", {"name": "Pwned"}),
        ("GET", f"/api/customers/{cid}/history", None),
        ("GET", f"/api/customers/{cid}/timeline", None),
        ("GET", f"/api/customers/{cid}/contacts", None),
        ("POST", f"/api/customers/{cid}/contacts", {"name": "Eve"}),
        ("GET", f"/api/customers/{cid}/sites", None),
        ("POST", f"/api/customers/{cid}/sites", {"name": "Annex"}),
        ("GET", f"/api/contacts/{pid}", None),
        ("PATCH", f"/api/contacts/{pid}", {"name": "Eve"}),
        ("POST", f"/api/contacts/{pid}/remove", {}),
        ("GET", f"/api/sites/{sid}", None),
        ("PATCH", f"/api/sites/{sid}", {"city": "Slough"}),
        ("POST", f"/api/sites/{sid}/remove", {}),
    ]
    for method, path, body in attempts:
        r = api.request(method, path, json=body) if body is not None else api.request(method, path)
        problem(r, 404)
    # The answer is the same as for an id that exists nowhere, so it reveals nothing.
    nowhere = str(uuid.uuid4())
    assert api.get(f"/api/customers/{cid}").json()["detail"] == f"no customer {cid}"
    assert api.get(f"/api/customers/{nowhere}").json()["detail"] == f"no customer {nowhere}"

    assert journal_size(alice) == size
    assert owner.get(f"/api/customers/{cid}").json() == customer


def test_credentials_are_required(anonymous: TestClient, as_: Client, alice: Actor) -> None:
    cid = new_customer(as_(alice))["id"]
    for method, path in (
        ("GET", "/api/customers"),
        ("GET", f"/api/customers/{cid}"),
        ("PATCH", f"/api/customers/{cid}"),
        ("POST", "/api/customers"),
    ):
        # Even with a bad body, who you are is settled first.
        r = anonymous.request(method, path, json={"code": "lowercase"})
        problem(r, 401)
        assert r.headers["www-authenticate"] == "Bearer"
    for token in ("acc_not-a-token", "not even the right shape", ""):
        r = anonymous.get("/api/customers", headers={"Authorization": f"Bearer {token}"})
        problem(r, 401)


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn: object, _cursor: object, sql: str, *_args: object) -> None:
        seen.append(sql)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def test_customer_list_costs_the_same_queries_however_long(
    as_: Client, alice: Actor, db: Database
) -> None:
    api = as_(alice)
    for i in range(2):
        new_customer(api, name=f"Customer {i}", code=f"C{i}")
    with statements(db) as few:
        assert len(api.get("/api/customers").json()["items"]) == 2
    for i in range(2, 12):
        new_customer(api, name=f"Customer {i}", code=f"C{i}")
    with statements(db) as many:
        assert len(api.get("/api/customers").json()["items"]) == 12
    assert len(many) == len(few)


def test_times_may_carry_offsets_and_naive_times_are_utc(as_: Client, alice: Actor) -> None:
    api = as_(alice)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    cid = new_customer(api, effective=start.isoformat())["id"]
    # Half an hour before the start, written as a local time five hours ahead of UTC.
    just_before = (start - timedelta(minutes=30)).astimezone(timezone(timedelta(hours=5)))
    assert api.get(f"/api/customers/{cid}", params={"on": start.isoformat()}).status_code == 200
    problem(api.get(f"/api/customers/{cid}", params={"on": just_before.isoformat()}), 404)
    naive = start.replace(tzinfo=None).isoformat()
    assert api.get(f"/api/customers/{cid}", params={"on": naive}).status_code == 200
