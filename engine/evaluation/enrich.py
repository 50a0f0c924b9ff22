"""Enrichment: the facts of one event, derived from the database before evaluation.

Correlation over time (repeats in the same grid) is computed here by SQL, so durable_rules only
ever matches one self-contained fact and evaluation stays stateless and replayable.
"""
from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session, selectinload

from engine.cases.routing import Router, Routing, router
from engine.evaluation.context import CampaignContext
from engine.core.models import Category, Event, Grid, Unit, Task, TaskTransition
from engine.core.states import TaskStatus
from engine.space.geo import metres
from rules.facts import complete


#: The limit of a routine task whose category names no filing condition (the catalogue's common 5 working days).
ROUTINE_LIMIT: tuple[float, str] = (5, "working_days")


@dataclass(frozen=True)
class CategoryRef:
    id: int
    code: str
    parent_code: str | None
    default_condition: str | None
    limits: dict[str, tuple[float, str]]


@dataclass(frozen=True)
class UnitRef:
    id: int
    code: str
    type: str
    parent_id: int | None


@dataclass
class Reference:
    """Master data needed to enrich and decide, loaded once per batch (a few hundred rows)."""

    categories: dict[int, CategoryRef]
    grids: dict[int, tuple[str, int]]
    units: dict[int, UnitRef]
    units_by_code: dict[str, UnitRef]
    children: dict[int, list[int]]
    router: Router | None = None  # the duty lists, for routine dispatch (None: route nothing)

    def limit_for(self, category_id: int, condition: str | None) -> tuple[float, str]:
        """The filing condition's limit: the event's, else the category's default, else its first; a category
        with no conditions at all gets ROUTINE_LIMIT."""
        ref = self.categories[category_id]
        return ref.limits.get(condition or "") or ref.limits.get(ref.default_condition or "") or next(
            iter(ref.limits.values()), ROUTINE_LIMIT)

    def routing(self, category_id: int, grid_id: int | None) -> Routing:
        return self.router.route(category_id, grid_id) if self.router is not None else Routing(lead=None)

    def nearest_of_type(self, unit_id: int, unit_type: str) -> UnitRef | None:
        """The unit of that type closest to the grid's unit: itself, its descendants, then its ancestors."""
        frontier, seen = [unit_id], set()
        while frontier:
            for uid in frontier:
                if self.units[uid].type == unit_type:
                    return self.units[uid]
            seen.update(frontier)
            frontier = [c for uid in frontier for c in self.children.get(uid, []) if c not in seen]
        parent = self.units[unit_id].parent_id
        while parent is not None and parent not in seen:  # a cycle stored by hand must not hang evaluation
            if self.units[parent].type == unit_type:
                return self.units[parent]
            seen.add(parent)
            parent = self.units[parent].parent_id
        return None


def load_reference(session: Session) -> Reference:
    cats = {}
    codes = dict(session.execute(select(Category.id, Category.code)).all())
    for cat in session.scalars(select(Category).options(selectinload(Category.conditions))):  # not one query each
        cats[cat.id] = CategoryRef(cat.id, cat.code, codes.get(cat.parent_id), cat.default_condition,
                                   {c.code: (c.limit_value, c.limit_unit) for c in cat.conditions})
    units = {u.id: UnitRef(u.id, u.code, u.type, u.parent_id) for u in session.scalars(select(Unit))}
    children: dict[int, list[int]] = defaultdict(list)
    for unit in units.values():
        if unit.parent_id is not None:
            children[unit.parent_id].append(unit.id)
    grids = {g.id: (g.code, g.unit_id) for g in session.scalars(select(Grid))}
    return Reference(cats, grids, units, {u.code: u for u in units.values()}, dict(children), router(session))


def repeat_counts(session: Session, events: list[Event]) -> dict[int, tuple[int, int]]:
    """Earlier events of the same category in the same grid within 7 and 30 days, per event (one query)."""
    if not events:
        return {}
    keys = {(e.category_id, e.grid_id) for e in events}
    earliest = min(e.occurred_at for e in events) - timedelta(days=30)
    latest = max(e.occurred_at for e in events)
    history: dict[tuple[int, int], list[tuple[Any, int]]] = defaultdict(list)
    rows = session.execute(select(Event.category_id, Event.grid_id, Event.occurred_at, Event.id).where(
        tuple_(Event.category_id, Event.grid_id).in_(list(keys)),
        Event.occurred_at >= earliest, Event.occurred_at <= latest))
    for category_id, grid_id, occurred_at, event_id in rows:
        history[(category_id, grid_id)].append((occurred_at, event_id))
    for series in history.values():
        series.sort()
    counts = {}
    for e in events:
        series = history[(e.category_id, e.grid_id)]
        upto = bisect.bisect_left(series, (e.occurred_at, e.id))
        d7 = bisect.bisect_left(series, (e.occurred_at - timedelta(days=7), -1))
        d30 = bisect.bisect_left(series, (e.occurred_at - timedelta(days=30), -1))
        counts[e.id] = (upto - d7, upto - d30)
    return counts


