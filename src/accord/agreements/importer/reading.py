"""Reading the files: which kind of record each CSV file or XLSX worksheet holds, its
columns, and its rows as typed values (text, dates, amounts), each problem at its cell.
"""

from __future__ import annotations

import csv
import io
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from accord.agreements import exports
from accord.agreements.importer.columns import (
    COLUMNS,
    DATE,
    HOURS,
    INT,
    KIND_LIST,
    KINDS,
    TEXT,
    Column,
)
from accord.agreements.importer.report import Problem

# --- money -----------------------------------------------------------------------------------


def parse_amount(text: str | int | float | Decimal) -> Decimal:
    """An amount in major units as typed (``12.34``, ``1,234.50``, ``£12``); ValueError
    when it is not one."""
    if isinstance(text, bool):
        raise ValueError("not an amount (e.g. 12.34)")
    if isinstance(text, float):
        text = repr(text)  # the shortest text that is this float: 12.34, not 12.339999...
    cleaned = str(text).strip().replace(",", "").replace(" ", "")
    cleaned = cleaned.lstrip("".join(exports.SYMBOLS.values()))
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError("not an amount (e.g. 12.34)") from None
    if not amount.is_finite():
        raise ValueError("not an amount (e.g. 12.34)")
    return amount


def to_minor(amount: Decimal, currency: str) -> int:
    """Major units (12.34 GBP) to minor units (1234 pence); ValueError for a fraction of
    the minor unit (a fraction of a penny cannot be charged) or a negative amount."""
    places = exports.exponent(currency)
    scaled = amount.scaleb(places)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{currency} amounts have at most {places} decimals")
    if amount < 0:
        raise ValueError("must not be negative")
    return int(scaled)


# --- reading files ------------------------------------------------------------------------------


@dataclass
class Sheet:
    """One kind of record from one CSV file or one worksheet."""

    label: str  # how problems name it
    file: str  # the file's name, for the journal's reason
    kind: str
    columns: list[str | None]  # normalized header names, by position (None: blank header)
    rows: list[tuple[int, tuple[Any, ...]]]  # (row number, cells)


@dataclass
class Row:
    sheet: Sheet
    number: int
    values: dict[str, Any]  # parsed values of the columns present (None: empty cell)
    ok: bool = True  # False: a cell could not be read (reported)

    def has(self, column: str) -> bool:
        return column in self.values

    def get(self, column: str) -> Any:
        return self.values.get(column)

    @property
    def reason(self) -> str:
        return f"import {self.sheet.file}"


def _header(cell: Any) -> str | None:
    if cell is None or not str(cell).strip():
        return None
    return "_".join(str(cell).strip().lower().replace("-", " ").split())


def _blank(cells: Iterable[Any]) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def _kind_of(name: str) -> str | None:
    name = name.strip().lower()
    return name if name in KINDS else None


def _sheet(label: str, file: str, kind: str, rows: Iterator[tuple[int, tuple[Any, ...]]]) -> Sheet:
    header: tuple[Any, ...] = ()
    body: list[tuple[int, tuple[Any, ...]]] = []
    for number, cells in rows:
        if not header:
            if not _blank(cells):
                header = cells
            continue
        if not _blank(cells):
            body.append((number, cells))
    return Sheet(label, file, kind, [_header(c) for c in header], body)


def _read_csv(path: Path) -> Iterator[tuple[int, tuple[Any, ...]]]:
    text = path.read_text(encoding="utf-8-sig")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    for number, cells in enumerate(csv.reader(io.StringIO(text), delimiter=delimiter), 1):
        yield number, tuple(cells)


def read_sources(paths: Sequence[Path]) -> tuple[list[Sheet], list[Problem]]:
    """The sheets of the files, and the problems that stop a file being read at all."""
    sheets: list[Sheet] = []
    problems: list[Problem] = []
    for path in paths:
        name = path.name
        suffix = path.suffix.lower()
        if suffix not in (".csv", ".xlsx"):
            problems.append(Problem(name, 0, "", "not a .csv or .xlsx file"))
            continue
        if not path.is_file():
            problems.append(Problem(name, 0, "", "no such file"))
            continue
        if suffix == ".csv":
            kind = _kind_of(path.stem)
            if kind is None:
                problems.append(
                    Problem(name, 0, "", f"name the file after what it holds: {KIND_LIST}")
                )
                continue
            try:
                sheets.append(_sheet(name, name, kind, _read_csv(path)))
            except UnicodeDecodeError:
                problems.append(Problem(name, 0, "", "not UTF-8 text: save it as CSV UTF-8"))
            except (OSError, csv.Error) as exc:
                problems.append(Problem(name, 0, "", f"cannot read it: {exc}"))
            continue
        try:
            sheets += _read_workbook(path, problems)
        except Exception as exc:  # openpyxl raises many kinds for a damaged or foreign file
            problems.append(Problem(name, 0, "", f"not a readable XLSX workbook ({exc})"))
    return sheets, problems


