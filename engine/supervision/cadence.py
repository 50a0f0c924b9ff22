"""Rounds held against each plan's frequency (三级督查, seed 002: 随时掌握工作开展情况，一周通报一次): a plan's
frequency cuts the period into its campaign's local days, weeks or months, and a slot is held when a round of
the plan started in it. A slot counts as due once it has ended, or earlier if a round was already held in it, so
a running day is not yet a miss. A tier or plan with no round in the period is listed too, never left out.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core.models import Campaign, InspectionPlan, InspectionRound
from engine.supervision.inspection import FREQUENCIES, TIERS

#: The slot each frequency counts in, (zh, en) singular and plural for the figures.
SLOT_WORDS: dict[str, tuple[str, str, str]] = {"daily": ("天", "day", "days"), "weekly": ("周", "week", "weeks"),
                                               "monthly": ("月", "month", "months")}
#: How a plan or tier did against its frequency, in both languages.
STATUS: dict[str, tuple[str, str]] = {"met": ("按频次开展", "held as often as planned"),
                                      "short": ("未达到督查频次", "held less often than planned"),
                                      "none": ("本期未开展督查", "no round held in the period"),
                                      "not_due": ("尚未到期", "not due yet"),
                                      "as_needed": ("按需开展", "held as needed")}


@dataclass
class PlanRounds:
    """One plan's rounds in the period: how many started, and of its frequency's slots how many were held."""

    code: str
    name_zh: str
    name_en: str
    tier: int
    frequency: str
    rounds: int = 0
    held: int = 0
    due: int = 0

    @property
    def status(self) -> str:
        if self.frequency not in SLOT_WORDS:
            return "none" if self.rounds == 0 else "as_needed"
        if self.held == 0 and self.due:
            return "none"
        if self.due == 0:
            return "not_due"
        return "met" if self.held >= self.due else "short"

    def held_text(self, lang: str) -> str:
        """"3/7 天" or "3 of 7 days"; "—" for a plan held as needed."""
        if self.frequency not in SLOT_WORDS:
            return "—"
        zh, one, many = SLOT_WORDS[self.frequency]
        if lang == "zh":
            return f"{self.held}/{self.due} {zh}"
        return f"{self.held} of {self.due} {one if self.due == 1 else many}"

    def as_json(self) -> dict:
        return {"code": self.code, "zh": self.name_zh, "en": self.name_en, "tier": self.tier,
                "frequency": {"code": self.frequency, **_pair(FREQUENCIES.get(self.frequency))},
                "rounds": self.rounds, "held": self.held, "due": self.due,
                "held_text": {lang: self.held_text(lang) for lang in ("zh", "en")},
                "status": {"code": self.status, **_pair(STATUS[self.status])}}


@dataclass
class TierRounds:
    """One tier's rounds in the period and its plans that held none when one was due."""

    tier: int
    plans: int
    rounds: int
    idle: list[PlanRounds]

    def as_json(self) -> dict:
        return {"tier": self.tier, "plans": self.plans, "rounds": self.rounds,
                "idle": [{"code": p.code, "zh": p.name_zh, "en": p.name_en} for p in self.idle]}


def _pair(names: tuple[str, str] | None) -> dict[str, str]:
    return {"zh": names[0], "en": names[1]} if names else {"zh": "", "en": ""}


def _slots(frequency: str, first: date, last: date) -> list[tuple[date, date]]:
    """The local [start, end) days of each slot of the frequency that overlaps first..last."""
    if frequency == "daily":
        return [(first + timedelta(days=n), first + timedelta(days=n + 1)) for n in range((last - first).days + 1)]
    if frequency == "weekly":
        start = first - timedelta(days=first.weekday())
        return [(start + timedelta(weeks=n), start + timedelta(weeks=n + 1))
                for n in range((last - start).days // 7 + 1)]
    if frequency == "monthly":
        slots, start = [], first.replace(day=1)
        while start <= last:
            end = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
            slots.append((start, end))
            start = end
        return slots
    return []


def held(session: Session, campaign_id: int, start: datetime, end: datetime, cutoff: datetime,
         tz: str) -> list[PlanRounds]:
    """Each active plan of the campaign, tier then code, with its rounds started in [start, min(end, cutoff))."""
    zone = ZoneInfo(tz)
    until = min(end, cutoff)
    first, last = start.astimezone(zone).date(), (end.astimezone(zone) - timedelta(seconds=1)).date()
    plans = session.scalars(select(InspectionPlan).where(InspectionPlan.campaign_id == campaign_id,
                                                         InspectionPlan.active)
                            .order_by(InspectionPlan.tier_level, InspectionPlan.code)).all()
    lines = []
    for plan in plans:
        slots = [(datetime.combine(a, time(), zone), datetime.combine(b, time(), zone))
                 for a, b in _slots(plan.frequency, first, last)]
        since = min([start, *(a for a, _b in slots)])
        started = list(session.scalars(select(InspectionRound.started_at).where(
            InspectionRound.plan_id == plan.id, InspectionRound.started_at >= since,
            InspectionRound.started_at < until)))
        line = PlanRounds(plan.code, plan.name_zh, plan.name_en or plan.name_zh, plan.tier_level, plan.frequency,
                          rounds=sum(1 for at in started if at >= start))
        for a, b in slots:
            was_held = any(a <= at < b for at in started)
            line.held += was_held
            line.due += was_held or b <= until
        lines.append(line)
    return lines


def this_week(session: Session, plans: list[InspectionPlan], now: datetime) -> list[PlanRounds]:
    """The plans' rounds in their campaign's local week so far (Monday to Sunday), for the inspector's page."""
    lines = []
    for campaign_id in sorted({p.campaign_id for p in plans}):
        tz = session.get(Campaign, campaign_id).timezone
        today = now.astimezone(ZoneInfo(tz)).date()
        monday = today - timedelta(days=today.weekday())
        start, end = (datetime.combine(day, time(), ZoneInfo(tz)) for day in (monday, monday + timedelta(days=7)))
        codes = {p.code for p in plans if p.campaign_id == campaign_id}
        lines += [line for line in held(session, campaign_id, start, end, now, tz) if line.code in codes]
    return lines


def by_tier(lines: list[PlanRounds]) -> list[TierRounds]:
    """The three tiers, each with its rounds and the plans that held none; a tier without plans shows 0."""
    return [TierRounds(tier, sum(1 for p in lines if p.tier == tier), sum(p.rounds for p in lines if p.tier == tier),
                       [p for p in lines if p.tier == tier and p.status == "none"]) for tier in TIERS]
