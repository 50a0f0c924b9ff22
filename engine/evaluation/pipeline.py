"""The evaluation pipeline: claim pending events under a lease, enrich, evaluate, decide, record.

Fresh events are claimed in batches; an event whose earlier attempt did not finish (an exception,
or a process that died) is claimed alone, and one that has failed alone `max_attempts` times is
parked with its error so it never blocks the queue. Results are written in ONE transaction that
also checks the lease is still ours, so a worker that lost its lease can never write twice.
"""
from __future__ import annotations

import logging
import os
import socket
import traceback
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, selectinload, sessionmaker

from engine.core import clock
from engine.evaluation.context import active_contexts, frozen_steps, frozen_template_version
from engine.evaluation.decide import firing_decisions, points_owner, winners
from engine.evaluation.enrich import History, facts_for, load_reference
from engine.handling.ladder import plan_steps
from engine.supervision.board import escalate_by_rule
from engine.core.models import Event, Firing, OutboxMessage, Task, TaskTemplate, TaskTransition, Timeline

log = logging.getLogger(__name__)


@dataclass
class DrainResult:
    evaluated: int = 0
    parked: int = 0
    failed: int = 0
    batches: int = 0
    event_ids: list[int] = field(default_factory=list)


def lease_owner() -> str:
    """The prefix of this process's lease tokens; a supervisor releases a dead process's leases by it."""
    return f"{socket.gethostname()}/{os.getpid()}/"


def _claimable(now: datetime):
    return (Event.status == "pending") & or_(Event.lease_until.is_(None), Event.lease_until < now)


def claim(session: Session, batch_size: int, lease_seconds: int) -> tuple[str, list[int], bool]:
    """Lease a batch of fresh events, or else one retried event; return (token, ids, alone). Commits."""
    now = clock.now()
    token = lease_owner() + uuid.uuid4().hex[:12]
    for fresh, limit in ((True, batch_size), (False, 1)):
        pick = (select(Event.id).where(_claimable(now), (Event.attempts == 0) if fresh else (Event.attempts > 0))
                .order_by(Event.id).limit(limit).with_for_update(skip_locked=True))
        session.execute(update(Event).where(Event.id.in_(pick.scalar_subquery()))
                        .values(lease_token=token, lease_until=now + timedelta(seconds=lease_seconds),
                                attempts=Event.attempts + 1).execution_options(synchronize_session=False))
        ids = list(session.scalars(select(Event.id).where(Event.lease_token == token).order_by(Event.id)))
        session.commit()
        if ids:
            return token, ids, not fresh
    return token, [], False


def park_exhausted(session: Session, token: str, max_attempts: int) -> int:
    """Park the leased events that already failed alone `max_attempts` times. Commits."""
    result = session.execute(update(Event).where(Event.lease_token == token, Event.attempts > max_attempts + 1)
                             .values(status="parked", lease_token=None, lease_until=None)
                             .execution_options(synchronize_session=False))
    session.commit()
    return result.rowcount or 0


def release(session: Session, token_prefix: str, error: str) -> int:
    """Give up the leases starting with `token_prefix`, recording why; they will be retried alone. Commits."""
    result = session.execute(update(Event).where(Event.status == "pending", Event.lease_token.startswith(token_prefix))
                             .values(lease_token=None, lease_until=None, last_error=error[:4000])
                             .execution_options(synchronize_session=False))
    session.commit()
    return result.rowcount or 0


def evaluate_claimed(session: Session, token: str, ids: list[int]) -> int:
    """Evaluate the leased events and record everything in one transaction; return how many were recorded."""
    from engine.durable.evaluator import crash_if_marked, evaluator  # the C engine loads only where events are evaluated

    events = list(session.scalars(select(Event).where(Event.id.in_(ids), Event.lease_token == token)
                                  .options(selectinload(Event.category)).order_by(Event.id)))
    if not events:
        session.rollback()
        return 0
    crash_if_marked(e.description for e in events)
    now = clock.now()
    contexts = active_contexts(session)
    ref = load_reference(session)
    history = History.of(session, events)
    facts = {(e.id, c.id): facts_for(e, ref, c, history) for e in events for c in contexts}
    fired: dict[tuple[int, int], list[str]] = {}
    engine = evaluator()
    for ctx in contexts:
        results = engine.evaluate(ctx.tag, ctx.compiled, ((str(e.id), facts[(e.id, ctx.id)]) for e in events))
        for e in events:
            fired[(e.id, ctx.id)] = results.get(str(e.id), [])
    templates = {(t.code, t.version): t for t in session.scalars(select(TaskTemplate).order_by(TaskTemplate.version))}
    timelines = {(t.campaign_id, t.code): t for t in session.scalars(
        select(Timeline).options(selectinload(Timeline.steps)))}
    by_campaign = {ctx.id: ctx for ctx in contexts}
    decided = {event.id: [f for ctx in contexts for f in firing_decisions(event, facts[(event.id, ctx.id)],
                                                                         fired[(event.id, ctx.id)], ctx, ref, now)]
               for event in events}
    _record(session, events, decided, templates, timelines, by_campaign, now)
    for event in events:
        event.facts = {str(ctx.id): facts[(event.id, ctx.id)] for ctx in contexts}
        if event.id in history.closures:
            event.rebound_task_id = history.closures[event.id][0]
    done = session.execute(update(Event).where(Event.id.in_([e.id for e in events]), Event.lease_token == token)
                           .values(status="evaluated", evaluated_at=now, lease_token=None, lease_until=None,
                                   last_error=None).execution_options(synchronize_session=False)).rowcount
    if done != len(events):
        session.rollback()
        log.warning("lease %s lost before commit; another worker owns these events now", token)
        return 0
    session.commit()
    return done