def _read_workbook(path: Path, problems: list[Problem]) -> list[Sheet]:
    import openpyxl  # type: ignore[import-untyped]

    out: list[Sheet] = []
    with warnings.catch_warnings():
        # openpyxl warns about styles and extensions it ignores; they do not matter here.
        warnings.simplefilter("ignore")
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            for ws in wb.worksheets:
                label = f"{path.name}:{ws.title}"
                kind = _kind_of(ws.title)
                if kind is None:
                    problems.append(
                        Problem(label, 0, "", f"name the sheet after what it holds: {KIND_LIST}")
                    )
                    continue
                ws.reset_dimensions()  # some writers record wrong ones; read to the end
                rows = enumerate(ws.iter_rows(min_row=1, values_only=True), 1)
                out.append(_sheet(label, path.name, kind, rows))
        finally:
            wb.close()
    return out


def one_of(names: Iterable[str]) -> str:
    return ", ".join(names)


# --- cells ------------------------------------------------------------------------------------


def _text(cell: Any) -> str | None:
    if cell is None:
        return None
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)
    if isinstance(cell, datetime):
        cell = cell.date() if cell.time() == time(0) else cell
    if isinstance(cell, date | datetime):
        return cell.isoformat()
    text = str(cell).strip()
    return text or None


def _cell(kind: Column, cell: Any) -> Any:
    """The value of a cell as its column's type; ValueError naming what is wrong."""
    if isinstance(cell, str):
        cell = cell.strip()
        if not cell:
            return None
    if cell is None:
        return None
    if kind.type == TEXT:
        return _text(cell)
    if kind.type == DATE:
        if isinstance(cell, datetime):
            if cell.time() != time(0):
                raise ValueError("a date without a time of day (YYYY-MM-DD)")
            cell = cell.date()
        if isinstance(cell, date):
            return datetime.combine(cell, time(0), tzinfo=UTC)
        text = str(cell)
        try:
            if len(text) != 10:
                raise ValueError
            return datetime.combine(date.fromisoformat(text), time(0), tzinfo=UTC)
        except ValueError:
            raise ValueError("not a date (YYYY-MM-DD)") from None
    if kind.type == INT:
        if isinstance(cell, float) and cell.is_integer():
            return int(cell)
        if isinstance(cell, int) and not isinstance(cell, bool):
            return cell
        text = str(cell)
        if text.lstrip("-").isdigit():
            return int(text)
        raise ValueError("not a whole number")
    amount = parse_amount(cell)
    if kind.type == HOURS:
        minutes = amount * 60
        if amount < 0 or minutes != minutes.to_integral_value():
            raise ValueError("hours as a number of whole minutes, e.g. 1.5")
        return int(minutes)
    return amount  # MONEY: converted in the contract's currency once that is known


def rows_of(sheet: Sheet, problems: list[Problem]) -> list[Row] | None:
    """The sheet's rows with typed values; None when its header is unusable."""
    columns = COLUMNS[sheet.kind]
    bad = False
    seen: set[str] = set()
    for name in sheet.columns:
        if name is None:
            continue
        if name in seen:
            problems.append(Problem(sheet.label, 1, name, "the column appears twice"))
            bad = True
        seen.add(name)
        if name not in columns:
            problems.append(
                Problem(
                    sheet.label,
                    1,
                    name,
                    f"unknown column: the columns of {sheet.kind} are {one_of(columns)}",
                )
            )
            bad = True
    for name, col in columns.items():
        if col.required and name not in seen:
            problems.append(Problem(sheet.label, 1, name, "required column is missing"))
            bad = True
    if not sheet.columns:
        problems.append(Problem(sheet.label, 0, "", "empty: no header row"))
        return None
    if bad:
        return None
    out: list[Row] = []
    for number, cells in sheet.rows:
        values: dict[str, Any] = {}
        ok = True
        for i, name in enumerate(sheet.columns):
            if name is None:
                continue
            raw = cells[i] if i < len(cells) else None
            try:
                values[name] = _cell(columns[name], raw)
            except ValueError as exc:
                problems.append(Problem(sheet.label, number, name, str(exc)))
                ok = False
                continue
            if values[name] is None and columns[name].required:
                problems.append(Problem(sheet.label, number, name, "required"))
                ok = False
        if len(cells) > len(sheet.columns) and not _blank(cells[len(sheet.columns) :]):
            problems.append(Problem(sheet.label, number, "", "more cells than the header has"))
            ok = False
        out.append(Row(sheet, number, values, ok))
    return out
