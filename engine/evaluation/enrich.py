"""Enrichment: the facts of one event, derived from the database before evaluation.

Correlation over time (repeats at the same spot, or in the same grid for a report without a place;
rebounds after a closure there) is computed here by SQL, so durable_rules only
ever matches one self-contained fact and evaluation stays stateless and replayable.
"""
from __future__ import annotations

import bisect
import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, or_, select, text, tuple_
from sqlalchemy.orm import Session, selectinload

from engine.cases.linking import Window, windows
from engine.cases.routing import Router, Routing, router
from engine.core.db import kept_while_unchanged
from engine.core.models import Category, Event, Grid, Task, TaskTransition, Unit
from engine.core.states import TaskStatus
from engine.evaluation.context import CampaignContext
from engine.space.geo import metres
from engine.space.holders import HolderMark, marks
from engine.space.permits import PlaceFacts, place_facts
from engine.space.points import PointKey, points_at
from engine.space.zones import ZoneKey, kinds_for, zones_at
from rules.facts import complete
from rules.list_facts import list_flags

#: The limit of a routine task whose category names no filing condition (the catalogue's common 5 working days).
ROUTINE_LIMIT: tuple[float, str] = (5, "working_days")


@dataclass(frozen=True)
class CategoryRef:
    id: int
    code: str
    parent_code: str | None
    default_condition: str | None
    limits: dict[str, tuple[float, str]]
    timeline_code: str | None = None  # the category's ladder (DESIGN 14)


@dataclass(frozen=True)
class UnitRef:
    id: int
    code: str
    type: str
    parent_id: int | None


@dataclass
class Reference:
    """Master data needed to enrich and decide (a few hundred rows), read again when its tables change."""

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


#: The tables the reference is read from.
REFERENCE_TABLES = ("categories", "filing_conditions", "units", "grids", "duty_items")
#: bind URL -> (stamp, reference) of the last batch: reading it again costs 25-30 ms of CPU per batch of 200.
_references: dict[str, tuple[tuple, Reference]] = {}


def load_reference(session: Session) -> Reference:
    """The master data of a batch. On PostgreSQL it is kept per database and read again only when its tables'
    stamp moves (one short query per batch); elsewhere it is read for every batch."""
    if session.get_bind().dialect.name != "postgresql":
        return _read_reference(session)
    return kept_while_unchanged(session, REFERENCE_TABLES, _references, lambda: _read_detached(session))


def _read_detached(session: Session) -> Reference:
    with Session(bind=session.connection()) as own:  # the router's rows stay detached, never expired by a commit
        return _read_reference(own)


def _read_reference(session: Session) -> Reference:
    cats = {}
    codes = dict(session.execute(select(Category.id, Category.code)).all())
    for cat in session.scalars(select(Category).options(selectinload(Category.conditions))):  # not one query each
        cats[cat.id] = CategoryRef(cat.id, cat.code, codes.get(cat.parent_id), cat.default_condition,
                                   {c.code: (c.limit_value, c.limit_unit) for c in cat.conditions}, cat.timeline_code)
    units = {u.id: UnitRef(u.id, u.code, u.type, u.parent_id) for u in session.scalars(select(Unit))}
    children: dict[int, list[int]] = defaultdict(list)
    for unit in units.values():
        if unit.parent_id is not None:
            children[unit.parent_id].append(unit.id)
    grids = {g.id: (g.code, g.unit_id) for g in session.scalars(select(Grid))}
    return Reference(cats, grids, units, {u.code: u for u in units.values()}, dict(children), router(session))


def repeat_counts(session: Session, events: list[Event]) -> dict[int, tuple[int, int]]:
    """Earlier reports of the same category within 7 and 30 days, per event: at its spot (within the category's
    linking distance) for an event with a place, in its grid for one without (two queries for the batch)."""
    if not events:
        return {}
    counts = _grid_counts(session, [e for e in events if e.lat is None or e.lon is None])
    counts.update(_spot_counts(session, [e for e in events if e.lat is not None and e.lon is not None]))
    return counts


def _window_counts(series: list[tuple[Any, int]], event: Event) -> tuple[int, int]:
    """How many of a time-sorted series of (occurred_at, id) lie before `event` within 7 and 30 days."""
    upto = bisect.bisect_left(series, (event.occurred_at, event.id))
    d7 = bisect.bisect_left(series, (event.occurred_at - timedelta(days=7), -1))
    d30 = bisect.bisect_left(series, (event.occurred_at - timedelta(days=30), -1))
    return upto - d7, upto - d30


