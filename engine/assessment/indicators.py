"""Unit indicators per period (week, month, quarter), recomputed from task transitions, never from counters.

`read_rows` reads what a period needs (one query for tasks with their transitions and list rows, one
for rebounds); `compute` is a pure function of those rows, a period and a cut-off instant, and `compute_by`
the same counted under any key of a row at the instant of each happening (the lost points per person are the
unit's, counted by (unit, the person who held the task at that instant)).
Points are summed as exact decimals, so the parts add up to the whole whatever the order. A zero-tolerance
task's points count only once its unit has signed for it without sending it back (issue 14: such items file
directly from any source, so an order the unit never accepted costs nothing); its counts count all the same.
Formulas, period attribution and edge cases are documented in docs/ASSESSMENT.md.
"""
from __future__ import annotations

import statistics
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session, aliased

from engine.assessment.holders import HOLDER_ACTIONS, Holding, holder_at, holdings, unit_dispatches
from engine.assessment.spots import roots
from engine.assessment.periods import Period, PeriodError, parse_period, period_containing  # noqa: F401 (re-exported)
from engine.core.models import Campaign, Category, Event, Firing, ListItem, RuleList, Task, TaskTransition, Unit, User
from engine.core.states import TaskStatus
from engine.handling.overdue import overdue_since
from engine.readiness.findings import task_shares

HAPPENINGS = ("overdue", "failed_check", "rebound", "inspection")
RATES = ("handling_rate", "on_time_handling_rate", "closure_rate", "on_time_closure_rate", "rework_rate",
         "overdue_unhandled_rate", "extension_rate", "accurate_dispatch_rate", "response_rate", "resolution_rate",
         "satisfaction_rate")
ZERO_TOLERANCE = "zero_tolerance"
#: First response (首次响应): a unit signs for a task and reaches the site within this many minutes of its dispatch
#: (brief b: Fuzhou, the unit opens and receives the case within 1 h; Taiyuan, on site within 1 h).
FIRST_RESPONSE_MINUTES = 60
RESPONSE_TARGET = timedelta(minutes=FIRST_RESPONSE_MINUTES)
#: The moves that say whether the unit holding a task has signed for it: a sign, undone by a send-back or reroute.
SIGNING_ACTIONS = ("sign", "send_back", "reroute")
#: States in which a task is neither handled (submitted or closed), paused (parked) nor voided.
UNHANDLED = frozenset({TaskStatus.DISPATCHED, TaskStatus.SIGNED, TaskStatus.HANDLING, TaskStatus.RETURNED,
                       TaskStatus.EXT_REQUESTED, TaskStatus.SENT_BACK, TaskStatus.VOID_REQUESTED,
                       TaskStatus.PARK_REQUESTED})
ZERO = Decimal(0)
#: The inspection tiers above a unit (DESIGN 15): the 督察中队's targeted inspection (2) and the bureau leaders'
#: special inspection (3). Tier 1 is the 中队's internal full inspection of its own grids: the unit finding its own
#: problems, which must never cost it points. An inspection report without a tier comes from outside the bureau's
#: tiers (mock or official evaluation, the assessment office 督考办) and is above every unit.
ABOVE_UNIT_TIERS = frozenset({2, 3})
#: The key under which `Indicators.findings_by_tier` counts the findings that carry no tier (evaluations).
NO_TIER = 0
#: Findings of the mock (模拟测评) and the official evaluation: above every unit, each costing the points its
#: report carries (the item's points missed, or the points the evaluation deducted) under "inspection".
EVALUATION_SOURCES = frozenset({"mock_evaluation", "official_evaluation"})


@dataclass
class TaskRow:
    """One task as the indicators see it: its unit, times, list-row points, (at, action, to_status) moves, the
    person it is assigned to now and who held it when (who answers for the points lost at each instant), its
    list kind, and the (instant, unit id) of its dispatch and each reroute (none given: its dispatch to its
    unit at its creation)."""

    task_id: int
    unit_id: int
    category: str
    source_type: str
    created_at: datetime
    deadline_at: datetime
    points: dict[str, float]
    transitions: list[tuple[datetime, str, str]] = field(default_factory=list)
    assignee_id: int | None = None
    holders: list[Holding] = field(default_factory=list)
    list_kind: str | None = None
    dispatches: list[tuple[datetime, int]] = field(default_factory=list)
    #: An inspection finding's tier and the inspector's unit (None: not a finding, or a finding without a tier).
    inspection_tier: int | None = None
    inspector_unit_id: int | None = None
    #: What an evaluation finding (EVALUATION_SOURCES) costs it: its share of the points its report carries.
    event_points: float = 0.0
    #: When its report occurred: an evaluation finding counts then (an official visit is imported days later).
    found_at: datetime | None = None
    #: 0 for the event's first task; a reopened case's new task is no new finding.
    reopening: int = 0

    @property
    def finding_at(self) -> datetime:
        """The instant a finding counts at: an evaluation finding's visit, an inspection finding's dispatch."""
        return self.found_at if self.source_type in EVALUATION_SOURCES and self.found_at else self.created_at

    def holder_at(self, instant: datetime) -> int | None:
        return holder_at(self.holders, self.assignee_id, instant)


