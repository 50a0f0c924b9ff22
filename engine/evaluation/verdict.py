"""One evaluate-and-decide step for the pipeline, the simulator and replay: facts -> durable_rules ->
the rules' decisions and the duty lists' routine tasks -> the hit policy, giving one Verdict per event and
campaign.

The hit policy spans every campaign an event meets (at most one task per responsible unit per event),
so a verdict's `tasks` are the winners that came from its own campaign. `fire` and `decide` are the two
halves, for a caller (replay) that compares what fired before deciding.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from engine.cases.cooperation import DEFAULT_COOPERATION_POINTS, split
from engine.evaluation.context import CampaignContext
from engine.evaluation.decide import (FiringDecision, TaskDecision, firing_decisions, points_owner, routine_tasks,
                                      winners)
from engine.evaluation.enrich import History, Reference, facts_for

if TYPE_CHECKING:
    from engine.durable.evaluator import Evaluator

Facts = Callable[[Any, CampaignContext], dict[str, Any]]


@dataclass
class Verdict:
    """What one campaign's ruleset made of one event (an Event, or a row with its id, category and grid)."""

    event: Any
    context: CampaignContext
    facts: dict[str, Any]
    fired: list[str]
    firings: list[FiringDecision] = field(default_factory=list)
    tasks: dict[int, TaskDecision] = field(default_factory=dict)  # unit id -> this campaign's winning task
    routine: list[TaskDecision] = field(default_factory=list)  # the duty lists' tasks (the first campaign's only)
    points: float = 0.0  # the event's points: the highest row that fired in any campaign
    charged_unit: int | None = None  # the unit the points row named
    shares: dict[int, float] = field(default_factory=dict)  # unit id -> the points its task carries

    def points_for(self, unit_id: int) -> float:
        """The points the unit's task carries: all of them for the charged unit, or its equal share where the
        campaign shares a case's points among the lead and the cooperating units."""
        return self.shares.get(unit_id, 0.0)

    @property
    def superseded(self) -> list[TaskDecision]:
        """The tasks this campaign's rules asked for that lost the hit policy."""
        return [t for f in self.firings for t in f.tasks if self.tasks.get(t.unit_id) is not t]


def fire(events: Sequence[Any], contexts: Sequence[CampaignContext], facts: Facts, evaluator: Evaluator,
         tag_prefix: str = "v") -> list[Verdict]:
    """Evaluate a batch in durable_rules, one call per campaign; the verdicts, in event order, are not decided yet."""
    by_campaign = []
    for ctx in contexts:
        seen = {event.id: facts(event, ctx) for event in events}
        fired = evaluator.evaluate(ctx.tag_as(tag_prefix), ctx.compiled,
                                   ((str(event.id), seen[event.id]) for event in events))
        by_campaign.append([Verdict(event, ctx, seen[event.id], list(fired.get(str(event.id), [])))
                            for event in events])
    return [verdict for per_event in zip(*by_campaign) for verdict in per_event]


def decide(verdicts: Sequence[Verdict], ref: Reference, now: datetime, explained: bool = True) -> None:
    """The rules' decisions and the hit policy over one event's verdicts (every campaign it met); `explained` off
    leaves out the twin's matched conditions, which do not change the tasks (replay)."""
    for verdict in verdicts:
        verdict.firings = firing_decisions(verdict.event, verdict.facts, verdict.fired, verdict.context, ref, now,
                                           explained)
    if verdicts:  # routine dispatch belongs to one campaign, the first: one routine task per unit, not one each
        first = verdicts[0]
        first.routine = routine_tasks(first.event, first.facts, first.context, ref, now)
    every = [f for verdict in verdicts for f in verdict.firings]
    best = winners(every, [t for verdict in verdicts for t in verdict.routine])
    points, charged = points_owner(every)
    shares = _shares(verdicts, every, points, charged, sorted(best))
    for verdict in verdicts:
        own = {id(t) for f in verdict.firings for t in f.tasks} | {id(t) for t in verdict.routine}
        verdict.tasks = {unit_id: t for unit_id, t in best.items() if id(t) in own}
        verdict.points, verdict.charged_unit, verdict.shares = points, charged, shares


def _shares(verdicts: Sequence[Verdict], firings: list[FiringDecision], points: float, charged: int | None,
            units: list[int]) -> dict[int, float]:
    """Which tasks carry the event's points: the charged unit's alone, or, where the campaign whose row gave the
    points shares them (`cooperation_points: shared`), every task of the case equally."""
    if not points or charged is None:
        return {}
    campaign = next((f.campaign_id for f in firings if f.points == points and f.tasks
                     and f.tasks[0].unit_id == charged), None)
    rule = next((v.context.cooperation_points for v in verdicts if v.context.id == campaign),
                DEFAULT_COOPERATION_POINTS)
    if rule != "shared" or charged not in units:
        return {charged: points}
    return split(points, units, charged)


def per_event(verdicts: Iterable[Verdict]) -> list[list[Verdict]]:
    """Verdicts grouped by event, in the order `fire` gives them."""
    return [list(group) for _, group in groupby(verdicts, key=lambda v: v.event.id)]


def decide_batch(events: Sequence[Any], contexts: Sequence[CampaignContext], evaluator: Evaluator,
                 ref: Reference, history: History, now: datetime, tag_prefix: str = "v") -> list[Verdict]:
    """Enrich, evaluate and decide a batch of events against the campaigns' rulesets: one verdict per
    event and campaign, with deadlines counted from `now`."""
    verdicts = fire(events, contexts, lambda event, ctx: facts_for(event, ref, ctx, history), evaluator, tag_prefix)
    for group in per_event(verdicts):
        decide(group, ref, now)
    return verdicts
