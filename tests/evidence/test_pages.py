"""The evidence pages in-process, on SQLite and PostgreSQL: the offers list and its
filters, an offer with its journey (each screen sandboxed, its ticks listed), terms
documents and the publish form (pasted or uploaded, keeping what was typed on error), a
version, the reports and the export; roles and another tenant."""

from __future__ import annotations

import html
import io
import re
import zipfile
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import event

from accord.access import Actor
from accord.store.db import Database
from tests.evidence.conftest import (
    Book,
    Client,
    journey,
    make_offer,
    outcome,
    rrweb_recording,
)
from tests.pages.helpers import csrf, location, post, read

Capture = Callable[[str | None], TestClient]
Size = Callable[[Actor], int]


def frames(text: str) -> list[str]:
    return re.findall(r"<iframe ([^>]*)>", text)


def test_the_nav_leads_to_the_offers(browser: Client, carol: Actor, book: Book) -> None:
    page = browser(carol).get("/customers")
    assert 'href="/offers"' in page.text and ">Evidence</a>" in page.text
    r = browser(carol).get("/offers")
    assert r.status_code == 200
    shown = read(r)
    assert "Managed IT Support" in shown.text and "Fabrikam Ltd" in shown.text
    assert "£1,250.00 · 24 months" in shown.text and "MSA v2" in shown.text
    assert f"/offers/{book.offer}" in shown.links


def test_offers_are_filtered_by_customer_status_and_terms(
    browser: Client, capture: Capture, carol: Actor, book: Book
) -> None:
    capture(book.token).post(f"/api/capture/{book.offer}/events", json={"events": [outcome(0)]})
    c = browser(carol)
    assert "No offer matches" in read(c.get("/offers?status=declined")).text
    assert f"/offers/{book.offer}" in read(c.get("/offers?status=accepted")).links
    assert "No offer matches" in read(c.get(f"/offers?terms={book.v1}")).text
    page = read(c.get(f"/offers?customer={book.customer}"))
    assert f"/offers/{book.offer}" in page.links
    assert f"/evidence/export?customer={book.customer}" in page.links
    assert c.get("/offers?status=maybe").status_code == 422


def test_an_offer_shows_its_journey_as_it_was(
    browser: Client, capture: Capture, carol: Actor, book: Book
) -> None:
    capture(book.token).post(f"/api/capture/{book.offer}/events", json={"events": journey()})
    r = browser(carol).get(f"/offers/{book.offer}")
    assert r.status_code == 200
    page = read(r)
    for words in (
        "Accepted by Fiona Park",
        "Screen shown: offer",
        "Ticked “I agree to the Managed services agreement v2”",
        "Accepted the offer",
        "Managed services agreement, v2",
        "Nothing: the record is as it was.",
        "hidden (password)",
    ):
        assert words in page.text, words
    shown = frames(r.text)
    assert len(shown) == 3
    for attrs in shown:
        assert attrs.startswith("sandbox srcdoc=") and "allow-scripts" not in attrs
        srcdoc = html.unescape(re.search(r'srcdoc="([^"]*)"', attrs).group(1))  # type: ignore[union-attr]
        assert "Content-Security-Policy" in srcdoc and "<form>" in srcdoc
    # the confirmation screen lists its box ticked
    assert r.text.count('<span class="mark" aria-hidden="true">☑</span>') == 1


def test_an_rrweb_screen_is_shown_from_its_snapshot(
    browser: Client, capture: Capture, carol: Actor, book: Book
) -> None:
    capture(book.token).post(f"/api/capture/{book.offer}/rrweb", json={"events": rrweb_recording()})
    r = browser(carol).get(f"/offers/{book.offer}")
    page = read(r)
    assert "From an rrweb recording" in page.text and "recording (rrweb JSON)" in page.text
    srcdoc = html.unescape(frames(r.text)[0])
    assert "I accept the terms v2" in srcdoc and "SCRIPT_PLACEHOLDER" not in srcdoc
    assert "Changed PO number to “PO-17”" in page.text


def test_terms_documents_and_publishing(
    browser: Client, erin: Actor, book: Book, journal_size: Size
) -> None:
    c = browser(erin)
    page = read(c.get("/terms"))
    assert "MSA" in page.text and "/terms" in page.forms
    r = post(c, "/terms", {"code": "DPA", "title": "Data processing addendum"})
    doc_url = location(r)
    assert "Publish its first version" in read(c.get(doc_url)).text
    # pasted text
    r = post(c, f"{doc_url}/versions", {"label": "v1", "media_type": "text/plain",
                                          "text": "1. We process data lawfully.\r\n"})  # fmt: skip
    assert location(r) == doc_url
    page = read(c.get(doc_url))
    assert "v1" in page.text and "In effect" in page.text
    # an uploaded file
    token = csrf(c)
    r = c.post(
        f"{doc_url}/versions",
        data={"label": "v2", "csrf_token": token, "media_type": "text/plain", "text": ""},
        files={"file": ("dpa-v2.html", b"<h1>DPA</h1><p>Version two.</p>", "text/html")},
    )
    assert location(r) == doc_url
    (link,) = [x for x in read(c.get(doc_url)).links if x.startswith("/terms/versions/")][:1]
    version = c.get(link)
    assert version.status_code == 200 and "sandbox srcdoc=" in version.text
    assert "Version two." in html.unescape(version.text)
    # bad input: the form again with what was typed, nothing saved
    before = journal_size(erin)
    r = post(
        c,
        f"{doc_url}/versions",
        {
            "label": "v2",
            "media_type": "text/plain",
            "text": "kept as typed",
            "effective_from": "soon",
        },
    )
    assert r.status_code == 422
    page = read(r)
    assert page.values["text"] == "kept as typed" and page.values["label"] == "v2"
    assert "effective_from" in page.errors or "label" in page.errors
    r = post(c, f"{doc_url}/versions", {"label": "v3", "media_type": "text/plain", "text": ""})
    assert r.status_code == 422 and "text" in read(r).errors
    r = post(c, "/terms", {"code": "dpa!", "title": "Again"})
    assert r.status_code == 422 and read(r).values["title"] == "Again"
    assert "code" in read(r).errors
    assert journal_size(erin) == before


