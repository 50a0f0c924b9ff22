"""Reading a city's 立案/处置/结案 standard (XLSX or CSV) as its officials keep it: title rows above the header,
class and subclass cells merged down over their rows, codes stored as numbers, limits written as 2小时 or
1紧急工作日. Every data row becomes one filing condition of a subclass, or a bad row with its reasons.

Codes, as the file may write them (the class column disambiguates a bare number):
- a national GB/T 47678.5 code, 2-digit class + 3-digit subclass: 6029 or "06029" → 06029;
- an older 2+2 code (GB/T 30428.2 and local standards): 101, "0101", or the subclass part alone (1 under class
  1) → 0101. It is kept as the category's `standard_ref` and mapped onto the national scheme by its class: a
  class named like a national class (公用设施 → 01, 道路交通设施 → 02, 街面秩序 → 09 …), or, without a class
  name, by number (components keep theirs; matters' old classes 01–04 are the new 06–09), with the subclass
  number kept (0101 → 01001 for a component, 0110 → 06010 for a matter). An old class with no national
  counterpart (突发事件, 扩展 …) stays local: L + the old code for a matter (L0604), LC + it for a component;
- a code with letters (L0001) is taken as written.
A sheet or title naming 部件 holds components, 事件/事项 matters; 5-digit codes carry their kind in their class.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from engine.core.tables import MAX_FILE_BYTES, csv_text
from rules.limit_text import parse_limit
from rules.problems import InputError, Problem

COLUMNS: dict[str, tuple[str, ...]] = {
    "class_code": ("大类代码", "大类编码", "大类编号"),
    "class_name": ("大类名称", "大类"),
    "code": ("小类代码", "小类编码", "小类编号", "事项代码", "部件代码", "代码", "编码"),
    "name": ("小类名称", "小类", "事项名称", "部件名称", "名称"),
    "handler": ("处置单位", "责任主体", "责任单位", "处置部门", "承办单位"),
    "condition": ("立案条件", "立案标准"),
    "closing": ("结案条件", "结案标准"),
    "limit": ("处置时限", "时限", "处理时限", "办理时限"),
}
REQUIRED = ("code", "name", "condition", "limit")
HEADER_SEARCH_ROWS = 30
MAX_CONDITION, MAX_HANDLER, MAX_NAME = 200, 200, 120
NATIONAL_KIND = {f"{n:02d}": ("component" if n <= 5 else "matter") for n in range(1, 11)}
#: Class names as standards write them → the national class, per kind.
CLASS_NAMES: dict[str, dict[str, str]] = {
    "component": {"市政公用设施": "01", "公用设施": "01", "交通设施": "02", "道路交通设施": "02", "道路交通": "02",
                  "市容环卫设施": "03", "市容环境设施": "03", "市容环境": "03", "市容环卫": "03",
                  "园林绿化设施": "04", "园林绿化": "04", "其他": "05", "其他设施": "05", "其他管理部件": "05"},
    "matter": {"市容环境类": "06", "市容环境": "06", "宣传广告类": "07", "宣传广告": "07", "施工管理类": "08",
               "施工管理": "08", "街面秩序类": "09", "街面秩序": "09", "其他事项类": "10", "其他事项": "10"},
}
#: An old class number → the national class, used only when the file names no class.
OLD_CLASSES = {"component": {"01": "01", "02": "02", "03": "03", "04": "04", "05": "05"},
               "matter": {"01": "06", "02": "07", "03": "08", "04": "09"}}
LOCAL_CLASS = "LX"  # the shipped catalogue's class of local matters
LIMIT_EXAMPLES = "2小时, 4工作时, 2紧急工作时, 1紧急工作日, 3天, 2工作日"
_LOCAL_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,15}$")
#: A category code as the catalogue keeps it: a class (06), an old (0601) or national (06029) subclass, or a local
#: code that starts with a letter (LX, L0001).
CATEGORY_CODE = re.compile(r"^([0-9]{2}|[0-9]{4}|[0-9]{5})$|" + _LOCAL_CODE.pattern)
_BRACKETS = re.compile(r"[（(][^）)]*[）)]")


@dataclass
class Sheet:
    """One worksheet (or the CSV) as rows of cell values, merged ranges already filled, with file row numbers."""

    name: str
    rows: list[tuple[int, list[Any]]]


@dataclass(frozen=True)
class StandardRow:
    """A good row: one filing condition of a subclass, with its codes already in our scheme."""

    sheet: str
    row: int
    kind: str
    class_code: str
    class_name: str
    code: str
    standard_ref: str | None
    name: str
    condition: str
    closing: str
    limit: tuple[float, str]
    handler: str | None


@dataclass(frozen=True)
class RowProblem:
    sheet: str
    row: int
    problem: Problem


@dataclass
class StandardFile:
    rows: list[StandardRow] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    sheets: list[str] = field(default_factory=list)


def read_sheets(path: Path) -> list[Sheet]:
    """Every sheet of an XLSX (merged cells filled from their top-left cell) or the one table of a CSV."""
    raw = path.read_bytes()
    if len(raw) > MAX_FILE_BYTES:
        raise InputError([Problem("file", f"the file is larger than {MAX_FILE_BYTES // 2**20} MB",
                                  f"文件超过 {MAX_FILE_BYTES // 2**20} MB")])
    if path.suffix.lower() == ".xlsx":
        return _xlsx_sheets(raw)
    return [Sheet(path.stem, [(n, row) for n, row in enumerate(csv.reader(io.StringIO(csv_text(raw))), start=1)])]


def _xlsx_sheets(raw: bytes) -> list[Sheet]:
    """Not read-only: only a full workbook knows its merged ranges."""
    try:
        book = load_workbook(io.BytesIO(raw), data_only=True)
    except Exception as err:
        raise InputError([Problem("file", f"not a readable XLSX workbook ({type(err).__name__})",
                                  f"无法读取的 XLSX 工作簿（{type(err).__name__}）")]) from err
    sheets = []
    for sheet in book.worksheets:
        grid = [[cell.value for cell in row] for row in sheet.iter_rows()]
        for merged in sheet.merged_cells.ranges:
            top = grid[merged.min_row - 1][merged.min_col - 1] if merged.min_row <= len(grid) else None
            for r in range(merged.min_row, min(merged.max_row, len(grid)) + 1):
                line = grid[r - 1]
                line.extend([None] * (merged.max_col - len(line)))
                for c in range(merged.min_col, merged.max_col + 1):
                    line[c - 1] = top
        sheets.append(Sheet(sheet.title, [(n, row) for n, row in enumerate(grid, start=1)]))
    book.close()
    return sheets


def text_of(value: Any) -> str:
    """A cell as text; Excel's numbers lose their '.0' (codes and staff numbers are stored as numbers)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return re.sub(r"\s+", " ", str(value)).strip()


