"""The dispatcher routes a case nobody could be decided for (待派遣): its routine task goes to the chosen unit
through dispatch, and the case becomes dispatched. Composed here because it spans cases, handling and the
campaign's context (template, timeline, calendar)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.cases.stages import move
from engine.core.models import Case, Event, Unit, User
from engine.core.states import CaseStage
from engine.evaluation.context import active_contexts
from engine.evaluation.decide import ROUTINE, routine_task
from engine.evaluation.enrich import load_reference
from engine.handling.dispatch import TaskOrder, dispatch
from engine.space.points import points_at
from rules.problems import InputError, Problem


def route_case(session: Session, case_id: int, unit_code: str, actor: User | None, now: datetime,
               comment: str = "") -> int:
    """Give a case awaiting dispatch to `unit_code`; return its new task's id. Nothing is written on a refusal;
    the caller commits."""
    case = session.get(Case, case_id)
    if case is None:
        raise InputError([Problem("case", "no such case", "没有该案件")])
    if case.stage != CaseStage.AWAITING_DISPATCH:
        raise InputError([Problem("case", "only a case awaiting dispatch is routed by hand",
                                  "只有待派遣的案件可以人工派遣")])
    code = (unit_code or "").strip() if isinstance(unit_code, str) else ""
    unit = session.scalar(select(Unit).where(Unit.code == code)) if code and "\x00" not in code else None
    if unit is None:
        raise InputError([Problem("unit", f"no such unit: {unit_code!r}", f"没有该单位：{unit_code}")])
    task_id = dispatch_routine(session, case, unit, now)
    case.lead_unit_id = unit.id
    session.flush()
    move(session, case, CaseStage.DISPATCHED, now, actor, comment)
    return task_id


def dispatch_routine(session: Session, case: Case, unit: Unit, now: datetime, reopening: int = 0) -> int:
    """The routine task of a case for `unit`, on its first report, under the case's campaign (else the first
    active one) with the catalogue's limit for its filing condition; `reopening` counts the case's reopenings."""
    contexts = active_contexts(session)
    ctx = next((c for c in contexts if c.id == case.campaign_id), contexts[0] if contexts else None)
    if ctx is None or ROUTINE not in ctx.templates:
        raise InputError([Problem("unit", "no active campaign with a routine task template to dispatch under",
                                  "没有可用于派遣的进行中专项行动或一般问题处置模板")])
    report = session.scalar(select(Event).where(Event.case_id == case.id).order_by(Event.id).limit(1))
    ref = load_reference(session)
    limit = ref.limit_for(case.category_id, case.filing_condition)
    at_point = report.id in points_at(session, [report])
    decision = routine_task(ctx, unit.id, limit, now, ref.categories[case.category_id].timeline_code, at_point)
    [task_id] = dispatch(session, [TaskOrder(
        event_id=report.id, campaign_id=ctx.id, ruleset_version_id=ctx.version_id, unit_id=unit.id,
        template_id=ctx.template_id(ROUTINE), timeline_id=ctx.timeline_id(decision.timeline_code), rule_key=ROUTINE,
        list_kind=ROUTINE, limit_value=decision.limit_value, limit_unit=decision.limit_unit,
        deadline_at=decision.deadline_at, points=0.0, steps=ctx.steps(decision.timeline_code), calendar=ctx.calendar,
        continuous_time=ctx.continuous_time, bodies=ctx.bodies, case_id=case.id, reopening=reopening)], now)
    return task_id