@dataclass(frozen=True)
class ReboundRow:
    """A new event at a place a task had closed (反弹), charged to that task's unit and to whoever held it
    when the event occurred; with the origin task's list kind and its (at, action) signing moves."""

    unit_id: int
    occurred_at: datetime
    points: float
    assignee_id: int | None = None
    holders: tuple[Holding, ...] = ()
    list_kind: str | None = None
    moves: tuple[tuple[datetime, str], ...] = ()
    #: The spot it recurs at (engine/assessment/spots.py; None: a spot of its own): one rebound per spot and period.
    spot: Hashable | None = None

    def holder_at(self, instant: datetime) -> int | None:
        return holder_at(self.holders, self.assignee_id, instant)


K = TypeVar("K", bound=Hashable)


@dataclass
class Indicators:
    unit_id: int
    due: int = 0
    handled: int = 0
    handled_on_time: int = 0
    due_to_close: int = 0
    closed: int = 0
    closed_on_time: int = 0
    reworked: int = 0
    overdue_unhandled: int = 0
    extended: int = 0
    rebounds: int = 0
    #: In a running period, tasks dispatched in it that are neither due yet nor handled: left out of D.
    not_yet_due: int = 0
    overdue: int = 0
    failed_checks: int = 0
    inspection_findings: int = 0
    #: The inspection findings by the tier that found them (NO_TIER: evaluations), costing points or not.
    findings_by_tier: dict[int, int] = field(default_factory=dict)
    #: Tasks dispatched to the unit in the period (first dispatch or reroute), and those of them it sent back.
    dispatched: int = 0
    sent_back: int = 0
    points_lost: float = 0.0
    #: Points lost per happening (HAPPENINGS), exact: `points_lost` is their sum as a float.
    points_by: dict[str, Decimal] = field(default_factory=dict)
    # The reporter's side, per case of which the unit is the lead (engine/assessment/case_rates.py):
    accepted: int = 0  # cases accepted in the period
    responded: int = 0  # of them, the lead unit signed its task within the response limit
    rated: int = 0  # cases revisited in the period with the reporter reached
    resolved: int = 0  # of them, the reporter calls the problem resolved
    satisfied: Decimal = ZERO  # of them, 满意 + 基本满意 × the campaign's weight
    # First response, per task due in the period (`responding` of them; in a running period also a task not yet
    # due whose 60 minutes have passed or that was signed or reached): minutes from its dispatch to the unit to
    # its signing and to the unit's arrival on site (到达现场), each counted once it happened before the cut-off.
    responding: int = 0
    sign_minutes: list[float] = field(default_factory=list)
    arrival_minutes: list[float] = field(default_factory=list)

    @property
    def signed_in_time(self) -> int:
        return sum(1 for m in self.sign_minutes if m <= FIRST_RESPONSE_MINUTES)

    @property
    def arrived_in_time(self) -> int:
        return sum(1 for m in self.arrival_minutes if m <= FIRST_RESPONSE_MINUTES)

    def first_response(self) -> dict[str, float | None]:
        """Shares of the tasks counted signed and reached within FIRST_RESPONSE_MINUTES, and the median minutes."""
        return {"sign_in_time_rate": _ratio(self.signed_in_time, self.responding),
                "arrival_in_time_rate": _ratio(self.arrived_in_time, self.responding),
                "sign_median_minutes": _median(self.sign_minutes),
                "arrival_median_minutes": _median(self.arrival_minutes)}

    def lose(self, happening: str, points: float) -> None:
        """Count a happening's points, as the decimal the configuration holds (2.5, 0.1), never a binary float."""
        self.points_by[happening] = self.points_by.get(happening, ZERO) + exact(points)
        self.points_lost = float(sum(self.points_by.values(), ZERO))

    def rates(self) -> dict[str, float | None]:
        """The rework rate is over the cases due to close (应结案数), as in the Chengdu Jinniu score the default
        weights come from (brief d.1, d.2: R7a), not over the cases handled (R2)."""
        return {"handling_rate": _ratio(self.handled, self.due),
                "on_time_handling_rate": _ratio(self.handled_on_time, self.due),
                "closure_rate": _ratio(self.closed, self.due_to_close),
                "on_time_closure_rate": _ratio(self.closed_on_time, self.due_to_close),
                "rework_rate": _ratio(self.reworked, self.due_to_close),
                "overdue_unhandled_rate": _ratio(self.overdue_unhandled, self.due),
                "extension_rate": _ratio(self.extended, self.due),
                "accurate_dispatch_rate": _ratio(self.dispatched - self.sent_back, self.dispatched),
                "response_rate": _ratio(self.responded, self.accepted),
                "resolution_rate": _ratio(self.resolved, self.rated),
                "satisfaction_rate": float(self.satisfied) / self.rated if self.rated else None}


