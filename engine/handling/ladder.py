"""A task's ladder: its timeline steps planned as rows with due instants when the task is created.

Steps are planned by the working-time calendar, from the frozen timeline of the version the task
was created under; the supervision poller runs them when due.
"""
from __future__ import annotations

from dataclasses import dataclass

from engine.core.models import Task, TaskStep, TimelineStep
from engine.core.worktime import WorkCalendar

# How far along the lifecycle a state is; a step is skipped once the task reaches its unless-state.
PROGRESS = {"dispatched": 0, "sent_back": 0, "signed": 1, "handling": 2, "returned": 2, "submitted": 3,
            "checked": 4, "closed": 5, "voided": 5}


@dataclass(frozen=True)
class FrozenStep:
    """A timeline step as frozen in a version's bundle: the attributes plan_steps reads of a TimelineStep."""

    position: int
    after_minutes: float
    time_mode: str
    action: str
    tier_level: int | None
    unless_state: str | None



def plan_steps(task: Task, steps: list[TimelineStep], calendar: WorkCalendar, continuous: bool) -> list[TaskStep]:
    """The task's step rows, each due `after_minutes` after dispatch in working or continuous time."""
    rows = []
    for step in steps:
        unit = "working_hours" if step.time_mode == "working" else "urgent_hours"
        due = calendar.deadline(task.created_at, step.after_minutes / 60, unit, continuous)
        rows.append(TaskStep(task_id=task.id, position=step.position, action=step.action,
                             tier_level=step.tier_level, unless_state=step.unless_state, due_at=due,
                             status="pending"))
    return rows
