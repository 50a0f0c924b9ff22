"""How urgent an open task is, for the field unit's traffic light: the share of its time limit used,
counted the way the limit itself counts (office time for working-time limits, clock time otherwise)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from engine.core.models import Task
from engine.core.states import TERMINAL, TaskStatus
from engine.core.worktime import CONTINUOUS_UNITS, WorkCalendar

YELLOW_FROM = 0.8  # green under 80 % of the time used, yellow from 80 % to the deadline, red once overdue


@dataclass(frozen=True)
class Urgency:
    light: str  # green | yellow | red | paused | done
    share_used: float | None
    remaining: timedelta  # negative once overdue


def urgency(task: Task, now: datetime, calendar: WorkCalendar, continuous: bool = False) -> Urgency:
    remaining = task.deadline_at - now
    if task.status in TERMINAL:
        return Urgency("done", None, remaining)
    if task.status == TaskStatus.PARKED:
        return Urgency("paused", None, remaining)
    if now >= task.deadline_at:
        return Urgency("red", 1.0 + (now - task.deadline_at) / max(task.deadline_at - task.created_at, timedelta(1)),
                       remaining)
    start = task.created_at
    if continuous or task.limit_unit in CONTINUOUS_UNITS:
        used = (now - start) / max(task.deadline_at - start, timedelta(seconds=1))
    else:
        whole = calendar.working_minutes_between(start, task.deadline_at)
        used = calendar.working_minutes_between(start, now) / whole if whole else 1.0
    used = max(used, 0.0)  # a task stamped after `now` (another clock) has used none of its time
    return Urgency("yellow" if used >= YELLOW_FROM else "green", used, remaining)
