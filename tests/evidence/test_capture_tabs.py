"""capture.js with the same offer open in two tabs, in Debian's headless Chromium: each tab
numbers its events from 0 in its own sessionStorage, so each takes numbers the other has
used. Accord answers those with 409 and the next free number; the tab numbers its
unacknowledged events again from there and sends them again. In the end every event
either tab recorded is on record exactly once, each tab's in its own order, including
those one tab queued while it was offline and the other went on, and one whose answer was
lost (a plain retry, the same number and content). See test_capture_browser.py for the
sample journey and the fixtures.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from typing import Any

import httpx2

from tests.evidence.test_capture_browser import (  # noqa: F401 - fixtures
    Offer,
    Site,
    accord,
    chromium,
    events_of,
    has,
    offer,
    site,
    wait_for,
)
from tests.pages.test_browser import server  # noqa: F401 - Accord under uvicorn


class Tab:
    """One tab of the journey: what it sent to Accord, Accord's answers, what it logged."""

    def __init__(self, page: Any, offer_id: str) -> None:
        self.page = page
        self.bodies: list[str] = []
        self.statuses: list[int] = []
        self.console: list[str] = []
        self.queue = f"JSON.parse(sessionStorage.getItem('accord-capture:{offer_id}:queue'))"
        path = f"/api/capture/{offer_id}/events"

        def sent(r: Any) -> None:
            if r.method == "POST" and r.url.endswith(path):
                self.bodies.append(r.post_data or "")

        def answer(r: Any) -> None:
            if r.request.method == "POST" and r.url.endswith(path):
                self.statuses.append(r.status)

        page.on("request", sent)
        page.on("response", answer)
        page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))

    def events(self) -> list[dict[str, Any]]:
        """Every event this tab recorded, once each (an event sent again, numbered again
        or not, is the same event)."""
        seen: dict[tuple[Any, ...], dict[str, Any]] = {}
        for body in self.bodies:
            for e in json.loads(body)["events"]:
                seen.setdefault(key(e), e)
        return sorted(seen.values(), key=lambda e: e["at"])

    def settled(self) -> None:
        self.page.wait_for_function(f"({self.queue} || []).length === 0")


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def key(e: dict[str, Any]) -> tuple[Any, ...]:
    """An event as sent, or as stored: what happened, when, on which screen, to which field."""
    kind = e.get("type") or e["kind"]
    name = e.get("name") if kind == "screen" and "name" in e else e.get("screen")
    return (kind, instant(e["at"]), name, e.get("field"), e.get("value"))


def story(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(k[0], k[2], k[3], k[4]) if k[0] != "screen" else ("screen", k[2])
            for k in map(key, events)]  # fmt: skip


