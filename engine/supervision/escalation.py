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

from engine.core import clock, outbox
from engine.core.models import Task, TaskStep
from engine.core.states import PROGRESS, REQUESTS, TERMINAL, TaskStatus


def _skip(unless_state: str | None, task_status: str) -> bool:
    if task_status in TERMINAL:
        return True
    if unless_state is None:
        return False
    return PROGRESS.get(task_status, 0) >= PROGRESS.get(unless_state, 99)


def run_due(session: Session, limit: int = 200, now: datetime | None = None) -> dict[str, int]:
    """Run up to `limit` steps due by now (oldest first) in one short transaction; commits.

    Two set-based UPDATEs claim the steps (`WHERE status = 'pending'`, so a second poller claims
    nothing twice) and the notifications go in with them; callers loop while steps are returned.
    Steps of parked tasks are not selected: resuming a task moves them by the paused time."""
    started = now or clock.now()
    rows = session.execute(select(TaskStep.id, TaskStep.task_id, TaskStep.position, TaskStep.action,
                                  TaskStep.tier_level, TaskStep.unless_state, TaskStep.due_at,
                                  Task.status, Task.previous_status, Task.unit_id, Task.event_id)
                           .join(Task, Task.id == TaskStep.task_id)
                           .where(TaskStep.status == "pending", TaskStep.due_at <= started,
                                  Task.status != TaskStatus.PARKED)
                           .order_by(TaskStep.due_at, TaskStep.id).limit(limit)
                           .with_for_update(skip_locked=True, of=TaskStep)).all()
    counts = {"done": 0, "skipped": 0}
    if not rows:
        session.rollback()
        return counts
    now = now or clock.now()  # the instant the steps run, not the instant the poll began
    outcome: dict[str, list] = {"done": [], "skipped": []}
    state_of: dict[int, str] = {}
    for row in rows:
        status = row.previous_status if row.status in REQUESTS and row.previous_status else row.status
        state_of[row.id] = status
        outcome["skipped" if _skip(row.unless_state, status) else "done"].append(row)
    claimed: set[int] = set()
    for kind, group in outcome.items():
        for status in {state_of[r.id] for r in group}:
            ids = [r.id for r in group if state_of[r.id] == status]
            result = session.execute(update(TaskStep).where(TaskStep.id.in_(ids), TaskStep.status == "pending")
                                     .values(status=kind, ran_at=now, task_status=status)
                                     .returning(TaskStep.id).execution_options(synchronize_session=False))
            got = set(result.scalars())
            claimed |= got
            counts[kind] += len(got)
    outbox.write(session, [outbox.message(
        f"step:{r.id}", r.action, f"tier:{r.tier_level}" if r.tier_level else f"unit:{r.unit_id}",
        {"task": r.task_id, "step": r.position, "action": r.action, "tier": r.tier_level,
         "due_at": r.due_at.isoformat(), "ran_at": now.isoformat()}, now, event_id=r.event_id, task_id=r.task_id)
        for r in outcome["done"] if r.id in claimed])
    session.commit()
    return counts
