"""The demo's evidence: two terms documents with their versions, six proposal journeys
(accepted, declined, open), a customer on an older version and one whose record changed
since it accepted; the pages show them, and the journal still verifies. On SQLite and on
PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from accord import demo
from accord.accounts import service as accounts
from accord.config import Settings
from accord.evidence import queries
from accord.store.db import Database
from accord.store.tenancy import create_tenant
from accord.store.verify import rebuild_check
from accord.web.app import create_app
from tests.evidence.conftest import read


def test_the_demo_has_journeys_worth_showing(db: Database, tmp_path: Path) -> None:
    with db.unit_of_work() as s:
        tenant = create_tenant(s, slug=demo.TENANT_SLUG, name=demo.TENANT_NAME)
        demo.load(s, tenant_id=tenant.id)
    with read(db) as s:
        carol = accounts.authenticate(s, email="carol@northwind.example", password=demo.PASSWORD)
        assert carol is not None
        documents = {d.code: d for d in queries.list_documents(s, carol)}
        assert set(documents) == {"MSA", "DPA"}
        msa = queries.versions_of(s, carol, documents["MSA"].entity_id)
        dpa = queries.versions_of(s, carol, documents["DPA"].entity_id)
        assert [v.label for v in msa] == ["v1", "v2", "v3"] and {v.media_type for v in dpa} == {
            "text/html"
        }
        offers, total = queries.list_offers(s, actor=carol)
        assert total == 6
        assert sorted(o.status for o, _ in offers) == ["accepted"] * 4 + ["declined", "open"]
        names = queries.customer_names(s, carol)
        latest, behind = queries.not_on_latest(s, carol, documents["MSA"].entity_id)
        assert latest is not None and latest.label == "v3"
        assert [names[b.customer_id] for b in behind] == ["Kestrel Veterinary Surgery"]
        changed = []
        for o, _ in offers:
            ev = queries.offer_evidence(s, carol, o.entity_id)
            screens = [x for x in ev.events if x.event.kind == "screen"]
            assert 2 <= len(screens) <= 5 and all(x.content for x in screens)
            if o.status != "open":
                assert len(screens) >= 4 and ev.events[-1].event.kind == o.status
                assert any(x.event.kind == "tick" for x in ev.events)
            if ev.customer_patch:
                changed.append(ev.customer_then.code)
        assert changed == ["HDP"]
        assert rebuild_check(s, tenant).rows > 0

    app = create_app(Settings(database_url=db.url, key_dir=tmp_path, secret_key="t"), db=db)
    with TestClient(app) as c:
        form = {"email": "carol@northwind.example", "password": demo.PASSWORD}
        token = c.get("/login").text.split('name="csrf_token" value="')[1].split('"')[0]
        assert c.post("/login", data={**form, "csrf_token": token}).status_code == 200
        for o, _ in offers:
            page = c.get(f"/offers/{o.entity_id}")
            assert page.status_code == 200 and "Journey" in page.text
        assert "Kestrel Veterinary Surgery" in c.get("/evidence/reports").text
