"""What an import reports: each problem at its file, row and column, and how many records
it created, changed and left alone per kind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from accord.agreements.importer.columns import KINDS


@dataclass(frozen=True)
class Problem:
    """Something in a file that stops the import: where it is, and what is wrong."""

    file: str  # "customers.csv", or "book.xlsx:assets" for a worksheet
    row: int  # as a spreadsheet numbers it: the header is row 1; 0 for the file as a whole
    column: str  # "" when it is about the row or the file
    problem: str


@dataclass
class Counts:
    created: int = 0
    changed: int = 0
    unchanged: int = 0


@dataclass
class Report:
    """What an import found and did (or, in a dry run, would do)."""

    problems: list[Problem] = field(default_factory=list)
    counts: dict[str, Counts] = field(default_factory=lambda: {k: Counts() for k in KINDS})
    rows: int = 0
    applied: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems


#: progress(rows done, rows in all) after each row.
ProgressFn = Callable[[int, int], None]
