"""A site's external key (its key in another system): set, changed and cleared through the
service, the API, the form and the CLI; one site's alone in a tenant (a removed site's
too); another tenant neither sees nor touches it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from accord.access import Actor
from accord.config import Settings
from accord.errors import Invalid, NotFound
from accord.parties import queries, service
from accord.parties.schemas import CustomerCreate, Removal, SiteCreate, SiteUpdate
from accord.store import journal
from accord.store.checkpoints import Signer
from accord.store.db import Database, utcnow
from accord.store.tenancy import Tenant
from accord.web.app import create_app
from tests.api.helpers import invalid_fields, issue_token, problem
from tests.cli import conftest as cli_fixtures
from tests.cli.conftest import Run, last_line
from tests.cli.test_parties import add_acme_ltd, init
from tests.cli.test_parties import journal_size as cli_journal_size
from tests.cli.test_parties import ok as cli_ok
from tests.pages.helpers import PASSWORDS, email_of, location, login, post, read


def size(db: Database, actor: Actor) -> int:
    with db.reading() as s:
        return journal.tree_size(s, actor.tenant_id)


def new_customer(db: Database, actor: Actor, code: str = "FAB") -> str:
    with db.unit_of_work() as s:
        return service.create_customer(
            s, actor=actor, data=CustomerCreate(name=f"{code} Ltd", code=code)
        )


def new_site(db: Database, actor: Actor, customer_id: str, name: str, key: str | None) -> str:
    with db.unit_of_work() as s:
        return service.add_site(
            s,
            actor=actor,
            customer_id=customer_id,
            data=SiteCreate(name=name, external_key=key),
        )


def test_a_key_names_one_site_of_the_tenant(db: Database, alice: Actor) -> None:
    fab, con = new_customer(db, alice), new_customer(db, alice, "CON")
    hq = new_site(db, alice, fab, "HQ", "S-1")
    depot = new_site(db, alice, fab, "Depot", None)
    before = size(db, alice)
    # Not for another site, of this customer or another one, new or already on record.
    for customer in (fab, con):
        with pytest.raises(Invalid) as err, db.unit_of_work() as s:
            service.add_site(
                s, actor=alice, customer_id=customer, data=SiteCreate(name="X", external_key="S-1")
            )
        assert err.value.problems == [("external_key", "another site (HQ) already has the key S-1")]
    with pytest.raises(Invalid) as err, db.unit_of_work() as s:
        service.change_site(s, actor=alice, site_id=depot, data=SiteUpdate(external_key="S-1"))
    assert err.value.problems[0][0] == "external_key"
    assert size(db, alice) == before

    # The site itself may be saved with its own key, and the key changed or cleared.
    with db.unit_of_work() as s:
        service.change_site(
            s, actor=alice, site_id=hq, data=SiteUpdate(name="Head office", external_key="S-1")
        )
        service.change_site(s, actor=alice, site_id=depot, data=SiteUpdate(external_key="S-2"))
    with db.reading() as s:
        assert queries.get_site_for(s, alice, depot).external_key == "S-2"
        found = queries.sites_by_external_key(s, alice, ["S-1", "S-2", "S-3"], on=utcnow())
        assert {k: [v.entity_id for v in vs] for k, vs in found.items()} == {
            "S-1": [hq],
            "S-2": [depot],
        }
    with db.unit_of_work() as s:
        service.change_site(s, actor=alice, site_id=depot, data=SiteUpdate(external_key=None))
    with db.reading() as s:
        assert queries.get_site_for(s, alice, depot).external_key is None

    # A removed site keeps its key: its history still names it.
    with db.unit_of_work() as s:
        service.remove_site(s, actor=alice, site_id=hq, data=Removal(reason="closed"))
    with pytest.raises(Invalid), db.unit_of_work() as s:
        service.change_site(s, actor=alice, site_id=depot, data=SiteUpdate(external_key="S-1"))


def test_keys_are_per_tenant_and_another_tenant_cannot_touch_them(
    db: Database, alice: Actor, mallory: Actor
) -> None:
    fab = new_customer(db, alice)
    hq = new_site(db, alice, fab, "HQ", "S-1")
    # Contoso has its own keys: the same key is free there, and says nothing of northwind's.
    theirs = new_site(db, mallory, new_customer(db, mallory, "FAB"), "Main", "S-1")
    with db.reading() as s:
        assert [
            v.entity_id
            for v in queries.sites_by_external_key(s, mallory, ["S-1"], on=utcnow())["S-1"]
        ] == [theirs]
        with pytest.raises(NotFound):
            queries.get_site_for(s, mallory, hq)
    before = size(db, alice)
    # Changing northwind's site is not found (not "key taken"), whatever the key.
    for key in ("S-1", "S-2"):
        with pytest.raises(NotFound), db.unit_of_work() as s:
            service.change_site(s, actor=mallory, site_id=hq, data=SiteUpdate(external_key=key))
    assert size(db, alice) == before


# --- the API and the form ---------------------------------------------------------------------


@pytest.fixture
def app(db: Database, key_dir: Path, northwind: tuple[Tenant, Actor, Signer]) -> FastAPI:
    return create_app(Settings(database_url=db.url, key_dir=key_dir, secret_key="test"), db=db)


@pytest.fixture
def api(app: FastAPI, db: Database) -> Iterator[dict[str, TestClient]]:
    """Bearer-token clients by persona label, made on demand."""
    clients: dict[str, TestClient] = {}
    yield clients
    for c in clients.values():
        c.close()


def client(app: FastAPI, db: Database, clients: dict[str, TestClient], actor: Actor) -> TestClient:
    if actor.label not in clients:
        plain, _ = issue_token(db, actor)
        clients[actor.label] = TestClient(app, headers={"Authorization": f"Bearer {plain}"})
    return clients[actor.label]


def test_the_api_takes_and_shows_the_key(
    app: FastAPI, db: Database, api: dict[str, TestClient], alice: Actor, mallory: Actor
) -> None:
    c = client(app, db, api, alice)
    fab = new_customer(db, alice)
    r = c.post(f"/api/customers/{fab}/sites", json={"name": "HQ", "external_key": "S-1"})
    assert r.status_code == 201, r.text
    site = r.json()
    assert site["external_key"] == "S-1"
    assert c.get(f"/api/sites/{site['id']}").json()["external_key"] == "S-1"
    listed = c.get(f"/api/customers/{fab}/sites").json()
    assert [(x["name"], x["external_key"]) for x in listed] == [("HQ", "S-1")]

    before = size(db, alice)
    taken = c.post(f"/api/customers/{fab}/sites", json={"name": "Depot", "external_key": "S-1"})
    assert invalid_fields(taken) == {"external_key": "another site (HQ) already has the key S-1"}
    too_long = c.post(f"/api/customers/{fab}/sites", json={"name": "D", "external_key": "k" * 101})
    assert set(invalid_fields(too_long)) == {"external_key"}
    assert size(db, alice) == before

    changed = c.patch(
        f"/api/sites/{site['id']}", json={"external_key": "S-9", "reason": "renumbered"}
    )
    assert changed.status_code == 200 and changed.json()["external_key"] == "S-9"

    other = client(app, db, api, mallory)
    problem(other.get(f"/api/sites/{site['id']}"), 404)
    problem(other.patch(f"/api/sites/{site['id']}", json={"external_key": "X"}), 404)
    assert size(db, alice) == before + 1


def test_the_site_form_takes_and_shows_the_key(app: FastAPI, db: Database, bob: Actor) -> None:
    fab = new_customer(db, bob)
    with TestClient(app, follow_redirects=False) as c:
        email = email_of(bob)
        assert location(login(c, email, PASSWORDS[email])) == "/customers"
        path = f"/customers/{fab}"
        form = read(c.get(f"{path}/sites/new"))
        assert "external_key" in form.values
        r = post(
            c, f"{path}/sites", {"name": "HQ", "external_key": "S-1", "effective": "", "reason": ""}
        )
        assert location(r) == path
        page = read(c.get(path))
        assert "S-1" in page.text

        # A key another site has: the form comes back with what was typed and the reason.
        r = post(c, f"{path}/sites", {"name": "Depot", "city": "Leeds", "external_key": "S-1"})
        assert r.status_code == 422
        again = read(r)
        assert again.values["name"] == "Depot" and again.values["city"] == "Leeds"
        assert "already has the key S-1" in again.errors["external_key"]

        edit = next(a for a in page.links if a.startswith("/sites/") and a.endswith("/edit"))
        form = read(c.get(edit))
        assert form.values["external_key"] == "S-1" and form.values["was_external_key"] == "S-1"
        data = {k: v for k, v in form.values.items() if k != "csrf_token"}
        assert location(post(c, edit, {**data, "external_key": ""})) == path
        history = read(c.get(f"{path}/history")).text
        assert "External key" in history
    with db.reading() as s:
        assert [x.external_key for x in queries.sites_of(s, bob, fab, when=queries.AsOf.now())] == [
            None
        ]


# --- the command line ---------------------------------------------------------------------------

#: `accord` in-process on the `db` fixture's database (tests/cli's fixtures, here too).
env, cli_on = cli_fixtures.env, cli_fixtures.cli_on


def test_the_cli_sets_shows_and_clears_the_key(cli_on: Run, db: Database) -> None:
    init(cli_on, "acme")
    add_acme_ltd(cli_on)
    site = cli_ok(cli_on, "site", "add", "ACME", "--name", "HQ", "--external-key", "S-1").strip()
    shown = json.loads(cli_ok(cli_on, "customer", "show", "ACME", "--json"))
    assert [(x["id"], x["external_key"]) for x in shown["sites"]] == [(site, "S-1")]
    assert "external key S-1" in cli_ok(cli_on, "customer", "show", "ACME")

    size = cli_journal_size(db)
    taken = cli_on("site", "add", "ACME", "--name", "Depot", "--external-key", "S-1")
    assert taken.exit_code == 1
    assert (
        last_line(taken.stderr) == "error: external-key: another site (HQ) already has the key S-1"
    )
    assert cli_journal_size(db) == size

    cli_ok(cli_on, "site", "change", site, "--external-key", "")
    shown = json.loads(cli_ok(cli_on, "customer", "show", "ACME", "--json"))
    assert shown["sites"][0]["external_key"] is None
