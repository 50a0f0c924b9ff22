"""A failed checklist item at an evaluation point, as a case led by the point's unit (属地) with a cooperating task
for the department in charge of that kind of point (谁主管、谁负责): the daily check (source type readiness, costing
nothing), a mock round (mock_evaluation) and the official evaluation (official_evaluation), whose event points the
assessment counts against the units with a task of the finding, split between them once (`share_points`)."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from shapely.geometry import shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.cases.cooperation import DEFAULT_COOPERATION_POINTS, split
from engine.cases.routing import route
from engine.cases.stages import NewCase, move, open_cases
from engine.core.models import Campaign, Case, Category, ChecklistItem, Event, InspectionPoint, Task, Unit, User
from engine.core.states import CaseStage, EventStatus
from engine.evaluation.context import cooperation_rules
from engine.evaluation.hand_routing import dispatch_routine
from engine.readiness.checklists import case_category
from engine.space.geo import grid_for_point


@dataclass(frozen=True)
class Finding:
    """Where a finding comes from (source name and type, its key there), what it says, the points it costs, and
    when it was found if not now (an official visit imported days later costs the visit's period)."""

    source: str
    source_type: str
    key: str
    text: str
    comment: str
    points: float = 0.0
    occurred_at: datetime | None = None


def open_case(session: Session, campaign: Campaign, point: InspectionPoint, item: ChecklistItem, finding: Finding,
              user: User | None, now: datetime) -> Case:
    """The finding's report (occurring when it was found) and its case, filed and dispatched now to the point's unit
    (lead) and to the departments in charge of its kind of point (cooperating); flushes."""
    category = case_category(session, item)
    centre = shape(point.place).representative_point()
    lat, lon = centre.y, centre.x
    grid_id = point.grid_id or getattr(grid_for_point(session, lat, lon), "id", None)
    event = Event(source=finding.source, source_event_id=finding.key, source_type=finding.source_type,
                  category_id=category.id, grid_id=grid_id, lat=lat, lon=lon, occurred_at=finding.occurred_at or now, received_at=now,
                  description=finding.text[:2000], address=(point.address or "")[:300],
                  status=EventStatus.EVALUATED, attempts=0, points=finding.points, evaluated_at=now,
                  facts={"source_type": finding.source_type, "inspection_point": point.type.code})
    session.add(event)
    session.flush()
    [case_id] = open_cases(session, [NewCase(
        campaign_id=campaign.id, category_id=category.id, grid_id=grid_id, lat=lat, lon=lon, reported_at=now,
        filing_condition=None, lead_unit_id=point.unit_id, path=(CaseStage.FILED,), comment=finding.comment)], now)
    event.case_id = case_id
    session.flush()
    case = session.get(Case, case_id)
    dispatch_routine(session, case, point.unit, now)
    for department in departments_in_charge(session, point, category, grid_id):
        dispatch_routine(session, case, department, now)
    move(session, case, CaseStage.DISPATCHED, now, user, f"{point.code} {item.code}")
    return case


def departments_in_charge(session: Session, point: InspectionPoint, category: Category,
                          grid_id: int | None) -> list[Unit]:
    """The departments of the point's type that answer for the finding besides the point's own unit: those the duty
    lists name for its matter there, else the type's first (its duty list's order), so a market's finding reaches
    市场监管局 and a main road's stray garbage does not reach every department the road type names."""
    codes = list(point.type.departments or [])
    found = {u.code: u for u in session.scalars(select(Unit).where(Unit.code.in_(codes)))} if codes else {}
    candidates = [found[code] for code in codes if code in found and found[code].id != point.unit_id]
    if not candidates:
        return []
    routing = route(session, category.id, grid_id)
    named = {u.id for u in [routing.lead, *routing.cooperating, *routing.conflict] if u is not None}
    return [u for u in candidates if u.id in named] or candidates[:1]


@dataclass(frozen=True)
class Share:
    """What one task of a finding's case carries of the finding's points: the lead's (属地, the point's unit) or a
    department in charge's (主管部门, cooperating)."""

    task_id: int
    unit_id: int
    lead: bool
    points: Decimal


def share_points(points: float, tasks: Sequence[int], lead: int, rule: str) -> dict[int, Decimal]:
    """The one split of a finding's points over its tasks, so that they add up to what was deducted. Seed 003's
    「谁主管、谁负责，谁丢分、谁负责」 names both for accountability (追责) but counts one loss, and has the
    sub-district 挑大梁: under `lead` (the campaign's default, AssessmentConfig.cooperation_points) the lead's task
    carries it all and the department is named with 0; under `shared` the tasks split it equally, in hundredths."""
    whole = Decimal(repr(float(points)))
    if rule == "shared" and lead in tasks:
        return {task: Decimal(repr(part)) for task, part in split(points, list(tasks), lead).items()}
    return {task: whole if task == lead else Decimal(0) for task in tasks}


def finding_shares(session: Session, campaign_id: int, case_ids: Iterable[int]) -> dict[int, list[Share]]:
    """Each finding case's points (its report's) as its first-round tasks carry them under the campaign's setting
    now, lead first then dispatch order; a reopening's new task is no new finding and carries nothing."""
    ids = sorted(set(case_ids))
    if not ids:
        return {}
    rule = cooperation_rules(session, [campaign_id]).get(campaign_id) or DEFAULT_COOPERATION_POINTS
    leads = dict(session.execute(select(Case.id, Case.lead_unit_id).where(Case.id.in_(ids))).all())
    points: dict[int, float] = {}
    for case_id, value in session.execute(select(Event.case_id, Event.points).where(Event.case_id.in_(ids))
                                          .order_by(Event.id)):
        points.setdefault(case_id, value or 0.0)
    tasks: dict[int, list[tuple[int, int]]] = {}
    for task_id, case_id, unit_id in session.execute(select(Task.id, Task.case_id, Task.unit_id).where(
            Task.case_id.in_(ids), Task.reopening == 0).order_by(Task.id)):
        tasks.setdefault(case_id, []).append((task_id, unit_id))
    found: dict[int, list[Share]] = {}
    for case_id, held in tasks.items():
        lead = next((t for t, u in held if u == leads.get(case_id)), held[0][0])
        parts = share_points(points.get(case_id, 0.0), [t for t, _ in held], lead, rule)
        ordered = sorted(held, key=lambda tu: tu[0] != lead)
        found[case_id] = [Share(t, u, t == lead, parts[t]) for t, u in ordered]
    return found


def task_shares(session: Session, campaign_id: int, task_ids: Iterable[int]) -> dict[int, Decimal]:
    """What each of these tasks carries of its finding's points (`finding_shares`); a task of no case, none."""
    ids = list(task_ids)
    cases = session.scalars(select(Task.case_id).where(Task.id.in_(ids), Task.case_id.is_not(None))) if ids else []
    return {s.task_id: s.points for parts in finding_shares(session, campaign_id, cases).values() for s in parts}
