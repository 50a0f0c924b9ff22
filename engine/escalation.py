"""Timelines executed: each due step of a task runs once, never early, from SQL alone.

Steps are rows with a due instant computed by the working-time calendar when the task is created.
A poller (`civicrules escalate`) runs what is due: the step is skipped when the task has reached the
step's "unless" state, postponed while the task is parked, and otherwise marked done together with
its notification in one transaction, so a step never runs twice and survives the loss of Redis.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine import clock
from engine.models import OutboxMessage, Task, TaskStep, TimelineStep
from engine.worktime import WorkCalendar

# How far along the lifecycle a state is; a step is skipped once the task reaches its unless-state.
PROGRESS = {"dispatched": 0, "sent_back": 0, "signed": 1, "handling": 2, "returned": 2, "submitted": 3,
            "checked": 4, "closed": 5, "voided": 5}
TERMINAL = {"closed", "voided"}
REQUESTS = {"ext_requested", "park_requested", "void_requested"}  # progress is that of the state before


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


def _skip(step: TaskStep, task_status: str) -> bool:
    if task_status in TERMINAL:
        return True
    if step.unless_state is None:
        return False
    return PROGRESS.get(task_status, 0) >= PROGRESS.get(step.unless_state, 99)


def run_due(session: Session, limit: int = 1000, now: datetime | None = None) -> dict[str, int]:
    """Run the steps due by now (oldest first); commits. Returns counts of done, skipped, postponed."""
    now = now or clock.now()
    rows = session.execute(select(TaskStep, Task.status, Task.unit_id, Task.event_id, Task.previous_status)
                           .join(Task, Task.id == TaskStep.task_id)
                           .where(TaskStep.status == "pending", TaskStep.due_at <= now)
                           .order_by(TaskStep.due_at, TaskStep.id).limit(limit)
                           .with_for_update(skip_locked=True, of=TaskStep)).all()
    counts = {"done": 0, "skipped": 0, "postponed": 0}
    for step, task_status, unit_id, event_id, previous in rows:
        if task_status in REQUESTS and previous:
            task_status = previous
        if task_status == "parked":
            counts["postponed"] += 1
            continue
        outcome = "skipped" if _skip(step, task_status) else "done"
        claimed = session.execute(update(TaskStep).where(TaskStep.id == step.id, TaskStep.status == "pending")
                                  .values(status=outcome, ran_at=now, task_status=task_status)
                                  .execution_options(synchronize_session=False)).rowcount
        if not claimed:
            continue  # another poller ran it first
        counts[outcome] += 1
        if outcome == "done":
            target = f"tier:{step.tier_level}" if step.tier_level else f"unit:{unit_id}"
            session.add(OutboxMessage(
                idempotency_key=f"step:{step.id}", event_id=event_id, task_id=step.task_id, kind=step.action,
                channel="inbox", target=target, created_at=now, next_attempt_at=now,
                payload={"task": step.task_id, "step": step.position, "action": step.action,
                         "tier": step.tier_level, "due_at": step.due_at.isoformat(), "ran_at": now.isoformat()}))
    session.commit()
    return counts
