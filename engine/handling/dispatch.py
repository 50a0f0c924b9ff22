"""Where every task is born: a batch of orders becomes tasks, their first transitions, their ladder
steps, the unit's "task dispatched" message and any rule escalation, in a few bulk inserts.

This is the only creator of Task rows; after it, every change of status goes through
`engine.handling.tasks.apply`. The caller owns the transaction (the pipeline also checks its lease
before committing, so a batch whose lease was lost rolls back whole). Dispatching is idempotent on
(event, unit, reopening): an order whose event already has a task for that unit in that round writes nothing.

Every table is written in one statement per batch through engine/core/bulk.py: COPY on PostgreSQL (the tasks'
ids taken from their sequence first), a Core insert rendering NULLs elsewhere.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core import outbox
from engine.core.bulk import insert_returning_ids, insert_rows
from engine.core.models import Case, Supervision, Task, TaskStep, TaskTransition, Unit
from engine.core.states import TaskStatus
from engine.core.worktime import WorkCalendar
from engine.handling.ladder import Body, Clock, FrozenStep, first_step, plan_steps, unit_kind
from engine.people.responsibility import responsible_for_events
from engine.people.staff import units_and_below


@dataclass(frozen=True)
class RuleEscalation:
    """A rule's `escalate` action: the new task goes straight onto a tier's board, with no human author."""

    tier: int
    list_publicly: bool
    message: str
    rule_key: str
    rectify_by: datetime | None = None  # a rule's public listing names its own rectification deadline
    authority: str | None = None  # and the authority that orders it


@dataclass
class TaskOrder:
    """One task to create, with its template version and ladder already frozen and its deadline counted."""

    event_id: int
    campaign_id: int
    ruleset_version_id: int
    unit_id: int
    template_id: int
    timeline_id: int | None
    rule_key: str
    list_kind: str
    limit_value: float
    limit_unit: str
    deadline_at: datetime
    points: float
    steps: Sequence[FrozenStep]
    calendar: WorkCalendar
    continuous_time: bool
    escalations: list[RuleEscalation] = field(default_factory=list)
    bodies: Sequence[Body] = ()  # the campaign's supervising bodies, as frozen in the version
    case_id: int | None = None
    reopening: int = 0  # 0 at dispatch; n for the n-th reopening of the case after an unsatisfied revisit

    @property
    def key(self) -> tuple[int, int]:
        return self.event_id, self.unit_id

    @property
    def slot(self) -> tuple[int, int, int]:
        """What the unique key holds: one task per event, unit and round."""
        return self.event_id, self.unit_id, self.reopening


def dispatch(session: Session, orders: Sequence[TaskOrder], now: datetime) -> list[int]:
    """Create the ordered tasks and everything born with them; return each order's task id (the existing
    one for an (event, unit) that already has a task). Flushes nothing else; never commits."""
    if not orders:
        return []
    task_of: dict[tuple[int, int, int], int] = {
        (event_id, unit_id, reopening): task_id for event_id, unit_id, reopening, task_id in session.execute(
            select(Task.event_id, Task.unit_id, Task.reopening, Task.id)
            .where(Task.event_id.in_({o.event_id for o in orders})))}
    fresh: list[TaskOrder] = []
    taken = set(task_of)
    for order in orders:
        if order.slot not in taken:  # the first order for an (event, unit, round) wins, as the unique key demands
            taken.add(order.slot)
            fresh.append(order)
    if fresh:
        holders = _grid_holders(session, fresh)
        frontage = _frontage_holders(session, fresh)
        rows = [_task_row(order, now, holders.get(order.slot), frontage.get(order.case_id)) for order in fresh]
        ids = insert_returning_ids(session, Task.__table__, rows)
        task_of.update(zip((order.slot for order in fresh), ids))
        _born(session, [(task_of[order.slot], order) for order in fresh], holders, now)
    return [task_of[order.slot] for order in orders]


def _grid_holders(session: Session, orders: Sequence[TaskOrder]) -> dict[tuple[int, int, int], int]:
    """Each new task starts with the 责任人 of its event's grid, when that person is of the task's unit
    (每名队员都要有自己的责任区域): two queries per batch, whatever its size."""
    owners = responsible_for_events(session, {order.event_id for order in orders})
    owned = [order for order in orders if order.event_id in owners]
    scopes = units_and_below(session, {order.unit_id for order in owned}) if owned else {}
    return {order.slot: owners[order.event_id][0] for order in owned
            if owners[order.event_id][1] in scopes[order.unit_id]}


def _frontage_holders(session: Session, orders: Sequence[TaskOrder]) -> dict[int, int]:
    """The frontage holder (门前三包) each task's case names, so its task names it too: one query per batch."""
    cases = {order.case_id for order in orders if order.case_id is not None}
    if not cases:
        return {}
    return dict(session.execute(select(Case.id, Case.frontage_holder_id).where(
        Case.id.in_(cases), Case.frontage_holder_id.is_not(None))).all())


