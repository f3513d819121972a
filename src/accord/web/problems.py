"""RFC 9457 problem documents for the API; error pages for people."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from accord.errors import Forbidden, Invalid, NotFound
from accord.store.checkpoints import NoteError

log = logging.getLogger("accord.web")

PROBLEM = "application/problem+json"


class LoginRequired(Exception):
    """No valid session or token."""


def problem_responses(**why: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the problem documents a router's routes may answer with, so
    the description does not advertise FastAPI's own error shape, which Accord never sends.
    Keyword `s401=...` overrides or adds the description of status 401, and so on."""
    base = {
        401: "no valid bearer token or session",
        403: "your role does not allow this",
        404: "no such record in your tenant",
        422: "bad input: `errors` names each field and the reason; nothing was changed",
    }
    base.update({int(k[1:]): v for k, v in why.items()})
    return {s: {"description": d, "content": {PROBLEM: {}}} for s, d in sorted(base.items())}


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api")


def problem(
    status: int,
    title: str,
    detail: str = "",
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie", "form"):
        parts = parts[1:]
    return ".".join(parts) or "body"


def _page(request: Request, status: int, title: str, detail: str) -> Response:
    from accord.web.templating import render

    return render(request, "error.html", {"title": title, "detail": detail}, status_code=status)


def install(app: Any) -> None:
    @app.exception_handler(Invalid)
    async def _invalid(request: Request, exc: Invalid) -> Response:
        errors = [{"field": f, "reason": r} for f, r in exc.problems]
        if is_api(request):
            return problem(422, "Invalid input", str(exc), errors)
        return _page(request, 422, "That did not work", str(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = [{"field": _field(e["loc"]), "reason": e["msg"]} for e in exc.errors()]
        detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors)
        if is_api(request):
            return problem(422, "Invalid input", detail, errors)
        return _page(request, 422, "That did not work", detail)

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound) -> Response:
        if is_api(request):
            return problem(404, "Not found", str(exc))
        return _page(request, 404, "Not found", str(exc))

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        if is_api(request):
            return problem(403, "Forbidden", str(exc))
        return _page(request, 403, "Not allowed", str(exc))

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        if is_api(request):
            return problem(
                401,
                "Authentication required",
                str(exc) or "send a bearer token or sign in",
                headers={"WWW-Authenticate": "Bearer"},
            )
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        from urllib.parse import quote

        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    @app.exception_handler(NoteError)
    async def _no_key(request: Request, exc: NoteError) -> Response:
        # The signing key lives outside the database; without it no checkpoint can be made.
        log.error("checkpoint signing unavailable: %s", exc)
        detail = "the log's signing key is unavailable; the operator must restore it"
        if is_api(request):
            return problem(503, "Signing key unavailable", detail)
        return _page(request, 503, "Signing key unavailable", detail)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        title = HTTPStatus(exc.status_code).phrase
        detail = "" if str(exc.detail) == title else str(exc.detail)
        if is_api(request):
            return problem(exc.status_code, title, detail, headers=getattr(exc, "headers", None))
        return _page(request, exc.status_code, title, detail)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        if is_api(request):
            return problem(500, "Internal error", "this is a bug in Accord; it has been logged")
        return _page(
            request, 500, "Something went wrong", "This is a bug in Accord; it has been logged."
        )
