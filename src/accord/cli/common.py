"""What every command shares: the options every command takes alike (`--tenant`, `--on`,
`--known-at`, `--from`, `--reason`, `--json`) and their parsing, turning user errors into
one line, opening the database, finding the tenant, the operator's actor, progress bars."""

from __future__ import annotations

import functools
import getpass
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, NoReturn, ParamSpec, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session

from accord.access import Actor, Role
from accord.config import Settings, get_settings
from accord.errors import Forbidden, Invalid, NotFound
from accord.store.checkpoints import NoteError
from accord.store.db import Database
from accord.store.temporal import AsOf
from accord.store.tenancy import Tenant, get_tenant, list_tenants
from accord.store.verify import VerificationError
from accord.timeinput import parse_instant

#: Messages, progress and prompts; stdout carries only what a script would want to read.
err = Console(stderr=True, soft_wrap=True, highlight=False)
out = Console(soft_wrap=True, highlight=False)

P = ParamSpec("P")
R = TypeVar("R")

# --- the options every command takes alike -----------------------------------------------------

TIME = (
    "a date (YYYY-MM-DD, midnight UTC) or an ISO 8601 date and time (UTC unless it has an offset)"
)
TIME_REASON = "not a date (YYYY-MM-DD) or date and time (ISO 8601, UTC or with an offset)"

TenantOpt = Annotated[
    str | None, typer.Option("--tenant", help="Tenant slug (default: the only tenant).")
]
OnOpt = Annotated[
    str | None,
    typer.Option("--on", help=f"Valid time: as true on this day or instant, {TIME}. Default now."),
]
KnownAtOpt = Annotated[
    str | None,
    typer.Option("--known-at", help=f"Recorded time: as Accord knew it then, {TIME}. Default now."),
]
FromOpt = Annotated[
    str | None,
    typer.Option(
        "--from",
        help=f"True from, {TIME}: past = a correction, future = planned. Default now.",
    ),
]
FromReq = Annotated[
    str,
    typer.Option(
        "--from", help=f"True from, {TIME}: the first day it applies (past = a correction)."
    ),
]
ReasonReq = Annotated[
    str, typer.Option("--reason", help="Why: kept with the change in the journal.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead.")]


@contextmanager
def as_options(renamed: Mapping[str, str]) -> Iterator[None]:
    """Name bad input by the command's options (`from`, `known-at`), not the schema's
    fields: `renamed` maps a field to the option that gave it."""
    try:
        yield
    except Invalid as exc:
        raise Invalid([(renamed.get(f, f).replace("_", "-"), r) for f, r in exc.problems]) from None


def instants(**given: str | None) -> dict[str, datetime | None]:
    """Parse time options, naming every bad one at once (as the API does); an empty one is
    not given: now."""
    found: dict[str, datetime | None] = {}
    problems: list[tuple[str, str]] = []
    for name, text in given.items():
        try:
            found[name] = parse_instant(text) if text and text.strip() else None
        except (ValueError, OverflowError):
            problems.append((name, TIME_REASON))
    if problems:
        raise Invalid(problems)
    return found


def instant(name: str, text: str | None) -> datetime | None:
    """One time option; Invalid names it."""
    return instants(**{name: text})[name]


def as_of(on: str | None, known_at: str | None) -> AsOf:
    """The two times of a read, from `--on` and `--known-at`."""
    t = instants(**{"on": on, "known-at": known_at})
    return AsOf.of(t["on"], t["known-at"])


def fail(message: str) -> NoReturn:
    """One line on stderr and exit 1: the CLI's form of a 422."""
    err.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(1)


