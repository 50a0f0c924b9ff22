"""Cells of every exported spreadsheet (XLSX and CSV), written one way: text that a spreadsheet would run as a formula
is kept as text, so a unit or list name such as `=HYPERLINK(…)` can never act when the file is opened; times are
local without microseconds; rates are numbers formatted as percentages; a CSV starts with a UTF-8 BOM so Excel on a
Chinese PC reads it as UTF-8."""
from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any, Iterable, Iterator
from zoneinfo import ZoneInfo

#: What Excel, LibreOffice and Sheets read as the start of a formula (OWASP's list for CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")
BOM = "\ufeff"
TIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
PERCENT_FORMAT = "0.0%"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class Rate(float):
    """A share from 0 to 1: a number with a percentage format in a spreadsheet, "85.3%" on a page or in a CSV."""

    def __str__(self) -> str:
        return f"{100 * self:.1f}%"

    @property
    def percent(self) -> str:
        return str(self)


def inert(value: Any) -> Any:
    """Text starting like a formula gets a leading apostrophe; numbers, dates and other text are unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def inert_row(values: Iterable[Any]) -> list[Any]:
    return [inert(value) for value in values]


def local(instant: datetime | None, zone: ZoneInfo) -> datetime | None:
    """An instant (stored in UTC) as the wall-clock time of `zone`, to the second, without a zone (spreadsheets
    keep no zone: the column header says whose time it is)."""
    if instant is None:
        return None
    return instant.astimezone(zone).replace(tzinfo=None, microsecond=0)


def csv_text(value: Any) -> str:
    """A cell as CSV text: local times as 2026-11-30 14:05:00, rates as 85.3% (Excel reads both as numbers)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(inert(value))


def csv_chunks(header: Iterable[Any], rows: Iterable[Iterable[Any]], flush_at: int = 64 * 1024) -> Iterator[str]:
    """A CSV streamed in chunks with flat memory: the BOM, the header, then the rows."""
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer)
    writer.writerow([csv_text(str(h)) for h in header])
    for row in rows:
        writer.writerow([csv_text(v) for v in row])
        if buffer.tell() > flush_at:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def append_row(sheet: Any, values: Iterable[Any]) -> None:
    """One openpyxl row: formula-like text kept as text, times and rates with their number formats."""
    values = list(values)
    sheet.append(inert_row(float(v) if isinstance(v, Rate) else v for v in values))
    for cell, value in zip(sheet[sheet.max_row], values):
        if isinstance(value, Rate):
            cell.number_format = PERCENT_FORMAT
        elif isinstance(value, datetime):
            cell.number_format = TIME_FORMAT


class XlsxRows:
    """Rows for xlsxwriter (constant memory): each cell written by its type, never read as a formula or a URL."""

    def __init__(self, book: Any, sheet: Any) -> None:
        self.sheet = sheet
        self.time = book.add_format({"num_format": TIME_FORMAT})
        self.percent = book.add_format({"num_format": PERCENT_FORMAT})
        self.bold = book.add_format({"bold": True})

    def write(self, row: int, values: Iterable[Any], header: bool = False) -> None:
        for column, value in enumerate(values):
            if value is None or value == "":
                self.sheet.write_blank(row, column, None)
            elif isinstance(value, Rate):
                self.sheet.write_number(row, column, float(value), self.percent)
            elif isinstance(value, datetime):
                self.sheet.write_datetime(row, column, value, self.time)
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                self.sheet.write_number(row, column, value)
            else:
                self.sheet.write_string(row, column, str(inert(str(value))), self.bold if header else None)
