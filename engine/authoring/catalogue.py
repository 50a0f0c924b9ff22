"""The catalogue of matters (事件/事项) and components (部件): the shipped GB/T 47678.5-2026 catalogue, and a
city's own 立案/处置/结案 standard imported on top of it.

Categories are shared master data: loading or importing adds and updates, never drops. A filing condition
from a file is matched on its wording (立案条件) within its subclass, so importing the same file again
changes nothing; a new one gets the next free number as its code. Reading the file (headers, merged cells,
code schemes) is engine/authoring/catalogue_import.py's.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from engine.authoring.catalogue_import import (
    MAX_NAME,
    RowProblem,
    Sheet,
    StandardRow,
    read_sheets,
    read_standard,
)
from engine.core.models import Category, FilingCondition
from rules.limits import LIMIT_MAX, LIMIT_UNITS
from rules.packs import load_pack
from rules.problems import Problem

KINDS = ("matter", "component")
MAX_SOURCE = 120


def load_catalogue() -> dict[str, Any]:
    """The shipped catalogue (rules/packs/catalogue.json): classes first, then their subclasses."""
    return load_pack("catalogue")


def check_catalogue(document: dict[str, Any]) -> list[Problem]:
    """What would make a catalogue unloadable or misleading: repeated codes, missing parents, bad limits."""
    problems: list[Problem] = []
    seen: set[str] = set()
    for entry in document["categories"]:
        code = entry["code"]
        where = f"categories.{code}"
        if code in seen:
            problems.append(Problem(where, f"code {code} appears twice", f"代码 {code} 重复"))
        if entry.get("parent") and entry["parent"] not in seen:
            problems.append(Problem(where, f"parent {entry['parent']} is not listed before {code}",
                                    f"上级 {entry['parent']} 未在 {code} 之前列出"))
        if entry.get("kind", "matter") not in KINDS or not entry.get("source"):
            problems.append(Problem(where, "kind must be matter or component, and a source is needed",
                                    "类型须为事件或部件，并注明来源"))
        seen.add(code)
        conditions = entry.get("conditions", [])
        codes = [c["code"] for c in conditions]
        if len(set(codes)) != len(codes) or (conditions and entry.get("default_condition") not in codes):
            problems.append(Problem(where, "condition codes must be unique and include the default",
                                    "立案条件代码须唯一且包含默认条件"))
        for condition in conditions:
            value, unit = condition["limit"]["value"], condition["limit"]["unit"]
            if unit not in LIMIT_UNITS or not 0 < value <= LIMIT_MAX.get(unit, 0):
                problems.append(Problem(f"{where}.{condition['code']}", f"bad limit {value} {unit}",
                                        f"时限 {value} {unit} 无效"))
    return problems


def merge_categories(session: Session, specs: list[dict[str, Any]]) -> dict[str, Category]:
    """Add the categories and filing conditions that are missing; what exists is left as it is."""
    by_code = {c.code: c for c in session.scalars(select(Category).options(selectinload(Category.conditions)))}
    for spec in specs:
        category = by_code.get(spec["code"])
        if category is None:
            category = Category(code=spec["code"], name_zh=spec["zh"], name_en=spec["en"],
                                parent=by_code.get(spec["parent"]) if spec.get("parent") else None,
                                kind=spec.get("kind", "matter"), source=spec.get("source"),
                                standard_ref=spec.get("standard_ref"), conditions=[])
            session.add(category)
            by_code[category.code] = category
        if category.default_condition is None and spec.get("default_condition"):
            category.default_condition = spec["default_condition"]
        known = {c.code for c in category.conditions}
        category.conditions += [
            FilingCondition(code=c["code"], name_zh=c["zh"], name_en=c["en"], closing_zh=c.get("closing_zh", ""),
                            closing_en=c.get("closing_en", ""), limit_value=c["limit"]["value"],
                            limit_unit=c["limit"]["unit"], source=c.get("source"))
            for c in spec.get("conditions", []) if c["code"] not in known]
    session.flush()
    return by_code


@dataclass
class CatalogueImport:
    """What an import did, per category and per filing condition, and every refused row with its reason."""

    source: str
    sheets: list[str] = field(default_factory=list)
    categories_created: int = 0
    categories_updated: int = 0
    categories_unchanged: int = 0
    conditions_created: int = 0
    conditions_updated: int = 0
    conditions_unchanged: int = 0
    mapped: int = 0  # rows whose older 2+2 code was mapped onto the national scheme
    problems: list[RowProblem] = field(default_factory=list)
    created_codes: set[str] = field(default_factory=set)

    @property
    def bad_rows(self) -> list[tuple[str, int]]:
        return sorted({(p.sheet, p.row) for p in self.problems})


def import_catalogue(session: Session, table_or_path: Path | list[Sheet], source: str | None = None) -> CatalogueImport:
    """Store every good row of a city's standard; flushes, never commits (the caller owns the transaction).

    `source` names the entries' origin (the uploaded file's name); by default the path's name. A file that
    cannot be read, or has no header row, raises InputError and writes nothing.
    """
    if isinstance(table_or_path, Path):
        sheets = read_sheets(table_or_path)
        source = source or table_or_path.name
    else:
        sheets = table_or_path
    standard = read_standard(sheets)
    report = CatalogueImport(source=(source or "import")[:MAX_SOURCE], sheets=standard.sheets,
                             problems=standard.problems)
    categories = {c.code: c for c in session.scalars(select(Category).options(selectinload(Category.conditions)))}
    national = {e["code"]: e for e in load_catalogue()["categories"] if "parent" not in e}
    touched: dict[str, bool] = {}  # code → changed
    for row in standard.rows:
        parent = _class(session, categories, national, row, report, touched)
        category, changed = _subclass(session, categories, parent, row, report)
        touched[category.code] = touched.get(category.code, False) or changed
        touched[category.code] = _condition(category, row, report) or touched[category.code]
        report.mapped += row.standard_ref is not None
    for code, changed in touched.items():
        if code in report.created_codes:
            continue
        if changed:
            report.categories_updated += 1
        else:
            report.categories_unchanged += 1
    report.categories_created = len(report.created_codes)
    session.flush()
    return report


def _class(session: Session, categories: dict[str, Category], national: dict[str, dict[str, Any]],
           row: StandardRow, report: CatalogueImport, touched: dict[str, bool]) -> Category:
    """The subclass's class, created from the shipped catalogue's name (or the file's) when missing."""
    found = categories.get(row.class_code)
    if found is not None:
        return found
    spec = national.get(row.class_code)
    zh = spec["zh"] if spec else (row.class_name or row.class_code)[:MAX_NAME]
    category = Category(code=row.class_code, name_zh=zh, name_en=spec["en"] if spec else zh, kind=row.kind,
                        source=spec["source"] if spec else report.source, conditions=[])
    session.add(category)
    categories[category.code] = category
    report.created_codes.add(category.code)
    touched[category.code] = True
    return category


def _subclass(session: Session, categories: dict[str, Category], parent: Category, row: StandardRow,
              report: CatalogueImport) -> tuple[Category, bool]:
    """The row's category: created under its class, or the existing one with the file's older code noted."""
    category = categories.get(row.code)
    if category is None:
        category = Category(code=row.code, name_zh=row.name or row.code, name_en=row.name or row.code,
                            parent=parent, kind=row.kind, source=report.source, standard_ref=row.standard_ref,
                            conditions=[])
        session.add(category)
        categories[category.code] = category
        report.created_codes.add(category.code)
        return category, True
    if row.standard_ref and category.standard_ref != row.standard_ref:
        category.standard_ref = row.standard_ref
        return category, True
    return category, False


def _condition(category: Category, row: StandardRow, report: CatalogueImport) -> bool:
    """Match the row's filing condition on its wording; create it or bring its limit, closing and handler in line."""
    value, unit = row.limit
    wanted: dict[str, Any] = {"limit_value": value, "limit_unit": unit}
    if row.closing:  # an empty cell leaves what the catalogue says
        wanted["closing_zh"] = row.closing
    if row.handler:
        wanted["handler"] = row.handler
    condition = next((c for c in category.conditions if c.name_zh == row.condition), None)
    if condition is None:
        numbers = [int(c.code) for c in category.conditions if c.code.isdecimal()]
        condition = FilingCondition(code=str(max(numbers, default=0) + 1), name_zh=row.condition,
                                    name_en=row.condition, closing_zh="", closing_en="", source=report.source)
        for key, v in wanted.items():
            setattr(condition, key, v)
        category.conditions.append(condition)
        if category.default_condition is None:
            category.default_condition = condition.code
        report.conditions_created += 1
        return True
    if any(getattr(condition, k) != v for k, v in wanted.items()):
        for key, v in wanted.items():
            setattr(condition, key, v)
        condition.source = report.source
        report.conditions_updated += 1
        return True
    report.conditions_unchanged += 1
    return False
