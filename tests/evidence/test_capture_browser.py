"""capture.js in a real browser: Debian's headless Chromium, driven by Playwright, walks the
sample offer journey (tests/evidence/sample_journey/) served from an origin of its own, so
every capture request crosses origins (CORS) as it does on a provider's site, to Accord
served by uvicorn on a free local port.

Everything is set up and checked through Accord's API, as a provider would: a customer and
its contact, a terms version, an offer with its capture token; then the journey recorded:
screens in order with their form state, ticks, unticks and changes in order, the outcome
with the address and browser, no event twice (retries, a reload), and the PIN typed in the
password field nowhere: not in a request, not in the browser's storage, not in any row,
blob or journal entry. Also a declined journey (a screen named by the page's script, a
dialog shown as a screen), a page with a wrong token, and a real rrweb recording of the
same journey (tests/evidence/fixtures/rrweb_offer.json, made with rrweb's record() in
Chromium; see fixtures/README.md).

Skipped with the reason when Chromium or Playwright is missing, unless
ACCORD_REQUIRE_BROWSER=1 (CI), when it fails instead.
"""

from __future__ import annotations

import html
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy import select

from accord.access import Actor
from accord.models import metadata
from accord.store import blobs
from accord.store.blobs import Blob
from accord.store.db import Database
from accord.store.journal import Entry, JournalEntry
from tests.api.helpers import issue_token
from tests.pages.test_browser import CHROMIUM, CHROMIUM_ARGS, REQUIRE, _missing
from tests.pages.test_browser import server as server  # noqa: F401 - Accord under uvicorn

HERE = Path(__file__).resolve().parent
JOURNEY = HERE / "sample_journey"
RRWEB = HERE / "fixtures" / "rrweb_offer.json"
PIN = "482913"  # typed into the password field; must never be stored
SIGNATURE = "Priya Shah"


# --- the provider's site: the sample journey, on an origin of its own -------------------------


@dataclass
class Site:
    """The sample journey served as a provider's server would: each page's capture tag
    filled in with Accord's address and the offer's id, token and contact."""

    url: str
    values: dict[str, str] = field(default_factory=dict)


@pytest.fixture
def site() -> Iterator[Site]:
    values: dict[str, str] = {}

    class Pages(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            page = JOURNEY / (self.path.split("?")[0].lstrip("/") or "offer.html")
            if page.parent != JOURNEY or not page.is_file():
                self.send_error(404)
                return
            text = page.read_text(encoding="utf-8")
            for key, value in values.items():
                text = text.replace("{{" + key + "}}", html.escape(value))
            body = text.encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:  # a form posted on: read it, show the next page
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.do_GET()

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Pages)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield Site(f"http://127.0.0.1:{httpd.server_address[1]}", values)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


