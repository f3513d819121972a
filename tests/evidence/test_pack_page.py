"""The evidence pack's two layouts, on SQLite and PostgreSQL: the page /offers/{id}/pack is
inside the site's layout (navigation, who is signed in, the section's tabs) like every
other page, while the PDF keeps its own print layout (A4, page numbers, no navigation);
both show the one body template (evidence/_pack_body.html)."""

from __future__ import annotations

import re
from pathlib import Path

from accord.access import Actor
from accord.evidence import pack
from accord.store.db import Database
from tests.evidence.conftest import Book, Client
from tests.evidence.test_pack import _capture
from tests.pages.helpers import read

#: The body's sections, in order: the same in the page and in the PDF.
SECTIONS = [
    "Who, what, when",
    "Terms: Managed services agreement, v2",
    "The journey: 3 screens, 5 steps",
    "The customer then and now",
    "Appendix: proof",
]


def headings(html: str) -> list[str]:
    return [re.sub(r"\s+", " ", h).strip() for h in re.findall(r"<h2[^>]*>(.*?)</h2>", html, re.S)]


def test_the_pack_page_is_in_the_site_layout(db: Database, book: Book, erin: Actor,
                                             browser: Client) -> None:  # fmt: skip
    _capture(db, book)
    r = browser(erin).get(f"/offers/{book.offer}/pack")
    assert r.status_code == 200, r.text
    page = read(r)
    assert '<nav class="mainnav"' in r.text and "/logout" in page.forms  # the site's layout
    assert re.search(r'<a href="/offers" aria-current="page">Evidence</a>', r.text)
    assert '<link rel="stylesheet" href="/static/accord.css">' in r.text
    assert "Erin" in page.text and "Northwind" in page.text  # who is signed in, where
    assert f"/offers/{book.offer}" in page.links  # the crumbs and "Back to the offer"
    assert f"/api/offers/{book.offer}/pack.pdf" in page.links
    assert r.text.count("<h1>Evidence pack</h1>") == 1
    assert headings(r.text)[-len(SECTIONS) :] == SECTIONS
    assert "@page" not in r.text  # no print layout on the web
    assert "Fabrikam Ltd" in page.text and "☑ ticked" in page.text


def test_the_pdf_keeps_its_print_layout_around_the_same_body(
    db: Database, book: Book, erin: Actor, key_dir: Path
) -> None:
    _capture(db, book)
    with db.unit_of_work() as s:
        gathered = pack.gather(s, erin, book.offer, key_dir)
        document = pack.render_html(pack.context(gathered, pdf=True))
    assert "@page" in document and "counter(pages)" in document
    assert '<body class="pack">' in document
    for site_only in ("mainnav", "/static/accord.css", "/logout", "csrf_token", "<a href"):
        assert site_only not in document, site_only
    assert headings(document) == SECTIONS
    assert "This file ends with a trailer line (%%ACCORD-PACK)" in document
    body = pack.page_html(db, erin, book.offer, key_dir)  # the page's body, without layout
    assert headings(body) == SECTIONS and "This file ends with a trailer" not in body
    assert pack.render_pdf(document, gathered).startswith(b"%PDF-")
