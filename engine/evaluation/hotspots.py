"""A hotspot fires once per spot (issue 14, point 5): a rule that counts earlier reports at a place (a spot rule:
it reads `repeats_7d`, `repeats_30d` or `nearby_7d`) fires for a located report only when no open case of the same
matter at that spot already holds a firing of it.

"At that spot" is the case the report joins, or, for a report that opens a case, any open case of the matter
within the category's linking distance. Reports within the distance and the linking window join the open case
anyway (no task), so the hotspot's task is made at most once per case and spot; this also stops a report just past
the linking window from opening a second hotspot while the first is still being handled.

A report without a place is left as it was: it counts per grid, is never linked automatically, and fires the spot
rules each time (it may be another spot of the grid; the fault suite's load relies on it).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from engine.cases.linking import Links, Window, windows
from engine.core.models import Case, Event, Firing, Task
from engine.core.states import CASE_ENDED, TERMINAL, CaseStage
from engine.evaluation.enrich import Reference
from engine.evaluation.verdict import Verdict, decide
from engine.space.geo import metres

#: The facts that count earlier reports at a place: a rule reading one is a spot rule.
SPOT_FACTS = frozenset({"repeats_7d", "repeats_30d", "nearby_7d"})


def reads(condition: Any) -> set[str]:
    """The facts a rule's `when` tests, through `all`, `any` and `not`."""
    if isinstance(condition, dict):
        found = {condition["fact"]} if isinstance(condition.get("fact"), str) else set()
        for key in ("all", "any", "not"):
            found |= reads(condition.get(key))
        return found
    if isinstance(condition, list):
        return set().union(*(reads(c) for c in condition)) if condition else set()
    return set()


def spot_rules(verdict: Verdict) -> set[str]:
    """The rules of the verdict's campaign that fired for it and count reports at a place."""
    rules = verdict.context.compiled.rules
    return {key for key in verdict.fired if key in rules and reads(rules[key].get("when")) & SPOT_FACTS}


def _held(session: Session, events: Sequence[Event], window_of: dict[int, Window],
          rule_keys: set[str]) -> list[tuple[int, int, float, float, int, str]]:
    """Open located cases of the batch's matters near its reports whose reports fired a spot rule: one query."""
    pad = max(window_of[e.category_id].metres for e in events) / 111_000 * 1.5
    live = exists().where(Task.case_id == Case.id, Task.status.not_in(TERMINAL))
    return [tuple(row) for row in session.execute(
        select(Case.id, Case.category_id, Case.lat, Case.lon, Firing.campaign_id, Firing.rule_key).distinct()
        .join(Event, Event.case_id == Case.id).join(Firing, Firing.event_id == Event.id)
        .where(Case.category_id.in_({e.category_id for e in events}), Case.stage.not_in(CASE_ENDED),
               Case.lat.is_not(None), Case.lon.is_not(None),
               Case.lat.between(min(e.lat for e in events) - pad, max(e.lat for e in events) + pad),
               Firing.rule_key.in_(rule_keys), or_(Case.stage == CaseStage.AWAITING_DISPATCH, live)))]


def once_per_spot(session: Session, groups: list[list[Verdict]], links: Links, ref: Reference, now) -> None:
    """Drop the spot rules a located report's spot already fired, and decide its tasks again without them.
    Two queries for the batch, none when no located report fired a spot rule."""
    fired = {id(v): spot_rules(v) for group in groups for v in group}
    located = [g for g in groups if g[0].event.lat is not None and g[0].event.lon is not None
               and any(fired[id(v)] for v in g)]
    if not located:
        return
    events = [g[0].event for g in located]
    window_of = windows(session, {e.category_id for e in events})
    held: set[tuple[tuple[str, int], int, str]] = set()  # (case key, campaign, rule)
    spots: list[tuple[tuple[str, int], int, float, float, int, str]] = []  # (case key, matter, lat, lon, campaign, rule)
    for case_id, category_id, lat, lon, campaign_id, rule_key in _held(
            session, events, window_of, {k for keys in fired.values() for k in keys}):
        held.add((("case", case_id), campaign_id, rule_key))
        spots.append((("case", case_id), category_id, lat, lon, campaign_id, rule_key))
    for group in located:
        event = group[0].event
        if event.id in links.to_case:
            key = ("case", links.to_case[event.id])
        else:
            key = ("event", links.to_report.get(event.id, event.id))
        distance = window_of[event.category_id].metres
        taken = {(c, r) for k, c, r in held if k == key}
        if links.opens(event.id):
            taken |= {(c, r) for _k, cat, lat, lon, c, r in spots
                      if cat == event.category_id and metres(event.lat, event.lon, lat, lon) <= distance}
        changed = False
        for verdict in group:
            drop = {r for r in fired[id(verdict)] if (verdict.context.id, r) in taken}
            if drop:
                verdict.fired = [r for r in verdict.fired if r not in drop]
                changed = True
            for rule_key in fired[id(verdict)] - drop:
                held.add((key, verdict.context.id, rule_key))
                if links.opens(event.id):
                    spots.append((key, event.category_id, event.lat, event.lon, verdict.context.id, rule_key))
        if changed:
            decide(group, ref, now)