def _unit_kinds(session: Session, unit_ids: set[int]) -> dict[int, str]:
    """What kind of unit each task goes to, for its supervising bodies: one query per batch."""
    parent = Unit.__table__.alias("parent")
    rows = session.execute(select(Unit.id, Unit.type, parent.c.type).outerjoin(parent, parent.c.id == Unit.parent_id)
                           .where(Unit.id.in_(unit_ids)))
    return {unit_id: unit_kind(own, above) for unit_id, own, above in rows}


def _task_row(order: TaskOrder, now: datetime, assignee_id: int | None,
              frontage_holder_id: int | None) -> dict[str, Any]:
    return {"assignee_id": assignee_id, "frontage_holder_id": frontage_holder_id, "event_id": order.event_id, "campaign_id": order.campaign_id,
            "ruleset_version_id": order.ruleset_version_id, "unit_id": order.unit_id,
            "template_id": order.template_id, "timeline_id": order.timeline_id, "rule_key": order.rule_key,
            "list_kind": order.list_kind, "status": TaskStatus.DISPATCHED, "limit_value": order.limit_value,
            "limit_unit": order.limit_unit, "deadline_at": order.deadline_at, "points": order.points,
            "created_at": now, "version": 1, "rework_count": 0, "extension_count": 0, "paused_seconds": 0,
            "case_id": order.case_id, "reopening": order.reopening}


def _born(session: Session, created: list[tuple[int, TaskOrder]], holders: dict[tuple[int, int, int], int],
          now: datetime) -> None:
    """The first transition, the ladder, the unit's message and the rule escalations of new tasks."""
    transitions, steps, messages, supervisions = [], [], [], []
    kinds = _unit_kinds(session, {order.unit_id for _, order in created})
    for task_id, order in created:
        transitions.append(_dispatch_transition(task_id, order, holders.get(order.slot), now))
        clock = Clock.of(order.calendar, order.limit_value, order.limit_unit, order.continuous_time)
        steps.append(first_step(plan_steps(task_id, now, order.deadline_at, clock, order.steps, order.bodies,
                                           kinds.get(order.unit_id))))
        messages.append(outbox.message(f"task-dispatched:{task_id}", "task_dispatched", f"unit:{order.unit_id}",
                                       {"task": task_id, "event": order.event_id,
                                        "deadline": order.deadline_at.isoformat()},
                                       now, event_id=order.event_id, task_id=task_id))
        escalations = {(e.rule_key, e.tier): e for e in order.escalations}  # the key of its message: once each
        for escalation in escalations.values():
            kind = "list_publicly" if escalation.list_publicly else "urge"
            supervisions.append({"task_id": task_id, "tier_level": escalation.tier, "kind": kind,
                                 "message": escalation.message, "created_by": None, "created_at": now,
                                 "reply_due_at": escalation.rectify_by if escalation.list_publicly else None})
            payload = {"task": task_id, "kind": kind, "tier": escalation.tier, "rule": escalation.rule_key,
                       "message": escalation.message}
            if escalation.list_publicly:
                payload.update({"rectify_by": escalation.rectify_by.isoformat() if escalation.rectify_by else None,
                                "authority": escalation.authority})
            messages.append(outbox.message(
                f"rule-escalation:{task_id}:{escalation.rule_key}:{escalation.tier}", f"supervision_{kind}",
                f"tier:{escalation.tier}", payload, now, event_id=order.event_id, task_id=task_id))
    # COPY on PostgreSQL (psycopg's executemany sends one INSERT per row), Core inserts elsewhere (docs/BENCHMARKS.md)
    insert_rows(session, TaskTransition.__table__, transitions)
    insert_rows(session, TaskStep.__table__, steps)
    insert_rows(session, Supervision.__table__, supervisions)
    outbox.write(session, messages)


def _dispatch_transition(task_id: int, order: TaskOrder, assignee_id: int | None, now: datetime) -> dict[str, Any]:
    """A new task's first task_transitions row: the only place one is built at dispatch (a per-row MAC goes here)."""
    return {"task_id": task_id, "from_status": None, "to_status": TaskStatus.DISPATCHED, "action": "dispatch",
            "actor_id": None, "at": now, "comment": "", "data": {"rule": order.rule_key, "assignee": assignee_id}}
