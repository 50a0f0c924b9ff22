"""立案 (DESIGN 12): the shift leader files a verified case against a filing condition, correcting its category if
the report named the wrong one, or refuses it (不予立案) with a reason for the source.

Filing evaluates the case again under the then-active ruleset version; only the firings of this filing
evaluation create tasks (routine dispatch by the duty lists plus the list items and custom rules). Composed
here because it spans cases, evaluation and dispatch.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.cases.replies import reply_to_source
from engine.cases.stages import move
from engine.cases.verification import condition_of
from engine.core.models import Case, Category, Event, User
from engine.core.states import CaseStage
from engine.durable.evaluator import evaluator
from engine.evaluation.context import active_contexts
from engine.evaluation.enrich import History, load_reference
from engine.evaluation.record import record
from engine.evaluation.verdict import decide_batch, per_event
from rules.problems import InputError, Problem

#: Who files or refuses a case.
FILERS = ("shift_leader", "admin")
MAX_REASON = 2000


@dataclass(frozen=True)
class FiledReport:
    """The case's first report as filed: the shift leader's category and filing condition over the reporter's."""

    id: int
    category_id: int
    filing_condition: str | None
    grid_id: int
    occurred_at: datetime
    source: str
    source_type: str
    lat: float | None
    lon: float | None
    address: str = ""  # names a frontage holder registered there (fact frontage_holder)


def _case_to_file(session: Session, case_id: int, actor: User | None) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise InputError([Problem("case", "no such case", "没有该案件")])
    if actor is not None and actor.role not in FILERS:
        raise InputError([Problem("case", "a shift leader files or refuses a case", "立案或不予立案由值班长决定")])
    if case.stage != CaseStage.FILING:
        raise InputError([Problem("case", "only a verified case awaiting filing is filed or refused",
                                  "只有已核实、待立案的案件可以立案或不予立案")])
    return case


def file_case(session: Session, case_id: int, condition: str, category_code: str | None, actor: User | None,
              now: datetime, comment: str = "") -> list[int]:
    """File the case and dispatch what its filing evaluation decides; return the new tasks' ids. A case no unit
    can be decided for waits for the dispatcher. The caller commits; nothing is written on a refusal."""
    case = _case_to_file(session, case_id, actor)
    if len(comment) > MAX_REASON or "\x00" in comment:
        raise InputError([Problem("comment", f"text of at most {MAX_REASON} characters",
                                  f"不超过 {MAX_REASON} 个字符的文本")])
    category = case.category
    code = (category_code or "").strip()
    if code and code != category.code:
        category = session.scalar(select(Category).where(Category.code == code)) if "\x00" not in code else None
        if category is None:
            raise InputError([Problem("category", f"unknown category {code!r}", f"未知的问题类别 {code!r}")])
    condition = (condition or "").strip()
    if not condition or condition_of(session, category.id, condition) is None:
        raise InputError([Problem("filing_condition",
                                  f"{condition!r} is not a filing condition of {category.code} {category.name_en}",
                                  f"{condition!r} 不是 {category.code} {category.name_zh} 的立案条件")])
    first = session.scalar(select(Event).where(Event.case_id == case.id).order_by(Event.id).limit(1))
    report = FiledReport(first.id, category.id, condition, first.grid_id, first.occurred_at, first.source,
                         first.source_type, first.lat, first.lon, first.address or "")
    if category.id != case.category_id:  # the task pages show the report's matter: it is corrected with the case
        comment = f"{case.category.code} → {category.code}" + (f"; {comment}" if comment else "")
        first.category_id = category.id
    first.filing_condition = condition
    move(session, case, CaseStage.FILED, now, actor, comment, due=case.stage_due_at, category_id=category.id,
         filing_condition=condition)
    ref = load_reference(session)
    groups = per_event(decide_batch([report], active_contexts(session), evaluator(), ref,
                                    History.of(session, [report]), now))
    task_ids = record(session, groups, [], {report.id: case.id}, now, with_intake=False)
    verdicts = groups[0] if groups else []
    won = sorted((t for verdict in verdicts for t in verdict.tasks.values()), key=lambda t: t.order)
    first.points = verdicts[0].points if verdicts else 0.0
    lead = ref.routing(category.id, report.grid_id).lead
    lead_id = lead.id if lead is not None else (won[0].unit_id if won else None)
    case = session.get(Case, case_id)
    if task_ids:
        move(session, case, CaseStage.DISPATCHED, now, actor, lead_unit_id=lead_id)
    else:  # the dispatch clock that started at 待立案 runs on in 待派遣
        move(session, case, CaseStage.AWAITING_DISPATCH, now, actor, due=case.stage_due_at, lead_unit_id=lead_id)
    return task_ids


def refuse_case(session: Session, case_id: int, reason: str, actor: User | None, now: datetime) -> None:
    """不予立案: the case ends with the shift leader's reason, which goes back to the source with the reply."""
    case = _case_to_file(session, case_id, actor)
    reason = (reason or "").strip()
    if not reason or len(reason) > MAX_REASON or "\x00" in reason:
        raise InputError([Problem("reason", "the reason the case is not filed (sent back to the source)",
                                  "请填写不予立案的理由（将回复给来源）")])
    move(session, case, CaseStage.NOT_FILED, now, actor, reason)
    reply_to_source(session, case_id, now)
