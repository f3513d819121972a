"""The app factory: one FastAPI app serving the HTML pages and the REST API."""

from __future__ import annotations

import secrets
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from accord import __version__
from accord.config import Settings, get_settings
from accord.store.db import Database
from accord.web import problems

STATIC = Path(__file__).resolve().parent / "static"


def session_secret(settings: Settings) -> str:
    """The cookie-signing secret: from settings, else a file made once beside the keys."""
    if settings.secret_key:
        return settings.secret_key
    path = settings.key_dir / "session.secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def create_app(settings: Settings | None = None, db: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="Accord",
        version=__version__,
        description=(
            "The verifiable, bitemporal system of record for service providers and their customers."
        ),
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.settings = settings
    app.state.db = db or Database(settings.database_url)
    app.add_middleware(
        SessionMiddleware,
        secret_key=session_secret(settings),
        session_cookie="accord_session",
        max_age=settings.session_max_age,
        same_site="lax",
        https_only=False,
    )
    problems.install(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    from accord.accounts import api as accounts_api
    from accord.accounts import pages as accounts_pages
    from accord.agreements import api as agreements_api
    from accord.agreements import pages as agreements_pages
    from accord.audit import api as audit_api
    from accord.audit import pages as audit_pages
    from accord.evidence import api as evidence_api
    from accord.evidence import pages as evidence_pages
    from accord.parties import api as parties_api
    from accord.parties import pages as parties_pages

    for module in (accounts_api, parties_api, audit_api, agreements_api, evidence_api):
        app.include_router(module.router, prefix="/api")
    # Authenticated by an offer's capture token, and open to any origin (CORS) alone.
    app.include_router(evidence_api.capture_router, prefix="/api")
    app.add_middleware(evidence_api.CaptureCors)
    for module in (accounts_pages, parties_pages, agreements_pages, audit_pages, evidence_pages):
        app.include_router(module.router)
    return app
