"""A point type's checklist (测评内容): item, most it scores, how to check, how often. The evaluation's items exist
only as documents, so they are entered or imported; the demo's few are marked 示例 with their source."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core.models import Category, ChecklistItem, FilingCondition, InspectionPointType
from rules.problems import InputError, Problem

FREQUENCIES: dict[str, tuple[str, str]] = {"daily": ("每日", "daily"), "weekly": ("每周", "weekly"),
                                           "monthly": ("每月", "monthly"), "round": ("每轮测评", "each round")}
MAX_SCORE = 100.0


def items_for(session: Session, type_id: int, daily_only: bool = False) -> list[ChecklistItem]:
    """A type's items in their order; the daily check runs only the daily ones."""
    query = select(ChecklistItem).where(ChecklistItem.type_id == type_id)
    if daily_only:
        query = query.where(ChecklistItem.frequency == "daily")
    return list(session.scalars(query.order_by(ChecklistItem.position, ChecklistItem.id)))


def item_score(item: ChecklistItem, given: Any, default: float, where: str, problems: list[Problem]) -> float:
    """The score an answer gives an item: the one typed, else `default`; a score outside 0..maximum is a problem
    named at the item (the daily self-check and the mock evaluation score the same way)."""
    if given in (None, ""):
        return default
    try:
        score = float(given)
    except (TypeError, ValueError):
        score = -1.0
    if not 0 <= score <= item.max_score:
        problems.append(Problem(where, f"a score from 0 to the item's maximum {item.max_score:g}",
                                f"得分须在 0 至本项满分 {item.max_score:g} 之间"))
    return score


def check_item(session: Session, data: dict[str, Any], row: int | None = None) -> dict[str, Any]:
    """An item's columns from a form or an import row, or InputError naming each field (and the row)."""
    problems: list[Problem] = []

    def refuse(field: str, en: str, zh: str) -> None:
        problems.append(Problem(field, en, zh, row))

    code_of_type = str(data.get("type") or "").strip()
    kind = session.scalar(select(InspectionPointType).where(InspectionPointType.code == code_of_type))
    if kind is None and not code_of_type:
        refuse("type", "Required: choose the point type", "必填：请选择点位类型")
    elif kind is None:
        refuse("type", f"no point type {code_of_type!r}", f"没有这个点位类型：{code_of_type}")
    code = str(data.get("code") or "").strip()
    if not code or len(code) > 32:
        refuse("code", "required: 1–32 characters", "必填：1–32 个字符")
    text = str(data.get("text") or "").strip()
    if not text or len(text) > 2000:
        refuse("text", "required: what is checked, at most 2000 characters", "必填：测评内容，不超过 2000 个字符")
    try:
        max_score = float(data.get("max_score"))
    except (TypeError, ValueError):
        max_score = -1.0
    if not 0 < max_score <= MAX_SCORE:
        refuse("max_score", f"a number above 0, at most {MAX_SCORE:.0f}", f"须为大于 0、不超过 {MAX_SCORE:.0f} 的数")
    frequency = str(data.get("frequency") or "daily").strip()
    by_name = {names[0]: key for key, names in FREQUENCIES.items()}
    frequency = by_name.get(frequency, frequency)
    if frequency not in FREQUENCIES:
        refuse("frequency", f"one of {', '.join(FREQUENCIES)}", f"须为{'、'.join(n[0] for n in FREQUENCIES.values())}之一")
    category = str(data.get("category_code") or "").strip() or None
    if category is not None and session.scalar(select(Category.id).where(Category.code == category)) is None:
        refuse("category_code", f"no category {category!r}", f"没有这个问题类别：{category}")
    if problems:
        raise InputError(problems)
    return {"type": kind, "code": code, "text": text, "method": str(data.get("method") or "").strip() or None,
            "max_score": max_score, "frequency": frequency, "category_code": category,
            "position": int(data.get("position") or 0), "example": bool(data.get("example")),
            "source": str(data.get("source") or "").strip()[:200] or None}


def save_item(session: Session, data: dict[str, Any], item: ChecklistItem | None = None,
              replace: bool = False) -> ChecklistItem:
    """Change `item`, else create one; (type, code) is unique, so a new item overwrites another only when the caller
    says `replace` (a generated checklist saved again). Flushes; the caller commits."""
    values = check_item(session, data)
    taken = session.scalar(select(ChecklistItem).where(ChecklistItem.type_id == values["type"].id,
                                                       ChecklistItem.code == values["code"]))
    if item is None and replace:
        item = taken
    if taken is not None and (item is None or taken.id != item.id):
        raise InputError([Problem("code", f"{values['code']} is already an item of this point type",
                                  f"该点位类型已有编号为 {values['code']} 的测评内容")])
    if item is None:
        item = ChecklistItem()
        session.add(item)
    for name, value in values.items():
        setattr(item, name, value)
    session.flush()
    return item


def case_category(session: Session, item: ChecklistItem) -> Category:
    """The matter a failed item opens a case for: the item's category, else the catalogue's first fileable one."""
    if item.category_code:
        found = session.scalar(select(Category).where(Category.code == item.category_code))
        if found is not None:
            return found
    return session.scalar(select(Category).where(Category.id.in_(select(FilingCondition.category_id)))
                          .order_by(Category.code).limit(1))


def item_json(item: ChecklistItem, lang: str = "zh") -> dict[str, Any]:
    return {"code": item.code, "text": item.text, "method": item.method, "max_score": item.max_score,
            "frequency": item.frequency, "frequency_name": FREQUENCIES[item.frequency][0 if lang == "zh" else 1],
            "category": item.category_code, "example": item.example, "source": item.source}
