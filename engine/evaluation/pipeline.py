"""The evaluation pipeline: claim pending events under a lease, enrich, evaluate, decide, record.

Fresh events are claimed in batches; an event whose earlier attempt did not finish (an exception,
or a process that died) is claimed alone, and one that has failed alone `max_attempts` times is
marked failed with its error so it never blocks the queue. Results are written in ONE transaction that
also checks the lease is still ours, so a worker that lost its lease can never write twice.
"""
from __future__ import annotations

import json
import logging
import os
import socket
import traceback
import uuid
from collections.abc import Callable
from contextlib import nullcontext
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, text, update
from sqlalchemy.orm import Session, configure_mappers, selectinload, sessionmaker

from engine.core import clock
from engine.evaluation.context import active_contexts
from engine.cases.linking import Links, link_batch
from engine.cases.stages import NewCase, add_reports, open_cases
from engine.evaluation.enrich import History, Reference, load_reference
from engine.evaluation.hotspots import once_per_spot
from engine.evaluation.verdict import Verdict, decide_batch, per_event
from engine.cases.admission import Admission, Policies, admission, clock_due
from engine.core.models import Campaign, Event, Grid
from engine.evaluation.lease import Heartbeat
from engine.evaluation.record import record

from engine.core.states import CaseStage, EventStatus
import time
from engine.durable.evaluator import evaluator

log = logging.getLogger(__name__)
OUTSIDE_EVERY_GRID = "located outside every grid / 位置不在任何网格内"


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
        ids = sorted(session.scalars(  # the ids as the update returns them: no index holds lease_token
            update(Event).where(Event.id.in_(pick.scalar_subquery()))
            .values(lease_token=token, lease_until=now + timedelta(seconds=lease_seconds),
                    attempts=Event.attempts + 1).returning(Event.id).execution_options(synchronize_session=False)))
        session.commit()
        if ids:
            return token, ids, not fresh
    return token, [], False


