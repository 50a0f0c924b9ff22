"""The State Council's annual holiday notice (国务院办公厅关于某年部分节假日安排的通知), entered by an administrator:
a year's holidays and make-up working days, read from a CSV or XLSX file, replace that year's calendar at once;
and the first day a campaign would count working time wrongly for want of such a notice.

`chinese-calendar` carries data up to 2026; later years come only from here. A file with any bad row writes
nothing: the calendar of a year is either the notice's or untouched. The caller commits.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import delete, extract, select
from sqlalchemy.orm import Session

from engine.core import clock
from engine.core.models import CalendarYear, Holiday
from engine.core.tables import Table
from rules.problems import InputError, Problem

#: Header -> field; Chinese as the notice's tables write them, English for scripts.
COLUMNS: dict[str, str] = {"日期": "day", "开始日期": "day", "date": "day", "start": "day",
                           "结束日期": "until", "end": "until", "类型": "kind", "kind": "kind",
                           "名称": "name", "name": "name"}
KINDS: dict[str, str] = {"放假": "holiday", "休": "holiday", "假日": "holiday", "holiday": "holiday",
                         "上班": "workday", "调休上班": "workday", "补班": "workday", "workday": "workday"}
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日")
#: How far ahead the administrators are warned of a year without a notice.
WARN_DAYS = 60
MAX_SPAN_DAYS = 15  # the longest holiday of a notice (春节, 国庆) is 8–9 days
TEMPLATE = "日期,结束日期,类型,名称\n2027-01-01,,放假,元旦\n2027-02-06,2027-02-13,放假,春节\n2027-02-14,,上班,春节调休\n"


@dataclass(frozen=True)
class NoticeImport:
    year: int
    holidays: int
    workdays: int


def _date(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value or "").strip()
    for pattern in DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def import_notice(session: Session, year: int, table: Table) -> NoticeImport:
    """Replace `year`'s holidays and make-up days with the file's and mark the year known; every bad row is named
    (row numbers as in the file) and then nothing is written."""
    fields = {i: COLUMNS.get(h.strip().lower() if h.isascii() else h.strip()) for i, h in enumerate(table.headers)}
    problems: list[Problem] = []
    if not 2000 <= year <= 2100:
        problems.append(Problem("year", "a year between 2000 and 2100", "年份须在 2000 至 2100 之间"))
    if not {"day", "kind"} <= set(fields.values()):
        raise InputError(problems + [Problem("file", "the file needs the columns 日期 (or date) and 类型 (or kind)",
                                             "文件须有「日期」和「类型」两列")])
    days: dict[date, tuple[str, str]] = {}
    for number, row in enumerate(table.rows, start=2):
        cells = {fields[i]: value for i, value in enumerate(row) if fields.get(i)}
        start, end = _date(cells.get("day")), _date(cells.get("until")) if cells.get("until") else None
        kind = KINDS.get(str(cells.get("kind") or "").strip().lower())
        bad = []
        if start is None or (cells.get("until") and end is None):
            bad.append(Problem("file", f"row {number}: a date written 2027-01-01, 2027/1/1 or 2027年1月1日",
                               f"第 {number} 行：日期须写作 2027-01-01、2027/1/1 或 2027年1月1日"))
        elif start.year != year or (end is not None and (end.year != year or not 0 <= (end - start).days
                                                         <= MAX_SPAN_DAYS)):
            bad.append(Problem("file", f"row {number}: dates of {year} only, an end on or after the start and at "
                                      f"most {MAX_SPAN_DAYS} days later",
                               f"第 {number} 行：只能是 {year} 年的日期，结束日期不早于开始日期且不超过 {MAX_SPAN_DAYS} 天"))
        if kind is None:
            bad.append(Problem("file", f"row {number}: 放假 (holiday) or 上班 (make-up working day)",
                               f"第 {number} 行：类型须为「放假」或「上班」"))
        problems += bad
        if bad:
            continue
        name = str(cells.get("name") or "").strip()[:64].replace("\x00", "")
        for offset in range(((end or start) - start).days + 1):
            days[start + timedelta(days=offset)] = (kind, name)
    if not problems and not days:
        problems.append(Problem("file", "the file lists no day", "文件中没有任何日期"))
    if problems:
        raise InputError(problems)
    session.execute(delete(Holiday).where(extract("year", Holiday.day) == year))
    session.add_all(Holiday(day=day, kind=kind, name=name, source="notice") for day, (kind, name) in sorted(days.items()))
    known = session.get(CalendarYear, year)
    if known is None:
        session.add(CalendarYear(year=year, source="notice", recorded_at=clock.now()))
    else:
        known.source, known.recorded_at = "notice", clock.now()
    session.flush()
    kinds = [kind for kind, _name in days.values()]
    return NoticeImport(year, kinds.count("holiday"), kinds.count("workday"))


def first_uncounted_day(session: Session, today: date, within_days: int = WARN_DAYS) -> date | None:
    """The first day from `today` to `within_days` ahead in a year without holiday data: from then on working time
    counts Monday to Friday, which is wrong around holidays. None when every such day is covered."""
    covered = set(session.scalars(select(CalendarYear.year)))
    last = today + timedelta(days=within_days)
    for year in range(today.year, last.year + 1):
        if year not in covered:
            return max(today, date(year, 1, 1))
    return None
