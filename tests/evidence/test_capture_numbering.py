"""Two tabs (or browsers) on one offer both number their events from 0. Accord answers an
`n` it holds for another event with 409 and a problem document carrying `next`, the first
free number, and keeps nothing of the request; a retry of an event on record (the same n
and content) is still acknowledged and stored once; and an event capture.js numbered again
after a conflict, which an earlier request recorded under its old number meanwhile, is
known by its content and not stored twice. On SQLite and PostgreSQL, in-process."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from accord.access import Actor
from tests.api.helpers import problem
from tests.evidence.conftest import Book, Client, journey, outcome, screen, tick

Capture = Callable[[str | None], TestClient]
Size = Callable[[Actor], int]


def url(book: Book) -> str:
    return f"/api/capture/{book.offer}/events"


def other_tab(n: int, name: str = "offer") -> dict[str, Any]:
    """The same screen as shown in another tab a moment later: another event."""
    return screen(n, name, at=f"2026-11-23T10:05:{n:02d}.500Z")


def test_an_n_held_by_another_event_is_a_409_with_the_next_free_number(
    capture: Capture, api: Client, erin: Actor, book: Book, journal_size: Size
) -> None:
    c = capture(book.token)
    assert c.post(url(book), json={"events": journey()[:3]}).json() == {
        "received": [0, 1, 2],
        "length": 3,
    }
    before = journal_size(erin)

    # The second tab's first screen and a tick, numbered 0 and 1 as the first tab's were.
    r = c.post(
        url(book), json={"events": [other_tab(0), {**tick(1), "at": "2026-11-23T10:06:00Z"}]}
    )
    body = problem(r, 409)
    assert body == {
        "type": "about:blank",
        "title": "Conflict",
        "status": 409,
        "detail": body["detail"],
        "next": 3,
        "taken": [0, 1],
        "received": [],
    }
    assert "from 3" in body["detail"]
    assert r.headers["access-control-allow-origin"] == "*"  # the page can read it
    assert journal_size(erin) == before  # nothing of the request was kept

    # A request with a retry of an event on record, a taken number and a free one: the
    # retry is named as received, and still nothing is kept.
    mixed = [journey()[2], other_tab(1), other_tab(3, "terms")]
    body = problem(c.post(url(book), json={"events": mixed}), 409)
    assert (body["next"], body["taken"], body["received"]) == (3, [1], [2])
    assert journal_size(erin) == before

    # Numbered again from `next`, the second tab's events are taken, after the first's.
    again = c.post(url(book), json={"events": [other_tab(3), other_tab(4, "terms")]})
    assert again.json() == {"received": [3, 4], "length": 5}
    steps = api(erin).get(f"/api/offers/{book.offer}/events").json()
    assert [(s["n"], s["kind"], s["at"][14:19]) for s in steps] == [
        (0, "screen", "00:00"),
        (1, "screen", "00:01"),
        (2, "tick", "01:02"),
        (3, "screen", "05:03"),
        (4, "screen", "05:04"),
    ]


def test_a_plain_retry_is_still_acknowledged_and_stored_once(
    capture: Capture, erin: Actor, book: Book, journal_size: Size
) -> None:
    c = capture(book.token)
    first = c.post(url(book), json={"events": journey()[:4]})
    assert first.json() == {"received": [0, 1, 2, 3], "length": 4}
    before = journal_size(erin)
    for _ in range(2):  # the answer was lost: the same events, same numbers, sent again
        r = c.post(url(book), json={"events": journey()[:4]})
        assert r.status_code == 200, r.text
        assert r.json() == {"received": [0, 1, 2, 3], "length": 4}
    assert journal_size(erin) == before


def test_an_event_numbered_again_is_known_by_its_content(
    capture: Capture, api: Client, erin: Actor, book: Book, journal_size: Size
) -> None:
    """A tab sent its events 1 and 2; before the answer came, a 409 on another request made
    it number them 3 and 4. Both requests arrive: the events are stored once each."""
    c = capture(book.token)
    c.post(url(book), json={"events": [screen(0, "offer")]})
    tab = [screen(1, "terms"), tick(2)]
    assert c.post(url(book), json={"events": tab}).json() == {"received": [1, 2], "length": 3}
    before = journal_size(erin)
    renumbered = [{**e, "n": e["n"] + 2} for e in tab]
    r = c.post(url(book), json={"events": [*renumbered, outcome(5)]})
    assert r.json() == {"received": [3, 4, 5], "length": 4}
    assert journal_size(erin) == before + 1  # the outcome event alone: the offer is unchanged
    steps = api(erin).get(f"/api/offers/{book.offer}/events").json()
    assert [(s["n"], s["kind"]) for s in steps] == [
        (0, "screen"),
        (1, "screen"),
        (2, "tick"),
        (5, "accepted"),
    ]


def test_after_the_outcome_a_taken_number_is_a_plain_conflict(
    capture: Capture, erin: Actor, book: Book, journal_size: Size
) -> None:
    """Numbering again cannot help once the offer is decided: no `next`, capture stops."""
    c = capture(book.token)
    c.post(url(book), json={"events": journey()})
    before = journal_size(erin)
    body = problem(c.post(url(book), json={"events": [other_tab(1)]}), 409)
    assert "next" not in body and "after the outcome" in body["detail"]
    assert journal_size(erin) == before


def test_server_side_capture_gets_the_same_answer(
    api: Client, erin: Actor, book: Book, journal_size: Size
) -> None:
    path = f"/api/offers/{book.offer}/events"
    assert api(erin).post(path, json={"events": journey()[:2]}).status_code == 200
    before = journal_size(erin)
    body = problem(api(erin).post(path, json={"events": [other_tab(1)]}), 409)
    assert (body["next"], body["taken"], body["received"]) == (2, [1], [])
    assert journal_size(erin) == before


def test_another_tenant_learns_nothing_of_the_numbering(
    api: Client, mallory: Actor, erin: Actor, book: Book, journal_size: Size
) -> None:
    capture_path = f"/api/offers/{book.offer}/events"
    before = journal_size(erin)
    r = api(mallory).post(capture_path, json={"events": [other_tab(0)]})
    assert "next" not in problem(r, 404)
    assert journal_size(erin) == before
