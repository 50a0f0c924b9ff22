"""A written duty list (职责清单) as rows: the seed documents write one duty as a sentence naming several matters,
and routing needs one row per matter, so the sentence is kept as a row of its own and each matter follows it.

A duty is a mapping: `zh`, `en` (the text), optional `role` (lead | cooperate, for all its matters) and `area`
(grid codes), and `matters`: a list of {category, zh, en, role, area}, each field but `category` optional
(a single `category` key on the duty is one matter). A duty naming no matter routes nothing (role None).
"""
from __future__ import annotations

from typing import Any

from engine.cases.routing import ROLES
from engine.core.models import Category, DutyItem
from rules.problems import Problem


def _matters(duty: dict[str, Any]) -> list[dict[str, Any]]:
    if duty.get("matters"):
        return list(duty["matters"])
    return [{"category": duty["category"]}] if duty.get("category") else []


def _row(position: int, category: Category | None, zh: str, en: str, role: str | None,
         area: list[str] | None) -> DutyItem:
    return DutyItem(position=position, category=category, text_zh=zh, text_en=en,
                    role=role if category is not None else None, area=area if category is not None else None)


def duty_items(duties: list[dict[str, Any]], categories: dict[str, Category]) -> tuple[list[DutyItem], list[Problem]]:
    """Rows for a unit's duty list, numbered in order; a matter whose code the catalogue lacks, or whose role is
    unknown, is left out and named (the duty's text stays), so one bad code never stops a whole list."""
    rows: list[DutyItem] = []
    problems: list[Problem] = []
    for number, duty in enumerate(duties, start=1):
        found = []
        named = f"{number} ({duty['zh'][:14]}…)"
        for matter in _matters(duty):
            code, role = matter["category"], matter.get("role", duty.get("role"))
            if code not in categories:
                problems.append(Problem(f"duties.{number}.category",
                                        f"duty {named} names category {code}, which is not in the catalogue: "
                                        f"its routing row is left out",
                                        f"第{named}项职责的事项编码 {code} 不在分类目录中，未生成该派遣行"))
            elif role is not None and role not in ROLES:
                problems.append(Problem(f"duties.{number}.role", f"duty {named} has an unknown role {role!r}",
                                        f"第{named}项职责的派遣角色「{role}」无效"))
            else:
                found.append((matter, categories[code], role))
        area = duty.get("area")
        if len(found) == 1 and len(_matters(duty)) == 1:
            matter, category, role = found[0]
            rows.append(_row(len(rows), category, duty["zh"], duty.get("en", ""), role, matter.get("area", area)))
            continue
        rows.append(_row(len(rows), None, duty["zh"], duty.get("en", ""), None, None))
        for matter, category, role in found:
            rows.append(_row(len(rows), category, matter.get("zh") or category.name_zh,
                             matter.get("en") or category.name_en, role, matter.get("area", area)))
    return rows, problems
