"""The `accord` command: set up, run, check and administer an Accord instance.

The whole command tree is assembled here; each command lives with its kind in
`instance` (init, demo, serve), `journal` (verify, rebuild, checkpoint, key),
`accounts` (user, token) and `bench`. A command parses its options, calls the store or a
capability's service in one unit of work, and prints. Bad input, an unknown record, a
failed check or an unreachable database ends in one line on stderr naming the field or
the thing, with exit status 1.
"""

from __future__ import annotations

from typing import Annotated

import typer

from accord import __version__
from accord.cli import accounts, bench, instance, journal

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

bench_app = typer.Typer(
    no_args_is_help=True, help="Measure the journal (the README's benchmark figures)."
)
bench_app.command("journal")(bench.journal)
bench_app.command("verify")(bench.verify)
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
    app()
