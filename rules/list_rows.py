"""Decision-table rows as the list editor shows them, and back to list rows, with every problem named by
row and field.

The editor never shows a JSON box: each condition a list row may carry has its own widget (an hour
range, weekend, inspection window, source types, a zone of grids or unit types). `to_editor` reads a
stored row into those widgets (conditions it cannot show stay attached as `conditions`, shown as text);
`check_rows` turns edited rows back into list rows (the shape of ListItem.as_row()), expands each with
rules.lists.expand_row and validates it with rules.document.validate_rule, so a problem can be shown
next to the widget that caused it, in Chinese or English. Pure: no Flask, no database.
"""
from __future__ import annotations

import math
import re
from datetime import date
from typing import Any

from rules.document import Catalog, validate_rule
from rules.limits import LIMIT_MAX, LIMIT_UNITS
from rules.problems import InputError, Problem
from rules.facts import SOURCE_TYPES
from rules.lists import expand_row, row_rule_key

KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
TRISTATE = ("any", "yes", "no")
ZONE_KINDS = ("any", "grid", "unit_type")
ASSIGN_KINDS = ("grid_unit", "unit", "unit_type")
#: Editor fields a problem can point at (the page has an error slot for each).
FIELDS = ("key", "title_zh", "title_en", "categories", "hours", "weekend", "inspection", "source_types", "zone",
          "conditions", "assign", "template", "timeline", "limit", "points", "legal_basis", "enabled",
          "effective_from", "effective_to", "row")


def blank_row(key: str = "") -> dict[str, Any]:
    """A new row as the editor starts it."""
    return {"id": None, "key": key, "title_zh": "", "title_en": "", "categories": [], "hour_from": None,
            "hour_to": None, "weekend": "any", "inspection": "any", "source_types": [], "zone_kind": "any",
            "zone_values": [], "conditions": [], "assign_kind": "grid_unit", "assign_value": "", "template": "",
            "timeline": "", "limit_value": None, "limit_unit": "", "points": 0, "legal_basis": "", "enabled": True,
            "effective_from": "", "effective_to": ""}


def _values(cond: dict[str, Any]) -> list[Any] | None:
    if cond.get("op") == "eq":
        return [cond.get("value")]
    if cond.get("op") == "in" and isinstance(cond.get("value"), list):
        return list(cond["value"])
    return None


def _hours(cond: dict[str, Any]) -> tuple[int, int] | None:
    """The inclusive hour range (from, to; from > to wraps midnight) a local_hour condition admits."""
    value = cond.get("value")
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) and 0 <= v <= 23 for v in value)
            and value[0] <= value[1]):
        return None
    low, high = value
    if cond.get("op") == "between":
        return low, high
    if cond.get("op") == "not_between" and not (low == 0 and high == 23):
        return (high + 1) % 24, (low - 1) % 24
    return None


