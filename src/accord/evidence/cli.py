"""The evidence commands: terms documents and their versions, offers and their journeys,
and a customer's evidence export.

`accord terms list|add|publish`, `accord offer list|show|create` and `accord evidence
export|pack|verify`.
Each command parses its options, calls the evidence service or queries in one unit of
work and prints: tables for people, `--json` for scripts. The operator acts as an admin
of the tenant (`--tenant`, default the only one); the journal records them by their OS
user name.

`accord.cli` assembles the command tree from these functions; import that package, not
this module, first (this module imports `accord.cli.common`, whose package imports it).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.markup import escape
from rich.table import Table
from sqlalchemy.orm import Session

from accord.access import Actor
from accord.cli.common import (
    JsonOpt,
    TenantOpt,
    as_options,
    database,
    err,
    guarded,
    instants,
    load_settings,
    one_tenant,
    operator,
    out,
)
from accord.errors import Invalid, NotFound, parse
from accord.evidence import exports, pack, queries, service
from accord.evidence.models import MediaType, OfferStatus, TermsDocument, TermsVersion
from accord.evidence.schemas import (
    MAX_TERMS_BYTES,
    MB,
    OfferCreate,
    TermsDocumentCreate,
    TermsVersionCreate,
)
from accord.parties import queries as parties
from accord.store.checkpoints import load_key
from accord.store.db import FOREVER
from accord.store.temporal import AsOf
from accord.verifier import VerifyError, verify_pack

RENAMED = {"published_at": "published", "effective_from": "effective", "content": "file"}
KEY = re.compile(r"^[0-9A-Za-z._/ -]{1,64}$")
SUFFIXES = {".pdf": MediaType.PDF, ".html": MediaType.HTML, ".htm": MediaType.HTML}

CodeArg = Annotated[str, typer.Argument(help="The terms document's code, e.g. MSA.")]
CustomerArg = Annotated[str, typer.Argument(help="The customer's account code or id.")]


def _key(name: str, value: str) -> str:
    value = value.strip()
    if not KEY.match(value):
        raise Invalid.one(name, "letters, digits, spaces and . _ / - only (1 to 64)")
    return value


def _time(t: Any) -> str:
    if t is None or t == FOREVER:
        return "—"
    return str(t.strftime("%Y-%m-%d") if (t.hour, t.minute, t.second) == (0, 0, 0)
               else t.strftime("%Y-%m-%d %H:%M UTC"))  # fmt: skip


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def _table(*headers: str, title: str, caption: str | None = None) -> Table:
    table = Table(
        title=title, caption=caption, box=box.SIMPLE_HEAD, title_justify="left",
        caption_justify="left",
    )  # fmt: skip
    for h in headers:
        if h == "id":
            table.add_column(h, overflow="fold", min_width=12)
        else:
            table.add_column(h, no_wrap=h in ("made", "code", "n", "entry"))
    return table


def _operator(s: Session, tenant: str | None) -> Actor:
    return operator(one_tenant(s, tenant))


def _document(s: Session, actor: Actor, code: str) -> TermsDocument:
    code = _key("code", code)
    found = queries.document_by_code(s, actor, code)
    if found is None:
        try:
            return queries.get_document_for(s, actor, code)
        except NotFound:
            raise NotFound(f"no terms document with the code or id {code!r}") from None
    return found


def _customer_id(s: Session, actor: Actor, ref: str) -> str:
    """A customer by account code (any case) or id."""
    ref = _key("customer", ref)
    rows, _ = parties.list_customers(s, actor=actor, when=AsOf.now(), q=ref, limit=500)
    for c in rows:
        if c.code == ref.upper():
            return c.entity_id
    return parties.get_customer_for(s, actor, ref).entity_id


def _version_of(s: Session, actor: Actor, ref: str) -> TermsVersion:
    """A terms version by id, or as CODE/LABEL (MSA/v2)."""
    ref = _key("terms", ref)
    code, _, label = ref.partition("/")
    if label:
        document = _document(s, actor, code)
        for v in queries.versions_of(s, actor, document.entity_id):
            if v.label.lower() == label.lower():
                return v
        raise NotFound(f"{document.code} has no version {label!r}")
    return queries.get_version_for(s, actor, ref)


# --- terms ---------------------------------------------------------------------------------------


@guarded
def terms_list(tenant: TenantOpt = None, as_json: JsonOpt = False) -> None:
    """List the terms documents with their versions and the one in effect now."""
    with database() as db, db.reading(detach=True) as s:
        actor = _operator(s, tenant)
        items: list[dict[str, Any]] = []
        for d in queries.list_documents(s, actor):
            versions = queries.versions_of(s, actor, d.entity_id)
            latest = queries.latest_version(versions)
            items.append(
                {
                    "id": d.entity_id,
                    "code": d.code,
                    "title": d.title,
                    "latest_version_id": latest.entity_id if latest else None,
                    "versions": [
                        {
                            "id": v.entity_id,
                            "label": v.label,
                            "media_type": v.media_type,
                            "size": v.size,
                            "sha256": v.blob,
                            "published_at": v.published_at.isoformat(),
                            "effective_from": v.effective_from.isoformat(),
                        }
                        for v in versions
                    ],
                }
            )
    if as_json:
        _print_json({"items": items})
        return
    table = _table("code", "version", "applies from", "format", "id",
                   title="Terms documents", caption=f"{len(items)} document(s)")  # fmt: skip
    for doc in items:
        table.add_row(f"[bold]{escape(doc['code'])}[/]", escape(doc["title"]), "", "", doc["id"])
        for v in doc["versions"]:
            mark = " (in effect)" if v["id"] == doc["latest_version_id"] else ""
            table.add_row(
                "", escape(v["label"] + mark), v["effective_from"][:10],
                f"{v['media_type']}, {v['size']:,} bytes", v["id"],
            )  # fmt: skip
    out.print(table)


@guarded
def terms_add(
    code: CodeArg,
    title: Annotated[str, typer.Option("--title", help="The document's title.")],
    tenant: TenantOpt = None,
) -> None:
    """Add a terms document (its versions are published with `accord terms publish`).
    Prints its id."""
    data = parse(TermsDocumentCreate, {"code": code, "title": title})
    with database() as db, db.unit_of_work() as s:
        actor = _operator(s, tenant)
        document_id = service.create_terms_document(s, actor=actor, data=data)
    err.print(f"Terms document {escape(data.code)} added.")
    typer.echo(document_id)


@guarded
def terms_publish(
    code: CodeArg,
    label: Annotated[str, typer.Option("--label", help="The version's label, e.g. v3.")],
    file: Annotated[
        Path, typer.Option("--file", help="The version's bytes: a .txt, .html or .pdf file.")
    ],
    media_type: Annotated[
        str | None,
        typer.Option(
            "--media-type",
            help="text/plain, text/html or application/pdf (default: from the file's suffix).",
        ),
    ] = None,
    published: Annotated[
        str | None, typer.Option("--published", help="When it was published (default now).")
    ] = None,
    effective: Annotated[
        str | None,
        typer.Option("--effective", help="When it applies from (default: its publication)."),
    ] = None,
    tenant: TenantOpt = None,
) -> None:
    """Publish a version of a terms document from a file, byte for byte. Prints its id."""
    with as_options(RENAMED):
        times = instants(published=published, effective=effective)
        if not file.is_file():
            raise Invalid.one("file", f"no file {file}")
        if file.stat().st_size > MAX_TERMS_BYTES:
            raise Invalid.one("file", f"at most {MAX_TERMS_BYTES // MB} MB")
        kind = media_type or SUFFIXES.get(file.suffix.lower(), MediaType.TEXT).value
        data = parse(
            TermsVersionCreate,
            {
                "label": label,
                "media_type": kind,
                "published_at": times["published"],
                "effective_from": times["effective"],
            },
        )
        content = file.read_bytes()
        with database() as db, db.unit_of_work() as s:
            actor = _operator(s, tenant)
            document = _document(s, actor, code)
            version_id = service.publish_terms_version(
                s, actor=actor, document_id=document.entity_id, data=data, content=content
            )
    err.print(f"{escape(document.code)} {escape(data.label)} published ({len(content):,} bytes).")
    typer.echo(version_id)


# --- offers --------------------------------------------------------------------------------------


@guarded
def offer_list(
    customer: Annotated[
        str | None, typer.Option("--customer", help="Only this customer's (account code or id).")
    ] = None,
    status: Annotated[
        OfferStatus | None, typer.Option("--status", help="open, accepted or declined.")
    ] = None,
    terms: Annotated[
        str | None,
        typer.Option("--terms", help="Only those under this terms version (CODE/LABEL or id)."),
    ] = None,
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List offers, newest first: all to a customer, by status, under a terms version."""
    with as_options({}), database() as db, db.reading() as s:
        actor = _operator(s, tenant)
        customer_id = _customer_id(s, actor, customer) if customer else None
        version_id = _version_of(s, actor, terms).entity_id if terms else None
        rows, total = queries.list_offers(
            s, actor=actor, customer_id=customer_id, status=status,
            terms_version_id=version_id, limit=100_000,
        )  # fmt: skip
        names = queries.customer_names(s, actor)
        codes = {d.entity_id: d.code for d in queries.list_documents(s, actor)}
        labels = {
            v.entity_id: f"{codes.get(v.document_id, '?')} {v.label}"
            for v in queries.all_versions(s, actor)
        }
        items: list[dict[str, Any]] = [
            {
                "id": o.entity_id,
                "made_at": o.valid_from.isoformat(),
                "customer_id": o.customer_id,
                "customer": names.get(o.customer_id, ""),
                "product": o.product,
                "parameters": queries.parameters_of(o),
                "terms_version_id": o.terms_version_id,
                "terms": labels.get(o.terms_version_id, ""),
                "status": o.status,
                "decided_at": outcome.at.isoformat() if outcome else None,
            }
            for o, outcome in rows
        ]
    if as_json:
        _print_json({"items": items, "total": total})
        return
    table = _table("made", "customer", "product", "terms", "outcome", "id",
                   title="Offers", caption=f"{total} offer(s)")  # fmt: skip
    for i in items:
        outcome = i["status"] + (f" {i['decided_at'][:10]}" if i["decided_at"] else "")
        table.add_row(
            i["made_at"][:10], escape(i["customer"]), escape(i["product"]), escape(i["terms"]),
            outcome, i["id"],
        )  # fmt: skip
    out.print(table)


