"""What a period's bulletin (周通报 / monthly ranking) shows: the ranking with its indicators, the score
trend of each unit, the top categories, overdue tasks by the supervision tier they reached, the
sanctions due (the kept list once produced, else a provisional one), the points lost rolled up
person → squad → unit (扣分落实到人) and the findings of the three inspection tiers (三级督查) per tier and
responsible unit with how many were rectified, with the rounds each plan held against its frequency (a tier
or squad that held none shows as such). Pages, exports and the published issues render this."""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.assessment import case_rates, sanctions
from engine.assessment.indicators import Period, compute, overdue_at, read_rows
from engine.assessment.ranking import Ranked, config_for, rank, scoring_for, unit_groups
from engine.assessment.rollup import UnitPoints, points_from_rows
from engine.core.models import (Campaign, Case, Category, Event, SanctionDue, Task, TaskStep,
                               Unit)
from engine.core.states import TaskStatus
from engine.supervision import cadence
from engine.supervision.inspection import TIERS

TREND_PERIODS = 6


@dataclass
class SanctionLine:
    rule_code: str
    kind: str
    sanction: str
    unit: Unit
    ranks: list[dict[str, Any]]
    bottom_n: int
    periods: int


@dataclass
class FindingLine:
    """Findings of one inspection tier about one responsible unit, and how many of them were rectified."""

    tier: int
    unit_id: int
    found: int = 0
    rectified: int = 0


@dataclass
class Bulletin:
    campaign: Campaign
    period: Period
    cutoff: datetime
    ranked: list[Ranked]
    units: dict[int, Unit]
    trend: list[tuple[str, dict[int, float]]]  # oldest first: (period label, unit id -> score)
    categories: list[tuple[Category, int]]
    overdue_by_tier: list[tuple[int, int]]  # (highest tier reached, 0 = none; overdue tasks)
    sanctions: list[SanctionLine] = field(default_factory=list)
    sanctions_final: bool = False
    points: list[UnitPoints] = field(default_factory=list)  # 扣分落实到人, units losing most first
    findings: list[FindingLine] = field(default_factory=list)  # 三级督查, by tier then most found
    tier_names: dict[int, tuple[str, str]] = field(default_factory=dict)  # inspection tier -> (zh, en)
    rounds: list[cadence.PlanRounds] = field(default_factory=list)  # 三级督查 rounds per plan against its frequency

    def findings_by_tier(self) -> list[tuple[int, int, int]]:
        """(tier, found, rectified) for each tier that found something, tier 1 first."""
        totals: dict[int, list[int]] = {}
        for line in self.findings:
            total = totals.setdefault(line.tier, [0, 0])
            total[0] += line.found
            total[1] += line.rectified
        return [(tier, found, rectified) for tier, (found, rectified) in sorted(totals.items())]

    def groups(self) -> list[tuple[str, list[Ranked]]]:
        seen: dict[str, list[Ranked]] = {}
        for row in self.ranked:
            seen.setdefault(row.group, []).append(row)
        return list(seen.items())


def _overdue_by_tier(session: Session, task_ids: list[int], cutoff: datetime) -> list[tuple[int, int]]:
    tiers: dict[int, int] = {tid: 0 for tid in task_ids}
    for chunk in range(0, len(task_ids), 500):
        query = (select(TaskStep.task_id, func.max(TaskStep.tier_level))
                 .where(TaskStep.task_id.in_(task_ids[chunk:chunk + 500]), TaskStep.action == "escalate",
                        TaskStep.status == "done", TaskStep.ran_at < cutoff)
                 .group_by(TaskStep.task_id))
        for tid, tier in session.execute(query):
            tiers[tid] = tier or 0
    return sorted(Counter(tiers.values()).items())


