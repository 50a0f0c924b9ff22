"""The bulletin as files: XLSX (openpyxl) and PDF (fpdf2 with an embedded Chinese font).

Both take the same sheets the page shows: (title, header, rows) tuples already in the reader's language."""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from engine.core.config import load_settings
from openpyxl import Workbook
from openpyxl.styles import Font
from fpdf import FPDF
from fpdf.fonts import FontFace

Sheet = tuple[str, list[str], list[list[Any]]]

FONT_CANDIDATES = ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
                   "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")


class FontMissing(RuntimeError):
    """No Chinese font for the PDF: say where we looked, in both languages."""

    def __init__(self, looked: list[str]):
        where = ", ".join(looked)
        super().__init__(f"找不到用于 PDF 的中文字体（已查找：{where}）。请安装 fonts-wqy-zenhei，或将环境变量 "
                         f"CIVICRULES_PDF_FONT 设为 TTF/TTC 字体文件路径。 / No Chinese font for the PDF "
                         f"(looked in: {where}). Install fonts-wqy-zenhei or set CIVICRULES_PDF_FONT to a "
                         f"TTF/TTC font file.")


def find_font() -> Path:
    """CIVICRULES_PDF_FONT if set, else the fonts Debian's fonts-wqy-zenhei / -microhei install."""
    configured = load_settings().pdf_font
    looked = [configured] if configured else list(FONT_CANDIDATES)
    for candidate in looked:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise FontMissing(looked)


def xlsx(title: str, sheets: list[Sheet]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for name, header, rows in sheets:
        sheet = book.create_sheet(name[:31])
        sheet.append([title])
        sheet["A1"].font = Font(bold=True, size=13)
        sheet.append(header)
        for cell in sheet[2]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append(row)
        for column, label in enumerate(header, start=1):
            sheet.column_dimensions[sheet.cell(2, column).column_letter].width = max(10, min(40, 2 * len(str(label))))
        sheet.freeze_panes = "A3"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    return "—" if value is None else str(value)


def pdf(title: str, subtitle: str, sheets: list[Sheet]) -> bytes:
    """A landscape A4 document, one table per sheet, with the Chinese font embedded (subset)."""
    font = find_font()
    doc = FPDF(orientation="L", format="A4")
    doc.set_auto_page_break(True, margin=12)
    doc.add_font("cjk", "", str(font), collection_font_number=0)
    doc.add_page()
    doc.set_font("cjk", size=15)
    doc.multi_cell(0, 9, title, new_x="LMARGIN", new_y="NEXT")
    doc.set_font("cjk", size=9)
    doc.multi_cell(0, 6, subtitle, new_x="LMARGIN", new_y="NEXT")
    for name, header, rows in sheets:
        doc.ln(3)
        doc.set_font("cjk", size=12)
        doc.cell(0, 8, name, new_x="LMARGIN", new_y="NEXT")
        doc.set_font("cjk", size=7)
        with doc.table(text_align="LEFT", line_height=4.5,
                       headings_style=FontFace(fill_color=(225, 230, 238))) as table:  # the font has no bold
            table.row([_text(h) for h in header])
            for row in rows:
                table.row([_text(v) for v in row])
    return bytes(doc.output())