#: _grid_counts on PostgreSQL: each event counts its own window along ix_events_repeats, in one statement.
_GRID_COUNTS_PG = text(
    "SELECT v.id, count(*) FILTER (WHERE e.occurred_at >= v.at - interval '168 hours'), count(*) "
    "FROM json_to_recordset(CAST(:rows AS json)) AS v(id bigint, category_id integer, grid_id integer, at timestamptz) "
    "JOIN events AS e ON e.category_id = v.category_id AND e.grid_id = v.grid_id "
    "AND e.occurred_at >= v.at - interval '720 hours' AND (e.occurred_at, e.id) < (v.at, v.id) GROUP BY v.id")


def _grid_counts(session: Session, events: list[Event]) -> dict[int, tuple[int, int]]:
    """Per grid, for the events without a place: every earlier report of the category in the grid counts.
    PostgreSQL counts in SQL: the rows of the batch's window, fetched, grow with the table (a batch of 200 read
    most of 20,000 events); elsewhere they are fetched and counted here."""
    if not events:
        return {}
    if session.get_bind().dialect.name == "postgresql":
        found = {event_id: (d7, d30) for event_id, d7, d30 in session.execute(_GRID_COUNTS_PG, {"rows": json.dumps([
            {"id": e.id, "category_id": e.category_id, "grid_id": e.grid_id, "at": e.occurred_at.isoformat()}
            for e in events])})}
        return {e.id: found.get(e.id, (0, 0)) for e in events}
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
    return {e.id: _window_counts(history[(e.category_id, e.grid_id)], e) for e in events}


def _spot_counts(session: Session, events: list[Event]) -> dict[int, tuple[int, int]]:
    """Per spot, for the located events: earlier located reports of the category within its linking distance.
    The rows are bucketed in cells at least that wide, so each event measures only its own and the 8 cells
    around it."""
    if not events:
        return {}
    reach = windows(session, {e.category_id for e in events})
    pad = max(reach[e.category_id].metres for e in events) / 111_000 * 1.5
    rows = session.execute(select(Event.category_id, Event.occurred_at, Event.id, Event.lat, Event.lon).where(
        Event.category_id.in_({e.category_id for e in events}), Event.lat.is_not(None), Event.lon.is_not(None),
        Event.lat.between(min(e.lat for e in events) - pad, max(e.lat for e in events) + pad),
        Event.occurred_at >= min(e.occurred_at for e in events) - timedelta(days=30),
        Event.occurred_at <= max(e.occurred_at for e in events)))
    stretch = math.cos(math.radians(min(89.0, max(abs(e.lat) for e in events) + pad)))
    size = {cid: max(w.metres, 1.0) / (111_000 * stretch) for cid, w in reach.items()}  # degrees, either axis

    def cell(category_id: int, lat: float, lon: float) -> tuple[int, int, int]:
        return category_id, math.floor(lat / size[category_id]), math.floor(lon / size[category_id])

    cells: dict[tuple[int, int, int], list[tuple[Any, int, float, float]]] = defaultdict(list)
    for category_id, occurred_at, event_id, lat, lon in rows:
        cells[cell(category_id, lat, lon)].append((occurred_at, event_id, lat, lon))
    for series in cells.values():
        series.sort()
    counts = {}
    for e in events:
        distance = reach[e.category_id].metres
        cid, row, col = cell(e.category_id, e.lat, e.lon)
        near = []
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                series = cells.get((cid, row + dr, col + dc), [])
                first = bisect.bisect_left(series, (e.occurred_at - timedelta(days=30), -1))
                upto = bisect.bisect_left(series, (e.occurred_at, e.id))
                near += [at for at, _id, lat, lon in series[first:upto] if metres(e.lat, e.lon, lat, lon) <= distance]
        counts[e.id] = (sum(1 for at in near if at >= e.occurred_at - timedelta(days=7)), len(near))
    return counts


