"""Importing checklists (测评内容) from CSV or XLSX, one row per point type and item: all rows or none, each bad
row named with its reasons. The evaluation's items exist only as documents (实地考察操作手册), so a bureau types
its own manual into a sheet; rows are matched on (point type, item code), so the same file twice changes nothing.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core.models import ChecklistItem, InspectionPointType
from engine.core.tables import ImportReport, Table, cell_text, checked_columns
from engine.readiness.checklists import check_item
from engine.space.points import TYPE_NAMES
from rules.problems import InputError, Problem

COLUMNS: dict[str, tuple[str, ...]] = {
    "type": ("点位类型", "考察场所", "type"),
    "code": ("编号", "测评内容编号", "code"),
    "text": ("测评内容", "text"),
    "method": ("测评方法", "method"),
    "max_score": ("分值", "满分", "max_score"),
    "frequency": ("频次", "frequency"),
    "category_code": ("问题类别", "category_code", "category"),
    "example": ("示例", "example"),
    "source": ("来源", "source"),
}
REQUIRED = ("type", "code", "text", "max_score")
YES = {"是", "示例", "yes", "y", "true", "1"}


def template_headers() -> list[str]:
    return [hints[0] for hints in COLUMNS.values()]


def _columns(headers: list[str]) -> dict[str, int]:
    return checked_columns(headers, COLUMNS, REQUIRED)


def _type_code(text: str) -> str:
    """A point type by its code or its Chinese or English name, as a manual writes it."""
    by_name = {name.lower(): code for code, names in TYPE_NAMES.items() for name in names}
    return by_name.get(text.lower(), text)


def import_checklists(session: Session, table: Table) -> ImportReport:
    """Store every row, or none when any row is bad (the report then names them all); flushes, never commits."""
    columns = _columns(table.headers)
    types = {t.id: t.code for t in session.scalars(select(InspectionPointType))}
    existing = {(types[i.type_id], i.code): i for i in session.scalars(select(ChecklistItem))}
    report = ImportReport()
    checked: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for row, raw in enumerate(table.rows, start=2):
        cell = {t: raw[i] if i < len(raw) else None for t, i in columns.items()}
        data = {name: cell_text(value) for name, value in cell.items()}
        data["type"] = _type_code(data.get("type", ""))
        data["example"] = data.get("example", "").lower() in YES
        data["position"] = row
        try:
            values = check_item(session, data, row)
        except InputError as err:
            report.problems += err.problems
            continue
        key = (values["type"].code, values["code"])
        if key in seen:
            report.problems.append(Problem("code", f"item {key[1]} of {key[0]} appears twice",
                                           f"点位类型 {key[0]} 的测评内容 {key[1]} 重复出现", row))
        seen.add(key)
        checked.append(values)
    if report.problems:
        return report
    for values in checked:
        current = existing.get((values["type"].code, values["code"]))
        if current is None:
            session.add(ChecklistItem(**values))
            report.created += 1
        elif any(getattr(current, k) != v for k, v in values.items() if k != "position"):
            for key, value in values.items():
                setattr(current, key, value)
            report.updated += 1
        else:
            report.unchanged += 1
    session.flush()
    return report
