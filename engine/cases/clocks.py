"""The stage clocks of a case (DESIGN 12): how long it took to be accepted (受理), verified (核实) and
dispatched (派遣), read from its stage history, and how long each submission of its lead task waited for its
check (核查), read from the task's transitions, against the campaign's minutes for each; and their on-time rates
over a period, shown in the bulletin. They measure the command centre, so they stay out of the unit ranking.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from engine.cases.cooperation import lead_tasks
from engine.cases.stages import CLOCK_NAMES, CLOCKS
from engine.core.models import Campaign, Case, Event, Task, TaskTransition
from engine.core.states import CaseStage, TaskStatus


@dataclass(frozen=True)
class StageClock:
    clock: str  # accept | verify | dispatch | check
    started: datetime
    ended: datetime | None  # still running while None
    limit_minutes: int | None

    def minutes(self, now: datetime) -> float:
        """Minutes on the clock; never below zero (a hand-over opens its case in the instant it stores its report)."""
        return max(0.0, ((self.ended or now) - self.started).total_seconds() / 60)

    def overdue(self, now: datetime) -> bool:
        return self.limit_minutes is not None and self.minutes(now) > self.limit_minutes

    @property
    def due_at(self) -> datetime | None:
        """When it runs out: its minutes are continuous time, like the bulletin's count of them."""
        return self.started + timedelta(minutes=self.limit_minutes) if self.limit_minutes is not None else None

    def overdue_minutes(self, now: datetime) -> int:
        """Whole minutes past its limit, rounded up so a clock just out is a minute late; 0 within it."""
        if self.due_at is None or not self.overdue(now):
            return 0
        return math.ceil(((self.ended or now) - self.due_at).total_seconds() / 60)

    def name(self, lang: str) -> str:
        return CLOCK_NAMES[self.clock][0 if lang.startswith("zh") else 1]

    def as_json(self, now: datetime, lang: str) -> dict[str, Any]:
        return {"clock": self.clock, "name": self.name(lang), "started": self.started.isoformat(),
                "ended": self.ended.isoformat() if self.ended else None, "minutes": round(self.minutes(now), 1),
                "limit_minutes": self.limit_minutes, "due_at": self.due_at.isoformat() if self.due_at else None,
                "overdue": self.overdue(now)}


def clocks(case: Case, campaign: Campaign | None, received_at: datetime | None) -> list[StageClock]:
    """The clocks that have started for this case, in the order a case meets them: its stage clocks, then one
    核查 clock per submission of its lead task."""
    return stage_clocks(case, campaign, received_at) + check_clocks(case, campaign)


def stage_clocks(case: Case, campaign: Campaign | None, received_at: datetime | None) -> list[StageClock]:
    """Acceptance runs from its first report's receipt to the case's opening; the others from entering their
    stages to leaving them."""
    found = []
    limit = _limits(campaign)
    if received_at is not None:
        found.append(StageClock("accept", received_at, case.opened_at, limit(CLOCKS["accept"][1])))
    for clock in ("verify", "dispatch"):
        stages, field = CLOCKS[clock]
        entered = next((h.at for h in case.stages if h.to_stage in stages), None)
        if entered is None:
            continue
        left = next((h.at for h in case.stages if h.at >= entered and h.from_stage in stages
                     and h.to_stage not in stages), None)
        found.append(StageClock(clock, entered, left, limit(field)))
    return found


def check_clocks(case: Case, campaign: Campaign | None) -> list[StageClock]:
    """Each time a lead task was submitted (待核查) until the checker passed or failed it (返工): a task sent back
    and submitted again waits for its check again, so it runs once per submission."""
    return sorted((c for _, c, _step in _task_check_clocks(case, campaign)), key=lambda c: c.started)


def decided_checks(case: Case, campaign: Campaign | None) -> list[tuple[TaskTransition, StageClock]]:
    """The check clocks of the case that a decision ended, each with that decision (pass_check or fail_check, and
    who made it): the checker's own on-time rate (按时核查率, engine/assessment/posts.py)."""
    return [(step, c) for _, c, step in _task_check_clocks(case, campaign) if step is not None]


