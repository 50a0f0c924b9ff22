"""Scenarios as an XLSX workbook, one row per scenario under Chinese headers, so a bureau can write them in a
spreadsheet: export, and an import that stores every row or none, naming each fault by row and column."""
from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from sqlalchemy.orm import Session

from engine.authoring import scenarios
from engine.core.models import Campaign
from engine.core.cells import append_row
from engine.core.tables import cell_text, checked_columns, read_table
from rules.problems import InputError, Problem

#: target -> headers (the first is what export writes).
COLUMNS: dict[str, tuple[str, ...]] = {
    "title": ("标题", "title"), "tags": ("标签", "tags"), "category": ("问题类别", "category"),
    "grid": ("网格", "grid"), "lat": ("纬度", "lat"), "lon": ("经度", "lon"),
    "local_time": ("发生时间（当地）", "发生时间", "local_time"), "source_type": ("来源类型", "source_type"),
    "filing_condition": ("立案条件", "filing_condition"), "facts": ("地点事实", "facts"),
    "history": ("历史", "history"), "tasks": ("预期任务", "tasks"), "fire": ("应触发规则", "fire"),
    "not_fire": ("不应触发规则", "not_fire"), "stage": ("立案方式", "stage"),
    "nothing": ("不触发清单", "nothing"),
}
REQUIRED = ("title", "category", "local_time")
YES = ("是", "yes", "true", "1", "y")
SEPARATORS = ("；", ";", "\n")


def _where_column(where: str) -> str:
    """The column a clean() field path is written in."""
    head = where.split("[")[0].split(".")
    name = head[1] if head[0] in ("event", "expected") and len(head) > 1 else head[0]
    if head[0] == "event" and name == "facts":
        name = "facts"
    return COLUMNS.get(name, (where,))[0]


def task_text(task: dict[str, Any]) -> str:
    parts = [task["unit"], task.get("list") or ""]
    limit = task.get("limit")
    parts.append(f"{limit['value']:g} {limit['unit']}" if limit else "")
    parts.append(f"{task['points']:g}" if task.get("points") is not None else "")
    return " | ".join(parts).rstrip(" |")


def parse_task(text: str) -> dict[str, Any]:
    """"JD-DC | zero_tolerance | 2 urgent_hours | 3": unit, then optionally list, limit and points."""
    parts = [p.strip() for p in text.split("|")]
    task: dict[str, Any] = {"unit": parts[0]}
    if len(parts) > 1 and parts[1]:
        task["list"] = parts[1]
    if len(parts) > 2 and parts[2]:
        value, _, unit = parts[2].partition(" ")
        task["limit"] = {"value": float(value), "unit": unit.strip()}
    if len(parts) > 3 and parts[3]:
        task["points"] = float(parts[3])
    return task


def split_lines(text: str) -> list[str]:
    for sep in SEPARATORS[1:]:
        text = text.replace(sep, SEPARATORS[0])
    return [p.strip() for p in text.split(SEPARATORS[0]) if p.strip()]


def keys_of(text: str) -> list[str]:
    return [k.strip() for k in text.replace("，", ",").split(",") if k.strip()]


def row_of(data: dict[str, Any]) -> list[Any]:
    event, expected = data["event"], data["expected"]
    values = {"title": data["title"], "tags": ", ".join(data.get("tags") or []), "category": event["category"],
              "grid": event.get("grid") or "", "lat": event.get("lat"), "lon": event.get("lon"),
              "local_time": event["local_time"], "source_type": event.get("source_type", "hotline"),
              "filing_condition": event.get("filing_condition") or "",
              "facts": json.dumps(event.get("facts") or {}, ensure_ascii=False) if event.get("facts") else "",
              "history": json.dumps(data.get("history") or {}, ensure_ascii=False) if data.get("history") else "",
              "tasks": "；".join(task_text(t) for t in expected.get("tasks") or []) if expected.get("tasks") is not None
              else "", "fire": ", ".join(expected.get("fire") or []), "not_fire": ", ".join(expected.get("not_fire") or []),
              "stage": expected.get("stage") or "", "nothing": "是" if expected.get("nothing") else ""}
    return [values[target] for target in COLUMNS]


