"""One Jinja environment over the web layout and every capability's templates."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape
from starlette.responses import Response

from accord.store.db import FOREVER

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_DIRS = [ROOT / "web" / "templates"] + sorted(
    p for p in ROOT.glob("*/templates") if p.parent.name != "web"
)


def fmt_time(value: datetime | None, with_time: bool = True) -> str:
    if value is None or value == FOREVER:
        return "—"
    return value.strftime("%Y-%m-%d %H:%M UTC" if with_time else "%Y-%m-%d")


env = Environment(
    loader=ChoiceLoader([FileSystemLoader(str(d)) for d in TEMPLATE_DIRS]),
    autoescape=select_autoescape(["html"]),
)
env.filters["when"] = fmt_time
env.filters["day"] = lambda v: fmt_time(v, with_time=False)
templates = Jinja2Templates(env=env)


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> Response:
    from accord.web.deps import csrf_token

    ctx = {
        "actor": getattr(request.state, "actor", None),
        "csrf_token": csrf_token(request),
        **(context or {}),
    }
    return templates.TemplateResponse(request, name, ctx, status_code=status_code)