def _header_key(cell: Any) -> str:
    return _BRACKETS.sub("", re.sub(r"\s+", "", text_of(cell)))


def find_header(sheet: Sheet) -> tuple[int, dict[str, int]] | None:
    """The first row (among the first 30) naming every required column, and where each known column is."""
    for index, (_, row) in enumerate(sheet.rows[:HEADER_SEARCH_ROWS]):
        keys = [_header_key(c) for c in row]
        found: dict[str, int] = {}
        for target, names in COLUMNS.items():
            at = next((keys.index(n) for n in names if n in keys), None)
            if at is not None and at not in found.values():
                found[target] = at
        if all(t in found for t in REQUIRED):
            return index, found
    return None


def _sheet_kind(sheet: Sheet, title_rows: list[list[Any]]) -> str | None:
    words = sheet.name + "".join(text_of(c) for row in title_rows for c in row)
    if "部件" in words:
        return "component"
    if "事件" in words or "事项" in words:
        return "matter"
    return None


def is_category_code(code: str | None) -> bool:
    """Whether a code is written as the catalogue writes one, so an admin cannot save `abc def!` beside 06029."""
    return bool(code) and CATEGORY_CODE.fullmatch(code) is not None


def class_code_of(value: str) -> str:
    return value.zfill(2) if value.isdecimal() and len(value) <= 2 else value


