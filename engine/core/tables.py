"""Tabular files as people export them: CSV (UTF-8 or GB18030) or XLSX, read into headers and rows.

Event imports (engine/intake/imports.py), staff imports (engine/people/staff.py), the permits register and the
geography import (engine/space/) read them; the last two name their columns by any of a few aliases.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from datetime import date, datetime
from typing import Any

from openpyxl import load_workbook

from engine.core.cells import FORMULA_PREFIXES
from rules.problems import InputError, Problem

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_ROWS = 200_000


def csv_text(raw: bytes) -> str:
    """A CSV's text: UTF-8 (with or without BOM), else GB18030, as Chinese exports often are."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InputError([Problem("file", "the CSV is neither UTF-8 nor GB18030 text",
                              "CSV 文件既不是 UTF-8 也不是 GB18030 编码")])


@dataclass
class Table:
    headers: list[str]
    rows: list[list[Any]]


def read_table(path: Path) -> Table:
    """A CSV (UTF-8 or GB18030, as Chinese exports often are) or XLSX file as headers and rows."""
    raw = path.read_bytes()
    if path.suffix.lower() == ".xlsx":

        try:
            book = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
        except Exception as err:
            raise InputError([Problem("file", f"not a readable XLSX workbook ({type(err).__name__})",
                                           f"无法读取的 XLSX 工作簿（{type(err).__name__}）")]) from err
        rows = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
        book.close()
    else:
        rows = list(csv.reader(io.StringIO(csv_text(raw))))
    rows = [r for r in rows if any(c not in (None, "") for c in r)]
    if not rows:
        raise InputError([Problem("file", "the file has no rows", "文件没有数据行")])
    if len(rows) - 1 > MAX_ROWS:
        raise InputError([Problem("file", f"at most {MAX_ROWS} rows per file", f"每个文件最多 {MAX_ROWS} 行")])
    headers = [str(h).strip() if h is not None else "" for h in rows[0]]
    return Table(headers, rows[1:])


#: Per target field, the headers it may be given under (the first is the template's); matched ignoring case.
Columns = dict[str, tuple[str, ...]]
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日")


def cell_text(value: Any) -> str:
    """A cell as text: empty for nothing, 12 rather than 12.0 for a whole number a spreadsheet made a float, and
    a formula-like text our exports kept inert ('=…, engine.core.cells) as it was written."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text[1:] if text[:1] == "'" and text[1:2] in FORMULA_PREFIXES else text


def cell_date(value: Any) -> date:
    """A cell as a date (a spreadsheet's date, or text such as 2026-09-25 or 2026年9月25日); ValueError otherwise."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = cell_text(value)
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(text)


def match_columns(headers: list[str], columns: Columns) -> tuple[dict[str, int], list[str]]:
    """Each known target's column index (the first header naming it wins), and the headers nobody knows; blank
    headers are neither (a value under one is named per row)."""
    known = {hint.lower(): target for target, hints in columns.items() for hint in hints}
    found: dict[str, int] = {}
    unknown = []
    for i, header in enumerate(headers):
        if not header.strip():
            continue
        target = known.get(header.strip().lower())
        if target is None:
            unknown.append(header.strip())
        elif target not in found:
            found[target] = i
    return found, unknown


def checked_columns(headers: list[str], columns: Columns, required: tuple[str, ...]) -> dict[str, int]:
    """The target columns of a table's header row, or InputError naming every unknown header and every missing
    required column: an import refuses a misspelt column by name rather than ignoring it."""
    found, unknown = match_columns(headers, columns)
    names = [hints[0] for hints in columns.values()]
    problems = []
    if unknown:
        problems.append(Problem("file", f"unknown columns: {', '.join(unknown)} (known: {', '.join(names)})",
                                f"未知的列：{'、'.join(unknown)}（可用的列：{'、'.join(names)}）"))
    missing = [t for t in required if t not in found]
    if missing:
        problems.append(Problem("file", f"no column for {', '.join(columns[t][0] for t in missing)}",
                                f"缺少列：{'、'.join(columns[t][0] for t in missing)}"))
    if problems:
        raise InputError(problems)
    return found


@dataclass
class ImportReport:
    """What a table import did: counts, or (nothing stored) every refused row with its reasons (row = file line)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def bad_rows(self) -> list[int]:
        return sorted({p.row for p in self.problems if p.row is not None})
