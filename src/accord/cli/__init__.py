"""The `accord` command: set up, run, check and administer an Accord instance.

The whole command tree is assembled here; each command lives with its kind in
`instance` (init, demo, serve), `journal` (verify, rebuild, checkpoint, key),
`accounts` (user, token) and `bench`; a capability's own commands live in its `cli`
module (`accord.parties.cli`: customer, contact, site; `accord.agreements.cli`: coverage,
asset, contract, line, invoice, import; `accord.evidence.cli`: terms, offer, evidence). A
command parses its options,
calls the store or a capability's service in one unit of work, and prints. Bad input, an
unknown record, a failed check or an unreachable database ends in one line on stderr
naming the field or the thing, with exit status 1.
"""

from __future__ import annotations

from typing import Annotated

import typer

from accord import __version__
from accord.agreements import cli as agreements
from accord.cli import accounts, bench, instance, journal
from accord.evidence import cli as evidence
from accord.parties import cli as parties
from accord.store import memory

app = typer.Typer(
    name="accord",
    help="Accord: the verifiable, bitemporal system of record for service providers.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",
    pretty_exceptions_show_locals=False,  # locals may hold passwords and tokens
)
app.command()(instance.init)
app.command()(instance.demo)
app.command()(instance.serve)
app.command()(journal.verify)
app.command()(journal.rebuild)
app.command()(journal.checkpoint)

key_app = typer.Typer(no_args_is_help=True, help="The tenant's checkpoint signing key.")
key_app.command("show")(journal.key_show)
app.add_typer(key_app, name="key")

user_app = typer.Typer(no_args_is_help=True, help="Staff who sign in to Accord.")
user_app.command("add")(accounts.user_add)
app.add_typer(user_app, name="user")

token_app = typer.Typer(no_args_is_help=True, help="API tokens for machines.")
token_app.command("create")(accounts.token_create)
app.add_typer(token_app, name="token")

customer_app = typer.Typer(
    no_args_is_help=True, help="Customers: the organisations the provider serves, as of any time."
)
customer_app.command("list")(parties.customer_list)
customer_app.command("show")(parties.customer_show)
customer_app.command("add")(parties.customer_add)
customer_app.command("change")(parties.customer_change)
customer_app.command("history")(parties.customer_history)
app.add_typer(customer_app, name="customer")

contact_app = typer.Typer(
    no_args_is_help=True, help="People at a customer the provider deals with."
)
contact_app.command("add")(parties.contact_add)
contact_app.command("change")(parties.contact_change)
contact_app.command("remove")(parties.contact_remove)
app.add_typer(contact_app, name="contact")

site_app = typer.Typer(
    no_args_is_help=True, help="Places where a customer has people or equipment."
)
site_app.command("add")(parties.site_add)
site_app.command("change")(parties.site_change)
site_app.command("remove")(parties.site_remove)
app.add_typer(site_app, name="site")

app.command("coverage")(agreements.coverage)
app.command("import")(agreements.import_files)

asset_app = typer.Typer(
    no_args_is_help=True, help="Assets: the things of a customer's the provider looks after."
)
asset_app.command("list")(agreements.asset_list)
asset_app.command("show")(agreements.asset_show)
asset_app.command("take-off")(agreements.asset_take_off)
app.add_typer(asset_app, name="asset")

contract_app = typer.Typer(
    no_args_is_help=True, help="Contracts: what each customer has agreed, by date."
)
contract_app.command("list")(agreements.contract_list)
contract_app.command("show")(agreements.contract_show)
contract_app.command("cancel")(agreements.contract_cancel)
contract_app.command("renew")(agreements.contract_renew)
app.add_typer(contract_app, name="contract")

line_app = typer.Typer(
    no_args_is_help=True, help="Contract lines: what a contract covers, at what price."
)
line_app.command("take-off")(agreements.line_take_off)
line_app.command("price")(agreements.line_price)
app.add_typer(line_app, name="line")

invoice_app = typer.Typer(no_args_is_help=True, help="Invoices: run, list, show, export.")
invoice_app.command("run")(agreements.invoice_run)
invoice_app.command("list")(agreements.invoice_list)
invoice_app.command("show")(agreements.invoice_show)
invoice_app.command("csv")(agreements.invoice_csv)
app.add_typer(invoice_app, name="invoice")

terms_app = typer.Typer(
    no_args_is_help=True, help="Terms documents and their versions, exactly as published."
)
terms_app.command("list")(evidence.terms_list)
terms_app.command("add")(evidence.terms_add)
terms_app.command("publish")(evidence.terms_publish)
app.add_typer(terms_app, name="terms")

offer_app = typer.Typer(
    no_args_is_help=True, help="Offers: what customers were offered, and their journeys."
)
offer_app.command("list")(evidence.offer_list)
offer_app.command("show")(evidence.offer_show)
offer_app.command("create")(evidence.offer_create)
app.add_typer(offer_app, name="offer")

evidence_app = typer.Typer(no_args_is_help=True, help="Evidence held about customers.")
evidence_app.command("export")(evidence.evidence_export)
evidence_app.command("pack")(evidence.evidence_pack)
evidence_app.command("verify")(evidence.evidence_verify)
app.add_typer(evidence_app, name="evidence")

bench_app = typer.Typer(
    no_args_is_help=True, help="Measure the journal (the README's benchmark figures)."
)
bench_app.command("journal")(bench.journal)
bench_app.command("verify")(bench.verify)
bench_app.command("entitlement")(bench.entitlement)
bench_app.command("evidence")(bench.evidence)
bench_app.command("storage")(bench.storage)
bench_app.command("corpus")(bench.corpus)
app.add_typer(bench_app, name="bench")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"accord {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Accord: the verifiable, bitemporal system of record for service providers.

    Settings come from ACCORD_* environment variables or a .env file (see the README).
    """


def main() -> None:
    memory.keep_large_buffers()
    app()