def guarded(fn: Callable[P, R]) -> Callable[P, R]:
    """Report what a user can cause (bad input, unknown record, role, a failed check, an
    unreachable database) as one line and exit 1; anything else is a bug and keeps its traceback."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except Invalid as exc:
            fail(str(exc))
        except NotFound as exc:
            fail(f"not found: {exc}")
        except Forbidden as exc:
            fail(f"forbidden: {exc}")
        except VerificationError as exc:
            fail(f"verification failed: {exc}")
        except NoteError as exc:
            fail(f"signing key: {exc}")
        except OperationalError as exc:
            fail(f"database: {str(exc.orig).strip().splitlines()[0]}")

    return wrapper


def load_settings() -> Settings:
    """The settings; a bad ACCORD_* value is bad input like any other."""
    try:
        return get_settings()
    except ValidationError as exc:
        raise Invalid(
            [(f"ACCORD_{'_'.join(map(str, e['loc'])).upper()}", e["msg"]) for e in exc.errors()]
        ) from None


def sqlite_file(url: str) -> Path | None:
    """The file of a file-backed SQLite URL, else None; Invalid if not an engine Accord runs on."""
    try:
        u = make_url(url)
    except ArgumentError:
        raise Invalid.one("database", f"not a database URL: {url!r}") from None
    backend = u.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise Invalid.one("database", f"Accord runs on SQLite or PostgreSQL, not {backend}")
    if backend != "sqlite" or not u.database or u.database == ":memory:":
        return None
    return Path(u.database)


def shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


@contextmanager
def database(*, create: bool = False, url: str | None = None) -> Iterator[Database]:
    """The configured database. Unless `create`, it must already hold Accord's schema."""
    url = url or load_settings().database_url
    path = sqlite_file(url)
    if path is not None:
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        elif not path.exists():
            fail(f"database: no database at {path} (ACCORD_DATABASE_URL): run 'accord init' first")
    try:
        db = Database(url)
    except NoSuchModuleError:
        raise Invalid.one("database", f"no database driver for {shown(url)}") from None
    try:
        if not create and not inspect(db.engine).has_table("tenants"):
            fail(f"database: {shown(url)} has no Accord schema: run 'accord init' first")
        yield db
    finally:
        db.dispose()


@contextmanager
def snapshot(db: Database) -> Iterator[Session]:
    """A session that reads one consistent state of the database throughout, so that a
    check run beside a live server never sees half of a write committed meanwhile (on
    PostgreSQL a REPEATABLE READ transaction; SQLite's WAL read transactions already are)."""
    options = {"isolation_level": "REPEATABLE READ"} if db.dialect == "postgresql" else {}
    with db.engine.connect().execution_options(**options) as conn, Session(bind=conn) as session:
        try:
            yield session
        finally:
            session.rollback()


@contextmanager
def naming(tenant: Tenant) -> Iterator[None]:
    """Prefix a failed check's message with the tenant it is about."""
    try:
        yield
    except VerificationError as exc:
        raise VerificationError(f"tenant {tenant.slug}: {exc}") from None


def tenants(session: Session, slug: str | None) -> list[Tenant]:
    """Every tenant, or the one named."""
    return [one_tenant(session, slug)] if slug else list_tenants(session)


def one_tenant(session: Session, slug: str | None) -> Tenant:
    """The tenant named, or the only one there is."""
    if slug:
        tenant = get_tenant(session, slug)
        if tenant is None:
            known = ", ".join(t.slug for t in list_tenants(session)) or "none; run 'accord init'"
            raise Invalid.one("tenant", f"no tenant '{slug}' (known: {known})")
        return tenant
    everyone = list_tenants(session)
    if len(everyone) == 1:
        return everyone[0]
    if not everyone:
        raise Invalid.one("tenant", "there are no tenants yet: run 'accord init --tenant SLUG ...'")
    raise Invalid.one("tenant", f"give --tenant, one of: {', '.join(t.slug for t in everyone)}")


def operator(tenant: Tenant) -> Actor:
    """Whoever runs the CLI on the server acts as an admin; the journal keeps their OS user name."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    return Actor(tenant_id=tenant.id, label=f"{who} (accord cli)", role=Role.ADMIN)


def progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
    )


def check_search(search: str | None) -> None:
    """A list command's --search: what a person types, within reason."""
    if search is not None and (len(search) > 200 or re.search(r"[\x00-\x1f\x7f]", search)):
        raise Invalid.one("search", "at most 200 characters, and no control characters")
