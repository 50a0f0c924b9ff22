"""结案 (DESIGN 12): the shift leader closes a dispatched case against a closing condition (结案条件) once the
checker has passed its lead unit's task and every cooperating unit (协办) has answered the lead (its task submitted,
closed or voided). Until then the case is in a stage someone owns: the units' tasks.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session, aliased, joinedload

from engine.cases.cooperation import SETTLED, lead_task, unanswered
from engine.cases.replies import reply_to_source
from engine.cases.stages import move
from engine.cases.verification import condition_of
from engine.core.models import Case, Task, User
from engine.core.states import CaseStage, TaskStatus
from rules.problems import InputError, Problem

__all__ = ["CLOSERS", "awaiting_closing", "close_case", "lead_task", "why_not_closable"]

#: Who closes a case.
CLOSERS = ("shift_leader", "admin")
MAX_COMMENT = 2000


def why_not_closable(case: Case) -> list[Problem]:
    """What still stands between a dispatched case and its closing; empty when the shift leader may close it."""
    if case.stage != CaseStage.DISPATCHED:
        return [Problem("case", "only a dispatched case is closed", "只有已派遣的案件可以结案")]
    problems = []
    lead = lead_task(case)
    if lead is None or lead.status != TaskStatus.CLOSED:
        problems.append(Problem("case", "the lead unit's task has not passed the check yet", "主办单位的任务尚未通过核查"))
    waiting = unanswered(case)
    if waiting:
        problems.append(Problem(
            "case", "cooperating units have not answered the lead yet: " + ", ".join(a.unit.name_en for a in waiting),
            "协办单位尚未向主办单位反馈：" + "、".join(a.unit.name_zh for a in waiting)))
    return problems


def close_case(session: Session, case_id: int, condition: str, actor: User | None, now: datetime,
               comment: str = "") -> None:
    """Close the case against one of its category's closing conditions (by default its filing condition's).
    The caller commits; nothing is written on a refusal."""
    case = session.get(Case, case_id)
    if case is None:
        raise InputError([Problem("case", "no such case", "没有该案件")])
    if actor is not None and actor.role not in CLOSERS:
        raise InputError([Problem("case", "a shift leader closes a case", "结案由值班长确认")])
    problems = why_not_closable(case)
    code = (condition or case.filing_condition or "").strip()
    found = condition_of(session, case.category_id, code) if code else None
    if found is None:
        problems.append(Problem("closing_condition", f"{code!r} is not a closing condition of this case's category",
                                f"{code!r} 不是本案件类别的结案条件"))
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT or "\x00" in comment:
        problems.append(Problem("comment", f"text of at most {MAX_COMMENT} characters", f"不超过 {MAX_COMMENT} 个字符的文本"))
    if problems:
        raise InputError(problems)
    text = " / ".join(t for t in (found.closing_zh, found.closing_en) if t)
    move(session, case, CaseStage.CLOSED, now, actor, (f"{text}. " if text else "") + comment,
         closing_condition=found.code)
    reply_to_source(session, case_id, now)


def awaiting_closing(session: Session, limit: int = 200) -> list[Case]:
    """The shift leader's 待结案 queue: dispatched cases whose lead task passed its check and whose cooperating
    units all answered, exactly what `why_not_closable` allows, decided in SQL."""
    lead, other = aliased(Task), aliased(Task)
    # the latest round of tasks: a reopened case is closed on the tasks it got when it was reopened
    latest = select(func.max(other.reopening)).where(other.case_id == Case.id).correlate(Case).scalar_subquery()
    live = and_(Task.case_id == Case.id, Task.status != TaskStatus.VOIDED, Task.reopening == latest)
    # the lead task as lead_task picks it: the live task of the lead unit, else the case's first live task
    lead_id = func.coalesce(
        select(func.min(Task.id)).where(live, Task.unit_id == Case.lead_unit_id).correlate(Case).scalar_subquery(),
        select(func.min(Task.id)).where(live).correlate(Case).scalar_subquery())
    passed = exists().where(lead.id == lead_id, lead.status == TaskStatus.CLOSED)
    owing = exists().where(Task.case_id == Case.id, Task.reopening == latest, Task.id != lead_id,
                           Task.status.not_in(SETTLED))
    return list(session.scalars(select(Case).options(joinedload(Case.category), joinedload(Case.grid))
                                .where(Case.stage == CaseStage.DISPATCHED, passed, ~owing)
                                .order_by(Case.opened_at, Case.id).limit(limit)))
