"""回访 (issue 14 point 8): after a case closes, its reporter is asked whether the problem is resolved and how
satisfied they are. A hotline's platform sends its own result (by its intake token); for other cases the
dispatcher or the shift leader calls and records it from the 待回访 queue. Recording it moves the case closed →
revisited; "not satisfied" lets the dispatcher reopen it (engine/evaluation/reopening.py). The rates built on
these answers are in engine/assessment/case_rates.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from engine.cases.stages import move
from engine.core.models import Case, CaseRevisit, Event, User
from engine.core.states import CaseStage
from rules.problems import InputError, Problem

#: Who records a revisit on the phone.
REVISITORS = ("dispatcher", "shift_leader", "admin")
#: rating -> (zh, en)
RATINGS: dict[str, tuple[str, str]] = {"satisfied": ("满意", "satisfied"),
                                       "basically_satisfied": ("基本满意", "basically satisfied"),
                                       "not_satisfied": ("不满意", "not satisfied")}
MAX_COMMENT = 2000


def rating_name(rating: str | None, lang: str) -> str:
    names = RATINGS.get(rating or "")
    if names is None:
        return "未联系上" if lang == "zh" else "not reached"
    return names[0 if lang == "zh" else 1]


@dataclass(frozen=True)
class Answer:
    """What the reporter said, as a form or a JSON body gives it (anything, checked by `record_revisit`)."""

    reached: Any
    rating: Any = None
    resolved: Any = None
    comment: Any = ""


def _checked(answer: Answer) -> tuple[bool, str | None, bool | None, str]:
    problems = []
    if not isinstance(answer.reached, bool):
        problems.append(Problem("reached", "whether the reporter was reached (yes or no)",
                                "请选择是否联系上报人"))
    comment = answer.comment if isinstance(answer.comment, str) else None
    if comment is None or len(comment) > MAX_COMMENT or "\x00" in comment:
        problems.append(Problem("comment", f"text of at most {MAX_COMMENT} characters",
                                f"不超过 {MAX_COMMENT} 个字符的文本"))
    rating = answer.rating if answer.rating not in ("", None) else None
    resolved = answer.resolved
    if answer.reached is True:
        if rating not in RATINGS:
            problems.append(Problem("rating", "satisfied, basically satisfied or not satisfied",
                                    "请选择满意、基本满意或不满意"))
        if not isinstance(resolved, bool):
            problems.append(Problem("resolved", "whether the reporter calls the problem resolved (yes or no)",
                                    "请选择上报人是否认为问题已解决"))
    elif answer.reached is False and (rating is not None or resolved is not None):
        problems.append(Problem("rating", "a reporter who was not reached gives no rating and no answer",
                                "未联系上的上报人没有满意度和解决情况"))
    if problems:
        raise InputError(problems)
    return answer.reached, rating, resolved if answer.reached else None, (comment or "").strip()


def record_revisit(session: Session, case_id: int, answer: Answer, now: datetime, actor: User | None = None,
                   source: str | None = None) -> CaseRevisit:
    """Record the revisit of a closed case, by staff (`actor`) or by the hotline platform of one of its reports
    (`source`), and move the case to revisited. The caller commits; nothing is written on a refusal."""
    case = session.get(Case, case_id)
    if case is None:
        raise InputError([Problem("case", "no such case", "没有该案件")])
    if actor is not None and actor.role not in REVISITORS:
        raise InputError([Problem("case", "the dispatcher or the shift leader records a revisit",
                                  "回访由调度员或值班长记录")])
    if source is not None and session.scalar(select(Event.id).where(Event.case_id == case.id,
                                                                    Event.source == source).limit(1)) is None:
        raise InputError([Problem("case", "no such case", "没有该案件")])
    if case.stage != CaseStage.CLOSED:
        raise InputError([Problem("case", "only a closed case not yet revisited is revisited",
                                  "只有已结案、尚未回访的案件可以回访")])
    reached, rating, resolved, comment = _checked(answer)
    said = f"{rating_name(rating, 'zh')} / {rating_name(rating, 'en')}"
    move(session, case, CaseStage.REVISITED, now, actor, f"{said}. {comment}" if comment else said)
    revisit = CaseRevisit(case_id=case_id, reached=reached, rating=rating, resolved=resolved, comment=comment,
                          actor_id=actor.id if actor is not None else None, source=source, at=now)
    session.add(revisit)
    session.flush()
    return revisit


def last_revisit(session: Session, case_id: int) -> CaseRevisit | None:
    return session.scalar(select(CaseRevisit).where(CaseRevisit.case_id == case_id)
                          .order_by(CaseRevisit.id.desc()).limit(1))


def may_reopen(session: Session, case: Case) -> bool:
    """A revisited case whose reporter was not satisfied may be reopened."""
    if case.stage != CaseStage.REVISITED:
        return False
    last = last_revisit(session, case.id)
    return last is not None and last.rating == "not_satisfied"


def awaiting_revisit(session: Session, limit: int = 200) -> list[Case]:
    """Closed cases nobody has revisited yet, the longest closed first: the 待回访 queue."""
    return list(session.scalars(select(Case).options(joinedload(Case.category), joinedload(Case.grid))
                                .where(Case.stage == CaseStage.CLOSED)
                                .order_by(Case.closed_at, Case.id).limit(limit)))