HOTSPOT_RADIUS_M = 200
REBOUND_DAYS = 30
NO_PLACE_FACTS = PlaceFacts()
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
    """Per event: the latest task of its category closed before it at its place (task id, days since). Where
    both the event and the closed task's report have a place, "its place" is within the category's linking
    distance; otherwise it is the same grid (one query for the batch, two with the distances)."""
    if not events:
        return {}
    keys = {(e.category_id, e.grid_id) for e in events}
    located = [e for e in events if e.lat is not None and e.lon is not None]
    reach = windows(session, {e.category_id for e in located}) if located else {}
    where = tuple_(Event.category_id, Event.grid_id).in_(list(keys))
    if located:
        pad = max(reach[e.category_id].metres for e in located) / 111_000 * 1.5
        where = or_(where, and_(Event.category_id.in_({e.category_id for e in located}),
                                Event.lat.between(min(e.lat for e in located) - pad,
                                                  max(e.lat for e in located) + pad)))
    rows = session.execute(select(Task.id, Event.category_id, Event.grid_id, Event.lat, Event.lon, TaskTransition.at)
                           .join(Task, Task.id == TaskTransition.task_id).join(Event, Event.id == Task.event_id)
                           .where(TaskTransition.to_status == TaskStatus.CLOSED, where,
                                  TaskTransition.at >= min(e.occurred_at for e in events)
                                  - timedelta(days=CLOSED_LOOKBACK_DAYS))).all()
    found = {}
    for e in events:
        before = [(at, task_id) for task_id, cid, gid, lat, lon, at in rows
                  if cid == e.category_id and at <= e.occurred_at and _same_place(e, gid, lat, lon, reach)]
        if before:
            at, task_id = max(before)
            found[e.id] = (task_id, (e.occurred_at - at).total_seconds() / 86400)
    return found


def _same_place(event: Event, grid_id: int, lat: float | None, lon: float | None, reach: dict[int, Window]) -> bool:
    if event.lat is not None and event.lon is not None and lat is not None and lon is not None:
        return metres(event.lat, event.lon, lat, lon) <= reach[event.category_id].metres
    return grid_id == event.grid_id


@dataclass
class History:
    """Facts about an event's past (by SQL) and its place (by the permit index), for a whole batch before evaluation."""

    repeats: dict[int, tuple[int, int]]
    nearby: dict[int, int]
    closures: dict[int, tuple[int, float]]
    places: dict[int, PlaceFacts] = field(default_factory=dict)  # permits at the event's place and time
    zones: dict[int, tuple[ZoneKey, ...]] = field(default_factory=dict)  # the zones at each located event
    points: dict[int, PointKey] = field(default_factory=dict)  # the inspection point (测评点位) each event is at
    holders: dict[int, HolderMark] = field(default_factory=dict)  # the frontage holder each event names

    @classmethod
    def of(cls, session: Session, events: list[Event]) -> History:
        return cls(repeat_counts(session, events), nearby_counts(session, events), last_closures(session, events),
                   place_facts(session, events), zones_at(session, events), points_at(session, events),
                   marks(session, events))

    def holder_id(self, event_id: int) -> int | None:
        mark = self.holders.get(event_id)
        return mark.id if mark is not None else None

    def rebound(self, event_id: int) -> int | None:
        """The closed task a report is a rebound of (反弹: closed at its place at most REBOUND_DAYS before)."""
        closure = self.closures.get(event_id)
        return closure[0] if closure is not None and int(closure[1]) <= REBOUND_DAYS else None


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
        "repeats_7d": repeats[0],
        "repeats_30d": repeats[1],
        "in_inspection_window": in_window,
        "in_zone": kinds_for(history.zones.get(event.id, ()), ctx.id),
        "inspection_point": history.points[event.id][1] if event.id in history.points else "",
    }
    if event.id in history.nearby:
        facts["nearby_7d"] = history.nearby[event.id]
    if event.id in history.closures:
        days = int(history.closures[event.id][1])
        facts["days_since_closed"] = days
        facts["rebound_30d"] = days <= REBOUND_DAYS
    else:
        facts["rebound_30d"] = False
    place = history.places.get(event.id, NO_PLACE_FACTS)
    facts["permits_valid"] = list(place.permits_valid)
    facts["at_designated_site"] = place.at_designated_site
    holder = history.holders.get(event.id)
    facts["frontage_holder"] = holder.label if holder is not None else ""
    facts["frontage_holder_violations_90d"] = holder.earlier if holder is not None else 0
    if category.parent_code:
        facts["category_parent"] = category.parent_code
    condition = event.filing_condition or category.default_condition
    if condition:
        facts["filing_condition"] = condition
    facts = complete(facts)
    facts.update(list_flags(ctx.list_rows, facts))  # last: a list row's conditions read the facts above
    return facts