def _task_check_clocks(case: Case, campaign: Campaign | None
                       ) -> list[tuple[Task, StageClock, TaskTransition | None]]:
    """The check clocks of the case's lead tasks, each with the task it runs for and the decision that ended it."""
    limit = _limits(campaign)(CLOCKS["check"][1])
    found: list[tuple[Task, StageClock, TaskTransition | None]] = []
    for task in lead_tasks(case):
        started: datetime | None = None
        for step in task.transitions:
            if step.to_status == TaskStatus.SUBMITTED and started is None:
                started = step.at
            elif step.from_status == TaskStatus.SUBMITTED and started is not None:
                found.append((task, StageClock("check", started, step.at, limit), step))
                started = None
        if started is not None:
            found.append((task, StageClock("check", started, None, limit), None))
    return found


def running_checks(session: Session, tasks: Sequence[Task]) -> dict[int, StageClock]:
    """The 核查 clock running for each of these tasks that waits for its check as its case's lead task, by task id:
    when the checker's decision falls due. A cooperating unit's submission answers the lead and runs no clock.
    One page of tasks costs the same few queries whatever its length (their cases with their tasks' transitions,
    their campaigns)."""
    case_ids = {t.case_id for t in tasks if t.case_id is not None and t.status == TaskStatus.SUBMITTED}
    if not case_ids:
        return {}
    cases = list(session.scalars(select(Case).options(selectinload(Case.tasks).selectinload(Task.transitions))
                                 .where(Case.id.in_(case_ids))))
    campaigns = {c.id: c for c in session.scalars(select(Campaign).where(
        Campaign.id.in_({case.campaign_id for case in cases if case.campaign_id is not None})))}
    wanted = {t.id for t in tasks}
    return {task.id: clock for case in cases
            for task, clock, _step in _task_check_clocks(case, campaigns.get(case.campaign_id))
            if task.id in wanted and clock.ended is None}


def due_first(tasks: Sequence[Task], checks: Mapping[int, StageClock]) -> list[Task]:
    """The checker's order: the check that falls due first at the top; tasks that run no check clock after them,
    by their own deadline."""
    def key(task: Task) -> tuple[int, datetime, int]:
        due = checks[task.id].due_at if task.id in checks else None
        return (0, due, task.id) if due is not None else (1, task.deadline_at, task.id)
    return sorted(tasks, key=key)


def _limits(campaign: Campaign | None) -> Callable[[str], int | None]:
    """The campaign's minutes by setting name; no limit for a case of no campaign."""
    return (lambda field: getattr(campaign, field, None)) if campaign is not None else (lambda field: None)


@dataclass
class ClockRate:
    clock: str
    counted: int = 0
    on_time: int = 0

    @property
    def rate(self) -> float | None:
        return self.on_time / self.counted if self.counted else None


def clock_rates(session: Session, campaign: Campaign, start: datetime, end: datetime,
                now: datetime) -> dict[str, ClockRate]:
    """Per clock, the clocks that have ended or run out by `now`, and how many of them ended within the campaign's
    minutes (受理及时率, 核实及时率, 派遣及时率, 按时核查率): the stage clocks of the cases opened in [start, end),
    the check clocks of the lead tasks submitted in it (a case may be checked long after it opened)."""
    rates = {clock: ClockRate(clock) for clock in CLOCKS}
    cases = list(session.scalars(select(Case).options(selectinload(Case.stages))
                                 .where(Case.campaign_id == campaign.id, Case.opened_at >= start,
                                        Case.opened_at < end, Case.stage != CaseStage.VOID)))
    received = dict(session.execute(select(Event.case_id, Event.received_at).where(
        Event.case_id.in_([c.id for c in cases])).order_by(Event.id.desc())).all())  # the first report wins
    found = [clock for case in cases for clock in stage_clocks(case, campaign, received.get(case.id))]
    submitted = (select(Task.case_id).join(TaskTransition, TaskTransition.task_id == Task.id)
                 .where(Task.campaign_id == campaign.id, TaskTransition.to_status == TaskStatus.SUBMITTED,
                        TaskTransition.at >= start, TaskTransition.at < end))
    checked = session.scalars(select(Case).options(selectinload(Case.tasks).selectinload(Task.transitions))
                              .where(Case.id.in_(submitted), Case.stage != CaseStage.VOID))
    found += [clock for case in checked for clock in check_clocks(case, campaign) if start <= clock.started < end]
    for clock in found:
        if clock.ended is None and not clock.overdue(now):
            continue  # still running within its limit: not counted yet
        rates[clock.clock].counted += 1
        rates[clock.clock].on_time += not clock.overdue(now)
    return rates