def _frozen(ctx, decision, templates, latest, timelines) -> tuple[TaskTemplate, Timeline | None, list]:
    """The template version and timeline steps frozen in the task's ruleset version (live ones for a
    version published before bundles existed); the task still points at the live Timeline row."""
    version = frozen_template_version(ctx.bundle, decision.template_code)
    template = templates.get((decision.template_code, version)) or latest[decision.template_code]
    timeline = timelines.get((ctx.id, decision.timeline_code))
    steps = frozen_steps(ctx.bundle, decision.timeline_code)
    if steps is None:
        steps = list(timeline.steps) if timeline is not None else []
    return template, timeline, steps


def _record(session: Session, events: list[Event], decided, templates, timelines, by_campaign,
            now: datetime) -> None:
    """Write a whole batch with two flushes: the tasks (for their ids), then everything that names them."""
    tasks: dict[int, dict[int, Task]] = {}
    steps_of: dict[tuple[int, int], list] = {}
    latest = {code: t for (code, _), t in templates.items()}  # loaded in version order: the newest wins
    for event in events:
        firings = decided[event.id]
        points, points_unit = points_owner(firings)
        event.points = points
        tasks[event.id] = {}
        for unit_id, decision in sorted(winners(firings).items()):
            firing = next(f for f in firings if f.rule_key == decision.rule_key)
            template, timeline, steps_of[(event.id, unit_id)] = _frozen(by_campaign[firing.campaign_id], decision,
                                                                         templates, latest, timelines)
            tasks[event.id][unit_id] = Task(
                event_id=event.id, campaign_id=firing.campaign_id, ruleset_version_id=firing.version_id,
                unit_id=unit_id, template_id=template.id,
                timeline_id=timeline.id if timeline else None, rule_key=decision.rule_key,
                list_kind=decision.list_kind, status="dispatched", limit_value=decision.limit_value,
                limit_unit=decision.limit_unit, deadline_at=decision.deadline_at,
                points=points if unit_id == points_unit else 0, created_at=now, version=1, rework_count=0,
                extension_count=0, paused_seconds=0)
    session.add_all([task for by_unit in tasks.values() for task in by_unit.values()])
    session.flush()
    rows: list = []
    for event in events:
        by_unit = tasks[event.id]
        for task in by_unit.values():
            steps = steps_of[(event.id, task.unit_id)]
            if steps:
                ctx = by_campaign[task.campaign_id]
                rows += plan_steps(task, steps, ctx.calendar, ctx.continuous_time)
            rows.append(TaskTransition(task_id=task.id, from_status=None, to_status="dispatched", action="dispatch",
                                       at=now, comment="", data={"rule": task.rule_key}))
            rows.append(OutboxMessage(idempotency_key=f"task-dispatched:{task.id}", event_id=event.id, task_id=task.id,
                                      kind="task_dispatched", channel="inbox", target=f"unit:{task.unit_id}",
                                      payload={"task": task.id, "event": event.id,
                                               "deadline": task.deadline_at.isoformat()},
                                      created_at=now, next_attempt_at=now))
        for firing in decided[event.id]:
            linked = [by_unit[t.unit_id].id for t in firing.tasks]
            task_decisions = [d for d in firing.decisions if d.get("do") == "create_task" and "unit" in d]
            for decision, task_id in zip(task_decisions, linked):
                decision["task"] = task_id
            rows.append(Firing(event_id=event.id, campaign_id=firing.campaign_id,
                               ruleset_version_id=firing.version_id, rule_key=firing.rule_key,
                               rule_version=firing.rule_version, list_kind=firing.list_kind,
                               list_item=firing.list_item, matched=firing.matched, decisions=firing.decisions,
                               points=firing.points, task_id=linked[0] if linked else None, fired_at=now,
                               unit_id=firing.tasks[0].unit_id if firing.tasks else None,
                               category_id=event.category_id, grid_id=event.grid_id))
            for escalation in firing.escalations:
                for task in ([by_unit[t.unit_id] for t in firing.tasks] or list(by_unit.values())):
                    rows += escalate_by_rule(task, escalation["tier"], escalation["list_publicly"],
                                             f"{escalation['message']['zh']} / {escalation['message']['en']}",
                                             firing.rule_key, now)
            for i, note in enumerate(firing.notifications):
                rows.append(OutboxMessage(
                    idempotency_key=f"notify:{event.id}:{firing.version_id}:{firing.rule_key}:{i}", event_id=event.id,
                    task_id=linked[0] if linked else None, kind="notify", channel=note["channel"], target=note["to"],
                    payload={"event": event.id, "rule": firing.rule_key}, created_at=now, next_attempt_at=now))
    session.add_all(rows)


def drain(factory: sessionmaker, batch_size: int, lease_seconds: int, max_attempts: int,
          time_budget: float = 30.0) -> DrainResult:
    """Evaluate pending events until none is claimable or the time budget is spent."""
    import time

    result = DrainResult()
    started = time.monotonic()
    while time.monotonic() - started < time_budget:
        with factory() as session:
            token, ids, alone = claim(session, batch_size, lease_seconds)
            if not ids:
                break
            result.batches += 1
            parked = park_exhausted(session, token, max_attempts)
            result.parked += parked
            try:
                recorded = evaluate_claimed(session, token, ids)
                result.evaluated += recorded
                result.event_ids += ids
            except Exception:
                session.rollback()
                error = traceback.format_exc(limit=5)
                log.exception("evaluation failed for events %s", ids,
                              extra={"event_ids": ids, "event_id": ids[0] if len(ids) == 1 else None})
                result.failed += len(ids)
                release(session, token, error)
    return result


def pending_count(session: Session) -> int:
    from sqlalchemy import func

    return session.scalar(select(func.count()).select_from(Event).where(_claimable(clock.now()))) or 0
