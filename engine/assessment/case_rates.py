"""The reporter's side of a unit's indicators (issue 14 point 8), counted per case of which the unit is the lead
(主办), which answers for them:

- 响应率 `response_rate` = cases contacted within the response limit ÷ cases accepted. A case is accepted (受理) in
  the period it was opened, once it has a lead unit. It was contacted in time when the lead unit's first task
  (not a reopening's) was signed (签收) within the campaign's response limit (AssessmentConfig.response_hours,
  default 2 working hours), counted from the task's dispatch on the campaign's working calendar as task deadlines
  are (clock time while the campaign counts continuous time).
- 解决率 `resolution_rate` = cases the reporter calls resolved ÷ cases rated.
- 满意率 `satisfaction_rate` = (满意 + 基本满意 × weight) ÷ cases rated (AssessmentConfig.basic_satisfaction_weight,
  default 1).

A case is rated in the period of its revisit (回访) when the reporter was reached (未联系上 is left out); it
counts once, by its latest revisit in the period. Everything is counted up to min(period end, now), like the task
indicators. `read` does two queries; `count` is a pure function of their rows. See docs/ASSESSMENT.md.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from engine.assessment.indicators import Indicators, Period, exact
from engine.core.models import AssessmentConfig, Campaign, Case, CaseRevisit, Task, TaskTransition
from engine.core.worktime import calendar_for

DEFAULT_RESPONSE_HOURS = 2.0
DEFAULT_BASIC_WEIGHT = 1.0


@dataclass(frozen=True)
class CaseRow:
    """A case accepted in the period: its lead unit, when it was opened, and when its lead task was due to be
    signed and was signed (None: no task yet, or not signed)."""

    case_id: int
    unit_id: int
    opened_at: datetime
    response_due: datetime | None
    signed_at: datetime | None


@dataclass(frozen=True)
class RevisitRow:
    """A revisit recorded in the period, charged to its case's lead unit."""

    revisit_id: int
    case_id: int
    unit_id: int
    at: datetime
    reached: bool
    rating: str | None
    resolved: bool | None


@dataclass(frozen=True)
class Settings:
    response_hours: float = DEFAULT_RESPONSE_HOURS
    basic_weight: float = DEFAULT_BASIC_WEIGHT


def settings_for(session: Session, campaign: Campaign) -> Settings:
    """The campaign's response limit and 基本满意 weight, the defaults where it has no configuration."""
    config = session.scalar(select(AssessmentConfig).where(AssessmentConfig.campaign_id == campaign.id))
    if config is None:
        return Settings()
    return Settings(DEFAULT_RESPONSE_HOURS if config.response_hours is None else config.response_hours,
                    DEFAULT_BASIC_WEIGHT if config.basic_satisfaction_weight is None
                    else config.basic_satisfaction_weight)


def read(session: Session, campaign: Campaign, period: Period,
         settings: Settings) -> tuple[list[CaseRow], list[RevisitRow]]:
    """The campaign's cases accepted in the period with their lead task's signing, and its revisits in it."""
    calendar = calendar_for(session, campaign.timezone, campaign.office_hours)
    signed = func.min(TaskTransition.at)
    query = (select(Case.id, Case.lead_unit_id, Case.opened_at, Task.id, Task.created_at, signed)
             .outerjoin(Task, and_(Task.case_id == Case.id, Task.unit_id == Case.lead_unit_id, Task.reopening == 0))
             .outerjoin(TaskTransition, and_(TaskTransition.task_id == Task.id, TaskTransition.action == "sign"))
             .where(Case.campaign_id == campaign.id, Case.lead_unit_id.is_not(None),
                    Case.opened_at >= period.start, Case.opened_at < period.end)
             .group_by(Case.id, Case.lead_unit_id, Case.opened_at, Task.id, Task.created_at)
             .order_by(Case.id, Task.id))
    cases: dict[int, CaseRow] = {}
    for case_id, unit_id, opened_at, task_id, created_at, signed_at in session.execute(query):
        if case_id in cases:
            continue
        due = (calendar.deadline(created_at, settings.response_hours, "working_hours", campaign.continuous_time)
               if task_id is not None else None)
        cases[case_id] = CaseRow(case_id, unit_id, opened_at, due, signed_at)
    revisits = [RevisitRow(*row) for row in session.execute(
        select(CaseRevisit.id, CaseRevisit.case_id, Case.lead_unit_id, CaseRevisit.at, CaseRevisit.reached,
               CaseRevisit.rating, CaseRevisit.resolved)
        .join(Case, Case.id == CaseRevisit.case_id)
        .where(Case.campaign_id == campaign.id, Case.lead_unit_id.is_not(None),
               CaseRevisit.at >= period.start, CaseRevisit.at < period.end)
        .order_by(CaseRevisit.at, CaseRevisit.id))]
    return list(cases.values()), revisits


def count(result: dict[int, Indicators], cases: Iterable[CaseRow], revisits: Iterable[RevisitRow], period: Period,
          now: datetime, basic_weight: float) -> dict[int, Indicators]:
    """Add the cases' counts to the units' indicators (a unit with cases only gets a row of its own)."""
    cutoff = min(period.end, now)
    for row in cases:
        if not period.start <= row.opened_at < cutoff:
            continue
        ind = result.setdefault(row.unit_id, Indicators(row.unit_id))
        ind.accepted += 1
        ind.responded += (row.signed_at is not None and row.response_due is not None
                          and row.signed_at < cutoff and row.signed_at <= row.response_due)
    latest: dict[int, RevisitRow] = {}
    for revisit in sorted(revisits, key=lambda r: (r.at, r.revisit_id)):
        if period.start <= revisit.at < cutoff:
            latest[revisit.case_id] = revisit
    weights = {"satisfied": exact(1), "basically_satisfied": exact(basic_weight)}
    for revisit in latest.values():
        if not revisit.reached:
            continue
        ind = result.setdefault(revisit.unit_id, Indicators(revisit.unit_id))
        ind.rated += 1
        ind.resolved += bool(revisit.resolved)
        ind.satisfied += weights.get(revisit.rating or "", exact(0))
    return result


def add(session: Session, campaign: Campaign, period: Period, now: datetime,
        result: dict[int, Indicators]) -> dict[int, Indicators]:
    """The period's case rates added to the task indicators `result` (which it returns)."""
    settings = settings_for(session, campaign)
    cases, revisits = read(session, campaign, period, settings)
    return count(result, cases, revisits, period, now, settings.basic_weight)