def export(session: Session, campaign: Campaign) -> bytes:
    """The campaign's scenarios as an XLSX workbook."""
    book = Workbook()
    sheet = book.active
    sheet.title = "场景"
    sheet.append([headers[0] for headers in COLUMNS.values()])
    for scenario in scenarios.of_campaign(session, campaign):
        append_row(sheet, row_of(scenarios.as_data(scenario)))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _data(cells: dict[str, str], line: int, problems: list[Problem]) -> dict[str, Any]:
    """One row as `scenarios.save` takes it; unreadable cells become problems of that row and column."""
    def refuse(target: str, en: str, zh: str) -> None:
        problems.append(Problem(COLUMNS[target][0], en, zh, line))

    event: dict[str, Any] = {"category": cells["category"], "local_time": cells["local_time"],
                             "source_type": cells["source_type"] or "hotline"}
    if cells["grid"]:
        event["grid"] = cells["grid"]
    for target in ("lat", "lon"):
        if cells[target]:
            try:
                event[target] = float(cells[target])
            except ValueError:
                refuse(target, f"not a number: {cells[target]!r}", f"不是数字：{cells[target]!r}")
    if cells["filing_condition"]:
        event["filing_condition"] = cells["filing_condition"]
    history: dict[str, Any] = {}
    for target, into in (("facts", event), ("history", history)):
        if cells[target]:
            try:
                value = json.loads(cells[target])
                if not isinstance(value, dict):
                    raise ValueError(target)
            except ValueError:
                refuse(target, 'not a JSON object such as {"in_zone": ["strict_street"]}',
                       '不是 JSON 对象，例如 {"in_zone": ["strict_street"]}')
                continue
            if target == "facts":
                into["facts"] = value
            else:
                history.update(value)
    expected: dict[str, Any] = {"fire": keys_of(cells["fire"]), "not_fire": keys_of(cells["not_fire"]),
                                "nothing": cells["nothing"].lower() in YES}
    if cells["stage"]:
        expected["stage"] = cells["stage"]
    if cells["tasks"]:
        try:
            expected["tasks"] = [parse_task(t) for t in split_lines(cells["tasks"])]
        except ValueError:
            refuse("tasks", "tasks read “unit | list | 2 urgent_hours | 3”, one per line or separated by ；",
                   "任务格式为“单位 | 清单 | 2 urgent_hours | 3”，每行一个或以；分隔")
    return {"title": cells["title"], "tags": keys_of(cells["tags"]), "event": event, "history": history,
            "expected": expected}


def import_file(session: Session, campaign: Campaign, path: Path) -> int:
    """Store every row (a title already there is updated) or, on any fault, none: InputError names each fault
    by row (the file's line) and column in both languages. Returns the number of rows stored."""
    table = read_table(path)
    found = checked_columns(table.headers, COLUMNS, REQUIRED)
    known = scenarios.Lookups.load(session, campaign)
    problems: list[Problem] = []
    rows = []
    for offset, row in enumerate(table.rows):
        line = offset + 2
        cells = {t: cell_text(row[found[t]]) if t in found and found[t] < len(row) else "" for t in COLUMNS}
        before = len(problems)
        data = _data(cells, line, problems)
        if len(problems) > before:
            continue
        try:
            rows.append((line, scenarios.clean(data, campaign, known)))
        except InputError as err:
            problems += [Problem(_where_column(p.where), p.en, p.zh, line) for p in err.problems]
    seen: set[str] = set()
    for line, data in rows:
        if data["title"] in seen:
            problems.append(Problem(COLUMNS["title"][0], f"the title {data['title']!r} is on two rows",
                                    f"标题 {data['title']!r} 出现在两行", line))
        seen.add(data["title"])
    if problems:
        raise InputError(problems)
    stored = {s.title: s for s in scenarios.of_campaign(session, campaign)}
    for _, data in rows:
        scenarios.save(session, campaign, data, stored.get(data["title"]))
    return len(rows)
