"""The dispatcher reopens a case whose reporter was not satisfied at the revisit (回访不满意): revisited →
reopened → dispatched, with a new routine task for its lead unit dispatched as the dispatcher's routing does, and
the reopening told to the case's source. Composed here because it spans cases, handling and the campaign."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.cases.replies import reply_to_source
from engine.cases.revisits import may_reopen
from engine.cases.stages import move
from engine.core.models import Case, Task, Unit, User
from engine.core.states import CaseStage
from engine.evaluation.hand_routing import dispatch_routine
from rules.problems import InputError, Problem

#: Who reopens a case.
REOPENERS = ("dispatcher", "shift_leader", "admin")
MAX_REASON = 2000


def reopen_case(session: Session, case_id: int, reason: str, actor: User | None, now: datetime) -> int:
    """Reopen the case for its lead unit with the dispatcher's reason; return the new task's id. The caller
    commits; nothing is written on a refusal."""
    case = session.get(Case, case_id)
    if case is None:
        raise InputError([Problem("case", "no such case", "没有该案件")])
    if actor is not None and actor.role not in REOPENERS:
        raise InputError([Problem("case", "the dispatcher reopens a case", "案件重启由调度员决定")])
    if not may_reopen(session, case):
        raise InputError([Problem("case", "only a case whose reporter was not satisfied at the revisit is reopened",
                                  "只有回访不满意的案件可以重启")])
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if not reason or len(reason) > MAX_REASON or "\x00" in reason:
        raise InputError([Problem("reason", "the reason the case is reopened (kept in its history and sent to the source)",
                                  "请填写重启案件的理由（记入案件历史并回复给来源）")])
    unit = session.get(Unit, case.lead_unit_id) if case.lead_unit_id is not None else None
    if unit is None:
        raise InputError([Problem("case", "the case has no lead unit to reopen it for", "该案件没有主办单位，无法重启")])
    rounds = session.scalar(select(func.max(Task.reopening)).where(Task.case_id == case.id)) or 0
    move(session, case, CaseStage.REOPENED, now, actor, reason)
    reply_to_source(session, case.id, now)
    task_id = dispatch_routine(session, case, unit, now, reopening=rounds + 1)
    move(session, session.get(Case, case_id), CaseStage.DISPATCHED, now, actor)
    return task_id
