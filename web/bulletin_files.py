"""The bulletin as an XLSX file (openpyxl), from the same sheets the page shows: (title, header, rows) tuples
already in the reader's language, rates as numbers formatted as percentages. The PDF is the published 通报's layout (engine/assessment/publication.py)."""
from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from engine.core.cells import append_row, inert_row

Sheet = tuple[str, list[str], list[list[Any]]]


def xlsx(title: str, sheets: list[Sheet]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for name, header, rows in sheets:
        sheet = book.create_sheet(name[:31])
        sheet.append(inert_row([title]))
        sheet["A1"].font = Font(bold=True, size=13)
        sheet.append(inert_row(header))
        for cell in sheet[2]:
            cell.font = Font(bold=True)
        for row in rows:
            append_row(sheet, row)
        for column, label in enumerate(header, start=1):
            sheet.column_dimensions[sheet.cell(2, column).column_letter].width = max(10, min(40, 2 * len(str(label))))
        sheet.freeze_panes = "A3"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
