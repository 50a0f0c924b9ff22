"""A task's ladder: its timeline steps planned as rows with due instants when the task is created.

Steps are planned by the working-time calendar, from the frozen timeline of the version the task
was created under; the supervision poller runs them when due.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Sequence

from engine.core.models import TimelineStep
from engine.core.worktime import WorkCalendar


@dataclass(frozen=True)
class FrozenStep:
    """A timeline step as frozen in a version's bundle (or read from the live timeline): what plan_steps needs."""

    position: int
    after_minutes: float
    time_mode: str
    action: str
    tier_level: int | None
    unless_state: str | None

    @classmethod
    def of(cls, step: TimelineStep) -> "FrozenStep":
        """A live timeline step, detached from the session, for a version published before bundles existed."""
        return cls(step.position, step.after_minutes, step.time_mode, step.action, step.tier_level, step.unless_state)


def plan_steps(task_id: int | None, dispatched_at: datetime, steps: Sequence[FrozenStep], calendar: WorkCalendar,
               continuous: bool) -> list[dict[str, Any]]:
    """The task's step rows (column values for one bulk insert), each due `after_minutes` after dispatch in
    working or continuous time."""
    rows = []
    for step in steps:
        unit = "working_hours" if step.time_mode == "working" else "urgent_hours"
        due = calendar.deadline(dispatched_at, step.after_minutes / 60, unit, continuous)
        rows.append({"task_id": task_id, "position": step.position, "action": step.action,
                     "tier_level": step.tier_level, "unless_state": step.unless_state, "due_at": due,
                     "status": "pending", "ran_at": None, "task_status": None})
    return rows
