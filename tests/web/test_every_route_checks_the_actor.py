"""Every route but sign-in, sign-out and the home redirect requires an authenticated actor.

Tenant and role are then checked by the query and service helpers the route calls (tested
per capability); this guard makes sure no route, today's or a later capability's, reaches
them without an actor at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from fastapi.routing import APIRoute

from accord.config import Settings
from accord.web.app import create_app
from accord.web.deps import current_actor

OPEN = {("GET", "/"), ("GET", "/login"), ("POST", "/login"), ("POST", "/logout")}
#: Evidence capture: the script is public (it holds no secret), and the two ingest
#: endpoints authenticate by the offer's capture token instead of a user (each checked in
#: tests/evidence/test_api.py: 401 without it or with another offer's).
CAPTURE = {
    ("GET", "/capture.js"),
    ("POST", "/capture/{offer_id}/events"),  # under /api
    ("POST", "/capture/{offer_id}/rrweb"),
}


def _calls(dependant: Any) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


def _routes(obj: Any, seen: set[int]) -> Iterator[APIRoute]:
    # Included routers may be wrapped; walk every attribute that can hold routes.
    for r in getattr(obj, "routes", None) or []:
        if id(r) in seen:
            continue
        seen.add(id(r))
        if isinstance(r, APIRoute):
            yield r
        for attr in ("app", "router", "original_router"):
            if hasattr(r, attr):
                yield from _routes(getattr(r, attr), seen)
        yield from _routes(r, seen)


def test_every_route_but_sign_in_requires_an_actor(tmp_path: Path) -> None:
    app = create_app(Settings(database_url="sqlite://", key_dir=tmp_path, secret_key="test"))
    routes = list(_routes(app.router, set()))
    assert len({r.path for r in routes}) > 30  # the walk found the included routers
    unguarded = {
        (method, r.path)
        for r in routes
        for method in r.methods
        if current_actor not in set(_calls(r.dependant))
    }
    assert unguarded == OPEN | CAPTURE
