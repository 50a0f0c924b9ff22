"""结案 (DESIGN 12): the shift leader closes a dispatched case against a closing condition (结案条件) once the
checker has passed its lead unit's task. Until then the case is in a stage someone owns: the units' tasks.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session, joinedload

from engine.cases.replies import reply_to_source
from engine.cases.stages import move
from engine.cases.verification import condition_of
from engine.core.models import Case, Task, User
from engine.core.states import TERMINAL, CaseStage, TaskStatus
from rules.problems import InputError, Problem

#: Who closes a case.
CLOSERS = ("shift_leader", "admin")
MAX_COMMENT = 2000


def lead_task(case: Case) -> Task | None:
    """The task of the case's lead unit (主办), else its first live task, in its latest round (a reopened case)."""
    latest = max((t.reopening for t in case.tasks), default=0)
    live = [t for t in case.tasks if t.status != TaskStatus.VOIDED and t.reopening == latest]
    return next((t for t in live if t.unit_id == case.lead_unit_id), live[0] if live else None)


def why_not_closable(case: Case) -> list[Problem]:
    """What still stands between a dispatched case and its closing; empty when the shift leader may close it."""
    if case.stage != CaseStage.DISPATCHED:
        return [Problem("case", "only a dispatched case is closed", "只有已派遣的案件可以结案")]
    lead = lead_task(case)
    if lead is None or lead.status != TaskStatus.CLOSED:
        return [Problem("case", "the lead unit's task has not passed the check yet", "主办单位的任务尚未通过核查")]
    return []


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
    """Dispatched cases whose tasks are all finished and one passed its check: the shift leader's 待结案 queue
    (the lead rule is checked again on closing)."""
    live = exists().where(Task.case_id == Case.id, Task.status.not_in(TERMINAL))
    passed = exists().where(and_(Task.case_id == Case.id, Task.status == TaskStatus.CLOSED))
    return list(session.scalars(select(Case).options(joinedload(Case.category), joinedload(Case.grid))
                                .where(Case.stage == CaseStage.DISPATCHED, ~live, passed)
                                .order_by(Case.opened_at, Case.id).limit(limit)))
