"""Inspection coverage per week (三级督查): which grids and streets each tier went through, on how many days.

A grid counts as inspected by a round when a point of the round's track (its start, end, findings and the
positions the page sent) lies in it, or a finding's report was placed in it; a street when a finding names it.
Days are the campaign's local days, so a 中队 plan's "daily" reads as days covered out of seven; each plan's
rounds against its frequency come from engine/supervision/cadence.py, counted up to now in a running week.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from engine.core import clock
from engine.core.models import Event, Grid, InspectionFinding, InspectionPlan, InspectionRound, Street, User
from engine.supervision import cadence
from engine.supervision.inspection import squad_scope, visible_plans

TIER_LEVELS = (1, 2, 3)


@dataclass(frozen=True)
class Squad:
    """What a squad's inspector reads of the coverage: its plans (ids) and its units (ids)."""

    plans: frozenset[int]
    units: frozenset[int]


def squad_of(session: Session, user: User) -> Squad | None:
    """The part of the coverage a squad's inspector reads; None for everyone who reads it all."""
    scope = squad_scope(session, user)
    if scope is None:
        return None
    plans = visible_plans(session, user, list(session.scalars(select(InspectionPlan))))
    return Squad(frozenset(p.id for p in plans), frozenset(scope))


@dataclass
class Covered:
    """One grid or street: its code and names, and per tier the local days it was inspected and the findings."""

    code: str
    name_zh: str
    name_en: str
    unit_zh: str
    unit_en: str
    days: dict[int, set[date]] = field(default_factory=lambda: {t: set() for t in TIER_LEVELS})
    findings: dict[int, int] = field(default_factory=lambda: {t: 0 for t in TIER_LEVELS})
    planned: set[int] = field(default_factory=set)  # tiers whose active plan names it

    @property
    def inspected(self) -> bool:
        return any(self.days.values())

    def as_json(self) -> dict:
        return {"code": self.code, "name_zh": self.name_zh, "name_en": self.name_en,
                "tiers": {str(t): {"days": sorted(d.isoformat() for d in self.days[t]), "findings": self.findings[t],
                                   "planned": t in self.planned} for t in TIER_LEVELS}}


@dataclass
class Coverage:
    start: datetime
    end: datetime
    grids: list[Covered]
    streets: list[Covered]
    rounds: dict[int, int]  # rounds started in the week per tier
    findings: dict[int, int]  # findings recorded in the week per tier
    plans: list[cadence.PlanRounds] = field(default_factory=list)  # each plan's rounds against its frequency

    def tiers(self) -> dict[int, cadence.TierRounds]:
        return {t.tier: t for t in cadence.by_tier(self.plans)}


def _rows(items) -> dict[str, Covered]:
    return {i.code: Covered(i.code, i.name_zh, i.name_en or i.name_zh, i.unit.name_zh, i.unit.name_en) for i in items}


def weekly(session: Session, campaign_id: int, start: datetime, end: datetime, tz: str,
           squad: Squad | None = None) -> Coverage:
    """Coverage of the rounds started in [start, end) in the campaign, every grid and street listed; for a squad's
    inspector only its own plans, their rounds, and the grids and streets of its plans or its units."""
    zone = ZoneInfo(tz)
    plans = session.scalars(select(InspectionPlan).where(InspectionPlan.campaign_id == campaign_id,
                                                         InspectionPlan.active)).all()
    if squad is not None:
        plans = [p for p in plans if p.id in squad.plans]
    grid_query, street_query = select(Grid), select(Street)
    if squad is not None:
        named = {kind: {c for p in plans for c in (p.scope or {}).get(kind) or []} for kind in ("grids", "streets")}
        grid_query = grid_query.where(or_(Grid.unit_id.in_(squad.units), Grid.code.in_(named["grids"])))
        street_query = street_query.where(or_(Street.unit_id.in_(squad.units), Street.code.in_(named["streets"])))
    grids = _rows(session.scalars(grid_query.options(selectinload(Grid.unit)).order_by(Grid.code)))
    streets = _rows(session.scalars(street_query.options(selectinload(Street.unit)).order_by(Street.code)))
    for plan in plans:
        for kind, rows in (("grids", grids), ("streets", streets)):
            for code in (plan.scope or {}).get(kind) or []:
                if code in rows:
                    rows[code].planned.add(plan.tier_level)
    rounds = {t: 0 for t in TIER_LEVELS}
    findings = {t: 0 for t in TIER_LEVELS}
    query = (select(InspectionRound).options(selectinload(InspectionRound.findings).selectinload(InspectionFinding.street))
             .where(InspectionRound.campaign_id == campaign_id, InspectionRound.started_at >= start,
                    InspectionRound.started_at < end))
    if squad is not None:
        query = query.where(InspectionRound.plan_id.in_(squad.plans))
    for round_ in session.scalars(query):
        tier = round_.tier_level
        rounds[tier] = rounds.get(tier, 0) + 1
        for point in round_.track or []:
            if point.get("grid") in grids:
                grids[point["grid"]].days[tier].add(datetime.fromisoformat(point["at"]).astimezone(zone).date())
        event_grids = dict(session.execute(select(Event.id, Grid.code).join(Grid, Grid.id == Event.grid_id).where(
            Event.id.in_([f.event_id for f in round_.findings]))).all()) if round_.findings else {}
        for finding in round_.findings:
            findings[tier] = findings.get(tier, 0) + 1
            day = finding.created_at.astimezone(zone).date()
            code = event_grids.get(finding.event_id)
            if code in grids:
                grids[code].days[tier].add(day)
                grids[code].findings[tier] += 1
            if finding.street is not None and finding.street.code in streets:
                streets[finding.street.code].days[tier].add(day)
                streets[finding.street.code].findings[tier] += 1
    lines = cadence.held(session, campaign_id, start, end, min(end, clock.now()), tz)
    if squad is not None:
        codes = {p.code for p in plans}
        lines = [line for line in lines if line.code in codes]
    return Coverage(start, end, list(grids.values()), list(streets.values()), rounds, findings, lines)
