"""The evidence API in-process, on SQLite and PostgreSQL: terms, offers, the capture
endpoints (token, CORS, idempotence, limits, the outcome once), rrweb recordings, reports,
a customer's export, and another tenant seeing nothing. Every refused request changes
nothing in the journal."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from accord.access import Actor
from tests.api.helpers import invalid_fields, problem
from tests.evidence.conftest import (
    MSA_V2,
    Book,
    Client,
    journey,
    outcome,
    rrweb_recording,
    screen,
    tick,
)

Capture = Callable[[str | None], TestClient]
Size = Callable[[Actor], int]


def events_url(book: Book) -> str:
    return f"/api/capture/{book.offer}/events"


# --- terms ------------------------------------------------------------------------------------


def test_publish_and_read_terms(api: Client, erin: Actor, carol: Actor, book: Book) -> None:
    c = api(erin)
    r = c.post("/api/terms", json={"code": "DPA", "title": "Data processing addendum"})
    assert r.status_code == 201, r.text
    doc = r.json()
    assert r.headers["location"] == f"/api/terms/{doc['id']}" and doc["versions"] == []
    html = "<h1>Data processing</h1><p>We process your data lawfully.</p>"
    r = c.post(
        f"/api/terms/{doc['id']}/versions",
        json={"label": "v1", "media_type": "text/html", "text": html,
              "effective_from": "2026-01-01", "published_at": "2025-12-01"},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    version = r.json()
    assert version["blob"] == hashlib.sha256(html.encode()).hexdigest()
    pdf = b"%PDF-1.7\n%\x00\xff binary\n%%EOF"
    r = c.post(
        f"/api/terms/{doc['id']}/versions",
        json={"label": "v2", "media_type": "application/pdf",
              "content_base64": base64.b64encode(pdf).decode()},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    reader = api(carol)
    got = reader.get(f"/api/terms-versions/{version['id']}/content")
    assert got.content == html.encode() and got.headers["content-type"].startswith("text/html")
    assert got.headers["content-security-policy"].startswith("sandbox")
    assert got.headers["x-content-type-options"] == "nosniff"
    got = reader.get(f"/api/terms-versions/{r.json()['id']}/content")
    assert got.content == pdf and got.headers["content-type"] == "application/pdf"
    listed = {d["code"]: d for d in reader.get("/api/terms").json()}
    assert [v["label"] for v in listed["DPA"]["versions"]] == ["v1", "v2"]
    assert listed["MSA"]["latest_version_id"] == book.v2


def test_bad_terms_are_refused_naming_the_field(
    api: Client, erin: Actor, bob: Actor, book: Book, journal_size: Size
) -> None:
    c = api(erin)
    before = journal_size(erin)
    assert "code" in invalid_fields(c.post("/api/terms", json={"code": "msa x", "title": "T"}))
    assert "code" in invalid_fields(c.post("/api/terms", json={"code": "MSA", "title": "Again"}))
    url = f"/api/terms/{book.msa}/versions"
    both = {"label": "v3", "media_type": "text/plain", "text": "a", "content_base64": "YQ=="}
    assert "text" in invalid_fields(c.post(url, json=both))
    assert "content_base64" in invalid_fields(
        c.post(url, json={"label": "v3", "media_type": "application/pdf", "content_base64": "!!"})
    )
    assert "label" in invalid_fields(
        c.post(url, json={"label": "v2", "media_type": "text/plain", "text": "x"})
    )
    assert "media_type" in invalid_fields(
        c.post(url, json={"label": "v3", "media_type": "image/png", "text": "x"})
    )
    problem(api(bob).post("/api/terms", json={"code": "DPA", "title": "T"}), 403)
    problem(c.post("/api/terms/00000000-0000-0000-0000-000000000000/versions",
                   json={"label": "v1", "media_type": "text/plain", "text": "x"}), 404)  # fmt: skip
    assert journal_size(erin) == before


# --- offers -----------------------------------------------------------------------------------


def test_make_an_offer_and_read_it(api: Client, erin: Actor, carol: Actor, book: Book) -> None:
    body = {
        "customer_id": book.customer,
        "contact_id": book.contact,
        "product": "Managed IT Support",
        "parameters": {"amount": 1250, "currency": "GBP", "term": "24 months", "rate": "fixed"},
        "terms_version_id": book.v2,
    }
    r = api(erin).post("/api/offers", json=body)
    assert r.status_code == 201, r.text
    made = r.json()
    assert len(made["capture_token"]) >= 40 and made["status"] == "open"
    assert made["parameters"] == body["parameters"] and "capture_token_hash" not in made
    got = api(carol).get(r.headers["location"]).json()
    assert "capture_token" not in got and got["customer_seq"] == made["customer_seq"]
    listed = api(carol).get("/api/offers", params={"customer_id": book.customer}).json()
    assert listed["total"] == 2 and {o["id"] for o in listed["items"]} == {made["id"], book.offer}
    assert api(carol).get("/api/offers", params={"status": "accepted"}).json()["total"] == 0


def test_bad_offers_are_refused_naming_the_field(
    api: Client, erin: Actor, carol: Actor, book: Book, journal_size: Size
) -> None:
    before = journal_size(erin)
    good = {"customer_id": book.customer, "product": "Support", "terms_version_id": book.v2,
            "parameters": {"amount": 10, "term": "12 months"}}  # fmt: skip
    cases: dict[str, dict[str, Any]] = {
        "parameters": {"parameters": {"term": "12 months"}},
        "customer_id": {"customer_id": "00000000-0000-0000-0000-000000000000"},
        "terms_version_id": {"terms_version_id": "x" * 70},
        "contact_id": {"contact_id": "00000000-0000-0000-0000-000000000000"},
        "product": {"product": ""},
        "surprise": {"surprise": 1},
    }
    for field, change in cases.items():
        fields = invalid_fields(api(erin).post("/api/offers", json={**good, **change}))
        assert any(f.startswith(field) for f in fields), (field, fields)
    problem(api(carol).post("/api/offers", json=good), 403)
    problem(api(carol).get("/api/offers/00000000-0000-0000-0000-000000000000"), 404)
    assert journal_size(erin) == before


# --- capture ----------------------------------------------------------------------------------


def test_the_browser_records_a_journey(
    api: Client, capture: Capture, carol: Actor, book: Book
) -> None:
    c = capture(book.token)
    r = c.post(events_url(book), json={"events": journey()[:3]})
    assert r.status_code == 200, r.text
    assert r.json() == {"received": [0, 1, 2], "length": 3}
    assert r.headers["access-control-allow-origin"] == "*"
    assert "set-cookie" not in r.headers
    r = c.post(events_url(book), json={"events": journey()[2:]})  # 2 again, then 3 and 4
    assert r.json() == {"received": [2, 3, 4], "length": 5}
    steps = api(carol).get(f"/api/offers/{book.offer}/events").json()
    assert [s["kind"] for s in steps] == ["screen", "screen", "tick", "screen", "accepted"]
    assert steps[0]["media_type"] == "text/html" and steps[0]["ip"] == "testclient"
    assert steps[0]["user_agent"] == "Mozilla/5.0 (test)" and steps[0]["source"] == "capture"
    assert steps[3]["form"][0]["checked"] is True
    offer = api(carol).get(f"/api/offers/{book.offer}").json()
    assert offer["status"] == "accepted" and offer["decided_by"] == book.contact
    shown = api(carol).get(f"/api/offers/{book.offer}/events/3/screen")
    assert shown.text == screen(3, "confirm", checked=True)["html"]
    assert shown.headers["content-security-policy"].startswith("sandbox")


def test_the_capture_endpoints_answer_any_origin_and_only_they_do(
    app: Any, capture: Capture, api: Client, carol: Actor, book: Book
) -> None:
    c = capture(None)
    for path in (events_url(book), f"/api/capture/{book.offer}/rrweb"):
        r = c.options(
            path,
            headers={"Access-Control-Request-Method": "POST",
                     "Access-Control-Request-Headers": "authorization, content-type"},
        )  # fmt: skip
        assert r.status_code == 204
        assert r.headers["access-control-allow-origin"] == "*"
        assert "POST" in r.headers["access-control-allow-methods"]
        assert "authorization" in r.headers["access-control-allow-headers"].lower()
        assert "access-control-allow-credentials" not in r.headers
    other = api(carol).get("/api/offers", headers={"Origin": "https://evil.example"})
    assert other.status_code == 200 and "access-control-allow-origin" not in other.headers
    assert c.options("/api/offers").headers.get("access-control-allow-origin") is None


def test_capture_refusals(capture: Capture, erin: Actor, book: Book, journal_size: Size) -> None:
    before = journal_size(erin)
    r = capture(None).post(events_url(book), json={"events": journey()})
    assert problem(r, 401) and r.headers["www-authenticate"] == "Bearer"
    assert r.headers["access-control-allow-origin"] == "*"  # the page can read why
    problem(capture("someone-elses-token").post(events_url(book), json={"events": journey()}), 401)
    problem(capture(book.token).post("/api/capture/00000000-0000-0000-0000-000000000000/events",
                                     json={"events": journey()}), 404)  # fmt: skip
    c = capture(book.token)
    bad = journey()
    bad[2] = {**bad[2], "type": "wink"}
    bad[3] = {**bad[3], "form": [{"name": "agree", "type": "checkbox", "checked": "maybe"}]}
    bad[4] = {**bad[4], "at": "yesterday"}
    fields = invalid_fields(c.post(events_url(book), json={"events": bad}))
    assert {"events[2].type", "events[3].form[0].checked", "events[4].at"} <= set(fields)
    assert "events[1].n" in invalid_fields(
        c.post(events_url(book), json={"events": [screen(0, "a"), screen(0, "b")]})
    )
    assert "events[0].ip" in invalid_fields(
        c.post(events_url(book), json={"events": [{**tick(0), "ip": "1.2.3.4"}]})
    )
    assert "body" in invalid_fields(c.post(events_url(book), content=b"{not json"))
    assert "events" in invalid_fields(c.post(events_url(book), json={"events": []}))
    many = [tick(n) for n in range(501)]
    assert (
        "at most 500" in invalid_fields(c.post(events_url(book), json={"events": many}))["events"]
    )
    huge = screen(0, "terms")
    huge["html"] = "<p>" + "x" * (2 * 1024 * 1024) + "</p>"
    assert "events[0].html" in invalid_fields(c.post(events_url(book), json={"events": [huge]}))
    r = c.post(events_url(book), content=b" " * (25 * 1024 * 1024),
               headers={"Content-Type": "application/json"})  # fmt: skip
    assert problem(r, 413)
    assert journal_size(erin) == before


def test_nothing_after_the_outcome(
    capture: Capture, erin: Actor, book: Book, journal_size: Size
) -> None:
    c = capture(book.token)
    assert c.post(events_url(book), json={"events": journey()}).status_code == 200
    before = journal_size(erin)
    body = problem(c.post(events_url(book), json={"events": [outcome(5, "declined")]}), 409)
    assert "already accepted" in body["detail"]
    assert problem(c.post(events_url(book), json={"events": [tick(7)]}), 409)
    again = c.post(events_url(book), json={"events": journey()})  # a retry: acknowledged
    assert again.json() == {"received": [0, 1, 2, 3, 4], "length": 5}
    assert journal_size(erin) == before


def test_a_token_only_writes_its_own_offer(
    api: Client, capture: Capture, erin: Actor, book: Book
) -> None:
    other = api(erin).post(
        "/api/offers",
        json={"customer_id": book.other_customer, "product": "Backup", "terms_version_id": book.v2,
              "parameters": {"amount": 99, "term": "12 months"}},
    ).json()  # fmt: skip
    r = capture(book.token).post(f"/api/capture/{other['id']}/events", json={"events": journey()})
    problem(r, 401)


def test_server_side_capture(api: Client, erin: Actor, bob: Actor, book: Book) -> None:
    events = journey()
    events[4] = {**events[4], "ip": "198.51.100.4", "user_agent": "Mozilla/5.0 (customer)"}
    r = api(erin).post(f"/api/offers/{book.offer}/events", json={"events": events})
    assert r.status_code == 200, r.text
    offer = api(erin).get(f"/api/offers/{book.offer}").json()
    assert offer["decided_ip"] == "198.51.100.4"
    problem(api(bob).post(f"/api/offers/{book.offer}/events", json={"events": events}), 403)
    assert "events[0].ip" in invalid_fields(
        api(erin).post(f"/api/offers/{book.offer}/events",
                       json={"events": [{**tick(9), "ip": "not-an-ip"}]})
    )  # fmt: skip


def test_an_rrweb_recording_is_screen_evidence(
    api: Client, capture: Capture, carol: Actor, book: Book, journal_size: Size
) -> None:
    c = capture(book.token)
    url = f"/api/capture/{book.offer}/rrweb"
    r = c.post(url, json={"events": rrweb_recording()})
    assert r.status_code == 200, r.text
    assert r.json() == {"received": list(range(8)), "length": 8}
    size = journal_size(carol)
    assert c.post(url, json={"events": rrweb_recording()}).json() == r.json()  # nothing twice
    assert journal_size(carol) == size
    steps = api(carol).get(f"/api/offers/{book.offer}/events").json()
    assert [s["kind"] for s in steps] == [
        "screen", "tick", "untick", "tick", "change", "change", "screen", "accepted"
    ]  # fmt: skip
    assert {s["source"] for s in steps} == {"rrweb"}
    assert steps[0]["media_type"] == "application/vnd.rrweb+json"
    raw = api(carol).get(f"/api/offers/{book.offer}/events/0/screen")
    assert raw.headers["content-type"].startswith("application/vnd.rrweb+json")
    assert [e["type"] for e in raw.json()][:2] == [4, 2]
    assert api(carol).get(f"/api/offers/{book.offer}").json()["status"] == "accepted"
    bad = rrweb_recording()
    bad[3] = {"type": "x", "timestamp": "soon", "data": 1}
    fields = invalid_fields(c.post(url, json={"events": bad}))
    assert {"events[3].type", "events[3].timestamp", "events[3].data"} <= set(fields)
    only_inputs = [e for e in rrweb_recording() if e["type"] == 3]
    assert "FullSnapshot" in invalid_fields(c.post(url, json={"events": only_inputs}))["events"]


def test_an_rrweb_recording_that_goes_on_past_the_outcome(
    api: Client, capture: Capture, carol: Actor, book: Book
) -> None:
    """Recorders keep going after the customer decides (a thank-you page): what follows the
    outcome is not part of the journey and is left out, not refused."""
    recording = rrweb_recording()
    outcome_at = max(e["timestamp"] for e in recording)
    thanks = next(e for e in recording if e["type"] == 2)
    recording += [{**thanks, "timestamp": outcome_at + 500}]
    r = capture(book.token).post(f"/api/capture/{book.offer}/rrweb", json={"events": recording})
    assert r.status_code == 200, r.text
    steps = api(carol).get(f"/api/offers/{book.offer}/events").json()
    assert [s["kind"] for s in steps][-2:] == ["screen", "accepted"]
    assert len(steps) == 8


# --- reports and exports -------------------------------------------------------------------------


def test_reports(api: Client, capture: Capture, erin: Actor, carol: Actor, book: Book) -> None:
    old = api(erin).post(
        "/api/offers",
        json={"customer_id": book.other_customer, "product": "Backup", "terms_version_id": book.v1,
              "parameters": {"amount": 99, "term": "12 months"}},
    ).json()  # fmt: skip
    capture(old["capture_token"]).post(f"/api/capture/{old['id']}/events",
                                       json={"events": [outcome(0)]})  # fmt: skip
    capture(book.token).post(events_url(book), json={"events": [outcome(0, "declined")]})
    c = api(carol)
    accepted = c.get(f"/api/terms-versions/{book.v1}/acceptances").json()
    assert [(a["customer"], a["offer_id"]) for a in accepted] == [("Contoso Dental", old["id"])]
    assert c.get(f"/api/terms-versions/{book.v2}/acceptances").json() == []
    behind = c.get(f"/api/terms/{book.msa}/not-on-latest").json()
    assert [(b["customer"], b["accepted_label"], b["latest_label"]) for b in behind] == [
        ("Contoso Dental", "v1", "v2")
    ]
    assert c.get(f"/api/terms/{book.msa}/not-on-latest", params={"on": "2000-01-01"}).json() == []
    assert "on" in invalid_fields(c.get(f"/api/terms/{book.msa}/not-on-latest",
                                        params={"on": "someday"}))  # fmt: skip


def test_offer_evidence_names_every_journal_entry(
    api: Client, capture: Capture, carol: Actor, book: Book
) -> None:
    capture(book.token).post(events_url(book), json={"events": journey()})
    ev = api(carol).get(f"/api/offers/{book.offer}/evidence").json()
    assert ev["customer_then"]["data"]["name"] == "Fabrikam Ltd" and ev["customer_patch"] == []
    assert ev["terms"]["label"] == "v2" and ev["terms"]["document"]["code"] == "MSA"
    assert ev["seqs"]["events"] == [s["seq"] for s in ev["journey"]]
    # the offer is one entry, never changed: its outcome is the journey's last event
    assert len(ev["seqs"]["offer"]) == 1 and ev["seqs"]["customer"] == ev["offer"]["customer_seq"]
    assert ev["journey"][-1]["kind"] == "accepted" and ev["offer"]["status"] == "accepted"
    assert ev["offer"]["decided_at"] == ev["journey"][-1]["at"]
    for seq in [*ev["seqs"]["events"], ev["seqs"]["terms_version"], ev["seqs"]["customer"]]:
        assert api(carol).get(f"/api/journal/entries/{seq}").status_code == 200


def test_a_customer_export_holds_the_record_offers_journeys_and_bytes(
    api: Client, capture: Capture, carol: Actor, book: Book
) -> None:
    capture(book.token).post(events_url(book), json={"events": journey()})
    r = api(carol).get("/api/evidence/export", params={"customer_id": book.customer})
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    assert "attachment" in r.headers["content-disposition"]
    z = zipfile.ZipFile(io.BytesIO(r.content))
    manifest = json.loads(z.read("manifest.json"))
    assert manifest["customer"]["code"] == "FAB" and "README.txt" in z.namelist()
    (offer,) = manifest["offers"]
    assert [e["kind"] for e in offer["journey"]] == [
        "screen",
        "screen",
        "tick",
        "screen",
        "accepted",
    ]
    assert offer["customer_as_offered"]["data"]["name"] == "Fabrikam Ltd"
    assert "capture_token_hash" not in offer and book.token not in json.dumps(manifest)
    for digest, info in manifest["blobs"].items():
        assert hashlib.sha256(z.read(info["path"])).hexdigest() == digest
    (terms,) = manifest["terms_versions"]
    assert z.read(terms["file"]) == MSA_V2
    seqs = {e["seq"] for e in manifest["journal"]}
    assert {e["seq"] for e in offer["journey"]} <= seqs and set(offer["journal_seqs"]) <= seqs
    assert {c["data"]["name"] for c in manifest["contacts"]} == {"Fiona Park", "Frank Obi"}
    first = manifest["journal"][0]
    assert json.loads(first["entry"])["seq"] == first["seq"]


# --- another tenant -----------------------------------------------------------------------------


def test_another_tenant_sees_and_changes_nothing(
    api: Client, capture: Capture, mallory: Actor, erin: Actor, book: Book, journal_size: Size
) -> None:
    capture(book.token).post(events_url(book), json={"events": journey()[:2]})
    m = api(mallory)
    before = journal_size(erin)
    for path in (
        f"/api/offers/{book.offer}",
        f"/api/offers/{book.offer}/events",
        f"/api/offers/{book.offer}/events/0/screen",
        f"/api/offers/{book.offer}/evidence",
        f"/api/terms/{book.msa}",
        f"/api/terms/{book.msa}/not-on-latest",
        f"/api/terms-versions/{book.v2}",
        f"/api/terms-versions/{book.v2}/content",
        f"/api/terms-versions/{book.v2}/acceptances",
        f"/api/evidence/export?customer_id={book.customer}",
    ):
        problem(m.get(path), 404)
    assert m.get("/api/offers").json()["total"] == 0 and m.get("/api/terms").json() == []
    problem(m.post(f"/api/offers/{book.offer}/events", json={"events": [tick(5)]}), 404)
    problem(m.post(f"/api/terms/{book.msa}/versions",
                   json={"label": "v9", "media_type": "text/plain", "text": "x"}), 404)  # fmt: skip
    fields = invalid_fields(m.post("/api/offers", json={
        "customer_id": book.customer, "product": "x", "terms_version_id": book.v2,
        "parameters": {"amount": 1, "term": 1}}))  # fmt: skip
    assert "customer_id" in fields
    assert journal_size(erin) == before


def test_hostile_bodies_are_bad_input_not_errors(
    capture: Capture, erin: Actor, book: Book, journal_size: Size
) -> None:
    before = journal_size(erin)
    c = capture(book.token)
    lone = (
        b'{"events": [{"n": 0, "type": "tick", "at": "2026-11-23T10:00:00Z", "field": "\\ud800"}]}'
    )
    assert "lone surrogate" in invalid_fields(c.post(events_url(book), content=lone))["body"]
    deep = b"[" * 100_000 + b"]" * 100_000
    assert "body" in invalid_fields(c.post(events_url(book), content=deep))
    rrweb = f"/api/capture/{book.offer}/rrweb"
    nested: dict[str, Any] = {"type": 2, "id": 1, "tagName": "div", "childNodes": []}
    node = nested
    for i in range(300):
        child = {"type": 2, "id": i + 2, "tagName": "div", "childNodes": []}
        node["childNodes"].append(child)
        node = child
    too_deep = [{"type": 2, "timestamp": 1_795_000_000_000, "data": {"node": nested}}]
    assert (
        "nested more than" in invalid_fields(c.post(rrweb, json={"events": too_deep}))["events[0]"]
    )
    odd = rrweb_recording()
    odd[1]["data"]["node"]["childNodes"][1]["childNodes"] = 7  # not a list: ignored
    odd[3]["data"]["id"] = "thirteen"  # no such node: ignored
    r = c.post(rrweb, json={"events": odd})
    assert r.status_code == 200, r.text
    assert journal_size(erin) > before
