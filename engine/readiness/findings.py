"""A failed checklist item at an evaluation point, as a case led by the point's unit (属地) with a cooperating task
for the department in charge of that kind of point (谁主管、谁负责): the daily check (source type readiness, costing
nothing), a mock round (mock_evaluation) and the official evaluation (official_evaluation), whose event points the
assessment counts against each unit with a task of the finding (docs/ASSESSMENT.md)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shapely.geometry import shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.cases.routing import route
from engine.cases.stages import NewCase, move, open_cases
from engine.core.models import Campaign, Case, Category, ChecklistItem, Event, InspectionPoint, Unit, User
from engine.core.states import CaseStage, EventStatus
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