def code_of(raw: str, class_code: str | None) -> tuple[str, str] | Problem:
    """(scheme, code): 'national' 5 digits, 'old' 2+2 digits, or 'local' as written; a Problem when unreadable."""
    if _LOCAL_CODE.match(raw) and not raw.isdecimal():
        return "local", raw
    raw = re.sub(r"^(\d+)\.0+$", r"\1", raw)  # 6029.0, as some exports write a number
    if not raw.isdecimal() or len(raw) > 5 or int(raw) == 0:
        return Problem("code", f"unreadable subclass code {raw!r}", f"无法识别的小类代码「{raw}」")
    cc = class_code if class_code and class_code.isdecimal() else None
    n = int(raw)
    if raw.startswith("0") and len(raw) in (4, 5):
        scheme, code = ("national" if len(raw) == 5 else "old"), raw
    elif raw.startswith("0") and len(raw) in (2, 3) and cc:
        scheme, code = ("old" if len(raw) == 2 else "national"), cc + raw
    elif cc is None:
        if n >= 1000:
            scheme, code = "national", f"{n:05d}"
        elif n >= 100:
            scheme, code = "old", f"{n:04d}"
        else:
            return Problem("code", f"subclass code {raw} needs its class code (大类代码)",
                           f"小类代码 {raw} 需要同时给出大类代码")
    elif n >= 1000 and f"{n:05d}".startswith(cc):
        scheme, code = "national", f"{n:05d}"
    elif n >= 100 and f"{n:04d}".startswith(cc):
        scheme, code = "old", f"{n:04d}"
    elif n < 100:
        scheme, code = "old", cc + f"{n:02d}"
    elif n < 1000:
        scheme, code = "national", cc + f"{n:03d}"
    else:
        code, scheme = f"{n:05d}", "national"
    if cc is not None and not code.startswith(cc):
        return Problem("code", f"subclass code {code} is not in class {cc}", f"小类代码 {code} 不属于大类 {cc}")
    return scheme, code


def _mapped(scheme: str, code: str, kind: str | None, class_code: str,
            class_name: str) -> tuple[str, str, str, str | None]:
    """(kind, class code, code, standard_ref) in our scheme: see the module's docstring."""
    if scheme == "local":
        return kind or "matter", class_code or LOCAL_CLASS, code, None
    if scheme == "national":
        return NATIONAL_KIND.get(code[:2]) or kind or "matter", code[:2], code, None
    if kind is None:
        kind = "component" if class_name in CLASS_NAMES["component"] and class_name not in CLASS_NAMES["matter"] \
            else "matter"
    national = (CLASS_NAMES[kind].get(class_name) if class_name else OLD_CLASSES[kind].get(code[:2]))
    if national:
        return kind, national, f"{national}0{code[2:]}", code
    prefix = "LC" if kind == "component" else "L"
    return kind, prefix + code[:2], prefix + code, code


def read_standard(sheets: list[Sheet]) -> StandardFile:
    """Every sheet with a header row; a file where no sheet has one is refused whole."""
    result = StandardFile()
    for sheet in sheets:
        header = find_header(sheet)
        if header is None:
            continue
        result.sheets.append(sheet.name)
        index, columns = header
        kind = _sheet_kind(sheet, [row for _, row in sheet.rows[:index]])
        _read_rows(sheet, sheet.rows[index + 1:], columns, kind, result)
    if not result.sheets:
        wanted = "、".join(COLUMNS[t][0] for t in REQUIRED)
        raise InputError([Problem("file", f"no sheet has a header row with the columns {', '.join(COLUMNS[t][0] for t in REQUIRED)}",
                                  f"没有找到包含 {wanted} 列的表头行")])
    return result