def test_two_tabs_on_one_offer_lose_nothing_and_store_nothing_twice(
    chromium: Any,  # noqa: F811
    site: Site,  # noqa: F811
    server: str,  # noqa: F811
    accord: httpx2.Client,  # noqa: F811
    offer: Offer,  # noqa: F811
) -> None:
    site.values.update(accord=server, offer=offer.id, token=offer.token, contact=offer.contact)
    context = chromium.new_context(locale="en-GB")  # one browser, two tabs
    a = Tab(context.new_page(), offer.id)
    b = Tab(context.new_page(), offer.id)
    capture_url = f"{server}/api/capture/**"

    # Both tabs show the offer and choose a payment day, one after the other: each tab's
    # event takes a number the other tab's has (0, then 1 and 2).
    a.page.goto(f"{site.url}/offer.html")
    wait_for(accord, offer.id, lambda ev: len(ev) == 1, a.page)
    b.page.goto(f"{site.url}/offer.html")
    wait_for(accord, offer.id, lambda ev: len(ev) == 2, b.page)
    a.page.select_option("#payment-day", "15")
    wait_for(accord, offer.id, lambda ev: len(ev) == 3, a.page)
    b.page.select_option("#payment-day", "28")
    wait_for(accord, offer.id, lambda ev: len(ev) == 4, b.page)
    assert 409 in a.statuses and 409 in b.statuses

    # Tab A goes on to the terms; Accord records its screen but the answer is lost (503),
    # so the tab sends the same event, same number, again: acknowledged, stored once.
    lost: list[str] = []

    def lose_the_answer(route: Any) -> None:
        if route.request.method == "POST" and not lost:
            lost.append(route.request.post_data or "")
            route.fetch()  # Accord gets it and records it
            route.fulfill(
                status=503,
                headers={"Access-Control-Allow-Origin": "*"},
                json={"title": "Service Unavailable", "status": 503},
            )
        else:
            route.continue_()

    a.page.route(capture_url, lose_the_answer)
    a.page.click("text=Continue to the terms")
    a.page.wait_for_url("**/terms.html*")
    wait_for(accord, offer.id, lambda ev: len(ev) == 5, a.page)
    a.settled()  # the retry was acknowledged
    a.page.unroute(capture_url)
    (screen_sent,) = json.loads(lost[0])["events"]
    assert sum(body.count(screen_sent["at"]) for body in a.bodies) >= 2  # sent twice...
    on_record = [key(e) for e in events_of(accord, offer.id)]
    assert on_record.count(key(screen_sent)) == 1  # ...kept once

    # Tab A loses the network while its customer ticks the agreement and unticks the
    # marketing consent; meanwhile tab B goes to the terms and ticks there, taking the
    # numbers tab A's queued events have.
    a.page.route(capture_url, lambda route: route.abort("internetdisconnected"))
    a.page.check("#agree")
    a.page.uncheck("#marketing")
    a.page.wait_for_function(f"{a.queue}.length === 2")
    b.page.click("text=Continue to the terms")
    b.page.wait_for_url("**/terms.html*")
    b.page.check("#agree")
    wait_for(accord, offer.id, lambda ev: len(ev) == 7, b.page)
    a.page.unroute(capture_url)  # back online: the queue goes out, is refused, renumbered
    a.page.evaluate("dispatchEvent(new Event('online'))")
    wait_for(accord, offer.id, lambda ev: len(ev) == 9, a.page, timeout=20)
    a.settled()

    # Tab A declines.
    a.page.click("text=No thanks, decline this offer")
    a.page.wait_for_url("**/declined.html")
    events = wait_for(accord, offer.id, has("declined"), a.page)
    b.settled()

    # Every event of either tab is on record once, and nothing else is.
    recorded = Counter(map(key, events))
    assert set(recorded.values()) == {1}
    assert set(recorded) == {key(e) for e in a.events()} | {key(e) for e in b.events()}
    assert [e["n"] for e in events] == sorted({e["n"] for e in events})
    # Each tab's events in the order it recorded them.
    mine = {"A": {key(e) for e in a.events()}, "B": {key(e) for e in b.events()}}
    assert story([e for e in events if key(e) in mine["A"]]) == [
        ("screen", "offer"),
        ("change", "offer", "payment_day", "15"),
        ("screen", "terms"),
        ("tick", "terms", "agree_terms", "yes"),
        ("untick", "terms", "marketing", "yes"),
        ("declined", "terms", None, None),
    ]
    assert story([e for e in events if key(e) in mine["B"]]) == [
        ("screen", "offer"),
        ("change", "offer", "payment_day", "28"),
        ("screen", "terms"),
        ("tick", "terms", "agree_terms", "yes"),
    ]
    # Tab A's offline events were refused for their numbers and taken after tab B's.
    n_of = {key(e): e["n"] for e in events}
    offline = [n_of[key(e)] for e in a.events() if e["type"] in ("tick", "untick")]
    assert min(offline) > max(n_of[key(e)] for e in b.events())
    assert a.statuses.count(409) >= 2 and 503 in a.statuses
    decided = accord.get(f"/api/offers/{offer.id}").json()
    assert decided["status"] == "declined" and decided["decided_by"] == offer.contact
    for tab in (a, b):
        assert not [line for line in tab.console if "Accord capture" in line], tab.console
    context.close()
