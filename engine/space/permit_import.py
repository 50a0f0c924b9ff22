"""Importing the permits register from CSV or XLSX: all rows or none, each bad row named with its reasons.

Rows are matched on the permit number, so importing the same file again changes nothing. A column the
import does not know is refused by name rather than ignored (a misspelt 结束时间 must not pass unseen), and
so is a value in a column with no header. Times are local to the campaign's zone, as the page shows them.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core import clock
from engine.core.models import FrontageHolder, Permit, Unit
from engine.core.tables import ImportReport, Table, cell_text, checked_columns
from engine.space.permits import KIND_ALIASES, PERMIT_INDEX, STATUS_ALIASES, PermitInput, check_permit
from rules.problems import Problem

COLUMNS: dict[str, tuple[str, ...]] = {
    "number": ("审批编号", "编号", "number"),
    "kind": ("种类", "审批种类", "kind"),
    "holder_name": ("持证人", "申请人", "holder"),
    "holder_contact": ("联系方式", "联系人", "contact"),
    "holder": ("门前三包地址", "frontage holder address"),
    "lat": ("纬度", "lat", "latitude"),
    "lon": ("经度", "lon", "longitude"),
    "radius_m": ("半径（米）", "半径", "radius_m", "radius"),
    "polygon": ("范围（GeoJSON）", "范围", "polygon"),
    "site_lat": ("消纳场所纬度", "site_lat"),
    "site_lon": ("消纳场所经度", "site_lon"),
    "site_radius_m": ("消纳场所半径（米）", "消纳场所半径", "site_radius_m"),
    "site_polygon": ("消纳场所范围（GeoJSON）", "消纳场所范围", "site_polygon"),
    "starts_at": ("开始时间", "starts_at"),
    "ends_at": ("结束时间", "ends_at"),
    "status": ("状态", "status"),
    "approved_by": ("审批单位", "approved_by"),
    "filed_on": ("备案日期", "filed_on"),
    "filing_reference": ("备案文号", "filing_reference"),
    "declared_by": ("申报单位", "declared_by"),
    "reviewed_by": ("审定单位", "reviewed_by"),
}
REQUIRED = ("number", "kind", "starts_at", "ends_at", "approved_by")
NUMBERS = ("lat", "lon", "radius_m", "site_lat", "site_lon", "site_radius_m")
TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y/%m/%d %H:%M", "%Y/%m/%d")


def template_headers() -> list[str]:
    return [hints[0] for hints in COLUMNS.values()]


def _columns(headers: list[str]) -> dict[str, int]:
    return checked_columns(headers, COLUMNS, REQUIRED)


def _local(value: Any, zone: ZoneInfo) -> datetime | None:
    if isinstance(value, datetime):
        return value.replace(tzinfo=zone) if value.tzinfo is None else value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=zone)
    text = cell_text(value)
    for fmt in TIME_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=zone)
        except ValueError:
            continue
    raise ValueError(text)


def _row(raw: list[Any], row: int, headers: list[str], columns: dict[str, int], zone: ZoneInfo, units: dict[str, Unit],
         holders: dict[str, FrontageHolder]) -> tuple[PermitInput, list[Problem]]:
    cell = {t: raw[i] if i < len(raw) else None for t, i in columns.items()}
    problems = []
    extra = [str(i + 1) for i in range(len(raw)) if raw[i] not in (None, "")
             and (i >= len(headers) or not headers[i].strip())]
    if extra:
        problems.append(Problem("row", f"values in columns without a header: {', '.join(extra)}",
                                f"无表头的列中有值：第 {'、'.join(extra)} 列", row))
    v = PermitInput(number=cell_text(cell.get("number")), holder_name=cell_text(cell.get("holder_name")),
                    holder_contact=cell_text(cell.get("holder_contact")), polygon=cell_text(cell.get("polygon")),
                    site_polygon=cell_text(cell.get("site_polygon")),
                    filing_reference=cell_text(cell.get("filing_reference")))
    kind = cell_text(cell.get("kind"))
    v.kind = KIND_ALIASES.get(kind, KIND_ALIASES.get(kind.lower(), kind))
    status = cell_text(cell.get("status")) or "valid"
    v.status = STATUS_ALIASES.get(status, STATUS_ALIASES.get(status.lower(), status))
    for name in NUMBERS:
        text = cell_text(cell.get(name))
        if text:
            try:
                setattr(v, name, float(text))
            except ValueError:
                problems.append(Problem(name, f"a number, not {text!r}", f"须为数字，而不是「{text}」", row))
    for name in ("starts_at", "ends_at"):
        if cell_text(cell.get(name)):
            try:
                setattr(v, name, _local(cell[name], zone))
            except ValueError:
                problems.append(Problem(name, "a local time such as 2026-10-01 08:00",
                                        "须为当地时间，例如 2026-10-01 08:00", row))
    if cell_text(cell.get("filed_on")):
        try:
            v.filed_on = _local(cell["filed_on"], zone).date()
        except ValueError:
            problems.append(Problem("filed_on", "a date such as 2026-09-25", "须为日期，例如 2026-09-25", row))
    for name in ("approved_by", "declared_by", "reviewed_by"):
        unit = cell_text(cell.get(name))
        setattr(v, name, units.get(unit))
        if unit and getattr(v, name) is None:
            problems.append(Problem(name, f"unknown unit {unit!r}", f"未知的单位「{unit}」", row))
    address = cell_text(cell.get("holder"))
    if address:
        v.holder = holders.get(address)
        if v.holder is None:
            problems.append(Problem("holder", f"no frontage holder at {address!r}", f"没有地址为「{address}」的门前三包责任单位",
                                    row))
    return v, problems


def import_permits(session: Session, table: Table, zone: ZoneInfo) -> ImportReport:
    """Store every row, or none when any row is bad (the report then names them all); flushes, never commits."""
    columns = _columns(table.headers)
    units = {u.code: u for u in session.scalars(select(Unit))}
    units |= {u.name_zh: u for u in units.values()}
    holders = {h.address: h for h in session.scalars(select(FrontageHolder))}
    existing = {p.number: p for p in session.scalars(select(Permit))}
    report = ImportReport()
    checked: list[tuple[PermitInput, dict[str, Any]]] = []
    seen: set[str] = set()
    for row, raw in enumerate(table.rows, start=2):
        v, problems = _row(raw, row, table.headers, columns, zone, units, holders)
        current = existing.get(v.number)
        values, found = check_permit(session, v, current.id if current is not None else None)
        named = {p.where for p in problems}
        problems += [Problem(p.where, p.en, p.zh, row) for p in found if p.where not in named]
        if v.number and v.number in seen:
            problems.append(Problem("number", f"permit {v.number} appears twice", f"审批编号 {v.number} 重复出现", row))
        seen.add(v.number)
        report.problems += problems
        checked.append((v, values))
    if report.problems:
        return report
    for v, values in checked:
        current = existing.get(v.number)
        if current is None:
            session.add(Permit(**values, updated_at=clock.now()))
            report.created += 1
        elif any(getattr(current, k) != value for k, value in values.items()):
            for key, value in values.items():
                setattr(current, key, value)
            current.updated_at = clock.now()
            report.updated += 1
        else:
            report.unchanged += 1
    session.flush()
    PERMIT_INDEX.clear()
    return report
