"""Bottom-N rules as configuration and the list of units due for each sanction, produced once per period.

Kinds: `month` (bottom N this month), `consecutive_months` / `consecutive_quarters` (bottom N in each
of the last K), `months_in_year` (bottom N this month and in at least K months of the calendar year so
far: the Xi'an ladder). See docs/ASSESSMENT.md.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Optional

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.assessment.indicators import Period, parse_period, period_containing
from engine.core.models import Campaign, SanctionDue, SanctionRule, SanctionRun
from engine.assessment.ranking import Ranked, config_for, ranking, scoring_for

#: How a rule reads with its N and K filled in (当月排名后3位): the admin list and the bulletins say it so.
WORDING: dict[str, tuple[str, str]] = {
    "month": ("当月排名后{n}位", "Bottom {n} in the current month"),
    "consecutive_months": ("连续{k}个月排名后{n}位", "Bottom {n} in {k} consecutive months"),
    "consecutive_quarters": ("连续{k}个季度排名后{n}位", "Bottom {n} in {k} consecutive quarters"),
    "months_in_year": ("年内累计{k}个月排名后{n}位", "Bottom {n} in {k} months of the year (cumulative)"),
}
KINDS: dict[str, tuple[str, str]] = {kind: (zh.format(n="N", k="K"), en.format(n="N", k="K"))
                                     for kind, (zh, en) in WORDING.items()}
SANCTIONS: dict[str, tuple[str, str]] = {
    "self_criticism": ("会上表态发言", "Self-criticism at the meeting"),
    "interview": ("约谈", "Interview"),
    "criticism_bulletin": ("通报批评", "Criticism bulletin"),
    "accountability": ("问责", "Accountability"),
    "elimination": ("末位淘汰", "Last-place elimination"),
}
QUARTER_KINDS = frozenset({"consecutive_quarters"})


def describe(kind: str, bottom_n: int | None, periods: int | None, lang: str) -> str:
    """One wording of a rule for every page and file that names it (a code means nothing to a reader)."""
    wording = WORDING.get(kind)
    if wording is None:
        return kind
    return wording[0 if lang.startswith("zh") else 1].format(n=bottom_n, k=periods)


@dataclass(frozen=True)
class Due:
    rule: SanctionRule
    unit_id: int
    ranks: list[dict]


def _periods_needed(rule: SanctionRule, period: Period, tz: str) -> list[Period]:
    """The periods a rule looks at, newest first."""
    if rule.kind == "months_in_year":
        periods, current = [], period
        while current.first_day.year == period.first_day.year:
            periods.append(current)
            current = current.previous(tz)
        return periods
    count = 1 if rule.kind == "month" else max(1, rule.periods)
    periods = [period]
    while len(periods) < count:
        periods.append(periods[-1].previous(tz))
    return periods


def applies(rule: SanctionRule, period: Period) -> bool:
    return rule.enabled and period.kind == ("quarter" if rule.kind in QUARTER_KINDS else "month")


def evaluate(rule: SanctionRule, period: Period, tz: str,
             rankings: Callable[[Period], list[Ranked]]) -> list[Due]:
    """Units the rule names for `period`, each with the ranks that caused it (pure given `rankings`)."""
    if not applies(rule, period):
        return []
    history = [(p, {r.unit_id: r for r in rankings(p) if rule.peer_group in (None, "", r.group)})
               for p in _periods_needed(rule, period, tz)]
    current = history[0][1]
    result = []
    for unit_id, ranked in current.items():
        if not ranked.in_bottom(rule.bottom_n):
            continue
        bottoms = [(p, by_unit[unit_id]) for p, by_unit in history
                   if unit_id in by_unit and by_unit[unit_id].in_bottom(rule.bottom_n)]
        if rule.kind == "months_in_year" and len(bottoms) < rule.periods:
            continue
        if rule.kind in ("consecutive_months", "consecutive_quarters") and len(bottoms) < len(history):
            continue
        result.append(Due(rule, unit_id, [{"period": p.label, "rank": r.rank, "size": r.size, "score": r.score,
                                           "group": r.group} for p, r in bottoms]))
    return sorted(result, key=lambda d: d.unit_id)


def ranking_cache(session: Session, campaign: Campaign, now: datetime) -> Callable[[Period], list[Ranked]]:
    """Rankings by period, each computed once (a bulletin's trend and its sanctions share them)."""
    config, scoring = config_for(session, campaign), scoring_for(session, campaign)
    cache: dict[str, list[Ranked]] = {}

    def rankings(p: Period) -> list[Ranked]:
        if p.label not in cache:
            cache[p.label] = ranking(session, campaign, p, now, config, scoring)
        return cache[p.label]
    return rankings


def due_for(session: Session, campaign: Campaign, period: Period, now: datetime,
            rankings: Optional[Callable[[Period], list[Ranked]]] = None) -> list[Due]:
    """Every enabled rule of the campaign evaluated for `period`; each period is ranked once."""
    rankings = rankings or ranking_cache(session, campaign, now)
    rules = list(session.scalars(select(SanctionRule).where(SanctionRule.campaign_id == campaign.id,
                                                            SanctionRule.enabled.is_(True))
                                 .order_by(SanctionRule.id)))
    return [due for rule in rules for due in evaluate(rule, period, campaign.timezone, rankings)]


def produce(session: Session, campaign: Campaign, label: str, now: datetime) -> Optional[SanctionRun]:
    """Keep the sanctions list of a finished month or quarter; None if it was already produced (idempotent).

    The caller commits; a concurrent producer loses on the unique (campaign, period) key."""
    period = parse_period(label, campaign.timezone)
    if period.kind == "week":
        raise ValueError(f"sanctions follow months and quarters, not weeks ({label})")
    if period.end > now:
        raise ValueError(f"period {label} has not ended")
    if session.scalar(select(SanctionRun.id).where(SanctionRun.campaign_id == campaign.id,
                                                   SanctionRun.period == label)) is not None:
        return None
    run = SanctionRun(campaign_id=campaign.id, period=label, produced_at=now)
    try:
        with session.begin_nested():
            session.add(run)
            session.flush()
    except IntegrityError:
        return None
    for due in due_for(session, campaign, period, now):
        session.add(SanctionDue(run_id=run.id, rule_id=due.rule.id, unit_id=due.unit_id,
                                sanction=due.rule.sanction, ranks=due.ranks))
    session.flush()
    return run


def finished_periods(now: datetime, tz: str) -> list[str]:
    """The month and the quarter that ended last before `now` (what the poller asks to produce)."""
    month = period_containing("month", now, tz).previous(tz)
    quarter = period_containing("quarter", now, tz).previous(tz)
    return [month.label, quarter.label]


def kept(session: Session, campaign: Campaign, label: str) -> Optional[SanctionRun]:
    return session.scalar(select(SanctionRun).where(SanctionRun.campaign_id == campaign.id,
                                                    SanctionRun.period == label))
