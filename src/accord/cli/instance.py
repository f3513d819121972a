"""Setting an instance up and running it: init, demo, serve."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from accord import demo as demo_data
from accord.access import Role
from accord.accounts import service as accounts
from accord.cli.accounts import new_user
from accord.cli.common import database, err, guarded, load_settings, out, shown
from accord.config import Settings
from accord.errors import Invalid
from accord.store import migrate
from accord.store.checkpoints import Signer, create_key, key_path, load_key
from accord.store.db import Database
from accord.store.tenancy import Tenant, create_tenant, get_tenant, list_tenants


@dataclass(frozen=True)
class Provisioned:
    tenant: Tenant
    signer: Signer
    key_file: Path
    key_reused: bool


def provision(
    db: Database,
    settings: Settings,
    *,
    slug: str,
    name: str,
    reuse_key: bool,
    fill: Callable[[Session, Tenant, Signer], object],
) -> Provisioned:
    """A new tenant, its signing key file and whatever `fill` writes, all or nothing.

    The key is made before the transaction commits and removed again if it does not, so
    a failure leaves neither a tenant without a key nor a key without a tenant.
    """
    path = key_path(settings.key_dir, slug)
    with db.reading() as s:
        if get_tenant(s, slug) is not None:
            raise Invalid.one("tenant", f"a tenant '{slug}' already exists")
    reused = path.exists()
    if reused and not reuse_key:
        raise Invalid.one(
            "tenant",
            f"a signing key for '{slug}' already exists at {path} but the database has "
            "no such tenant: restore the database it belongs to, or move the key away",
        )
    created = False
    try:
        with db.unit_of_work() as s:
            try:
                tenant = create_tenant(s, slug=slug, name=name)
            except Invalid as exc:  # the store names its fields; the CLI calls them options
                options = {"slug": "tenant", "name": "name"}
                raise Invalid([(options.get(f, f), r) for f, r in exc.problems]) from None
            if reused:
                signer = load_key(settings.key_dir, slug)
            else:
                signer = create_key(settings.key_dir, slug, f"{settings.log_origin}/{slug}")
                created = True
            fill(s, tenant, signer)
    except BaseException:
        if created:
            path.unlink(missing_ok=True)
        raise
    return Provisioned(tenant, signer, path, reused)


def print_key(p: Provisioned) -> None:
    how = (
        "existing signing key"
        if p.key_reused
        else "signing key (0600; back it up, it is never in the database)"
    )
    err.print(f"{how}: {p.key_file}")
    err.print("verifier key (give it to anyone who checks your checkpoints):")
    typer.echo(p.signer.verifier_key())


@guarded
def init(
    tenant: Annotated[
        str | None, typer.Option(help="Slug of the provider to create, e.g. 'northwind'.")
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="The provider's name (default: the slug, titled).")
    ] = None,
    admin_email: Annotated[
        str | None, typer.Option(help="Email of the tenant's first admin.")
    ] = None,
    admin_name: Annotated[
        str | None, typer.Option(help="Name of the first admin (default: from the email).")
    ] = None,
    admin_password: Annotated[
        str | None,
        typer.Option(help="First admin's password, 10+ characters (asked for when omitted)."),
    ] = None,
) -> None:
    """Create or upgrade the schema; with --tenant, also a tenant, its key and first admin.

    With --tenant the tenant is created with its Ed25519 checkpoint signing key (a file in
    ACCORD_KEY_DIR, mode 0600, never in the database) and its first admin. Safe to run
    again: the schema is always brought up to date, an existing tenant is left as it is,
    and an existing key file is never overwritten.
    """
    settings = load_settings()
    with database(create=True) as db:
        migrate.upgrade(db.engine)
        err.print(f"schema is up to date in {shown(db.url)}")
        if tenant is None:
            err.print(
                "no tenant created: add one with 'accord init --tenant SLUG --admin-email ...'"
            )
            return
        with db.reading() as s:
            existing = get_tenant(s, tenant)
        if existing is not None:
            path = key_path(settings.key_dir, tenant)
            if not path.exists():
                raise Invalid.one(
                    "tenant",
                    f"'{tenant}' exists but its signing key is missing at {path}: "
                    "restore it from your backup (a new key cannot sign an existing log)",
                )
            err.print(f"tenant '{tenant}' already exists; add users with 'accord user add'")
            return
        if not admin_email:
            raise Invalid.one("admin-email", "needed to create the tenant's first admin")
        admin_fields = {
            "email": admin_email,
            "role": Role.ADMIN,
            "name": admin_name or admin_email.split("@")[0].replace(".", " ").title(),
        }
        admin = new_user(admin_fields, admin_password, prefix="admin-")

        def first_admin(s: Session, t: Tenant, _signer: Signer) -> None:
            accounts.bootstrap_admin(s, tenant_id=t.id, data=admin)

        done = provision(
            db,
            settings,
            slug=tenant,
            name=name or tenant.replace("-", " ").title(),
            reuse_key=False,
            fill=first_admin,
        )
    err.print(f"created tenant '{done.tenant.slug}' ({done.tenant.name}) with admin {admin.email}")
    print_key(done)


def load_demo(db: Database, settings: Settings) -> Provisioned:
    """Northwind IT Services and its customers, in a new tenant."""

    def fill(s: Session, t: Tenant, signer: Signer) -> None:
        demo_data.load(s, tenant_id=t.id, signer=signer)

    with err.status("loading the demo provider, Northwind IT Services..."):
        return provision(
            db,
            settings,
            slug=demo_data.TENANT_SLUG,
            name=demo_data.TENANT_NAME,
            reuse_key=True,
            fill=fill,
        )


def print_logins() -> None:
    out.print(f"demo logins (password for all: [bold]{demo_data.PASSWORD}[/]):")
    for u in demo_data.USERS:
        out.print(f"  {u.email:<26} {u.role:<8} {u.name}, {u.job}")


@guarded
def demo() -> None:
    """Load the demo provider, Northwind IT Services, into the configured database.

    Tenant 'northwind': staff in every role, 35 customers with contacts, sites and
    history. Creates the schema if needed; refuses if the tenant already exists.
    """
    settings = load_settings()
    with database(create=True) as db:
        migrate.upgrade(db.engine)
        done = load_demo(db, settings)
    err.print(
        f"loaded '{done.tenant.slug}' ({done.tenant.name}) into {shown(settings.database_url)}"
    )
    print_logins()


@guarded
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help="Initialise the database and load the demo provider "
            "if the database is empty; print the demo logins.",
        ),
    ] = False,
) -> None:
    """Serve the web pages and the REST API (docs at /api/docs) with uvicorn."""
    import uvicorn

    from accord.web.app import create_app

    settings = load_settings()
    with database(create=demo) as db:
        slugs: list[str] = []
        if demo:
            migrate.upgrade(db.engine)
            with db.reading() as s:
                slugs = [t.slug for t in list_tenants(s)]
            if not slugs:
                slugs = [load_demo(db, settings).tenant.slug]
            elif demo_data.TENANT_SLUG not in slugs:
                err.print("the database already has other tenants: not loading the demo")
    url = f"http://{host}:{port}"
    out.print(f"Accord on [bold]{url}[/] (API docs: {url}/api/docs)")
    err.print(f"database {shown(settings.database_url)}")
    if demo_data.TENANT_SLUG in slugs:
        print_logins()
    uvicorn.run(create_app(settings), host=host, port=port)
