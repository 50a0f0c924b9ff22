"""Linking and unlinking by hand (DESIGN 13): the dispatcher joins a report to the open case of its matter
(a report without a place is only ever linked this way), or takes a linked report out into a case of its own,
which then waits for dispatch. A report whose own tasks are still in progress stays where it is: its tasks
must be voided first, so no work is lost or done twice."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from engine.cases.stages import NewCase, move, note, open_cases
from engine.core.models import Case, Event, Task, User
from engine.core.states import CASE_ENDED, TERMINAL, CaseStage
from engine.space.holders import holder_of
from rules.problems import InputError, Problem


def _live_tasks(session: Session, event: Event) -> bool:
    return bool(session.scalar(select(exists().where(Task.event_id == event.id, Task.status.not_in(TERMINAL)))))


def _report(session: Session, event_id: int) -> Event:
    event = session.get(Event, event_id)
    if event is None or event.case_id is None:
        raise InputError([Problem("event", "no such evaluated report", "没有该已评估的上报")])
    return event


def link_report(session: Session, case_id: int, event_id: int, actor: User | None, now: datetime,
                comment: str = "") -> Case:
    """Join a report to an open case of the same matter; its former case, left without reports, is void.
    Nothing is written on a refusal; the caller commits."""
    case = session.get(Case, case_id)
    if case is None or case.stage in CASE_ENDED:
        raise InputError([Problem("case", "no such open case", "没有该未结案件")])
    event = _report(session, event_id)
    problems = []
    if event.category_id != case.category_id:
        problems.append(Problem("event", "a report joins only a case of its own matter",
                                "只能关联同一事项的案件"))
    if event.case_id == case.id:
        problems.append(Problem("event", "the report is already in this case", "该上报已在本案件中"))
    elif _live_tasks(session, event):
        problems.append(Problem("event", "the report's own tasks are in progress: have them voided first",
                                "该上报派生的任务仍在处置中，请先作废"))
    if problems:
        raise InputError(problems)
    former = session.get(Case, event.case_id)
    event.case_id = case.id
    case.report_count += 1
    former.report_count -= 1
    session.flush()
    note(session, case, now, actor, f"#{event.id} " + (comment or "linked by hand / 人工关联"))
    if former.report_count <= 0 and former.stage not in CASE_ENDED:
        move(session, former, CaseStage.VOID, now, actor, f"→ {case.id}")
    return case


def unlink_report(session: Session, case_id: int, event_id: int, actor: User | None, now: datetime,
                  comment: str = "") -> Case:
    """Take a linked report out of its case into a new case of its own, awaiting dispatch; return the new case."""
    case = session.get(Case, case_id)
    event = _report(session, event_id)
    if case is None or event.case_id != case.id:
        raise InputError([Problem("event", "the report is not in this case", "该上报不在本案件中")])
    if case.report_count <= 1 or _live_tasks(session, event):
        raise InputError([Problem("event", "the report that opened the case stays with it",
                                  "立案所依据的上报不能移出本案件")])
    [new_id] = open_cases(session, [NewCase(
        campaign_id=case.campaign_id, category_id=event.category_id, grid_id=event.grid_id, lat=event.lat,
        lon=event.lon, reported_at=event.occurred_at, filing_condition=event.filing_condition or case.filing_condition,
        lead_unit_id=None, path=(CaseStage.AWAITING_DISPATCH,), frontage_holder_id=holder_of(session, event))], now)
    event.case_id = new_id
    case.report_count -= 1
    session.flush()
    note(session, case, now, actor, f"#{event.id} " + (comment or "unlinked by hand / 人工解除关联"))
    return session.get(Case, new_id)