def findings(session: Session, campaign: Campaign, period: Period, cutoff: datetime) -> list[FindingLine]:
    """The reports found on inspection rounds (events with an inspection tier) in the period, counted per tier
    and responsible unit: the case's lead unit, else the unit of the report's first task. A finding is rectified
    once its case is closed, or, without a case, once all its tasks are; one not yet dispatched counts nowhere."""
    found = session.execute(
        select(Event.id, Event.inspection_tier, Case.lead_unit_id, Case.campaign_id, Case.closed_at)
        .outerjoin(Case, Case.id == Event.case_id)
        .where(Event.inspection_tier.is_not(None), Event.occurred_at >= period.start,
               Event.occurred_at < cutoff)).all()
    tasks: dict[int, list[tuple[int, int, str]]] = {}
    ids = [row.id for row in found]
    for chunk in range(0, len(ids), 500):
        for event_id, unit_id, campaign_id, status in session.execute(
                select(Task.event_id, Task.unit_id, Task.campaign_id, Task.status)
                .where(Task.event_id.in_(ids[chunk:chunk + 500])).order_by(Task.id)):
            tasks.setdefault(event_id, []).append((unit_id, campaign_id, status))
    lines: dict[tuple[int, int], FindingLine] = {}
    for row in found:
        own = tasks.get(row.id, [])
        unit_id = row.lead_unit_id or (own[0][0] if own else None)
        campaign_id = row.campaign_id or (own[0][1] if own else None)
        if unit_id is None or campaign_id != campaign.id:
            continue
        line = lines.setdefault((row.inspection_tier, unit_id), FindingLine(row.inspection_tier, unit_id))
        line.found += 1
        if row.closed_at is not None or (row.lead_unit_id is None and own
                                         and all(status == TaskStatus.CLOSED for _u, _c, status in own)):
            line.rectified += 1
    return sorted(lines.values(), key=lambda line: (line.tier, -line.found, line.unit_id))


def tier_names() -> dict[int, tuple[str, str]]:
    """The three inspection tiers by level (中队内部全面督查 …): findings come from inspection (督查), so they are
    named as inspections, not as the supervising bodies (督办) a campaign's tiers name."""
    return dict(TIERS)


def _sanctions(session: Session, campaign: Campaign, period: Period, now: datetime, units: dict[int, Unit],
               rankings: Callable[[Period], list[Ranked]]) -> tuple[list[SanctionLine], bool]:
    run = sanctions.kept(session, campaign, period.label)
    if run is not None:
        entries = session.scalars(select(SanctionDue).where(SanctionDue.run_id == run.id).order_by(SanctionDue.id))
        return [SanctionLine(e.rule.code, e.rule.kind, e.sanction, units[e.unit_id], e.ranks,
                             e.rule.bottom_n, e.rule.periods) for e in entries], True
    if period.kind == "week":
        return [], False
    return [SanctionLine(d.rule.code, d.rule.kind, d.rule.sanction, units[d.unit_id], d.ranks,
                         d.rule.bottom_n, d.rule.periods)
            for d in sanctions.due_for(session, campaign, period, now, rankings)], False


def build(session: Session, campaign: Campaign, period: Period, now: datetime) -> Bulletin:
    """Everything the bulletin shows, computed afresh from the transitions (the sanctions list excepted)."""
    weights, peer_groups = config_for(session, campaign)
    groups = unit_groups(session, peer_groups)
    cutoff = min(period.end, now)
    rows, rebounds = read_rows(session, campaign, period)
    ranked = rank(case_rates.add(session, campaign, period, now, compute(rows, rebounds, period, now, groups)),
                  groups, weights, scoring_for(session, campaign))
    units = {u.id: u for u in session.scalars(select(Unit))}
    rankings = sanctions.ranking_cache(session, campaign, now)
    trend: list[tuple[str, dict[int, float]]] = [(period.label, {r.unit_id: r.score for r in ranked})]
    earlier = period
    for _ in range(TREND_PERIODS - 1):
        earlier = earlier.previous(campaign.timezone)
        trend.append((earlier.label, {r.unit_id: r.score for r in rankings(earlier)}))
    counts = Counter(row.category for row in rows if period.start <= row.created_at < cutoff)
    by_code = {c.code: c for c in session.scalars(select(Category).where(Category.code.in_(list(counts))))}
    categories = [(by_code[code], n) for code, n in counts.most_common(10) if code in by_code]
    overdue_ids = [row.task_id for row in rows if (since := overdue_at(row, cutoff)) and since >= period.start]
    lines, final = _sanctions(session, campaign, period, now, units, rankings)
    return Bulletin(campaign, period, cutoff, ranked, units, list(reversed(trend)), categories,
                    _overdue_by_tier(session, overdue_ids, cutoff), lines, final,
                    points_from_rows(session, rows, rebounds, period, now),
                    findings(session, campaign, period, cutoff), tier_names(),
                    cadence.held(session, campaign.id, period.start, period.end, cutoff, campaign.timezone))