def _ratio(numerator: int, denominator: int) -> float | None:
    """None when nothing was due: a rate over zero cases is undefined, not 0% or 100%."""
    return numerator / denominator if denominator else None


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def exact(points: float) -> Decimal:
    """The decimal a configured number was written as (0.1, not 0.1000000000000000055...)."""
    return Decimal(repr(float(points)))


def points_for(point_rules: dict[str, Any] | None, default: float) -> dict[str, float]:
    """Points per happening from a list row's configuration; a missing happening costs the row's `points`."""
    rules = point_rules or {}
    return {kind: float(rules.get(kind, default) or 0) for kind in HAPPENINGS}


def _first(row: TaskRow, action: str, before: datetime) -> datetime | None:
    return next((at for at, act, _ in row.transitions if act == action and at < before), None)


def _status_at(row: TaskRow, instant: datetime) -> str | None:
    status = None
    for at, _, to_status in row.transitions:
        if at < instant:
            status = to_status
    return status


def overdue_at(row: TaskRow, cutoff: datetime) -> datetime | None:
    """When the task ran overdue before the cut-off: its deadline, or the failed check of the submission that
    stood at it, as rework does not reset the clock (engine/handling/overdue.py)."""
    return overdue_since(((at, action) for at, action, _ in row.transitions), row.deadline_at, cutoff)


def signed_at(moves: Iterable[tuple[datetime, str]], instant: datetime) -> bool:
    """The unit holding the task at `instant` had signed for it by then: a `sign` before it, not followed by a
    send-back (退单) or a reroute (the new unit has not signed yet)."""
    signed = False
    for at, action in moves:
        if at < instant and action in SIGNING_ACTIONS:
            signed = action == "sign"
    return signed


def above_unit(row: TaskRow) -> bool:
    """Whether an inspection finding was made by a body above the task's unit, the only finder that costs it
    inspection points: a tier in ABOVE_UNIT_TIERS whose inspector is not of the unit itself, or no tier at all
    (mock or official evaluation, 督考办). A tier-1 finding is the squad's own inspection and costs nothing."""
    if row.inspection_tier is None:
        return True
    return row.inspection_tier in ABOVE_UNIT_TIERS and row.inspector_unit_id != row.unit_id


def counts_points(row: TaskRow, instant: datetime) -> bool:
    """Whether a happening of the task at `instant` costs points: always, except on a zero-tolerance task its
    unit had not signed for (or had sent back) by then."""
    return row.list_kind != ZERO_TOLERANCE or signed_at(((at, action) for at, action, _ in row.transitions), instant)


def dispatches_in(row: TaskRow, start: datetime, cutoff: datetime) -> dict[int, tuple[datetime, bool]]:
    """Each unit the task was dispatched to in [start, cutoff) (its dispatch or a reroute), once: the first such
    instant, and whether that unit sent the task back (退单) before the next reroute and the cut-off."""
    spans = row.dispatches or [(row.created_at, row.unit_id)]
    result: dict[int, tuple[datetime, bool]] = {}
    for index, (at, unit_id) in enumerate(spans):
        if not start <= at < cutoff:
            continue
        until = min(spans[index + 1][0], cutoff) if index + 1 < len(spans) else cutoff
        sent = any(action == "send_back" and at <= when < until for when, action, _ in row.transitions)
        first, before = result.get(unit_id, (at, False))
        result[unit_id] = (first, before or sent)
    return result