def to_editor(row: dict[str, Any], item_id: int | None = None) -> dict[str, Any]:
    """A stored list row (ListItem.as_row()) as the editor's widgets show it."""
    out = blank_row(str(row.get("key") or ""))
    title = row.get("title") or {}
    limit = row.get("limit") or {}
    assign = str(row.get("assign") or "grid_unit")
    kind, _, value = assign.partition(":")
    out.update(id=item_id, title_zh=title.get("zh", ""), title_en=title.get("en", ""),
               categories=[str(c) for c in row.get("categories") or []],
               assign_kind=kind if kind in ASSIGN_KINDS else "grid_unit", assign_value=value,
               template=row.get("template") or "", timeline=row.get("timeline") or "",
               limit_value=limit.get("value"), limit_unit=limit.get("unit") or "",
               points=row.get("points") or 0, legal_basis=row.get("legal_basis") or "",
               enabled=bool(row.get("enabled", True)), effective_from=row.get("effective_from") or "",
               effective_to=row.get("effective_to") or "")
    seen: set[str] = set()
    for cond in row.get("conditions") or []:
        fact = cond.get("fact") if isinstance(cond, dict) else None
        values = _values(cond) if fact else None
        if fact == "local_hour" and "hours" not in seen and _hours(cond):
            out["hour_from"], out["hour_to"] = _hours(cond)
            seen.add("hours")
        elif (fact in ("is_weekend", "in_inspection_window") and cond.get("op") == "eq"
              and isinstance(cond.get("value"), bool) and fact not in seen):
            out["weekend" if fact == "is_weekend" else "inspection"] = "yes" if cond["value"] else "no"
            seen.add(fact)
        elif fact == "source_type" and values and "source_type" not in seen:
            out["source_types"] = [str(v) for v in values]
            seen.add(fact)
        elif fact in ("grid", "unit_type") and values and "zone" not in seen:
            out["zone_kind"], out["zone_values"] = fact, [str(v) for v in values]
            seen.add("zone")
        else:
            out["conditions"].append(cond)
    return out


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _number(value: Any) -> float | None:
    """A number from a widget ('' or None: absent); raises ValueError for anything else."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError(value)
    number = float(value)
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(value)
    return number


def _hour(value: Any) -> int | None:
    number = _number(value)
    if number is None:
        return None
    if number != int(number) or not 0 <= number <= 23:
        raise ValueError(value)
    return int(number)


def from_editor(index: int, editor: dict[str, Any]) -> tuple[dict[str, Any], list[str], list[Problem]]:
    """One editor row -> (list row, the editor field of each condition, problems of the row's shape)."""
    problems: list[Problem] = []

    def problem(name: str, en: str, zh: str) -> None:
        problems.append(Problem(name, en, zh, row=index))

    key = _text(editor.get("key"))
    if not KEY_PATTERN.match(key):
        problem("key", "a key of 1–32 letters, digits, '_', '.' or '-', starting with a letter or digit",
                "键须为 1–32 个字母、数字、“_”“.”或“-”，以字母或数字开头")
    titles = {lang: _text(editor.get(f"title_{lang}")) for lang in ("zh", "en")}
    if not titles["zh"]:
        problem("title_zh", "a Chinese title is required", "必须填写中文名称")
    categories = editor.get("categories") if isinstance(editor.get("categories"), list) else []
    categories = list(dict.fromkeys(_text(c) for c in categories if _text(c)))
    if not categories:
        problem("categories", "choose at least one category: a row without a category never matches",
                "请至少选择一个问题类别：未选类别的行永远不会命中")

    conditions: list[dict[str, Any]] = []
    sources: list[str] = []

    def condition(source: str, fact: str, op: str, value: Any) -> None:
        conditions.append({"fact": fact, "op": op, "value": value})
        sources.append(source)

    try:
        start, end = _hour(editor.get("hour_from")), _hour(editor.get("hour_to"))
    except (TypeError, ValueError):
        problem("hours", "hours are whole numbers from 0 to 23", "小时须为 0 到 23 的整数")
    else:
        if (start is None) != (end is None):
            problem("hours", "give both ends of the hour range, or neither", "时段须同时填写起止小时，或都不填")
        elif start is not None and end is not None and (end + 1) % 24 != start:
            if start <= end:
                condition("hours", "local_hour", "between", [start, end])
            else:  # across midnight, e.g. 22 to 5: every hour except 6–21
                condition("hours", "local_hour", "not_between", [end + 1, start - 1])
    for name, fact in (("weekend", "is_weekend"), ("inspection", "in_inspection_window")):
        choice = editor.get(name) or "any"
        if choice not in TRISTATE:
            problem(name, f"choose any, yes or no; got {choice!r}", f"请选择“不限”“是”或“否”，而不是 {choice!r}")
        elif choice != "any":
            condition(name, fact, "eq", choice == "yes")
    source_types = editor.get("source_types") if isinstance(editor.get("source_types"), list) else []
    source_types = list(dict.fromkeys(_text(s) for s in source_types if _text(s)))
    unknown = [s for s in source_types if s not in SOURCE_TYPES]
    if unknown:
        problem("source_types", f"unknown source types {', '.join(unknown)}", f"未知的来源类型 {'、'.join(unknown)}")
    elif source_types:
        condition("source_types", "source_type", "in", source_types)
    zone_kind = editor.get("zone_kind") or "any"
    zone_values = editor.get("zone_values") if isinstance(editor.get("zone_values"), list) else []
    zone_values = list(dict.fromkeys(_text(z) for z in zone_values if _text(z)))
    if zone_kind not in ZONE_KINDS:
        problem("zone", f"unknown kind of zone {zone_kind!r}", f"未知的区域类型 {zone_kind!r}")
    elif zone_kind != "any":
        if not zone_values:
            problem("zone", "choose at least one grid or unit type, or set the zone to any",
                    "请至少选择一个网格或单位类型，或将区域设为“不限”")
        else:
            condition("zone", zone_kind, "in", zone_values)
    extras = editor.get("conditions") if isinstance(editor.get("conditions"), list) else []
    for cond in extras:  # conditions no widget shows are kept as they are, and validated like the rest
        conditions.append(cond)
        sources.append("conditions")

    assign_kind = editor.get("assign_kind") or "grid_unit"
    assign_value = _text(editor.get("assign_value"))
    assign = "grid_unit"
    if assign_kind not in ASSIGN_KINDS:
        problem("assign", f"unknown kind of responsible unit {assign_kind!r}", f"未知的责任单位方式 {assign_kind!r}")
    elif assign_kind != "grid_unit":
        if not assign_value:
            problem("assign", "choose the unit" if assign_kind == "unit" else "choose the unit type",
                    "请选择责任单位" if assign_kind == "unit" else "请选择单位类型")
        assign = f"{assign_kind}:{assign_value}"
    template = _text(editor.get("template"))
    if not template:
        problem("template", "choose a task template", "请选择任务模板")

    limit = None
    try:
        limit_value = _number(editor.get("limit_value"))
    except (TypeError, ValueError):
        problem("limit", "the time limit is a number", "时限须为数字")
    else:
        limit_unit = _text(editor.get("limit_unit"))
        if limit_value is None and not limit_unit:
            pass  # the category's filing condition decides
        elif (limit_value is None or not math.isfinite(limit_value) or limit_value <= 0
              or limit_unit not in LIMIT_UNITS):
            problem("limit", "a time limit needs a value above 0 and a unit (or leave both empty to use the "
                    "category's limit)", "时限须填写大于 0 的数值并选择单位（或都不填，沿用问题类别的时限）")
        elif limit_value > LIMIT_MAX[limit_unit]:
            problem("limit", f"a time limit is at most a year ({LIMIT_MAX[limit_unit]} in this unit)",
                    f"时限最长一年（此单位下为 {LIMIT_MAX[limit_unit]}）")
        else:
            limit = {"value": int(limit_value) if limit_value == int(limit_value) else limit_value, "unit": limit_unit}
    points = 0.0
    try:
        points = _number(editor.get("points")) or 0.0
    except (TypeError, ValueError):
        problem("points", "points lost is a number", "扣分须为数字")
    if points < 0:
        problem("points", "points lost cannot be negative", "扣分不能为负数")
    dates: dict[str, str | None] = {}
    for name in ("effective_from", "effective_to"):
        text = _text(editor.get(name))
        try:
            dates[name] = date.fromisoformat(text).isoformat() if text else None
        except ValueError:
            problem(name, f"not a date: {text!r} (YYYY-MM-DD)", f"日期格式不正确：{text!r}（应为 YYYY-MM-DD）")
            dates[name] = None
    if dates["effective_from"] and dates["effective_to"] and dates["effective_from"] > dates["effective_to"]:
        problem("effective_to", "the row ends before it starts", "失效日期早于生效日期")
    enabled = editor.get("enabled", True)
    if not isinstance(enabled, bool):
        problem("enabled", "enabled is on or off", "启用须为是或否")
        enabled = True
    row = {"key": key, "title": titles, "categories": categories, "conditions": conditions, "assign": assign,
           "template": template, "timeline": _text(editor.get("timeline")) or None, "limit": limit,
           "points": points, "legal_basis": _text(editor.get("legal_basis")) or None, "enabled": enabled,
           **dates}
    return row, sources, problems


def _field_of(path: str, sources: list[str]) -> str:
    """The editor field a rule-document path (as validate_rule reports it) comes from."""
    if path == "key":
        return "key"
    if path.startswith("title"):
        return "title_en" if path.endswith(".en") else "title_zh"
    match = re.match(r"^when\.all\[(\d+)\]", path)
    if match:
        index = int(match.group(1))
        return "categories" if index == 0 else (sources[index - 1] if index - 1 < len(sources) else "conditions")
    match = re.match(r"^then\[0\]\.(template|assign|timeline|limit)", path)
    if match:
        return match.group(1)
    if path.startswith("origin.points"):
        return "points"
    if path.startswith("origin.legal_basis"):
        return "legal_basis"
    return "row"


KEY_PREFIXES = {"zero_tolerance": "ZT", "strict_management": "SM"}


def with_keys(kind: str, editor_rows: list[Any]) -> list[Any]:
    """The rows with an empty key given the list's next free one (ZT8, SM3, C2): nobody should have to
    invent a key, and the title is Chinese, so the key comes from the list kind and a number."""
    prefix = KEY_PREFIXES.get(kind, "C")
    numbers = [int(m.group(1)) for r in editor_rows if isinstance(r, dict)
               if (m := re.fullmatch(re.escape(prefix) + r"(\d+)", _text(r.get("key")), re.IGNORECASE))]
    following = max(numbers, default=0)
    out = []
    for row in editor_rows:
        if isinstance(row, dict) and not _text(row.get("key")):
            following += 1
            row = {**row, "key": f"{prefix}{following}"}
        out.append(row)
    return out


def check_rows(kind: str, editor_rows: list[Any], catalog: Catalog,
               today: date | None = None) -> tuple[list[dict[str, Any]], list[Problem]]:
    """Editor rows -> list rows, and every problem by row and field (empty: the rows may be saved).

    Each row is checked on its own shape, then as the rule document it expands to, against the
    catalogue of categories, units, unit types, templates and timelines that exist.
    """
    rows: list[dict[str, Any]] = []
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    editor_rows = with_keys(kind, editor_rows)
    for index, editor in enumerate(editor_rows):
        if not isinstance(editor, dict):
            problems.append(Problem("row", "a row must be an object", "每一行必须是对象", row=index))
            rows.append({})
            continue
        row, sources, found = from_editor(index, editor)
        problems += found
        rows.append(row)
        rule_key = row_rule_key(kind, row["key"]) if row["key"] else ""
        if rule_key in seen:
            problems.append(Problem("key", f"the key {row['key']} is already used by row {seen[rule_key] + 1}",
                                       f"键 {row['key']} 已被第 {seen[rule_key] + 1} 行使用", row=index))
        elif rule_key:
            seen[rule_key] = index
        try:
            validate_rule(expand_row(kind, row, today), catalog)
        except InputError as err:
            faulty = {p.where for p in found}  # the document would repeat these faults in other words
            problems += [Problem(field, p.en, p.zh, row=index) for p in err.problems
                         if (field := _field_of(p.where, sources)) not in faulty]
    return rows, problems
