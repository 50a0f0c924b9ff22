"""The stage clocks of a case (DESIGN 12): how long it took to be accepted (受理), verified (核实) and
dispatched (派遣), read from its stage history, and how long each submission of its lead task waited for its
check (核查), read from the task's transitions, against the campaign's minutes for each; and their on-time rates
over a period, shown in the bulletin. They measure the command centre, so they stay out of the unit ranking.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
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

    def name(self, lang: str) -> str:
        return CLOCK_NAMES[self.clock][0 if lang.startswith("zh") else 1]

    def as_json(self, now: datetime, lang: str) -> dict[str, Any]:
        return {"clock": self.clock, "name": self.name(lang), "started": self.started.isoformat(),
                "ended": self.ended.isoformat() if self.ended else None, "minutes": round(self.minutes(now), 1),
                "limit_minutes": self.limit_minutes, "overdue": self.overdue(now)}


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
    limit = _limits(campaign)(CLOCKS["check"][1])
    found = []
    for task in lead_tasks(case):
        started: datetime | None = None
        for step in task.transitions:
            if step.to_status == TaskStatus.SUBMITTED and started is None:
                started = step.at
            elif step.from_status == TaskStatus.SUBMITTED and started is not None:
                found.append(StageClock("check", started, step.at, limit))
                started = None
        if started is not None:
            found.append(StageClock("check", started, None, limit))
    return sorted(found, key=lambda c: c.started)


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
