"""The composite score of each unit and its rank among its peers (sub-districts apart from departments).

Weights and peer groups come from the campaign's AssessmentConfig (admin); ties share a rank
(competition ranking 1, 2, 2, 4). See docs/ASSESSMENT.md.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.assessment import case_rates
from engine.assessment.indicators import Indicators, Period, for_period
from engine.core.models import AssessmentConfig, Campaign, Unit

# Chengdu Jinniu's 100-point score (brief d.2), plus one point off per point lost.
DEFAULT_WEIGHTS: dict[str, float] = {"handling_rate": 30, "on_time_handling_rate": 20, "closure_rate": 0,
                                     "on_time_closure_rate": 0, "rework_rate": 20, "overdue_unhandled_rate": 20,
                                     "extension_rate": 10, "accurate_dispatch_rate": 0, "points_lost": 1,
                                     "rebounds": 0}
DEFAULT_PEER_GROUPS: dict[str, str] = {"subdistrict": "subdistricts", "department": "departments",
                                       "squad": "squads"}
GOOD_RATES = ("handling_rate", "on_time_handling_rate", "closure_rate", "on_time_closure_rate",
              "accurate_dispatch_rate")
BAD_RATES = ("rework_rate", "overdue_unhandled_rate", "extension_rate")


@dataclass(frozen=True)
class Ranked:
    unit_id: int
    group: str
    score: float
    rank: int
    size: int
    worse: int  # units of the group with a strictly lower score
    best: bool  # shares the group's top score
    indicators: Indicators

    def in_bottom(self, n: int) -> bool:
        """Among the bottom n: fewer than n peers score lower, unless it shares the top score (all tied)."""
        return self.worse < n and not self.best


def score(ind: Indicators, weights: dict[str, Any]) -> float:
    """Σ w·rate for good rates + Σ w·(1 − rate) for bad ones − w·points lost − w·rebounds; an undefined
    rate (nothing due) scores as a perfect one. Rounded to 2 decimals so equal work ties."""
    rates = ind.rates()
    total = 0.0
    for name in GOOD_RATES:
        total += float(weights.get(name, 0)) * (1.0 if rates[name] is None else rates[name])
    for name in BAD_RATES:
        total += float(weights.get(name, 0)) * (1.0 - (rates[name] or 0.0))
    total -= float(weights.get("points_lost", 0)) * ind.points_lost
    total -= float(weights.get("rebounds", 0)) * ind.rebounds
    return round(total, 2)


def rank(indicators: dict[int, Indicators], groups: dict[int, str], weights: dict[str, Any]) -> list[Ranked]:
    """Competition ranking within each peer group; units without a group are not ranked."""
    scored: dict[str, list[tuple[int, float]]] = {}
    for unit_id, group in groups.items():
        scored.setdefault(group, []).append((unit_id, score(indicators.get(unit_id, Indicators(unit_id)), weights)))
    result: list[Ranked] = []
    for group in sorted(scored):
        members = scored[group]
        top = max(s for _, s in members)
        for unit_id, value in members:
            higher = sum(1 for _, other in members if other > value)
            lower = sum(1 for _, other in members if other < value)
            result.append(Ranked(unit_id, group, value, higher + 1, len(members), lower, value == top,
                                 indicators.get(unit_id, Indicators(unit_id))))
    result.sort(key=lambda r: (r.group, r.rank, r.unit_id))
    return result


def config_for(session: Session, campaign: Campaign) -> tuple[dict[str, Any], dict[str, str]]:
    """The campaign's weights and peer groups (unit type -> group), defaults where none are set."""
    config = session.scalar(select(AssessmentConfig).where(AssessmentConfig.campaign_id == campaign.id))
    weights = {**DEFAULT_WEIGHTS, **((config.weights or {}) if config else {})}
    peer_groups = (config.peer_groups if config and config.peer_groups else None) or DEFAULT_PEER_GROUPS
    return weights, dict(peer_groups)


def unit_groups(session: Session, peer_groups: dict[str, str]) -> dict[int, str]:
    return {uid: peer_groups[utype] for uid, utype in session.execute(select(Unit.id, Unit.type))
            if utype in peer_groups}


def ranking(session: Session, campaign: Campaign, period: Period, now: datetime,
            config: Optional[tuple[dict[str, Any], dict[str, str]]] = None) -> list[Ranked]:
    """The period's ranking of the campaign's units, computed afresh from the transitions."""
    weights, peer_groups = config or config_for(session, campaign)
    groups = unit_groups(session, peer_groups)
    indicators = case_rates.add(session, campaign, period, now, for_period(session, campaign, period, now, groups))
    return rank(indicators, groups, weights)
