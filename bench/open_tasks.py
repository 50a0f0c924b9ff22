"""Open tasks for the escalation bench, stored as dispatch stores them (engine/handling/dispatch.py): the task, its
first transition, its whole ladder from the demo pack's longest timeline, its "task dispatched" message (already
delivered and addressed, as it is long after dispatch), one event per two tasks; every table by COPY on PostgreSQL
(engine/core/bulk.py), so that a million tasks set up in minutes where executemany took most of an hour.

Each task is given the instant its first step falls due. Its limit runs in continuous time, so the ladder is the
one plan_steps gives a task created that long before: every later step is due at least 9.6 hours after the first.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

LIMIT_VALUE, LIMIT_UNIT = 2, "urgent_days"  # continuous time: the ladder's offsets do not depend on the calendar
CHUNK = 20_000  # tasks per transaction


@dataclass
class Stored:
    """What the bench needs back: every task's id, the id of its first step, and the time each part took."""

    task_ids: list[int]
    first_step_ids: list[int]
    seconds: dict[str, float]


def _ladder(session: Any, campaign_id: int) -> tuple[list[Any], list[Any], int, str]:
    """The demo pack's longest timeline as frozen steps, the campaign's bodies, the timeline id and code."""
    from sqlalchemy import func, select

    from engine.core.models import SupervisionTier, Timeline, TimelineStep
    from engine.handling.ladder import Body, FrozenStep

    timeline = session.execute(select(Timeline.id, Timeline.code).join(TimelineStep, TimelineStep.timeline_id == Timeline.id)
                               .where(Timeline.campaign_id == campaign_id).group_by(Timeline.id, Timeline.code)
                               .order_by(func.count().desc(), Timeline.id).limit(1)).one()
    steps = [FrozenStep.of(s) for s in session.scalars(select(TimelineStep).where(TimelineStep.timeline_id == timeline.id)
                                                        .order_by(TimelineStep.position))]
    bodies = [Body.of(t) for t in session.scalars(select(SupervisionTier)
                                                  .where(SupervisionTier.campaign_id == campaign_id))]
    return steps, bodies, timeline.id, timeline.code


def _kinds(session: Any) -> dict[int, str]:
    from sqlalchemy import select

    from engine.core.models import Unit
    from engine.handling.ladder import unit_kind

    parent = Unit.__table__.alias("parent")
    return {uid: unit_kind(own, above) for uid, own, above in session.execute(
        select(Unit.id, Unit.type, parent.c.type).outerjoin(parent, parent.c.id == Unit.parent_id))}


