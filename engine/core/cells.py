"""Cells of every exported spreadsheet (XLSX and CSV): text that a spreadsheet would run as a formula is kept
as text, so a unit or list name such as `=HYPERLINK(…)` can never act when the file is opened."""
from __future__ import annotations

from typing import Any, Iterable

#: What Excel, LibreOffice and Sheets read as the start of a formula (OWASP's list for CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")


def inert(value: Any) -> Any:
    """Text starting like a formula gets a leading apostrophe; numbers, dates and other text are unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def inert_row(values: Iterable[Any]) -> list[Any]:
    return [inert(value) for value in values]