def dispatched_to_holder(row: TaskRow, cutoff: datetime) -> datetime:
    """The task's latest dispatch (or reroute) to the unit that holds it, before the cut-off."""
    spans = row.dispatches or [(row.created_at, row.unit_id)]
    return max((at for at, unit_id in spans if unit_id == row.unit_id and at < cutoff), default=row.created_at)


def first_response(row: TaskRow, cutoff: datetime) -> tuple[float | None, float | None]:
    """Minutes from the task's (latest) dispatch to its unit to the first signing and the first arrival on site
    after it, each None if it had not happened by the cut-off."""
    dispatched = dispatched_to_holder(row, cutoff)

    def after(action: str) -> float | None:
        at = next((at for at, act, _ in row.transitions if act == action and dispatched <= at < cutoff), None)
        return (at - dispatched).total_seconds() / 60 if at is not None else None

    return after("sign"), after("arrive")


def _responded(ind: Indicators, to_sign: float | None, to_arrive: float | None) -> None:
    ind.responding += 1
    if to_sign is not None:
        ind.sign_minutes.append(to_sign)
    if to_arrive is not None:
        ind.arrival_minutes.append(to_arrive)


def _unit(row: TaskRow | ReboundRow, _instant: datetime) -> int:
    return row.unit_id


def compute(rows: Iterable[TaskRow], rebounds: Iterable[ReboundRow], period: Period, now: datetime,
            unit_ids: Iterable[int] = ()) -> dict[int, Indicators]:
    """Indicators per unit for `period`, counting only what had happened before min(period end, now)."""
    result: dict[int, Indicators] = {uid: Indicators(uid) for uid in unit_ids}
    result.update(compute_by(rows, rebounds, period, now, _unit))
    return result


def compute_by(rows: Iterable[TaskRow], rebounds: Iterable[ReboundRow], period: Period, now: datetime,
               key: Callable[[TaskRow | ReboundRow, datetime], K]) -> dict[K, Indicators]:
    """The same indicators, each happening counted under `key(row, its instant)` (e.g. the unit and who held
    the task then: the instant it ran overdue (`overdue_at`), the transition for a failed check, the dispatch for an
    inspection finding, the event for a rebound, each dispatch (to the unit it went to) for accurate dispatch;
    the other counts at the cut-off), so the counts and points of the keys of one unit add up to the unit's.
    A zero-tolerance task's happenings cost points only if its unit had signed for it by their instant (an
    inspection finding, dated at the dispatch: by the cut-off), see `counts_points`."""
    cutoff = min(period.end, now)
    running = cutoff < period.end
    result: dict[K, Indicators] = {}

    def under(row: TaskRow | ReboundRow, instant: datetime) -> Indicators:
        return result.setdefault(key(row, instant), Indicators(row.unit_id))

    for row in rows:
        ind = under(row, cutoff)
        voided = _first(row, "approve_void", cutoff)
        submitted = _first(row, "submit", cutoff)
        for unit_id, (at, sent) in dispatches_in(row, period.start, cutoff).items():
            sent_to = under(row if unit_id == row.unit_id else replace(row, unit_id=unit_id), at)
            sent_to.dispatched += 1
            sent_to.sent_back += sent
        overdue = overdue_at(row, cutoff)
        if overdue is not None and overdue >= period.start:
            lost = under(row, overdue)
            lost.overdue += 1
            if counts_points(row, overdue):
                lost.lose("overdue", row.points["overdue"])
        for at, action, _ in row.transitions:
            if action == "fail_check" and period.start <= at < cutoff:
                lost = under(row, at)
                lost.failed_checks += 1
                if counts_points(row, at):
                    lost.lose("failed_check", row.points["failed_check"])
        if (row.source_type == "inspection" or row.source_type in EVALUATION_SOURCES) and row.reopening == 0 \
                and period.start <= row.finding_at < cutoff and voided is None:
            lost = under(row, row.finding_at)
            lost.inspection_findings += 1
            tier = row.inspection_tier or NO_TIER
            lost.findings_by_tier[tier] = lost.findings_by_tier.get(tier, 0) + 1
            if above_unit(row) and counts_points(row, cutoff):
                lost.lose("inspection", row.event_points if row.source_type in EVALUATION_SOURCES
                          else row.points["inspection"])
        if not period.start <= row.created_at < cutoff or voided is not None:
            continue
        to_sign, to_arrive = first_response(row, cutoff)
        if running and submitted is None and row.deadline_at >= cutoff:
            ind.not_yet_due += 1  # a running period counts only work already due (or already handled)
            if to_sign is not None or to_arrive is not None or \
                    dispatched_to_holder(row, cutoff) + RESPONSE_TARGET <= cutoff:
                _responded(ind, to_sign, to_arrive)  # its first response was due, though its handling is not
            continue
        ind.due += 1
        _responded(ind, to_sign, to_arrive)
        status = _status_at(row, cutoff)
        if submitted is not None:
            ind.handled += 1
            ind.handled_on_time += overdue is None  # judged by the submission that stands, not the first
            ind.reworked += _first(row, "fail_check", cutoff) is not None
        if status != TaskStatus.PARKED:
            ind.due_to_close += 1
            closed = _first(row, "pass_check", cutoff)
            if closed is not None:
                ind.closed += 1
                ind.closed_on_time += closed <= row.deadline_at
        if status in UNHANDLED and row.deadline_at < cutoff:
            ind.overdue_unhandled += 1
        ind.extended += _first(row, "approve_extension", cutoff) is not None
    spots: set[tuple[int, Hashable]] = set()
    for rebound in sorted(rebounds, key=lambda r: r.occurred_at):
        if period.start <= rebound.occurred_at < cutoff:
            if rebound.spot is not None:
                if (rebound.unit_id, rebound.spot) in spots:
                    continue  # the spot has already rebounded in the period: one rebound per spot
                spots.add((rebound.unit_id, rebound.spot))
            ind = under(rebound, rebound.occurred_at)
            ind.rebounds += 1
            if rebound.list_kind != ZERO_TOLERANCE or signed_at(rebound.moves, rebound.occurred_at):
                ind.lose("rebound", rebound.points)
    return result