def store(url: str, ids: dict[str, Any], first_dues: list[datetime], label: str,
          say: Callable[[str], None] = print) -> Stored:
    """Write len(first_dues) open tasks, task i's first step due at first_dues[i]; seal their transitions."""
    from sqlalchemy import select

    from engine.audit import seals
    from engine.core import outbox
    from engine.core.bulk import insert_returning_ids, insert_rows
    from engine.core.db import session_factory
    from engine.core.models import Event, Grid, InboxAddress, OutboxMessage, Task, TaskStep, TaskTransition
    from engine.core.states import TaskStatus
    from engine.core.worktime import WorkCalendar
    from engine.handling.ladder import Clock, first_step, plan_steps

    factory = session_factory(url)
    with factory() as session:
        steps, bodies, timeline_id, timeline_code = _ladder(session, ids["campaign_id"])
        kinds = _kinds(session)
        grids = list(session.scalars(select(Grid.id).order_by(Grid.id)))
    units = ids["unit_ids"]
    clock = Clock.of(WorkCalendar.build("Asia/Shanghai", None, {}, ()), LIMIT_VALUE, LIMIT_UNIT, True)
    origin = datetime(2026, 1, 1, tzinfo=first_dues[0].tzinfo)
    span = timedelta(minutes=clock.limit_minutes)
    # The ladder's offsets from creation, per kind of unit (a body's level depends on it): exact in continuous time.
    plans = {kind: plan_steps(None, origin, origin + span, clock, steps, bodies, kind) for kind in set(kinds.values())}
    lead = {kind: rows[0]["due_at"] - origin for kind, rows in plans.items()}
    say(f"  ladder: timeline {timeline_code!r}, {len(steps)} steps "
        f"({', '.join(s.action for s in steps)}); limit {LIMIT_VALUE} {LIMIT_UNIT}")
    seconds = {"events": 0.0, "tasks": 0.0, "transitions": 0.0, "steps": 0.0, "outbox": 0.0, "seal": 0.0}
    task_ids: list[int] = []
    first_step_ids: list[int] = []
    started = time.perf_counter()
    for base in range(0, len(first_dues), CHUNK):
        dues = first_dues[base:base + CHUNK]
        with factory() as session:
            t = time.perf_counter()
            created = [due - lead[kinds[units[(base + j) % len(units)]]] for j, due in enumerate(dues)]
            events = [{"source": "bench-escalation", "source_event_id": f"esc-{label}-{(base + j) // 2}",
                       "source_type": "hotline", "category_id": ids["category_id"],
                       "grid_id": grids[((base + j) // 2) % len(grids)], "occurred_at": created[j],
                       "received_at": created[j], "description": "", "address": "", "status": "evaluated",
                       "attempts": 0, "points": 0, "evaluated_at": created[j], "anonymous": False,
                       "facts": {"category": ids["category_code"], "grid": "", "source_type": "hotline"}}
                      for j in range(0, len(dues), 2)]
            event_ids = insert_returning_ids(session, Event.__table__, events)
            seconds["events"] += time.perf_counter() - t
            t = time.perf_counter()
            rows = [{"assignee_id": None, "frontage_holder_id": None, "event_id": event_ids[j // 2],
                     "campaign_id": ids["campaign_id"], "ruleset_version_id": ids["ruleset_version_id"],
                     "unit_id": units[(base + j) % len(units)], "template_id": ids["template_id"],
                     "timeline_id": timeline_id, "rule_key": "bench-escalation", "list_kind": "custom",
                     "status": TaskStatus.DISPATCHED, "limit_value": LIMIT_VALUE, "limit_unit": LIMIT_UNIT,
                     "deadline_at": created[j] + span, "points": 0, "created_at": created[j], "version": 1,
                     "rework_count": 0, "extension_count": 0, "paused_seconds": 0, "case_id": None, "reopening": 0}
                    for j in range(len(dues))]
            new = insert_returning_ids(session, Task.__table__, rows)
            seconds["tasks"] += time.perf_counter() - t
            t = time.perf_counter()
            insert_rows(session, TaskTransition.__table__, [
                {"task_id": task_id, "from_status": None, "to_status": TaskStatus.DISPATCHED, "action": "dispatch",
                 "actor_id": None, "at": row["created_at"], "comment": "", "data": {"rule": row["rule_key"],
                                                                                   "assignee": None}}
                for task_id, row in zip(new, rows)])
            seconds["transitions"] += time.perf_counter() - t
            t = time.perf_counter()
            ladder = []  # as dispatch writes it: the first step, carrying the rest of the plan
            for task_id, row in zip(new, rows):
                moved = row["created_at"] - origin
                ladder.append(first_step([{**step, "task_id": task_id, "due_at": step["due_at"] + moved}
                                          for step in plans[kinds[row["unit_id"]]]]))
            first_step_ids += insert_returning_ids(session, TaskStep.__table__, ladder)
            seconds["steps"] += time.perf_counter() - t
            t = time.perf_counter()
            messages = []
            for task_id, row in zip(new, rows):
                message = outbox.message(f"task-dispatched:{task_id}", "task_dispatched", f"unit:{row['unit_id']}",
                                         {"task": task_id, "event": row["event_id"],
                                          "deadline": row["deadline_at"].isoformat()},
                                         row["created_at"], event_id=row["event_id"], task_id=task_id)
                messages.append({**message, "status": "delivered", "attempts": 1,
                                 "delivered_at": row["created_at"] + timedelta(seconds=2)})
            message_ids = insert_returning_ids(session, OutboxMessage.__table__, messages)
            insert_rows(session, InboxAddress.__table__, [{"outbox_id": mid, "scope": "unit", "ref": row["unit_id"]}
                                                          for mid, row in zip(message_ids, rows)])
            seconds["outbox"] += time.perf_counter() - t
            session.commit()
        task_ids += new
        if (base // CHUNK) % 10 == 9:
            say(f"  {len(task_ids):,} tasks stored in {time.perf_counter() - started:.0f} s")
    t = time.perf_counter()
    with factory() as session:  # long after dispatch the chain is sealed: the poller's audit round has no backlog
        while seals.seal(session):
            pass
    seconds["seal"] = time.perf_counter() - t
    engine = factory.kw["bind"]
    if engine.dialect.name == "postgresql":
        t = time.perf_counter()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
        seconds["analyze"] = time.perf_counter() - t
    return Stored(task_ids, first_step_ids, {k: round(v, 1) for k, v in seconds.items()})
