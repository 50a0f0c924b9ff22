"""The evaluation pipeline: claim pending events under a lease, enrich, evaluate, decide, record.

Fresh events are claimed in batches; an event whose earlier attempt did not finish (an exception,
or a process that died) is claimed alone, and one that has failed alone `max_attempts` times is
marked failed with its error so it never blocks the queue. Results are written in ONE transaction that
also checks the lease is still ours, so a worker that lost its lease can never write twice.
"""
from __future__ import annotations

import logging
import os
import socket
import traceback
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import insert, or_, select, update, func
from sqlalchemy.orm import Session, selectinload, sessionmaker

from engine.core import clock, outbox
from engine.evaluation.context import active_contexts
from engine.cases.linking import Links, link_batch
from engine.cases.stages import NewCase, add_reports, open_cases
from engine.evaluation.enrich import History, Reference, load_reference
from engine.evaluation.hotspots import once_per_spot
from engine.evaluation.verdict import Verdict, decide_batch, per_event
from engine.handling.dispatch import RuleEscalation, TaskOrder, dispatch
from engine.core.models import Event, Firing
from engine.core.states import CaseStage, EventStatus
import time
from engine.durable.evaluator import evaluator

log = logging.getLogger(__name__)


@dataclass
class DrainResult:
    evaluated: int = 0
    failed: int = 0  # given up: failed alone `max_attempts` times
    retried: int = 0  # an attempt raised; the events go back to be retried alone
    batches: int = 0
    event_ids: list[int] = field(default_factory=list)


def lease_owner() -> str:
    """The prefix of this process's lease tokens; a supervisor releases a dead process's leases by it."""
    return f"{socket.gethostname()}/{os.getpid()}/"


def _claimable(now: datetime):
    return (Event.status == EventStatus.PENDING) & or_(Event.lease_until.is_(None), Event.lease_until < now)


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


def fail_exhausted(session: Session, token: str, max_attempts: int) -> int:
    """Give up on the leased events that already failed alone `max_attempts` times. Commits."""
    result = session.execute(update(Event).where(Event.lease_token == token, Event.attempts > max_attempts + 1)
                             .values(status=EventStatus.FAILED, lease_token=None, lease_until=None)
                             .execution_options(synchronize_session=False))
    session.commit()
    return result.rowcount or 0


def release(session: Session, token_prefix: str, error: str) -> int:
    """Give up the leases starting with `token_prefix`, recording why; they will be retried alone. Commits."""
    result = session.execute(update(Event)
                             .where(Event.status == EventStatus.PENDING, Event.lease_token.startswith(token_prefix))
                             .values(lease_token=None, lease_until=None, last_error=error[:4000])
                             .execution_options(synchronize_session=False))
    session.commit()
    return result.rowcount or 0


def evaluate_claimed(session: Session, token: str, ids: list[int]) -> int:
    """Evaluate the leased events and record everything in one transaction; return how many were recorded."""
    events = list(session.scalars(select(Event).where(Event.id.in_(ids), Event.lease_token == token)
                                  .options(selectinload(Event.category)).order_by(Event.id)))
    if not events:
        session.rollback()
        return 0
    now = clock.now()
    history = History.of(session, events)
    ref = load_reference(session)
    groups = per_event(decide_batch(events, active_contexts(session), evaluator(), ref, history, now))
    verdicts_of = {verdicts[0].event.id: verdicts for verdicts in groups}
    links = link_batch(session, events)
    once_per_spot(session, groups, links, ref, now)
    case_of = _cases(session, events, verdicts_of, links, ref, now)
    _record(session, [g for g in groups if links.opens(g[0].event.id)], [g for g in groups
                                                                         if not links.opens(g[0].event.id)],
            case_of, now)
    for event in events:
        verdicts = verdicts_of.get(event.id, [])  # none while no campaign is active
        event.points = verdicts[0].points if verdicts and links.opens(event.id) else 0.0  # a linked report: none
        event.case_id = case_of[event.id]
        event.facts = {str(verdict.context.id): verdict.facts for verdict in verdicts}
        if links.opens(event.id) and history.rebound(event.id) is not None:  # a linked report: its case has it
            event.rebound_task_id = history.rebound(event.id)
    done = session.execute(update(Event).where(Event.id.in_([e.id for e in events]), Event.lease_token == token)
                           .values(status=EventStatus.EVALUATED, evaluated_at=now, lease_token=None, lease_until=None,
                                   last_error=None).execution_options(synchronize_session=False)).rowcount
    if done != len(events):
        session.rollback()
        log.warning("lease %s lost before commit; another worker owns these events now", token)
        return 0
    session.commit()
    return done


def _cases(session: Session, events: list[Event], verdicts_of: dict[int, list[Verdict]], links: Links,
           ref: Reference, now: datetime) -> dict[int, int]:
    """Open a case for every report that joins none (dispatched when it gets a task, else awaiting dispatch),
    count the linked reports on theirs; return each report's case id."""
    opening = [event for event in events if links.opens(event.id)]
    new = []
    for event in opening:
        verdicts = verdicts_of.get(event.id, [])
        won = sorted((t for verdict in verdicts for t in verdict.tasks.values()), key=lambda t: t.order)
        lead = ref.routing(event.category_id, event.grid_id).lead
        new.append(NewCase(campaign_id=verdicts[0].context.id if verdicts else None, category_id=event.category_id,
                           grid_id=event.grid_id, lat=event.lat, lon=event.lon, reported_at=event.occurred_at,
                           filing_condition=event.filing_condition or ref.categories[event.category_id].default_condition,
                           lead_unit_id=lead.id if lead is not None else (won[0].unit_id if won else None),
                           stage=CaseStage.DISPATCHED if won else CaseStage.AWAITING_DISPATCH))
    case_of = dict(zip((event.id for event in opening), open_cases(session, new, now)))
    for event in events:
        if event.id in links.to_case:
            case_of[event.id] = links.to_case[event.id]
        elif event.id in links.to_report:
            case_of[event.id] = case_of[links.to_report[event.id]]
    add_reports(session, Counter(case_of[e.id] for e in events if not links.opens(e.id)))
    return case_of