def _list_row_join(query, task):
    """The list row that made the task: its own rule's firing. A rule that lost the hit policy names the same task
    (engine/evaluation/record.py), and the database returns the two in no set order (PostgreSQL's changes with the
    plan), so joining any firing let a past period's points change from one reading to the next."""
    firing = aliased(Firing)
    return (query.outerjoin(firing, and_(firing.task_id == task.id, firing.rule_key == task.rule_key,
                                         firing.ruleset_version_id == task.ruleset_version_id))
            .outerjoin(RuleList, and_(RuleList.campaign_id == task.campaign_id, RuleList.kind == firing.list_kind))
            .outerjoin(ListItem, and_(ListItem.list_id == RuleList.id, ListItem.key == firing.list_item)))


def read_rows(session: Session, campaign: Campaign, period: Period) -> tuple[list[TaskRow], list[ReboundRow]]:
    """The campaign's tasks that can matter for `period` (dispatched in it, due in or after it, or failing a
    check in it), each with its transitions up to the period's end and who held it when (its whole history,
    which the unnamed early holders are resolved against); and the rebounds dated in it, with who held
    their origin task when."""
    failed = aliased(TaskTransition)
    failed_in_period = exists().where(failed.task_id == Task.id, failed.action == "fail_check",
                                      failed.at >= period.start, failed.at < period.end)
    moves = and_(TaskTransition.task_id == Task.id,
                 or_(TaskTransition.at < period.end, TaskTransition.action.in_(HOLDER_ACTIONS)))
    inspector = aliased(User)
    query = (select(Task.id, Task.unit_id, Task.assignee_id, Category.code, Event.source_type, Task.created_at,
                    Task.deadline_at, Task.points, Task.list_kind, ListItem.point_rules, TaskTransition.id,
                    TaskTransition.at, TaskTransition.action, TaskTransition.to_status, TaskTransition.data,
                    Event.inspection_tier, inspector.unit_id, Event.points, Event.occurred_at, Task.reopening)
             .join(Event, Event.id == Task.event_id).join(Category, Category.id == Event.category_id)
             .outerjoin(inspector, inspector.id == Event.inspector_id)
             .outerjoin(TaskTransition, moves))
    query = (_list_row_join(query, Task)
             .where(Task.campaign_id == campaign.id,
                    or_(and_(Task.created_at < period.end,
                             or_(Task.created_at >= period.start, Task.deadline_at >= period.start,
                                 failed_in_period)),
                        and_(Event.source_type.in_(EVALUATION_SOURCES), Event.occurred_at >= period.start,
                             Event.occurred_at < period.end)))
             .order_by(Task.id, TaskTransition.at, TaskTransition.id))
    rows: dict[int, TaskRow] = {}
    records: dict[int, list[tuple[datetime, str, dict[str, Any] | None]]] = {}
    seen: set[int] = set()  # a task named by two firings must not count its transitions twice
    for tid, unit_id, assignee_id, category, source, created, deadline, points, list_kind, rules, move_id, at, \
            action, to_status, data, tier, inspector_unit, event_points, found_at, reopening in session.execute(query):
        row = rows.get(tid)
        if row is None:
            row = rows[tid] = TaskRow(tid, unit_id, category, source, created, deadline,
                                      points_for(rules, points or 0), assignee_id=assignee_id, list_kind=list_kind,
                                      inspection_tier=tier, inspector_unit_id=inspector_unit,
                                      event_points=event_points or 0.0, found_at=found_at,
                                      reopening=reopening or 0)
            records[tid] = []
        if move_id is not None and move_id not in seen:
            seen.add(move_id)
            if at < period.end:
                row.transitions.append((at, action, to_status))
            if action in HOLDER_ACTIONS:
                records[tid].append((at, action, data))
    shares = task_shares(session, campaign.id, [t for t, r in rows.items() if r.source_type in EVALUATION_SOURCES])
    codes: dict[str, int] | None = None
    for tid, row in rows.items():
        row.event_points = float(shares.get(tid, row.event_points))  # a finding at a point: each unit's share only
        row.holders = holdings(records[tid], row.assignee_id)
        reroutes = [(at, data or {}) for at, action, data in records[tid] if action == "reroute"]
        if reroutes:
            codes = codes if codes is not None else dict(session.execute(select(Unit.code, Unit.id)).all())
            row.dispatches = unit_dispatches(row.created_at, row.unit_id, reroutes, codes)
    return list(rows.values()), _read_rebounds(session, campaign, period)


