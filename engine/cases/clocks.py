"""The stage clocks of a case (DESIGN 12): how long it took to be accepted (受理), verified (核实) and
dispatched (派遣), against the campaign's minutes for each, read from its stage history; and their on-time
rates over a period, which join the indicators.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from engine.cases.stages import CLOCK_NAMES, CLOCKS
from engine.core.models import Campaign, Case, Event
from engine.core.states import CaseStage


@dataclass(frozen=True)
class StageClock:
    clock: str  # accept | verify | dispatch
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
    """The clocks that have started for this case, in the order a case meets them. Acceptance runs from its first
    report's receipt to the case's opening; the others from entering their stages to leaving them."""
    found = []
    limit = (lambda field: getattr(campaign, field, None)) if campaign is not None else (lambda field: None)
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
    """Per clock, the cases opened in [start, end) whose clock has ended or run out by `now`, and how many of them
    ended within the campaign's minutes (受理及时率, 核实及时率, 派遣及时率)."""
    rates = {clock: ClockRate(clock) for clock in CLOCKS}
    cases = list(session.scalars(select(Case).options(selectinload(Case.stages))
                                 .where(Case.campaign_id == campaign.id, Case.opened_at >= start,
                                        Case.opened_at < end, Case.stage != CaseStage.VOID)))
    received = dict(session.execute(select(Event.case_id, Event.received_at).where(
        Event.case_id.in_([c.id for c in cases])).order_by(Event.id.desc())).all())  # the first report wins
    for case in cases:
        for clock in clocks(case, campaign, received.get(case.id)):
            if clock.ended is None and not clock.overdue(now):
                continue  # still running within its limit: not counted yet
            rates[clock.clock].counted += 1
            rates[clock.clock].on_time += not clock.overdue(now)
    return rates
