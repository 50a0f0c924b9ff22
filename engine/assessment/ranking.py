"""The composite score of each unit and its rank among its peers (sub-districts apart from departments).

Weights, deduction caps (扣完为止), peer groups and where units with no cases go come from the campaign's
AssessmentConfig (admin); ties share a rank (competition ranking 1, 2, 2, 4). See docs/ASSESSMENT.md.
"""
from __future__ import annotations

from dataclasses import dataclass, field
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
#: The most each deduction may take off (扣完为止); Jinniu's sheets deduct "−1 each, up to 20" (brief d.2).
DEFAULT_CAPS: dict[str, float] = {"points_lost": 20, "rebounds": 20}
#: Where units with nothing dispatched in the period (无案件) go: not ranked; ranked after every unit with
#: cases but never named in the bottom N; or ranked last and counted in the bottom N.
NO_CASE_PLACEMENTS: dict[str, tuple[str, str]] = {
    "unranked": ("不参与排名", "not ranked"),
    "after": ("排在有案件单位之后，不计入末位", "after the units with cases, never in the bottom"),
    "last": ("排在末位，计入末位", "last, counted in the bottom"),
}
DEFAULT_NO_CASES = "unranked"


@dataclass(frozen=True)
class Scoring:
    """How a campaign caps deductions and places units with no cases (admin → Weights and peer groups)."""

    caps: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_CAPS))
    no_cases: str = DEFAULT_NO_CASES


@dataclass(frozen=True)
class Ranked:
    unit_id: int
    group: str
    score: float
    rank: int | None  # None: a unit with no cases that the campaign leaves unranked
    size: int  # the units ranked in the group
    worse: int  # ranked units of the group below it (a strictly lower score, or no cases placed last)
    best: bool  # shares the group's top score
    indicators: Indicators
    no_cases: bool = False  # 无案件: nothing was dispatched to the unit in the period
    sanctionable: bool = True  # may be named in the bottom N (no: a unit with no cases, unless placed last)

    def in_bottom(self, n: int) -> bool:
        """Among the bottom n: fewer than n peers rank lower, unless it shares the top score (all tied) or has
        no cases and the campaign does not count those in the bottom."""
        return self.sanctionable and self.worse < n and not self.best


def score(ind: Indicators, weights: dict[str, Any], caps: dict[str, float] | None = None) -> float:
    """Σ w·rate for good rates + Σ w·(1 − rate) for bad ones − w·points lost − w·rebounds, each deduction at
    most its cap and the whole never below zero (扣完为止); an undefined rate (nothing due) scores as a perfect
    one. Rounded to 2 decimals so equal work ties."""
    caps = DEFAULT_CAPS if caps is None else caps
    rates = ind.rates()
    total = 0.0
    for name in GOOD_RATES:
        total += float(weights.get(name, 0)) * (1.0 if rates[name] is None else rates[name])
    for name in BAD_RATES:
        total += float(weights.get(name, 0)) * (1.0 - (rates[name] or 0.0))
    for name, amount in (("points_lost", ind.points_lost), ("rebounds", ind.rebounds)):
        total -= deduction(name, float(weights.get(name, 0)) * amount, caps)
    return round(max(total, 0.0), 2)


def deduction(name: str, amount: float, caps: dict[str, float]) -> float:
    """A deduction as taken: at most its cap (none configured: uncapped, the floor at zero still holds)."""
    cap = caps.get(name)
    return amount if cap is None else min(amount, float(cap))


def rank(indicators: dict[int, Indicators], groups: dict[int, str], weights: dict[str, Any],
         scoring: Scoring | None = None) -> list[Ranked]:
    """Competition ranking within each peer group; units without a group are not ranked. Units with no cases
    (无案件) are never first by default: they are left unranked, or placed after the units with cases."""
    scoring = scoring or Scoring()
    scored: dict[str, list[tuple[int, float, bool]]] = {}
    for unit_id, group in groups.items():
        ind = indicators.get(unit_id, Indicators(unit_id))
        scored.setdefault(group, []).append((unit_id, score(ind, weights, scoring.caps), ind.dispatched == 0))
    result: list[Ranked] = []
    for group in sorted(scored):
        result += _rank_group(group, scored[group], indicators, scoring.no_cases)
    result.sort(key=lambda r: (r.group, r.rank is None, r.rank or 0, r.unit_id))
    return result


def _rank_group(group: str, members: list[tuple[int, float, bool]], indicators: dict[int, Indicators],
                placement: str) -> list[Ranked]:
    working = [(u, s) for u, s, idle in members if not idle]
    idle = [(u, s) for u, s, none in members if none]
    ranked_idle = placement in ("after", "last")
    size = len(members) if ranked_idle else len(working)
    below = len(idle) if placement == "last" else 0  # no-case units placed last rank below everyone
    top = max((s for _, s in working), default=None)
    result = []
    for unit_id, value in working:
        higher = sum(1 for _, other in working if other > value)
        lower = sum(1 for _, other in working if other < value) + below
        result.append(Ranked(unit_id, group, value, higher + 1, size, lower, value == top,
                             indicators.get(unit_id, Indicators(unit_id))))
    for unit_id, value in idle:
        result.append(Ranked(unit_id, group, value, len(working) + 1 if ranked_idle else None, size, 0,
                             not working, indicators.get(unit_id, Indicators(unit_id)), no_cases=True,
                             sanctionable=placement == "last"))
    return result


def config_for(session: Session, campaign: Campaign) -> tuple[dict[str, Any], dict[str, str]]:
    """The campaign's weights and peer groups (unit type -> group), defaults where none are set."""
    config = session.scalar(select(AssessmentConfig).where(AssessmentConfig.campaign_id == campaign.id))
    weights = {**DEFAULT_WEIGHTS, **((config.weights or {}) if config else {})}
    peer_groups = (config.peer_groups if config and config.peer_groups else None) or DEFAULT_PEER_GROUPS
    return weights, dict(peer_groups)


def scoring_for(session: Session, campaign: Campaign) -> Scoring:
    """The campaign's deduction caps and placement of units with no cases, defaults where none are set."""
    config = session.scalar(select(AssessmentConfig).where(AssessmentConfig.campaign_id == campaign.id))
    if config is None:
        return Scoring()
    return Scoring({**DEFAULT_CAPS, **(config.deduction_caps or {})}, config.no_case_placement or DEFAULT_NO_CASES)


def unit_groups(session: Session, peer_groups: dict[str, str]) -> dict[int, str]:
    return {uid: peer_groups[utype] for uid, utype in session.execute(select(Unit.id, Unit.type))
            if utype in peer_groups}


def ranking(session: Session, campaign: Campaign, period: Period, now: datetime,
            config: Optional[tuple[dict[str, Any], dict[str, str]]] = None,
            scoring: Optional[Scoring] = None) -> list[Ranked]:
    """The period's ranking of the campaign's units, computed afresh from the transitions."""
    weights, peer_groups = config or config_for(session, campaign)
    groups = unit_groups(session, peer_groups)
    indicators = case_rates.add(session, campaign, period, now, for_period(session, campaign, period, now, groups))
    return rank(indicators, groups, weights, scoring or scoring_for(session, campaign))