HOTSPOT_RADIUS_M = 200
REBOUND_DAYS = 30
CLOSED_LOOKBACK_DAYS = 90


def _metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    return metres(lat1, lon1, lat2, lon2)


def nearby_counts(session: Session, events: list[Event], radius_m: float = HOTSPOT_RADIUS_M,
                  days: int = 7) -> dict[int, int]:
    """Earlier events of the same category within `radius_m` metres in `days` days (events with a location)."""
    located = [e for e in events if e.lat is not None and e.lon is not None]
    if not located:
        return {}
    pad = radius_m / 111_000 * 1.5
    rows = session.execute(select(Event.id, Event.category_id, Event.lat, Event.lon, Event.occurred_at).where(
        Event.category_id.in_({e.category_id for e in located}), Event.lat.is_not(None),
        Event.lat.between(min(e.lat for e in located) - pad, max(e.lat for e in located) + pad),
        Event.occurred_at >= min(e.occurred_at for e in located) - timedelta(days=days),
        Event.occurred_at <= max(e.occurred_at for e in located))).all()
    counts = {}
    for e in located:
        counts[e.id] = sum(1 for rid, cid, lat, lon, at in rows
                           if cid == e.category_id and (at, rid) < (e.occurred_at, e.id)
                           and at >= e.occurred_at - timedelta(days=days)
                           and _metres(e.lat, e.lon, lat, lon) <= radius_m)
    return counts


def last_closures(session: Session, events: list[Event]) -> dict[int, tuple[int, float]]:
    """Per event: the latest task of its category and grid closed before it (task id, days since)."""
    if not events:
        return {}
    keys = {(e.category_id, e.grid_id) for e in events}
    rows = session.execute(select(Task.id, Event.category_id, Event.grid_id, TaskTransition.at)
                           .join(Task, Task.id == TaskTransition.task_id).join(Event, Event.id == Task.event_id)
                           .where(TaskTransition.to_status == TaskStatus.CLOSED,
                                  tuple_(Event.category_id, Event.grid_id).in_(list(keys)),
                                  TaskTransition.at >= min(e.occurred_at for e in events)
                                  - timedelta(days=CLOSED_LOOKBACK_DAYS))).all()
    found = {}
    for e in events:
        before = [(at, task_id) for task_id, cid, gid, at in rows
                  if (cid, gid) == (e.category_id, e.grid_id) and at <= e.occurred_at]
        if before:
            at, task_id = max(before)
            found[e.id] = (task_id, (e.occurred_at - at).total_seconds() / 86400)
    return found


@dataclass
class History:
    """Facts about an event's past, computed by SQL for a whole batch before evaluation."""

    repeats: dict[int, tuple[int, int]]
    nearby: dict[int, int]
    closures: dict[int, tuple[int, float]]

    @classmethod
    def of(cls, session: Session, events: list[Event]) -> "History":
        return cls(repeat_counts(session, events), nearby_counts(session, events), last_closures(session, events))


def facts_for(event: Event, ref: Reference, ctx: CampaignContext, history: History) -> dict[str, Any]:
    """The fact dictionary asserted in durable_rules and read by the twin (no None values)."""
    repeats = history.repeats[event.id]
    category = ref.categories[event.category_id]
    grid_code, unit_id = ref.grids[event.grid_id]
    unit = ref.units[unit_id]
    local = event.occurred_at.astimezone(ctx.timezone)
    in_window = bool(ctx.inspection_starts_at and ctx.inspection_ends_at
                     and ctx.inspection_starts_at <= event.occurred_at <= ctx.inspection_ends_at)
    facts: dict[str, Any] = {
        "category": category.code,
        "source": event.source,
        "source_type": event.source_type,
        "grid": grid_code,
        "unit": unit.code,
        "unit_type": unit.type,
        "local_hour": local.hour,
        "weekday": local.isoweekday(),
        "is_weekend": local.isoweekday() >= 6,
        "zero_tolerance": category.code in ctx.list_categories.get("zero_tolerance", ()),
        "strict_management": category.code in ctx.list_categories.get("strict_management", ()),
        "repeats_7d": repeats[0],
        "repeats_30d": repeats[1],
        "in_inspection_window": in_window,
    }
    if event.id in history.nearby:
        facts["nearby_7d"] = history.nearby[event.id]
    if event.id in history.closures:
        days = int(history.closures[event.id][1])
        facts["days_since_closed"] = days
        facts["rebound_30d"] = days <= REBOUND_DAYS
    else:
        facts["rebound_30d"] = False
    if category.parent_code:
        facts["category_parent"] = category.parent_code
    condition = event.filing_condition or category.default_condition
    if condition:
        facts["filing_condition"] = condition
    return complete(facts)