def test_a_pdf_version_is_offered_for_download(browser: Client, erin: Actor, book: Book) -> None:
    c = browser(erin)
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n"
    r = c.post(
        f"/terms/{book.msa}/versions",
        data={"label": "v3", "csrf_token": csrf(c), "media_type": "text/plain",
              "effective_from": "2099-01-01"},
        files={"file": ("msa-v3.pdf", pdf, "application/pdf")},
    )  # fmt: skip
    assert location(r) == f"/terms/{book.msa}"
    doc = c.get(f"/terms/{book.msa}")
    assert "Planned" in doc.text
    link = next(x for x in read(doc).links if x.startswith("/terms/versions/"))
    page = read(c.get(link))
    assert "This version is a PDF file." in page.text
    content = next(x for x in page.links if x.endswith("/content"))
    assert c.get(content).content == pdf


def test_a_version_lists_who_accepted_it(
    browser: Client, capture: Capture, carol: Actor, book: Book
) -> None:
    capture(book.token).post(f"/api/capture/{book.offer}/events", json={"events": [outcome(0)]})
    page = read(browser(carol).get(f"/terms/versions/{book.v2}"))
    assert "Fabrikam Ltd" in page.text and "Managed Services Agreement v2" in page.text
    assert f"/offers/{book.offer}" in page.links


def test_reports_and_the_export(
    browser: Client, api: Client, capture: Capture, erin: Actor, carol: Actor, book: Book
) -> None:
    old = api(erin).post(
        "/api/offers",
        json={"customer_id": book.other_customer, "product": "Backup", "terms_version_id": book.v1,
              "parameters": {"amount": 99, "term": "12 months"}},
    ).json()  # fmt: skip
    capture(old["capture_token"]).post(
        f"/api/capture/{old['id']}/events", json={"events": [outcome(0)]}
    )
    c = browser(carol)
    page = read(c.get("/evidence/reports"))
    assert "Contoso Dental" in page.text and "latest: v2" in page.text
    page = read(c.get(f"/evidence/reports?version={book.v1}"))
    assert "1 acceptance of MSA v1" in page.text
    r = c.get(f"/evidence/export?customer={book.other_customer}")
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    assert "manifest.json" in zipfile.ZipFile(io.BytesIO(r.content)).namelist()


def test_readers_see_no_forms_and_cannot_post(
    browser: Client, carol: Actor, book: Book, journal_size: Size
) -> None:
    c = browser(carol)
    assert read(c.get("/terms")).forms == ["/logout"]
    assert read(c.get(f"/terms/{book.msa}")).forms == ["/logout"]
    before = journal_size(carol)
    assert post(c, "/terms", {"code": "DPA", "title": "T"}).status_code == 403
    r = post(c, f"/terms/{book.msa}/versions", {"label": "v9", "media_type": "text/plain",
                                                  "text": "x"})  # fmt: skip
    assert r.status_code == 403
    assert c.post("/terms", data={"code": "DPA", "title": "T"}).status_code == 403  # no CSRF
    assert journal_size(carol) == before


def test_another_tenant_sees_nothing(browser: Client, mallory: Actor, book: Book) -> None:
    c = browser(mallory)
    for path in (
        f"/offers/{book.offer}",
        f"/terms/{book.msa}",
        f"/terms/versions/{book.v2}",
        f"/evidence/export?customer={book.customer}",
    ):
        assert c.get(path).status_code == 404, path
    assert "No offers yet" in read(c.get("/offers")).text
    assert "Fabrikam" not in c.get("/evidence/reports").text
    r = post(c, f"/terms/{book.msa}/versions", {"label": "v9", "media_type": "text/plain",
                                                  "text": "x"})  # fmt: skip
    assert r.status_code == 404


def test_the_capture_script_is_served_to_anyone(anonymous_client: TestClient) -> None:
    r = anonymous_client.get("/capture.js")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/javascript")
    assert "max-age" in r.headers["cache-control"] and "/api/capture/" in r.text


def test_the_offers_list_costs_the_same_queries_however_many_offers(
    browser: Client, db: Database, erin: Actor, book: Book
) -> None:
    c = browser(erin)

    def statements() -> int:
        seen: list[str] = []

        def count(*args: object) -> None:
            seen.append(str(args[2]))

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert c.get("/offers").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len(seen)

    few = statements()
    for _ in range(6):
        make_offer(db, erin, book)
    assert statements() == few