def _read_rows(sheet: Sheet, rows: list[tuple[int, list[Any]]], columns: dict[str, int], kind: str | None,
               result: StandardFile) -> None:
    """Blank class or subclass cells continue the row above (a merged block exported without its merge)."""
    previous: dict[str, str] = {}
    seen: dict[tuple[str, str], int] = {}
    for number, raw in rows:
        cells = {t: text_of(raw[i]) if i < len(raw) else "" for t, i in columns.items()}
        if not any(cells.values()):
            continue
        if not cells.get("class_code") and not cells.get("class_name"):
            cells["class_code"], cells["class_name"] = previous.get("class_code", ""), previous.get("class_name", "")
        same_class = cells["class_code"] == previous.get("class_code", "")
        if not cells["code"] and not cells["name"] and same_class:
            for key in ("code", "name", "handler"):
                cells[key] = cells.get(key) or previous.get(key, "")
        previous = cells
        row, problems = _row(sheet.name, number, cells, kind)
        if row is not None:
            first = seen.setdefault((row.code, row.condition), number)
            if first != number:
                problems.append(Problem("condition", f"the same filing condition of {row.code} is in row {first}",
                                        f"{row.code} 的同一立案条件已在第 {first} 行出现"))
        if problems:
            result.problems += [RowProblem(sheet.name, number, p) for p in problems]
        elif row is not None:
            result.rows.append(row)


def _row(sheet: str, number: int, cells: dict[str, str], kind: str | None) -> tuple[StandardRow | None, list[Problem]]:
    problems: list[Problem] = []
    class_code = class_code_of(cells.get("class_code", ""))
    coded: tuple[str, str] | Problem | None = None
    if not cells["code"]:
        problems.append(Problem("code", "no subclass code (小类代码)", "缺少小类代码"))
    else:
        coded = code_of(cells["code"], class_code or None)
        if isinstance(coded, Problem):
            problems.append(coded)
    if not cells["condition"]:
        problems.append(Problem("condition", "no filing condition (立案条件)", "缺少立案条件"))
    elif len(cells["condition"]) > MAX_CONDITION:
        problems.append(Problem("condition", f"the filing condition is longer than {MAX_CONDITION} characters",
                                f"立案条件超过 {MAX_CONDITION} 个字"))
    limit = parse_limit(cells["limit"])
    if limit is None:
        shown = cells["limit"] or "(empty)"
        problems.append(Problem("limit", f"unreadable limit {shown!r}: write it as {LIMIT_EXAMPLES}",
                                f"无法识别的处置时限「{cells['limit'] or '空'}」，应写作 {LIMIT_EXAMPLES.replace(', ', '、')}"))
    if len(cells["name"]) > MAX_NAME:
        problems.append(Problem("name", f"the subclass name is longer than {MAX_NAME} characters",
                                f"小类名称超过 {MAX_NAME} 个字"))
    if len(cells.get("handler", "")) > MAX_HANDLER:
        problems.append(Problem("handler", f"the handling unit is longer than {MAX_HANDLER} characters",
                                f"处置单位超过 {MAX_HANDLER} 个字"))
    if problems or coded is None or isinstance(coded, Problem) or limit is None:
        return None, problems
    class_name = cells.get("class_name", "")
    row_kind, parent, code, ref = _mapped(*coded, kind, class_code, class_name)
    return StandardRow(sheet=sheet, row=number, kind=row_kind, class_code=parent, class_name=class_name, code=code,
                       standard_ref=ref, name=cells["name"], condition=cells["condition"],
                       closing=cells.get("closing", ""), limit=limit, handler=cells.get("handler") or None), []