#: The options `accord offer create` names a bad field by.
OFFER_OPTIONS = {
    "customer_id": "customer",
    "contact_id": "contact",
    "parameters": "param",
    "terms_version_id": "terms-version",
    "effective": "made",
}


def _parameters(given: list[str]) -> dict[str, str]:
    """`--param NAME=VALUE` options as the offer's parameters (values as text)."""
    params: dict[str, str] = {}
    for item in given:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise Invalid.one("param", f"{item!r}: give it as NAME=VALUE, e.g. amount=1180.00")
        if name in params:
            raise Invalid.one("param", f"{name} is given twice")
        params[name] = value.strip()
    return params


def _contact_id(s: Session, actor: Actor, customer_id: str, ref: str) -> str:
    """One of the customer's contacts by id or email; anything else goes to the service,
    which refuses it naming the option."""
    ref = ref.strip()
    for c in parties.contacts_of(s, actor, customer_id, when=AsOf.now()):
        if ref == c.entity_id or (c.email and ref.lower() == c.email.lower()):
            return c.entity_id
    return ref


@guarded
def offer_create(
    customer: Annotated[
        str, typer.Option("--customer", help="The customer it is made to (account code or id).")
    ],
    product: Annotated[str, typer.Option("--product", help="What is offered.")],
    terms_version: Annotated[
        str,
        typer.Option(
            "--terms-version",
            "--terms",
            help="The terms version it is made under (CODE/LABEL or id).",
        ),
    ],
    param: Annotated[
        list[str],
        typer.Option(
            "--param",
            help="A parameter as NAME=VALUE (repeat it): amount and term are required, rate "
            "and any other (currency, seats, ...) as needed. Values are kept as text.",
        ),
    ],
    contact: Annotated[
        str | None,
        typer.Option("--contact", help="The contact it is made to (id or email), if any."),
    ] = None,
    made: Annotated[
        str | None,
        typer.Option("--made", help="When it was made (default now; not in the future)."),
    ] = None,
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Make an offer to a customer under a terms version, as `POST /api/offers` does, and
    print its id and capture token (shown this once: put it in the offer page's capture
    tag)."""
    with as_options(OFFER_OPTIONS):
        times = instants(effective=made)
        parameters = _parameters(param)
        with database() as db, db.unit_of_work() as s:
            actor = _operator(s, tenant)
            customer_id = _customer_id(s, actor, customer)
            version = _version_of(s, actor, terms_version)
            data: dict[str, Any] = {
                "customer_id": customer_id,
                "product": product,
                "parameters": parameters,
                "terms_version_id": version.entity_id,
                "effective": times["effective"],
            }
            if contact is not None:
                data["contact_id"] = _contact_id(s, actor, customer_id, contact)
            try:
                offer = parse(OfferCreate, data)
            except Invalid as exc:  # the parameters' reasons say what is wrong, no prefix
                problems = [(f, r.removeprefix("Value error, ")) for f, r in exc.problems]
                raise Invalid(problems) from None
            offer_id, token = service.create_offer(s, actor=actor, data=offer)
    if as_json:
        _print_json({"id": offer_id, "capture_token": token})
        return
    err.print(
        f"Offer made: {escape(product.strip())}. Its capture token is shown this once "
        "(the second line): Accord keeps only its SHA-256."
    )
    typer.echo(offer_id)
    typer.echo(token)


@guarded
def offer_show(
    offer: Annotated[str, typer.Argument(help="The offer's id.")],
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show an offer: what was offered to whom under which terms, its journey in order
    (screens with their ticks, changes) and its outcome."""
    offer = _key("offer", offer)
    with database() as db, db.reading(detach=True) as s:
        actor = _operator(s, tenant)
        ev = queries.offer_evidence(s, actor, offer)
        o, decided = ev.offer, ev.outcome
        journey: list[dict[str, Any]] = [
            {
                "n": x.event.n,
                "kind": x.event.kind,
                "at": x.event.at.isoformat(),
                "screen": x.event.screen,
                "title": x.event.title,
                "field": x.event.field,
                "label": x.event.label,
                "value": x.event.value,
                "form": x.form,
                "sha256": x.event.blob,
                "source": x.event.source,
                "seq": x.event.seq,
            }
            for x in ev.events
        ]
        summary: dict[str, Any] = {
            "id": o.entity_id,
            "customer": {"id": o.customer_id, "name": ev.customer_then.name,
                         "code": ev.customer_then.code},
            "contact": ev.contact.name if ev.contact else None,
            "product": o.product,
            "parameters": ev.parameters,
            "terms": {"id": ev.terms.entity_id, "document": ev.document.code,
                      "label": ev.terms.label},
            "made_at": ev.made_at.isoformat(),
            "status": o.status,
            "decided_at": decided.at.isoformat() if decided else None,
            "decided_by": ev.decided_by.name if ev.decided_by else None,
            "decided_ip": decided.ip if decided else None,
            "decided_user_agent": decided.user_agent if decided else None,
            "customer_changed_since": ev.customer_patch,
            "journey": journey,
            "journal_seqs": ev.seqs,
        }  # fmt: skip
    if as_json:
        _print_json(summary)
        return
    out.print(f"[bold]{escape(o.product)}[/] to {escape(ev.customer_then.name)}: {o.status}")
    details = Table.grid(padding=(0, 2))
    details.add_column(style="dim")
    details.add_column()
    params = ", ".join(f"{k} {v}" for k, v in ev.parameters.items())
    for label, value in (
        ("made", _time(ev.made_at)),
        ("to", summary["contact"] or "—"),
        ("parameters", params),
        ("terms", f"{ev.document.code} {ev.terms.label} ({ev.document.title})"),
        ("outcome", o.status if decided is None else
         f"{o.status} {_time(decided.at)} by {summary['decided_by'] or 'unknown'} "
         f"from {decided.ip or '?'}"),
        ("customer since", "unchanged" if not ev.customer_patch else
         f"{len(ev.customer_patch)} field(s) changed"),
        ("id", o.entity_id),
    ):  # fmt: skip
        details.add_row(label, escape(str(value)))
    out.print(details)
    table = _table("n", "at", "what", "detail", "entry", title="Journey")
    for j in journey:
        if j["kind"] == "screen":
            boxes = [f for f in j["form"] or [] if f.get("type") in ("checkbox", "radio")]
            ticks = [f"{'[x]' if f.get('checked') else '[ ]'} {f.get('label') or f['name']}"
                     for f in boxes]  # fmt: skip
            what, detail = f"screen {j['screen']}", "; ".join(ticks) or (j["title"] or "")
        elif j["kind"] in ("tick", "untick", "change"):
            what, detail = f"{j['kind']} {j['field']}", j["label"] or j["value"] or ""
        else:
            what, detail = j["kind"], ""
        table.add_row(str(j["n"]), j["at"][:19].replace("T", " "), escape(what),
                      escape(detail), f"#{j['seq']}")  # fmt: skip
    out.print(table)


# --- export --------------------------------------------------------------------------------------


@guarded
def evidence_export(
    customer: CustomerArg,
    out_file: Annotated[Path, typer.Option("--out", help="The ZIP file to write.")],
    tenant: TenantOpt = None,
) -> None:
    """Write everything held about one customer to a ZIP file (a data-subject access
    request): manifest.json with its record, offers, journeys, terms versions and journal
    entries, and every document and screen by SHA-256 under blobs/."""
    if out_file.exists() and out_file.is_dir():
        raise Invalid.one("out", f"{out_file} is a directory")
    if not out_file.parent.exists():
        raise Invalid.one("out", f"no directory {out_file.parent}")
    with database() as db, db.reading(detach=True) as s:
        actor = _operator(s, tenant)
        customer_id = _customer_id(s, actor, customer)
        _, data = exports.customer_export(s, actor, customer_id)
    out_file.write_bytes(data)
    err.print(f"Wrote {out_file} ({len(data):,} bytes).")


# --- evidence packs ------------------------------------------------------------------------------

OfferArg = Annotated[str, typer.Argument(help="The offer's id.")]


@guarded
def evidence_pack(
    offer: OfferArg,
    out_file: Annotated[Path, typer.Option("--out", help="The PDF file to write.")],
    tenant: TenantOpt = None,
) -> None:
    """Issue the offer's evidence pack: a PDF a customer or a court can read, ending in a
    trailer that proves it (`accord evidence verify FILE` checks it offline). The issue is
    recorded in the journal with the PDF's SHA-256."""
    offer = _key("offer", offer)
    if out_file.exists() and out_file.is_dir():
        raise Invalid.one("out", f"{out_file} is a directory")
    if not out_file.parent.exists():
        raise Invalid.one("out", f"no directory {out_file.parent}")
    with database() as db:
        with db.reading(detach=True) as s:
            actor = _operator(s, tenant)
        issued = pack.issue(db, actor, offer, load_settings().key_dir)
    out_file.write_bytes(issued.data)
    digest = issued.manifest["pdf_sha256"]
    err.print(f"Wrote {out_file} ({len(issued.data):,} bytes; PDF SHA-256 {digest}).")
    out.print(issued.pack_id)


@guarded
def evidence_verify(
    pack_file: Annotated[Path, typer.Argument(help="The evidence pack (PDF) to check.")],
    key: Annotated[
        str | None,
        typer.Option("--key", help="The log's verifier key line (default: the tenant's own)."),
    ] = None,
    tenant: TenantOpt = None,
) -> None:
    """Check an evidence pack offline: its checkpoints' signatures, their consistency,
    every entry's inclusion proof, the PDF's SHA-256 and every document and screen."""
    try:
        data = pack_file.read_bytes()
    except OSError as exc:
        raise Invalid.one("pack", f"cannot read {pack_file}: {exc.strerror}") from None
    if key is None:
        with database() as db, db.reading(detach=True) as s:
            slug = one_tenant(s, tenant).slug
        key = load_key(load_settings().key_dir, slug).verifier_key()
    try:
        result = verify_pack(data, key)
    except VerifyError as exc:
        err.print(f"[red]FAILED[/red]: {escape(str(exc))}")
        raise typer.Exit(1) from None
    for line in result.checks:
        out.print(f"ok  {escape(line)}")
    out.print("verified")
