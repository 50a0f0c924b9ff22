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

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from engine.core import clock
from engine.core.models import Event, Grid, InspectionFinding, InspectionPlan, InspectionRound, Street
from engine.supervision import cadence

TIER_LEVELS = (1, 2, 3)


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


def weekly(session: Session, campaign_id: int, start: datetime, end: datetime, tz: str) -> Coverage:
    """Coverage of the rounds started in [start, end) in the campaign, every grid and street listed."""
    zone = ZoneInfo(tz)
    grids = _rows(session.scalars(select(Grid).options(selectinload(Grid.unit)).order_by(Grid.code)))
    streets = _rows(session.scalars(select(Street).options(selectinload(Street.unit)).order_by(Street.code)))
    for plan in session.scalars(select(InspectionPlan).where(InspectionPlan.campaign_id == campaign_id,
                                                             InspectionPlan.active)):
        for kind, rows in (("grids", grids), ("streets", streets)):
            for code in (plan.scope or {}).get(kind) or []:
                if code in rows:
                    rows[code].planned.add(plan.tier_level)
    rounds = {t: 0 for t in TIER_LEVELS}
    findings = {t: 0 for t in TIER_LEVELS}
    query = (select(InspectionRound).options(selectinload(InspectionRound.findings).selectinload(InspectionFinding.street))
             .where(InspectionRound.campaign_id == campaign_id, InspectionRound.started_at >= start,
                    InspectionRound.started_at < end))
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
    return Coverage(start, end, list(grids.values()), list(streets.values()), rounds, findings,
                    cadence.held(session, campaign_id, start, end, min(end, clock.now()), tz))