@pytest.fixture
def chromium() -> Iterator[Any]:
    reason = _missing()
    if reason:
        if REQUIRE:
            pytest.fail(f"ACCORD_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


# --- Accord, through its API --------------------------------------------------------------------


@pytest.fixture
def accord(server: str, db: Database, erin: Actor) -> Iterator[httpx2.Client]:  # noqa: F811
    """Erin (sales) on Accord's API with a bearer token."""
    token, _ = issue_token(db, erin)
    with httpx2.Client(
        base_url=server, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as c:
        yield c


def ok(response: httpx2.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


@dataclass
class Offer:
    id: str
    token: str
    customer: str
    contact: str
    terms_version: str


def terms_text() -> str:
    """The master copy of the terms the sample journey shows: its scrolling text."""
    page = (JOURNEY / "terms.html").read_text(encoding="utf-8")
    found = re.search(r'<div class="terms" id="terms-text"[^>]*>(.*?)</div>', page, re.S)
    assert found
    return f"<section>{found.group(1)}</section>"


@pytest.fixture
def offer(accord: httpx2.Client) -> Offer:
    """Harbour Dental and Priya Shah, the Equipment Finance Terms 2026-11, and an offer of
    £12,000 over 36 months at 6.9% APR made under them, all through the API."""
    customer = ok(
        accord.post("/api/customers", json={"name": "Harbour Dental Practice Ltd", "code": "HDP"}),
        201,
    )["id"]
    contact = ok(
        accord.post(
            f"/api/customers/{customer}/contacts",
            json={"name": SIGNATURE, "role": "Practice owner", "email": "priya@harbour.example"},
        ),
        201,
    )["id"]
    document = ok(
        accord.post("/api/terms", json={"code": "EF", "title": "Equipment Finance Terms"}), 201
    )["id"]
    version = ok(
        accord.post(
            f"/api/terms/{document}/versions",
            json={"label": "2026-11", "media_type": "text/html", "text": terms_text()},
        ),
        201,
    )["id"]
    made = ok(
        accord.post(
            "/api/offers",
            json={
                "customer_id": customer,
                "contact_id": contact,
                "product": "Equipment finance",
                "parameters": {
                    "amount": 12000,
                    "currency": "GBP",
                    "term": "36 months",
                    "rate": "6.9% APR",
                    "monthly_repayment": "368.83",
                },
                "terms_version_id": version,
            },
        ),
        201,
    )
    assert made["status"] == "open" and made["capture_token"]
    return Offer(made["id"], made["capture_token"], customer, contact, version)


def events_of(accord: httpx2.Client, offer_id: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = ok(accord.get(f"/api/offers/{offer_id}/events"))
    return events


def wait_for(
    accord: httpx2.Client,
    offer_id: str,
    done: Callable[[list[dict[str, Any]]], bool],
    page: Any = None,
    timeout: float = 15,
) -> list[dict[str, Any]]:
    """The journey once `done` holds for it (capture posts as the page goes on). Waiting
    through the page lets Playwright run its handlers (routes, listeners) meanwhile."""
    deadline = time.monotonic() + timeout
    while True:
        events = events_of(accord, offer_id)
        if done(events):
            return events
        if time.monotonic() > deadline:
            pytest.fail(f"the journey did not get there in {timeout} s: {summary(events)}")
        if page is not None:
            page.wait_for_timeout(100)
        else:
            time.sleep(0.1)


def summary(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """(kind, screen, field, value) per event: what a reader of the evidence sees."""
    return [
        (e["kind"], e["screen"], e["field"], e["value"])
        if e["kind"] != "screen"
        # a screen's name is its `screen`
        else ("screen", e["screen"])
        for e in events
    ]


def fields(event: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A screen's form, by field name (radio buttons by name=value); `checked` None when
    not a box, `masked` False when not masked, whether stored or left out."""
    out = {}
    for f in event["form"]:
        key = f"{f['name']}={f['value']}" if f["type"] == "radio" else f["name"]
        out[key] = {"checked": None, "masked": False, **f}
    return out


def has(kind: str) -> Callable[[list[dict[str, Any]]], bool]:
    return lambda events: any(e["kind"] == kind for e in events)


def screen_html(accord: httpx2.Client, offer_id: str, n: int) -> str:
    r = accord.get(f"/api/offers/{offer_id}/events/{n}/screen")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), r.text
    return r.text


def stored_anywhere(db: Database, needle: str) -> list[str]:
    """Where `needle` is stored: any column of any row of any table, any blob's bytes
    (decoded: they are kept compressed), any journal entry."""
    raw = needle.encode()
    hits = []
    with db.reading() as s:
        for table in metadata.sorted_tables:
            for row in s.execute(select(table)):
                for column, value in row._mapping.items():
                    data = value if isinstance(value, bytes) else str(value).encode()
                    if raw in data:
                        hits.append(f"{table.name}.{column}")
        for tenant_id, digest in s.execute(select(Blob.tenant_id, Blob.digest)):
            if raw in blobs.get(s, tenant_id, digest.hex()):
                hits.append(f"blob {digest.hex()}")
        entries = [Entry.from_bytes(e) for e in s.scalars(select(JournalEntry.entry))]
        assert any(e.type == "journey_event" for e in entries)
        hits += [f"journal entry {e.seq}" for e in entries if needle in json.dumps(e.to_json())]
    return hits


class Capture:
    """What the browser sent to Accord, and what it logged."""

    def __init__(self, page: Any, offer_id: str) -> None:
        self.bodies: list[str] = []
        self.console: list[str] = []
        path = f"/api/capture/{offer_id}/events"
        page.on(
            "request",
            lambda r: (
                self.bodies.append(r.post_data or "")
                if r.method == "POST" and r.url.endswith(path)
                else None
            ),
        )
        page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))

    def sent(self) -> list[dict[str, Any]]:
        return [e for body in self.bodies for e in json.loads(body)["events"]]


def open_journey(chromium: Any, site: Site, accord_url: str, offer: Offer, token: str = "") -> Any:
    """A new page; the site's capture tags now name Accord at `accord_url` and the offer."""
    site.values.update(
        accord=accord_url, offer=offer.id, token=token or offer.token, contact=offer.contact
    )
    return chromium.new_page(locale="en-GB")


# --- the journeys -------------------------------------------------------------------------------


def test_an_accepted_journey_is_recorded_screen_by_screen(
    chromium: Any,
    site: Site,
    server: str,  # noqa: F811
    accord: httpx2.Client,
    offer: Offer,
    db: Database,
    mallory: Actor,
) -> None:
    page = open_journey(chromium, site, server, offer)
    capture = Capture(page, offer.id)
    agent = page.evaluate("navigator.userAgent")

    # The offer page. Accord is unreachable at first, then fails (503): the screen is
    # retried with backoff until it is on record, once.
    posts: list[str] = []

    def flaky(route: Any) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        posts.append(route.request.method)
        if len(posts) == 1:
            route.abort("internetdisconnected")
        elif len(posts) == 2:
            route.fulfill(
                status=503,
                headers={"Access-Control-Allow-Origin": "*"},
                json={"title": "Service Unavailable", "status": 503},
            )
        else:
            route.continue_()

    page.route(f"{server}/api/capture/**", lambda route: flaky(route))
    page.goto(f"{site.url}/offer.html")
    wait_for(accord, offer.id, lambda ev: len(ev) == 1, page, timeout=20)
    assert len(posts) == 3
    page.unroute(f"{server}/api/capture/**")
    page.select_option("#payment-day", "15")
    page.click("text=Continue to the terms")

    # The terms: scroll them, untick the pre-ticked marketing consent, tick the agreement.
    # Accord is unreachable meanwhile; the page is reloaded before the events got out.
    page.wait_for_url("**/terms.html*")
    page.eval_on_selector("#terms-text", "el => el.scrollTop = el.scrollHeight")
    wait_for(accord, offer.id, lambda ev: len(ev) == 3, page)
    queue = f"JSON.parse(sessionStorage.getItem('accord-capture:{offer.id}:queue'))"
    page.wait_for_function(f"{queue}.length === 0")  # the page has its acknowledgements
    page.route(f"{server}/api/capture/**", lambda route: route.abort("internetdisconnected"))
    page.uncheck("#marketing")
    page.check("#agree")
    assert [(e["type"], e["field"]) for e in page.evaluate(queue)] == [
        ("untick", "marketing"),
        ("tick", "agree_terms"),
    ]
    page.unroute(f"{server}/api/capture/**")
    page.reload()
    # The reloaded page is a screen of its own, with the boxes as the browser shows them.
    shown_again = {
        "agree_terms": page.is_checked("#agree"),
        "marketing": page.is_checked("#marketing"),
    }
    page.check("#agree")
    page.uncheck("#marketing")
    page.click("button:has-text('Continue')")

    # Confirm: sign with the name typed key by key, choose the copy by post, then the PIN
    # step (a section of the same page shown by its script), then accept.
    page.wait_for_url("**/confirm.html*")
    page.locator("#signature").press_sequentially(SIGNATURE, delay=20)
    page.check("input[name=copy][value=post]")
    page.click("#next")
    page.click("text=Accept the offer")  # no PIN yet: the browser refuses the form
    page.wait_for_timeout(300)
    assert "/confirm.html" in page.url
    page.locator("input[name=pin]").press_sequentially(PIN, delay=20)
    page.click("text=Accept the offer")
    page.wait_for_url("**/done.html")
    events = wait_for(accord, offer.id, has("accepted"), page)

    # What the reloaded page needed again, in the order done above.
    boxes_after_reload = [
        *([] if shown_again["agree_terms"] else [("tick", "terms", "agree_terms", "yes")]),
        *([("untick", "terms", "marketing", "yes")] if shown_again["marketing"] else []),
    ]
    assert summary(events) == [
        ("screen", "offer"),
        ("change", "offer", "payment_day", "15"),
        ("screen", "terms"),
        ("untick", "terms", "marketing", "yes"),
        ("tick", "terms", "agree_terms", "yes"),
        ("screen", "terms"),  # the reload
        *boxes_after_reload,
        ("screen", "confirm"),
        ("change", "confirm", "signature", SIGNATURE),
        ("tick", "confirm", "copy", "post"),
        ("screen", "pin"),
        ("change", "pin", "pin", ""),  # the PIN was typed; its value never left the browser
        ("accepted", "pin", None, None),
    ]
    # Each event once, in order, however often it was sent (retries, the reload).
    assert [e["n"] for e in events] == list(range(len(events)))
    assert len(capture.sent()) > len(events)  # some were sent twice: stored once
    assert {e["source"] for e in events} == {"capture"}
    assert {e["ip"] for e in events} == {"127.0.0.1"}
    assert {e["user_agent"] for e in events} == {agent}

    screens = [e for e in events if e["kind"] == "screen"]
    offer_page, terms, terms_again, confirm, pin = screens
    assert offer_page["url"] == f"{site.url}/offer.html"
    assert offer_page["title"] == "Your equipment finance offer | Northwind IT Services"
    assert fields(offer_page)["payment_day"] == {
        "name": "payment_day",
        "type": "select",
        "label": "Repayments are taken on",
        "value": "1",
        "checked": None,
        "masked": False,
    }
    assert terms["url"] == f"{site.url}/terms.html?payment_day=15"
    agree, marketing = fields(terms)["agree_terms"], fields(terms)["marketing"]
    assert (agree["checked"], marketing["checked"]) == (False, True)  # as first shown
    assert agree["label"] == (
        "I have read and agree to the Equipment Finance Terms (version 2026-11)"
    )  # a wrapping label
    assert marketing["label"] == "Send me news and offers from Northwind IT Services by email"
    assert {k: f["checked"] for k, f in fields(terms_again).items()} == shown_again
    assert fields(confirm)["signature"]["value"] == ""
    assert fields(confirm)["signature"]["label"] == "Your full name, as your signature"
    assert fields(confirm)["copy=email"]["checked"] is True
    after = fields(pin)
    assert after["signature"]["value"] == SIGNATURE
    assert (after["copy=email"]["checked"], after["copy=post"]["checked"]) == (False, True)
    assert after["pin"] == {
        "name": "pin",
        "type": "password",
        "label": "Your 6-digit PIN",  # aria-label
        "value": "",
        "checked": None,
        "masked": True,
    }

    # The screens as captured: the DOM with its live state, inert, the terms as shown.
    terms_page = screen_html(accord, offer.id, terms["n"])
    assert "8. Your right to withdraw" in terms_page
    assert re.search(r'<input[^>]*id="marketing"[^>]*checked', terms_page)
    assert not re.search(r'<input[^>]*id="agree"[^>]*checked', terms_page)
    pin_page = screen_html(accord, offer.id, pin["n"])
    assert f'value="{SIGNATURE}"' in pin_page
    assert re.search(r'<input[^>]*value="post"[^>]*checked', pin_page)
    assert re.search(r'<section id="step-details"[^>]*hidden', pin_page)
    assert pin_page.startswith("<!DOCTYPE html>")
    for captured in (terms_page, pin_page):
        assert "<script" not in captured and offer.token not in captured

    # The outcome: by the contact of the page, from the browser's address and agent.
    decided = ok(accord.get(f"/api/offers/{offer.id}"))
    assert decided["status"] == "accepted"
    assert decided["decided_by"] == offer.contact
    assert decided["decided_ip"] == "127.0.0.1"
    assert decided["decided_user_agent"] == agent
    assert decided["decided_at"].startswith(events[-1]["at"][:19])

    # The PIN: not sent, not kept in the browser, not stored anywhere in Accord.
    assert capture.bodies and not any(PIN in body for body in capture.bodies)
    assert PIN not in page.evaluate("JSON.stringify(sessionStorage)")
    assert stored_anywhere(db, PIN) == []
    assert stored_anywhere(db, SIGNATURE)  # while what was typed elsewhere is kept

    # After the outcome the journey is closed: pages of the flow record nothing more.
    page.goto(f"{site.url}/offer.html")
    page.wait_for_timeout(500)
    assert len(events_of(accord, offer.id)) == len(events)
    assert not [line for line in capture.console if "Accord capture" in line], capture.console

    # Another tenant's admin sees none of it.
    plain, _ = issue_token(db, mallory)
    outsider = {"Authorization": f"Bearer {plain}"}
    assert accord.get(f"/api/offers/{offer.id}/events", headers=outsider).status_code == 404
    page.close()


def test_a_declined_journey_with_screens_named_by_the_page(
    chromium: Any,
    site: Site,
    server: str,  # noqa: F811
    accord: httpx2.Client,
    offer: Offer,
) -> None:
    page = open_journey(chromium, site, server, offer)
    capture = Capture(page, offer.id)
    page.goto(f"{site.url}/offer.html")
    page.click("#show-schedule")  # the page calls AccordCapture.screen("repayment schedule")
    wait_for(accord, offer.id, lambda ev: len(ev) == 2, page)
    page.click("text=Continue to the terms")
    page.wait_for_url("**/terms.html*")
    page.click("#fees")  # a <dialog data-accord-screen="fee schedule"> opens
    wait_for(accord, offer.id, lambda ev: len(ev) == 4, page)
    page.click("dialog button")  # and closes: the terms are the screen again
    page.uncheck("#marketing")
    page.click("text=No thanks, decline this offer")  # a link marked data-accord-decline
    page.wait_for_url("**/declined.html")
    events = wait_for(accord, offer.id, has("declined"), page)

    assert summary(events) == [
        ("screen", "offer"),
        ("screen", "repayment schedule"),
        ("screen", "terms"),
        ("screen", "fee schedule"),
        ("untick", "terms", "marketing", "yes"),
        ("declined", "terms", None, None),
    ]
    schedule = screen_html(accord, offer.id, 1)
    assert re.search(r'<div id="schedule">', schedule)  # shown: no longer hidden
    assert "£368.90" in schedule
    assert re.search(r'<dialog id="fee-schedule"[^>]*open', screen_html(accord, offer.id, 3))
    decided = ok(accord.get(f"/api/offers/{offer.id}"))
    assert decided["status"] == "declined" and decided["decided_by"] == offer.contact
    assert not [line for line in capture.console if "Accord capture" in line], capture.console
    page.close()


def test_a_wrong_token_is_refused_once_and_nothing_is_recorded(
    chromium: Any,
    site: Site,
    server: str,  # noqa: F811
    accord: httpx2.Client,
    offer: Offer,
) -> None:
    script = httpx2.get(f"{server}/capture.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("application/javascript")
    assert "AccordCapture" in script.text

    page = open_journey(chromium, site, server, offer, token="not-this-offers-token")
    capture = Capture(page, offer.id)
    page.goto(f"{site.url}/offer.html")
    deadline = time.monotonic() + 10
    while not any("refused the events (401)" in line for line in capture.console):
        assert time.monotonic() < deadline, capture.console
        page.wait_for_timeout(100)
    page.select_option("#payment-day", "28")  # capture has stopped: nothing more is sent
    page.wait_for_timeout(1500)
    assert len(capture.bodies) == 1  # a refusal is not retried
    assert events_of(accord, offer.id) == []
    page.close()


# --- an rrweb recording ---------------------------------------------------------------------------


def test_a_real_rrweb_recording_becomes_the_journey(
    accord: httpx2.Client,
    offer: Offer,
    server: str,
    db: Database,  # noqa: F811
) -> None:
    """rrweb's record() in Chromium on the sample journey: three pages (three full
    snapshots), the payment day chosen, the marketing consent unticked, the agreement
    ticked, the name and the PIN typed (rrweb masks passwords), and a custom `accepted`
    event the page added on the accept button."""
    recording = json.loads(RRWEB.read_text(encoding="utf-8"))
    capture = httpx2.Client(
        base_url=server,
        headers={"Authorization": f"Bearer {offer.token}", "User-Agent": "rrweb-uploader/1"},
    )
    with capture:
        first = ok(capture.post(f"/api/capture/{offer.id}/rrweb", json=recording))
        again = ok(capture.post(f"/api/capture/{offer.id}/rrweb", json=recording))
    assert first["length"] == again["length"] == len(first["received"]) == 9
    assert again["received"] == first["received"]  # the same recording stores nothing twice

    events = events_of(accord, offer.id)
    assert summary(events) == [
        ("screen", "offer"),
        ("change", "offer", "payment_day", "15"),
        ("screen", "terms"),
        ("untick", "terms", "marketing", "yes"),
        ("tick", "terms", "agree_terms", "yes"),
        ("screen", "confirm"),
        ("change", "confirm", "signature", SIGNATURE),
        ("change", "confirm", "pin", ""),
        ("accepted", "confirm", None, None),
    ]
    assert {e["source"] for e in events} == {"rrweb"}
    screens = [e for e in events if e["kind"] == "screen"]
    assert [s["url"] for s in screens] == [
        "http://loans.northwind.example/offer.html",
        "http://loans.northwind.example/terms.html?payment_day=15",
        "http://loans.northwind.example/confirm.html?agree_terms=yes",
    ]
    assert {s["media_type"] for s in screens} == {"application/vnd.rrweb+json"}
    terms = fields(screens[1])
    assert (terms["agree_terms"]["checked"], terms["marketing"]["checked"]) == (False, True)
    assert fields(screens[2])["pin"]["masked"] is True
    # Each screen's recording is kept as rrweb JSON, from its full snapshot on.
    kept = json.loads(accord.get(f"/api/offers/{offer.id}/events/{screens[1]['n']}/screen").content)
    assert [e["type"] for e in kept[:4]] == [0, 1, 4, 2]
    assert kept[2]["data"]["href"].endswith("/terms.html?payment_day=15")

    decided = ok(accord.get(f"/api/offers/{offer.id}"))
    assert decided["status"] == "accepted" and decided["decided_user_agent"] == "rrweb-uploader/1"
    assert stored_anywhere(db, PIN) == []
