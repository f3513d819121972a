"""Capture requests for one offer arriving at the same moment, through a real server.

A page that unloads sends its small outcome ahead of a large screen numbered before it:
both must be recorded. On PostgreSQL the second request waits for the first's lock on the
offer; it used to wake to the version the outcome had just closed and answer 404, and the
script, taking a 4xx as final, dropped the screen.
"""

from __future__ import annotations

import threading

import httpx2

from accord.access import Actor
from accord.store.db import Database
from tests.evidence.conftest import Book, make_offer, outcome, screen
from tests.pages.test_browser import server  # noqa: F401  (the uvicorn fixture)

ROUNDS = 8


def test_outcome_and_an_earlier_screen_at_once_are_both_recorded(
    server: str,  # noqa: F811
    db: Database,
    erin: Actor,
    book: Book,
) -> None:
    for _ in range(ROUNDS):
        offer, token = make_offer(db, erin, book)
        with httpx2.Client(base_url=server, headers={"Authorization": f"Bearer {token}"}) as c:
            first = c.post(f"/api/capture/{offer}/events", json={"events": [screen(0, "offer")]})
            assert first.status_code == 200
            go = threading.Barrier(2)
            answers: dict[str, httpx2.Response] = {}
            url = f"/api/capture/{offer}/events"

            def post(
                name: str,
                event: dict[str, object],
                c: httpx2.Client = c,
                go: threading.Barrier = go,
                answers: dict[str, httpx2.Response] = answers,
                url: str = url,
            ) -> None:
                go.wait()
                answers[name] = c.post(url, json={"events": [event]})

            threads = [
                threading.Thread(target=post, args=("outcome", outcome(2))),
                threading.Thread(target=post, args=("screen", screen(1, "terms"))),
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert {k: r.status_code for k, r in answers.items()} == {"outcome": 200, "screen": 200}
            final = c.post(f"/api/capture/{offer}/events", json={"events": [screen(1, "terms")]})
            assert final.json()["length"] == 3  # 0, 1 and the outcome, each once
