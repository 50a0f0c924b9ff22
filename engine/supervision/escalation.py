"""Timelines executed: each due step of a task runs once, never early, from SQL alone.

Steps are rows with a due instant anchored to the task's deadline (engine/handling/ladder.py); a task has a row
for each step that ran and for its next one, which carries the rest of the plan and writes the step after it when
it runs (in the same transaction as its claim, so a kill between them loses nothing). A poller
(`civicrules escalate`) runs what is due: the step is skipped when the task has reached the step's "unless" state,
postponed while the task is parked, and otherwise marked done together with its notification in one transaction,
so a step never runs twice and survives the loss of Redis. A step skipped because the task awaited its check is
pending again when the check fails (rework does not reset the clock, engine/handling/tasks.py), so a 督办 due
meanwhile runs at the next poll.
`addressees` is the one place that decides whom a step reaches: the body's board (`tier:<level>`, else the
unit) and the person chain above the task, both carried in the message for delivery to use.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.core import clock, outbox
from engine.core.bulk import insert_rows
from engine.core.models import Event, Person, SupervisionTier, Task, TaskStep
from engine.core.states import PROGRESS, REQUESTS, TERMINAL, TaskStatus
from engine.handling.ladder import next_step
from engine.people.responsibility import Organisation, chain

#: How far up the person chain (责任人 → 中队长 → 大队长 → 分管领导) each kind of step reaches.
CHAIN_DEPTH = {"remind": 1, "order": 2, "escalate": 3, "list_publicly": 4}


def body_names(session: Session, campaign_ids: set[int]) -> dict[tuple[int, int], dict[str, str]]:
    """The supervising bodies' names by (campaign, level), for messages and pages."""
    return {(t.campaign_id, t.level): {"zh": t.name_zh, "en": t.name_en} for t in session.scalars(
        select(SupervisionTier).where(SupervisionTier.campaign_id.in_(campaign_ids)))}


def addressees(session: Session, row: Any, org: Organisation, names: dict[tuple[int, int], dict[str, str]]
               ) -> tuple[str, dict[str, Any], list[int]]:
    """Whom a step reaches: its target (`tier:<level>` of its body, else `unit:<id>`), the body as the
    message names it, and the ids of the people in the chain above the task, as high as the step reaches."""
    if row.tier_level:
        target = f"tier:{row.tier_level}"
        body = {"tier": row.tier_level, "name": names.get((row.campaign_id, row.tier_level))}
    else:
        target, body = f"unit:{row.unit_id}", {"unit": row.unit_id}
    assignee = session.get(Person, row.assignee_id) if row.assignee_id else None
    links = chain(session, row.unit_id, row.grid_id, assignee, org)[:CHAIN_DEPTH.get(row.action, 1)]
    return target, body, [link.person.id for link in links if link.person is not None]


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
                                  TaskStep.tier_level, TaskStep.unless_state, TaskStep.due_at, TaskStep.later,
                                  Task.status, Task.previous_status, Task.unit_id, Task.event_id,
                                  Task.campaign_id, Task.assignee_id, Event.grid_id)
                           .join(Task, Task.id == TaskStep.task_id).join(Event, Event.id == Task.event_id)
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
            # The next step becomes a row now (the plan moves to it), unless the task has ended: the rest never runs.
            ends = {} if status in TERMINAL else {"later": None}
            result = session.execute(update(TaskStep).where(TaskStep.id.in_(ids), TaskStep.status == "pending")
                                     .values(status=kind, ran_at=now, task_status=status, **ends)
                                     .returning(TaskStep.id).execution_options(synchronize_session=False))
            got = set(result.scalars())
            claimed |= got
            counts[kind] += len(got)
    insert_rows(session, TaskStep.__table__, [next_step(r.task_id, r.later) for r in rows
                                              if r.id in claimed and r.later and state_of[r.id] not in TERMINAL])
    ran = [r for r in outcome["done"] if r.id in claimed]
    org = Organisation.load(session) if ran else None
    names = body_names(session, {r.campaign_id for r in ran}) if ran else {}
    messages = []
    for r in ran:
        target, body, people = addressees(session, r, org, names)
        messages.append(outbox.message(
            f"step:{r.id}", r.action, target,
            {"task": r.task_id, "step": r.position, "action": r.action, "tier": r.tier_level, "body": body,
             "chain": people, "due_at": r.due_at.isoformat(), "ran_at": now.isoformat()},
            now, event_id=r.event_id, task_id=r.task_id))
    outbox.write(session, messages)
    session.commit()
    return counts
