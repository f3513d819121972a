"""Money as people read it, and an issued invoice as CSV for spreadsheets.

Amounts are kept in the currency's minor unit (pence, cents); these turn them into text
exactly, never through a float. Shared by the pages and the API, so a printed invoice and
its export say the same thing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from accord.agreements.models import Invoice
from accord.timeinput import parse_instant

#: ISO 4217 currencies whose minor unit is not a hundredth; every other has two decimals.
EXPONENTS = {
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    **dict.fromkeys(
        (
            "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF",
            "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF",
        ),
        0,
    ),
}  # fmt: skip

SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$"}

CSV_COLUMNS = (
    "number",
    "period",
    "kind",
    "tag",
    "description",
    "service_level",
    "days",
    "period_days",
    "unit_price",
    "amount",
    "currency",
)


def exponent(currency: str) -> int:
    return EXPONENTS.get(currency, 2)


def major(minor: int, currency: str) -> str:
    """1234 pence -> "12.34"."""
    exp = exponent(currency)
    return f"{Decimal(minor).scaleb(-exp):.{exp}f}"


def money(minor: int | None, currency: str) -> str:
    """1234567 GBP -> "£12,345.67"; -500 EUR -> "-€5.00"; other currencies "1,234.56 CHF"."""
    if minor is None:
        return ""
    exp = exponent(currency)
    digits = f"{Decimal(abs(minor)).scaleb(-exp):,.{exp}f}"
    sign = "-" if minor < 0 else ""
    symbol = SYMBOLS.get(currency)
    return f"{sign}{symbol}{digits}" if symbol else f"{sign}{digits} {currency}"


def to_minor(text: str, currency: str) -> int:
    """ "1,234.5" -> 123450 for GBP. ValueError when it is not an amount with at most the
    currency's decimals (a fraction of a penny cannot be charged)."""
    cleaned = text.strip().replace(",", "").replace(" ", "")
    for symbol in SYMBOLS.values():
        cleaned = cleaned.removeprefix(symbol)
    try:
        amount = Decimal(cleaned)
    except ArithmeticError:
        raise ValueError(text) from None
    if not amount.is_finite():
        raise ValueError(text)
    minor = amount.scaleb(exponent(currency))
    if minor != minor.to_integral_value():
        raise ValueError(text)
    return int(minor)


def cell(text: str) -> str:
    """Text a spreadsheet will not run as a formula (OWASP CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


_PERIOD_MONTHS = {1: "monthly", 3: "quarterly", 12: "annual"}


def period_label(start: str, end: str) -> str:
    """The billing period of an invoice line as in invoice numbers: 2026-11, 2026-Q4, 2026."""
    s, e = date.fromisoformat(start), date.fromisoformat(end)
    months = (e.year - s.year) * 12 + e.month - s.month
    kind = _PERIOD_MONTHS.get(months) if s.day == 1 and e.day == 1 else None
    first = parse_instant(s)
    if kind == "monthly":
        return f"{first:%Y-%m}"
    if kind == "quarterly":
        return f"{first.year}-Q{(first.month - 1) // 3 + 1}"
    if kind == "annual":
        return f"{first.year}"
    return f"{start}/{end}"


def invoice_csv(invoice: Invoice) -> str:
    """An issued invoice as CSV, one row per line, amounts in the major unit (pounds, not
    pence): number, period, kind (charge or adjustment), tag, description, service level,
    days, period days, unit price, amount, currency."""
    return lines_csv(invoice.number, invoice.currency, invoice.lines)


def lines_csv(number: str, currency: str, lines: Iterable[Mapping[str, Any]]) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(CSV_COLUMNS)
    for ln in lines:
        w.writerow(
            [
                number,
                period_label(ln["period_start"], ln["period_end"]),
                ln["kind"],
                cell(str(ln["tag"])),
                cell(str(ln.get("label") or "")),
                cell(str(ln.get("service_level") or "")),
                ln["days"],
                ln["period_days"],
                major(ln["unit_price"], currency),
                major(ln["amount"], currency),
                currency,
            ]
        )
    return out.getvalue()


def csv_filename(number: str) -> str:
    return number.replace("/", "_") + ".csv"
