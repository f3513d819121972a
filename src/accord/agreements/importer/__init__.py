"""Import customers, sites, assets, contracts and contract lines from spreadsheets.

Finance keeps the book in spreadsheets before Accord; this brings it in, and keeps bringing
it in while both are in use, without drift: each record is matched by its external key
(customers by code, sites by external key or customer and name, assets by external key or
tag, contracts by reference, lines by external key), so a record already on file with the
same values is left alone, one whose values differ gets a change, and only what is new is
created.
Re-importing the same files changes nothing.

Files are CSV or XLSX, one kind of record per file (named by the file's stem,
``assets.csv``) or per worksheet (named by the sheet, ``assets``), with a header row.
Everything is validated before anything counts: a dry run (the default) carries the whole
import out inside a savepoint and rolls it back, so it finds exactly the problems the
apply would, and reports each as (file, row, column, problem). Apply is all or nothing:
with any problem, nothing is kept. Every write goes through the parties and agreements
services, so each is journalled with who and why ("import FILE").

No interface code here: progress is reported through a callback.
"""

from accord.agreements.importer.applying import run_import
from accord.agreements.importer.columns import COLUMNS, KINDS
from accord.agreements.importer.reading import parse_amount, read_sources, to_minor
from accord.agreements.importer.report import Counts, Problem, ProgressFn, Report

__all__ = [
    "COLUMNS",
    "KINDS",
    "Counts",
    "Problem",
    "ProgressFn",
    "Report",
    "parse_amount",
    "read_sources",
    "run_import",
    "to_minor",
]
