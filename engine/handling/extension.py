"""How long an extension (延期) runs: the unit asks for a length, the dispatcher approves that length or
another; without one the task's own time limit applies, as the brief's first rule had it. The length is
kept in the transitions' data, so the dispatcher's queue and the history read what was asked and granted."""
from __future__ import annotations

from typing import Any

from engine.core.models import Task
from rules.limits import LIMIT_MAX, LIMIT_UNIT_TABLE
from rules.problems import InputError, Problem

#: The longest single extension: about a month in each unit (a year's limit / 12).
MOST = {code: most // 12 for code, most in LIMIT_MAX.items()}
FIELDS = ("limit_value", "limit_unit")


def requested(task: Task) -> tuple[float, str]:
    """The length of the unit's latest extension request, or the task's own limit when none was given."""
    for row in reversed(task.transitions):
        if row.action == "request_extension":
            data = row.data or {}
            if isinstance(data.get("limit_value"), (int, float)) and data.get("limit_unit") in LIMIT_UNIT_TABLE:
                return float(data["limit_value"]), str(data["limit_unit"])
            break
    return task.limit_value, task.limit_unit


def length(data: dict[str, Any], default: tuple[float, str]) -> tuple[float, str]:
    """The length in `data` (an amount above 0 and at most MOST of its unit), or `default` when none is given."""
    raw_value, unit = data.get("limit_value"), data.get("limit_unit") or default[1]
    if raw_value in (None, ""):
        return default
    if unit not in LIMIT_UNIT_TABLE:
        raise InputError([Problem("limit_unit", f"one of {', '.join(LIMIT_UNIT_TABLE)}",
                                  f"须为 {'、'.join(u.label[0] for u in LIMIT_UNIT_TABLE.values())} 之一")])
    try:
        value = float(raw_value)
    except (TypeError, ValueError):
        value = float("nan")
    if not 0 < value <= MOST[unit]:
        zh, en = LIMIT_UNIT_TABLE[unit].label
        raise InputError([Problem("limit_value", f"a number above 0 and at most {MOST[unit]} {en}",
                                  f"须为大于 0 且不超过 {MOST[unit]} 的数（{zh}）")])
    return value, unit