def _read_rebounds(session: Session, campaign: Campaign, period: Period) -> list[ReboundRow]:
    """The rebounds dated in `period`, each with its origin task's unit, points, holders, list kind and signing
    moves."""
    origin = aliased(Task)
    held = aliased(TaskTransition)
    query = _list_row_join(
        select(Event.id, origin.id, origin.unit_id, origin.assignee_id, Event.occurred_at, origin.points, origin.list_kind,
               ListItem.point_rules, held.id, held.at, held.action, held.data)
        .join(origin, origin.id == Event.rebound_task_id)
        .outerjoin(held, and_(held.task_id == origin.id, held.action.in_(HOLDER_ACTIONS + SIGNING_ACTIONS))), origin
    ).where(origin.campaign_id == campaign.id, Event.occurred_at >= period.start, Event.occurred_at < period.end
            ).order_by(Event.id, held.at, held.id)
    found: dict[int, tuple[int, datetime, float, int | None, str | None, int]] = {}
    records: dict[int, dict[int, tuple[datetime, str, dict[str, Any] | None]]] = {}
    for event_id, origin_id, unit_id, assignee_id, occurred, points, list_kind, rules, move_id, at, action, data \
            in session.execute(query):
        found.setdefault(event_id, (unit_id, occurred, points_for(rules, points or 0)["rebound"], assignee_id,
                                    list_kind, origin_id))
        moves = records.setdefault(event_id, {})
        if move_id is not None:
            moves.setdefault(move_id, (at, action, data))  # dicts keep the query's time order
    spot = roots(session, [origin_id for *_rest, origin_id in found.values()])
    return [ReboundRow(unit_id, occurred, points, assignee_id,
                       tuple(holdings([m for m in records[event_id].values() if m[1] in HOLDER_ACTIONS], assignee_id)),
                       list_kind, tuple((at, action) for at, action, _ in records[event_id].values()
                                        if action in SIGNING_ACTIONS), spot[origin_id])
            for event_id, (unit_id, occurred, points, assignee_id, list_kind, origin_id) in found.items()]


def for_period(session: Session, campaign: Campaign, period: Period, now: datetime,
               unit_ids: Iterable[int] = ()) -> dict[int, Indicators]:
    rows, rebounds = read_rows(session, campaign, period)
    return compute(rows, rebounds, period, now, unit_ids)
