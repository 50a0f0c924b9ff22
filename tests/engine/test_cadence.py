"""Rounds against a plan's frequency (三级督查, seed 002): a running day is not yet a miss, a monthly plan's round
earlier in the month holds the month, and a plan or tier that held none is listed, never left out."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from engine.assessment.indicators import period_containing
from engine.core.models import InspectionPlan, InspectionRound
from engine.supervision import cadence
from tests.helpers import SHANGHAI, user

WEDNESDAY = datetime(2026, 12, 2, 14, 0, tzinfo=SHANGHAI)  # W49 runs from Monday 30 November


def _plan(session, code: str) -> InspectionPlan:
    return session.scalar(select(InspectionPlan).where(InspectionPlan.code == code))


def _round(session, plan: InspectionPlan, at: datetime) -> None:
    session.add(InspectionRound(plan_id=plan.id, campaign_id=plan.campaign_id, tier_level=plan.tier_level,
                                inspector_id=user(session, "squad_lead").id, started_at=at, track=[]))
    session.flush()


def test_a_running_week_counts_the_days_ended_and_a_month_held_before_the_week(session):
    hedong, bureau = _plan(session, "ZD-HD-DAILY"), _plan(session, "JLD-SPECIAL")
    bureau.frequency = "monthly"
    _round(session, hedong, datetime(2026, 11, 30, 9, 0, tzinfo=SHANGHAI))  # Monday
    _round(session, hedong, datetime(2026, 12, 2, 8, 0, tzinfo=SHANGHAI))  # today
    _round(session, bureau, datetime(2026, 11, 20, 15, 0, tzinfo=SHANGHAI))  # November: before the week
    week = period_containing("week", WEDNESDAY, "Asia/Shanghai")
    lines = {p.code: p for p in cadence.held(session, hedong.campaign_id, week.start, week.end, WEDNESDAY,
                                             "Asia/Shanghai")}
    assert (lines["ZD-HD-DAILY"].held, lines["ZD-HD-DAILY"].due) == (2, 3)  # Tuesday missed; Thursday not yet due
    assert lines["ZD-HD-DAILY"].held_text("zh") == "2/3 天" and lines["ZD-HD-DAILY"].status == "short"
    november = lines["JLD-SPECIAL"]  # the week overlaps November (held) and December (running, none yet)
    assert (november.rounds, november.held, november.due, november.status) == (0, 1, 1, "met")
    assert lines["ZD-KF-DAILY"].status == "none" and lines["ZD-KF-DAILY"].held_text("en") == "0 of 2 days"
    tiers = {t.tier: t for t in cadence.by_tier(list(lines.values()))}
    assert tiers[3].rounds == 0 and tiers[3].idle == []  # its month was held
    assert "ZD-KF-DAILY" in {p.code for p in tiers[1].idle} and "ZD-HD-DAILY" not in {p.code for p in tiers[1].idle}


def test_a_finished_week_expects_seven_days_and_one_week(session):
    week = period_containing("week", WEDNESDAY, "Asia/Shanghai")
    after = week.end + timedelta(days=1)
    lines = {p.code: p for p in cadence.held(session, 1, week.start, week.end, after, "Asia/Shanghai")}
    assert lines["ZD-DC-DAILY"].due == 7 and lines["JLD-SPECIAL"].due == 1
    assert lines["JLD-SPECIAL"].held_text("en") == "0 of 1 week"
    assert cadence.STATUS[lines["JLD-SPECIAL"].status] == ("本期未开展督查", "no round held in the period")