def _orders(verdicts: list[Verdict], case_id: int | None = None) -> list[TaskOrder]:
    """One event's winning tasks, one per unit in unit order, each with the rule escalations aimed at it
    (at the units the escalating rule asked tasks of, else at all the event's tasks)."""
    event = verdicts[0].event
    orders: dict[int, TaskOrder] = {}
    won = sorted(((unit_id, decision, verdict) for verdict in verdicts for unit_id, decision in verdict.tasks.items()),
                 key=lambda item: item[0])
    for unit_id, decision, verdict in won:
        ctx = verdict.context
        orders[unit_id] = TaskOrder(
            event_id=event.id, campaign_id=ctx.id, ruleset_version_id=ctx.version_id, unit_id=unit_id,
            template_id=ctx.template_id(decision.template_code), timeline_id=ctx.timeline_id(decision.timeline_code),
            rule_key=decision.rule_key, list_kind=decision.list_kind, limit_value=decision.limit_value,
            limit_unit=decision.limit_unit, deadline_at=decision.deadline_at, points=verdict.points_for(unit_id),
            steps=ctx.steps(decision.timeline_code), calendar=ctx.calendar, continuous_time=ctx.continuous_time,
            case_id=case_id)
    for verdict in verdicts:
        for firing in verdict.firings:
            for step in firing.escalations:
                message = f"{step['message']['zh']} / {step['message']['en']}"
                for unit_id in [t.unit_id for t in firing.tasks] or list(orders):
                    orders[unit_id].escalations.append(
                        RuleEscalation(step["tier"], step["list_publicly"], message, firing.rule_key))
    return list(orders.values())


def _record(session: Session, groups: list[list[Verdict]], joined: list[list[Verdict]], case_of: dict[int, int],
            now: datetime) -> None:
    """Write a batch: the tasks of the reports that open cases through dispatch, then every report's firings
    (linked to their units' tasks) and the rules' notifications, each kind in one bulk insert. A report that
    joined a case keeps its firings (phase intake) but makes no task, no points and no notification."""
    orders = [order for verdicts in groups for order in _orders(verdicts, case_of[verdicts[0].event.id])]
    task_of = dict(zip((order.key for order in orders), dispatch(session, orders, now)))
    firings: list[dict] = []
    messages: list[dict] = []
    opening = {verdicts[0].event.id for verdicts in groups}
    for verdicts in groups + joined:
        event = verdicts[0].event
        for firing in (f for verdict in verdicts for f in verdict.firings):
            linked = [task_of[(event.id, t.unit_id)] for t in firing.tasks] if event.id in opening else []
            task_decisions = [d for d in firing.decisions if d.get("do") == "create_task" and "unit" in d]
            for decision, task_id in zip(task_decisions, linked):
                decision["task"] = task_id
            firings.append({"event_id": event.id, "campaign_id": firing.campaign_id,
                            "ruleset_version_id": firing.version_id, "rule_key": firing.rule_key,
                            "rule_version": firing.rule_version, "list_kind": firing.list_kind,
                            "list_item": firing.list_item, "matched": firing.matched, "decisions": firing.decisions,
                            "points": firing.points if event.id in opening else 0.0,
                            "task_id": linked[0] if linked else None, "fired_at": now, "phase": "intake",
                            "unit_id": firing.tasks[0].unit_id if firing.tasks else None,
                            "category_id": event.category_id, "grid_id": event.grid_id})
            messages += [outbox.message(f"notify:{event.id}:{firing.version_id}:{firing.rule_key}:{i}", "notify",
                                        note["to"], {"event": event.id, "rule": firing.rule_key}, now,
                                        event_id=event.id, task_id=linked[0] if linked else None,
                                        channel=note["channel"])
                         for i, note in enumerate(firing.notifications if event.id in opening else [])]
    if firings:
        session.execute(insert(Firing).execution_options(render_nulls=True), firings)  # one batch, not one per null
    outbox.write(session, messages)


def drain(factory: sessionmaker, batch_size: int, lease_seconds: int, max_attempts: int,
          time_budget: float = 30.0) -> DrainResult:
    """Evaluate pending events until none is claimable or the time budget is spent."""
    result = DrainResult()
    started = time.monotonic()
    while time.monotonic() - started < time_budget:
        with factory() as session:
            token, ids, alone = claim(session, batch_size, lease_seconds)
            if not ids:
                break
            result.batches += 1
            result.failed += fail_exhausted(session, token, max_attempts)
            try:
                recorded = evaluate_claimed(session, token, ids)
                result.evaluated += recorded
                result.event_ids += ids
            except Exception:
                session.rollback()
                error = traceback.format_exc(limit=5)
                log.exception("evaluation failed for events %s", ids,
                              extra={"event_ids": ids, "event_id": ids[0] if len(ids) == 1 else None})
                result.retried += len(ids)
                release(session, token, error)
    return result


def pending_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Event).where(_claimable(clock.now()))) or 0