def fail_exhausted(session: Session, token: str, ids: list[int], max_attempts: int) -> int:
    """Give up on the leased events (`ids`, under `token`) that already failed alone `max_attempts` times. Commits."""
    result = session.execute(update(Event).where(Event.id.in_(ids), Event.lease_token == token,
                                                 Event.attempts > max_attempts + 1)
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
    placed = [event for event in events if event.grid_id is not None]  # outside every grid: nothing to evaluate
    history = History.of(session, placed)
    ref = load_reference(session)
    contexts = active_contexts(session)
    engine = evaluator()
    engine.retain({context.tag for context in contexts})  # a retired version leaves the long-lived Host
    groups = per_event(decide_batch(placed, contexts, engine, ref, history, now))
    verdicts_of = {verdicts[0].event.id: verdicts for verdicts in groups}
    links = link_batch(session, events)
    once_per_spot(session, groups, links, ref, now)
    admitted = _admit(session, events, verdicts_of, links)
    case_of = _cases(session, events, verdicts_of, links, admitted, ref, now, history)
    record(session, [g for g in groups if admitted.get(g[0].event.id) == Admission.FILE],
           [g for g in groups if admitted.get(g[0].event.id) != Admission.FILE], case_of, now)
    outcome = {}
    for event in events:
        verdicts = verdicts_of.get(event.id, [])  # none while no campaign is active
        filed = admitted.get(event.id) == Admission.FILE
        outcome[event.id] = Outcome(
            verdicts[0].points if verdicts and filed else 0.0,  # a linked or unfiled report: none yet
            case_of[event.id], {str(verdict.context.id): verdict.facts for verdict in verdicts},
            history.rebound(event.id) if links.opens(event.id) else None)  # a linked report: its case has it
    done = _evaluated(session, token, outcome, now)
    if done != len(events):
        session.rollback()
        log.warning("lease %s lost before commit; another worker owns these events now", token)
        return 0
    session.commit()
    return done


@dataclass(frozen=True)
class Outcome:
    """What an evaluation writes on its event besides the status."""

    points: float
    case_id: int
    facts: dict
    rebound_task_id: int | None  # kept as it was when None


_EVALUATED_PG = text(
    "UPDATE events AS e SET status = :status, evaluated_at = :now, lease_token = NULL, lease_until = NULL, "
    "last_error = NULL, points = v.points, case_id = v.case_id, facts = v.facts, "
    "rebound_task_id = COALESCE(v.rebound, e.rebound_task_id) "
    "FROM json_to_recordset(CAST(:rows AS json)) AS v(id bigint, points float8, case_id bigint, facts json, "
    "rebound bigint) WHERE e.id = v.id AND e.lease_token = :token")


def _evaluated(session: Session, token: str, outcome: dict[int, Outcome], now: datetime) -> int:
    """Mark the events evaluated with their outcome while the lease is still ours; return how many were.
    PostgreSQL: one statement over a JSON array of the rows, not one per event; elsewhere one update per event."""
    if session.get_bind().dialect.name == "postgresql":
        return session.execute(_EVALUATED_PG, {
            "status": EventStatus.EVALUATED.value, "now": now, "token": token, "rows": json.dumps([
                {"id": event_id, "points": o.points, "case_id": o.case_id, "facts": o.facts,
                 "rebound": o.rebound_task_id} for event_id, o in outcome.items()])}).rowcount
    done = 0
    for event_id, o in outcome.items():
        values = {"points": o.points, "case_id": o.case_id, "facts": o.facts}
        if o.rebound_task_id is not None:
            values["rebound_task_id"] = o.rebound_task_id
        done += session.execute(update(Event).where(Event.id == event_id, Event.lease_token == token)
                                .values(status=EventStatus.EVALUATED, evaluated_at=now, lease_token=None,
                                        lease_until=None, last_error=None, **values)
                                .execution_options(synchronize_session=False)).rowcount
    return done


def _admit(session: Session, events: list[Event], verdicts_of: dict[int, list[Verdict]],
           links: Links) -> dict[int, Admission]:
    """How each report that opens a case enters it; a report joining an open case is not admitted (it has none)."""
    policies = Policies.load(session)
    return {event.id: admission(event, policies, any(f.list_kind == "zero_tolerance" for verdict in
                                                     verdicts_of.get(event.id, []) for f in verdict.firings))
            for event in events if links.opens(event.id)}


def _cases(session: Session, events: list[Event], verdicts_of: dict[int, list[Verdict]], links: Links,
           admitted: dict[int, Admission], ref: Reference, now: datetime, history: History) -> dict[int, int]:
    """Open a case for every report that joins none, along the path its admission gives (filed and dispatched,
    or awaiting dispatch; waiting for the grid's collector; outside every grid), with its stage clock; count the
    linked reports on theirs; return each report's case id."""
    opening = [event for event in events if links.opens(event.id)]
    campaigns = {c.id: c for c in session.scalars(select(Campaign))}
    collectors = dict(session.execute(select(Grid.id, Grid.collector_id).where(
        Grid.id.in_({e.grid_id for e in opening if e.grid_id is not None}))).all())
    new = []
    for event in opening:
        verdicts = verdicts_of.get(event.id, [])
        campaign = campaigns.get(verdicts[0].context.id) if verdicts else next(
            (c for c in campaigns.values() if c.status == "active"), None)
        won = sorted((t for verdict in verdicts for t in verdict.tasks.values()), key=lambda t: t.order)
        lead = ref.routing(event.category_id, event.grid_id).lead if event.grid_id is not None else None
        how = admitted[event.id]
        if how == Admission.FILE:
            path = (CaseStage.FILED, CaseStage.DISPATCHED if won else CaseStage.AWAITING_DISPATCH)
        else:
            path = (CaseStage.VERIFYING,) if how == Admission.VERIFY else (CaseStage.AWAITING_DISPATCH,)
        new.append(NewCase(
            campaign_id=campaign.id if campaign else None, category_id=event.category_id, grid_id=event.grid_id,
            lat=event.lat, lon=event.lon, reported_at=event.occurred_at,
            filing_condition=event.filing_condition or ref.categories[event.category_id].default_condition,
            lead_unit_id=lead.id if lead is not None else (won[0].unit_id if won and how == Admission.FILE else None),
            path=path, verifier_id=collectors.get(event.grid_id) if how == Admission.VERIFY else None,
            stage_due_at=None if path[-1] == CaseStage.DISPATCHED else clock_due(
                campaign, "verify_minutes" if how == Admission.VERIFY else "dispatch_minutes", now),
            comment=OUTSIDE_EVERY_GRID if how == Admission.UNPLACED else "",
            frontage_holder_id=history.holder_id(event.id)))
    case_of = dict(zip((event.id for event in opening), open_cases(session, new, now)))
    for event in events:
        if event.id in links.to_case:
            case_of[event.id] = links.to_case[event.id]
        elif event.id in links.to_report:
            case_of[event.id] = case_of[links.to_report[event.id]]
    add_reports(session, Counter(case_of[e.id] for e in events if not links.opens(e.id)))
    return case_of


def drain(factory: sessionmaker, batch_size: int, lease_seconds: int, max_attempts: int,
          time_budget: float = 30.0, heartbeat_seconds: int | None = None, gather_seconds: float = 0.0,
          after_batch: Callable[[], None] | None = None) -> DrainResult:
    """Evaluate pending events until none is claimable or the time budget is spent. With `heartbeat_seconds`,
    each batch is claimed for that long only and renewed while it is evaluated, up to `lease_seconds` in all.
    With `gather_seconds`, a fresh batch smaller than `batch_size` is followed by that pause: each batch has a fixed
    cost, and events arriving one by one then share fewer, larger batches. `after_batch` runs after each batch
    that recorded events (the worker queues their messages' delivery then, not at the end of a long drain)."""
    result = DrainResult()
    started = time.monotonic()
    short = min(heartbeat_seconds or lease_seconds, lease_seconds)
    while time.monotonic() - started < time_budget:
        with factory() as session:
            token, ids, alone = claim(session, batch_size, short)
            if not ids:
                break
            result.batches += 1
            if alone or max_attempts < 0:  # a fresh batch's attempts are all 1 now: none is exhausted
                result.failed += fail_exhausted(session, token, ids, max_attempts)
            try:
                with Heartbeat(factory, token, short, lease_seconds) if short < lease_seconds else nullcontext():
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
            else:
                if recorded and after_batch is not None:
                    _after(after_batch)
        if gather_seconds and not alone and len(ids) < batch_size:
            time.sleep(gather_seconds)
    return result


def _after(callback: Callable[[], None]) -> None:
    """A batch's follow-up (queueing its messages' delivery) never fails the batch: the sweeper catches up."""
    try:
        callback()
    except Exception:
        log.warning("the follow-up of a recorded batch failed; the sweeper will catch up", exc_info=True)


def pending_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Event).where(_claimable(clock.now()))) or 0


def warm(session: Session) -> None:
    """Do once in a long-lived parent what every forked evaluator would otherwise do first: configure the ORM's
    mappers, import the lazily loaded parts, read the reference data and the active versions' frozen rules.
    Evaluates nothing (the C engine runs only in the forked child), claims and writes nothing."""
    configure_mappers()
    pending_count(session)
    History.of(session, [])
    load_reference(session)
    active_contexts(session)
    session.rollback()


def warm_engine(session: Session) -> None:
    """In the long-lived evaluating process: also register the active versions in its durable_rules Host."""
    warm(session)
    engine = evaluator()
    for context in active_contexts(session):
        engine.prepare(context.tag, context.compiled)
    session.rollback()
