"""The README documents every command, option and setting (a test fails when one is added
without its documentation)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

from accord.cli import app
from accord.config import Settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def commands(command: Any, path: str = "accord") -> Iterator[tuple[str, Any]]:
    """(`accord key show`, its click command) for the whole tree, groups included."""
    yield path, command
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from commands(sub, f"{path} {name}")


ALL = list(commands(typer.main.get_command(app)))


def test_every_command_is_in_the_readme() -> None:
    assert len(ALL) >= 15
    missing = [path for path, _ in ALL if f"`{path}" not in README]
    assert not missing, f"README.md does not document: {missing}"


def section(heading: str) -> str:
    """The README's text under `heading`, up to the next heading."""
    _, found, rest = README.partition(f"\n{heading}\n")
    assert found, f"README.md has no heading {heading!r}"
    return re.split(r"\n#{1,3} ", rest, maxsplit=1)[0]


def test_every_command_has_a_section_naming_each_of_its_options() -> None:
    missing = []
    for path, command in ALL:
        if hasattr(command, "commands"):
            where = section("## Command line") if path == "accord" else README
        else:
            where = section(f"### `{path}`")
        missing += [
            f"{path} {opt}"
            for param in command.params
            for opt in param.opts
            if opt.startswith("--") and opt != "--help" and opt not in where
        ]
    assert not missing, f"README.md does not document: {missing}"


def test_every_setting_is_in_the_readme() -> None:
    missing = [
        f"ACCORD_{name.upper()}"
        for name in Settings.model_fields
        if f"`ACCORD_{name.upper()}`" not in README
    ]
    assert not missing, f"README.md does not document the settings: {missing}"


def test_every_command_has_help() -> None:
    assert not [path for path, command in ALL if not (command.help or "").strip()]
