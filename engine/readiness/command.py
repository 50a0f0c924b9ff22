"""The command centre (智慧城管指挥平台, issue 17): open and overdue tasks per grid, the overdue board by unit and
the supervision tier each overdue task has reached, hotspots, the inspection points' readiness today and who is on
duty now, in one state for a page that redraws it every few seconds.

Every count is a GROUP BY in the database, so the answer grows with the open tasks only inside the database; the
inspection points' places are computed again only when their table's stamp moves, the grids' boundaries are read
only when the page opens."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from shapely.geometry import shape
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from engine.authoring.campaigns import campaign_for
from engine.core.models import (DEFAULT_TIMEZONE, Campaign, Case, Category, Event, Grid, InspectionPoint, Person,
                                ReadinessCheck, Shift, SupervisionTier, Task, TaskStep, Unit)
from engine.core.states import CASE_ENDED, TERMINAL, TaskStatus
from engine.people.areas import grid_people
from engine.people.staff import unit_and_below
from engine.readiness.daily import STATES as READINESS_STATES
from engine.readiness.daily import local_day, state_of
from engine.space.index import Cached, table_stamp
from rules.problems import InputError, Problem

#: The list filter: a task from the zero-tolerance list, the strict-management list, or from neither.
LIST_FILTERS: dict[str, tuple[str, str]] = {"zero_tolerance": ("零容忍清单", "Zero-tolerance list"),
                                            "strict_management": ("严管理清单", "Strict-management list"),
                                            "none": ("不在清单", "On no list")}
LISTED = ("zero_tolerance", "strict_management")
HOTSPOTS = 10  # open cases with the most reports shown
CLUSTER_ABOVE = 200  # more points than this are grouped into cells whose size follows the map's zoom
DEFAULT_ZOOM = 14
AT_UNIT = 0  # the board's column for overdue tasks not yet escalated above their unit
NOT_OVER = (*TERMINAL, TaskStatus.PARKED)  # a parked task's clock stands still: it is never overdue

_points: Cached[int] = Cached(ttl=0.0)  # one aggregate per request: a saved point shows at the next poll


@dataclass(frozen=True)
class Filters:
    """What the centre shows: one category, one list kind, one unit (with the units under it); None: all."""

    category_id: int | None = None
    list_kind: str | None = None
    unit_ids: frozenset[int] | None = None

    def on_tasks(self) -> list[Any]:
        """The filters as conditions on Task (the category through its report)."""
        found: list[Any] = []
        if self.category_id is not None:
            found.append(Event.category_id == self.category_id)
        if self.list_kind == "none":
            found.append(Task.list_kind.not_in(LISTED))
        elif self.list_kind is not None:
            found.append(Task.list_kind == self.list_kind)
        if self.unit_ids is not None:
            found.append(Task.unit_id.in_(self.unit_ids))
        return found


def filters_from(session: Session, args: Mapping[str, str]) -> Filters:
    """Filters from a request's `category` (code), `list` and `unit` (id or code); an unknown one is refused."""
    problems: list[Problem] = []
    category_id = list_kind = units = None
    code = (args.get("category") or "").strip()
    if code:
        category_id = session.scalar(select(Category.id).where(Category.code == code))
        if category_id is None:
            problems.append(Problem("category", f"No category {code}.", f"没有类别 {code}。"))
    kind = (args.get("list") or "").strip()
    if kind:
        if kind in LIST_FILTERS:
            list_kind = kind
        else:
            problems.append(Problem("list", "The list must be zero_tolerance, strict_management or "
                                    "none.", "清单只能是 zero_tolerance、strict_management 或 none。"))
    unit = (args.get("unit") or "").strip()
    if unit:
        unit_id = session.scalar(select(Unit.id).where(or_(Unit.code == unit, Unit.id == _int(unit))))
        if unit_id is None:
            problems.append(Problem("unit", f"No unit {unit}.", f"没有单位 {unit}。"))
        else:
            units = frozenset(unit_and_below(session, unit_id))
    if problems:
        raise InputError(problems)
    return Filters(category_id, list_kind, units)


def _int(text: str) -> int:
    return int(text) if text.isdecimal() and len(text) < 10 else -1


def _name(zh: str, en: str, lang: str) -> str:
    return zh if lang == "zh" else (en or zh)


def _grid_layer(session: Session, with_boundary: bool = False) -> dict[int, dict[str, Any]]:
    """Every grid's code, names and unit (and boundary for the map's first drawing). Read afresh each time: a few
    hundred short rows cost under a millisecond, and grids have no change time a cache could be checked against;
    the boundaries, the large part, are read only when the page opens."""
    columns = [Grid.id, Grid.code, Grid.name_zh, Grid.name_en, Grid.unit_id] + ([Grid.boundary] if with_boundary
                                                                                 else [])
    return {row.id: {"code": row.code, "name_zh": row.name_zh, "name_en": row.name_en, "unit_id": row.unit_id,
                     "boundary": row.boundary if with_boundary else None}
            for row in session.execute(select(*columns).order_by(Grid.code))}


def _point_places(session: Session) -> dict[int, dict[str, Any]]:
    """Each active inspection point's name, unit and a spot to draw it at (its place's representative point)."""
    bind = str(session.get_bind().engine.url)

    def build() -> dict[int, dict[str, Any]]:
        found = {}
        for row in session.execute(select(InspectionPoint.id, InspectionPoint.code, InspectionPoint.name,
                                          InspectionPoint.unit_id, InspectionPoint.place)
                                   .where(InspectionPoint.active.is_(True)).order_by(InspectionPoint.code)):
            spot = shape(row.place).representative_point()
            found[row.id] = {"code": row.code, "name": row.name, "unit_id": row.unit_id, "lat": spot.y, "lon": spot.x}
        return found
    return _points.get(bind, lambda: table_stamp(session, InspectionPoint.id, InspectionPoint.updated_at), build)


def _local(moment: datetime | None, zone: ZoneInfo, fmt: str = "%Y-%m-%d %H:%M") -> str | None:
    return moment.astimezone(zone).strftime(fmt) if moment else None


def _open_counts(session: Session, filters: Filters, now: datetime) -> dict[tuple[int | None, int, bool], int]:
    """Open tasks by (grid, unit, overdue): one pass over the open tasks serves the map and the board."""
    overdue = case((and_(Task.deadline_at < now, Task.status.not_in(NOT_OVER)), True), else_=False)
    rows = session.execute(select(Event.grid_id, Task.unit_id, overdue, func.count())
                           .select_from(Task).join(Event, Event.id == Task.event_id)
                           .where(Task.status.not_in(TERMINAL), *filters.on_tasks())
                           .group_by(Event.grid_id, Task.unit_id, overdue))
    return {(grid_id, unit_id, bool(late)): n for grid_id, unit_id, late, n in rows}


def _per_grid(session: Session, filters: Filters, counted: dict[tuple[int | None, int, bool], int], lang: str,
              role: str | None = None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Each grid's counts and the people who answer for it (责任区域: its 责任人 and 监督员), and the totals."""
    people = grid_people(session, lang, role)
    counts: dict[int | None, list[int]] = defaultdict(lambda: [0, 0])
    for (grid_id, _, late), n in counted.items():
        counts[grid_id][0] += n
        counts[grid_id][1] += n if late else 0
    grids = []
    for grid_id, grid in _grid_layer(session).items():
        if filters.unit_ids is not None and grid["unit_id"] not in filters.unit_ids and grid_id not in counts:
            continue
        n, late = counts.get(grid_id, (0, 0))
        grids.append({"id": grid_id, "code": grid["code"], "name": _name(grid["name_zh"], grid["name_en"], lang),
                      "open": n, "overdue": late, "people": people.get(grid_id, [])})
    outside = counts.get(None, (0, 0))
    totals = {"open": sum(n for n, _ in counts.values()), "overdue": sum(late for _, late in counts.values()),
              "outside_grids": {"open": outside[0], "overdue": outside[1]}}
    return grids, totals


def _board(session: Session, filters: Filters, counted: dict[tuple[int | None, int, bool], int], now: datetime,
           lang: str) -> dict[str, Any]:
    """Overdue tasks by unit and by the highest tier a done step of theirs went to (0: still at the unit): the
    escalated ones are counted from their steps, the rest of the unit's overdue tasks are at the unit."""
    overdue: dict[int, int] = defaultdict(int)
    for (_, unit_id, late), n in counted.items():
        if late:
            overdue[unit_id] += n
    reached = (select(TaskStep.task_id, func.max(TaskStep.tier_level).label("tier"))
               .where(TaskStep.status == "done", TaskStep.tier_level.is_not(None))
               .group_by(TaskStep.task_id).subquery())
    query = (select(Task.unit_id, reached.c.tier, func.count()).select_from(reached)
             .join(Task, Task.id == reached.c.task_id)
             .where(Task.deadline_at < now, Task.status.not_in(NOT_OVER), *filters.on_tasks())
             .group_by(Task.unit_id, reached.c.tier))
    if filters.category_id is not None:
        query = query.join(Event, Event.id == Task.event_id)
    by_unit: dict[int, dict[int, int]] = defaultdict(dict)
    for unit_id, level, n in session.execute(query):
        by_unit[unit_id][int(level)] = n
    for unit_id, n in overdue.items():
        by_unit[unit_id][AT_UNIT] = n - sum(by_unit[unit_id].values())
    tier_names: dict[int, str] = {}
    for level, zh, en in session.execute(select(SupervisionTier.level, SupervisionTier.name_zh,
                                                SupervisionTier.name_en).order_by(SupervisionTier.id)):
        tier_names.setdefault(level, _name(zh, en, lang))
    levels = sorted({level for counts in by_unit.values() for level in counts} | {AT_UNIT} | set(tier_names))
    at_unit = "未上报（在责任单位）" if lang == "zh" else "At the unit (not escalated)"
    tiers = [{"level": level, "name": at_unit if level == AT_UNIT else tier_names.get(
        level, f"{level} 级督查" if lang == "zh" else f"Tier {level}")} for level in levels]
    units = {u.id: (u.code, _name(u.name_zh, u.name_en, lang))
             for u in session.execute(select(Unit.id, Unit.code, Unit.name_zh, Unit.name_en)
                                      .where(Unit.id.in_(list(by_unit))))} if by_unit else {}
    rows = [{"unit_id": uid, "unit": units[uid][1], "total": sum(counts.values()),
             "counts": {str(level): counts.get(level, 0) for level in levels}} for uid, counts in by_unit.items()]
    rows.sort(key=lambda r: (-r["total"], units[r["unit_id"]][0]))
    return {"tiers": tiers, "rows": rows, "total": sum(r["total"] for r in rows)}


def _hotspots(session: Session, filters: Filters, lang: str) -> list[dict[str, Any]]:
    """The open cases most reported (a spot people keep reporting), located ones only."""
    query = (select(Case.id, Case.lat, Case.lon, Case.report_count, Category.name_zh, Category.name_en, Grid.code)
             .join(Category, Category.id == Case.category_id).outerjoin(Grid, Grid.id == Case.grid_id)
             .where(Case.stage.not_in(CASE_ENDED), Case.report_count > 1, Case.lat.is_not(None))
             .order_by(Case.report_count.desc(), Case.id).limit(HOTSPOTS))
    if filters.category_id is not None:
        query = query.where(Case.category_id == filters.category_id)
    if filters.unit_ids is not None:
        query = query.where(Grid.unit_id.in_(filters.unit_ids))
    return [{"case_id": r.id, "lat": r.lat, "lon": r.lon, "reports": r.report_count, "grid": r.code,
             "category": _name(r.name_zh, r.name_en, lang)} for r in session.execute(query)]


def _points_today(session: Session, campaign: Campaign | None, filters: Filters, now: datetime, zoom: int,
                  lang: str) -> dict[str, Any]:
    """Each point's readiness state today; past CLUSTER_ABOVE points, cells of a zoom-dependent size."""
    places = {pid: p for pid, p in _point_places(session).items()
              if filters.unit_ids is None or p["unit_id"] in filters.unit_ids}
    day = local_day(campaign, now) if campaign is not None else None
    checks = dict(session.execute(select(ReadinessCheck.point_id, ReadinessCheck.failed)
                                  .where(ReadinessCheck.day == day)).all()) if day is not None else {}
    names = {state: _name(zh, en, lang) for state, (zh, en) in READINESS_STATES.items()}

    def state(pid: int) -> str:
        failed = checks.get(pid)
        return state_of(campaign, None if failed is None else _Check(failed), day, now) if day else "closed"
    counts: dict[str, int] = defaultdict(int)
    if len(places) <= CLUSTER_ABOVE:
        items = []
        for pid, p in places.items():
            s = state(pid)
            counts[s] += 1
            items.append({"id": pid, "code": p["code"], "name": p["name"], "lat": p["lat"], "lon": p["lon"],
                          "state": s, "state_name": names[s], "count": 1})
        return {"clustered": False, "items": items, "counts": dict(counts), "state_names": names}
    cell = 360.0 / (2 ** max(0, min(zoom, 20))) / 8  # about a tenth of a 256-pixel tile
    cells: dict[tuple[int, int], dict[str, Any]] = {}
    for pid, p in places.items():
        s = state(pid)
        counts[s] += 1
        key = (int(p["lat"] // cell), int(p["lon"] // cell))
        held = cells.setdefault(key, {"lat": 0.0, "lon": 0.0, "count": 0, "states": defaultdict(int)})
        held["lat"] += p["lat"]
        held["lon"] += p["lon"]
        held["count"] += 1
        held["states"][s] += 1
    items = [{"lat": c["lat"] / c["count"], "lon": c["lon"] / c["count"], "count": c["count"],
              "states": dict(c["states"]), "state": _worst(c["states"])} for c in cells.values()]
    return {"clustered": True, "items": items, "counts": dict(counts), "state_names": names}


@dataclass(frozen=True)
class _Check:
    failed: int


def _worst(states: Mapping[str, int]) -> str:
    return next(s for s in ("missed", "failed", "pending", "checked", "closed") if states.get(s))


def _on_duty(session: Session, filters: Filters, now: datetime, zone: ZoneInfo, lang: str) -> list[dict[str, Any]]:
    """The people whose shift covers now, with their unit and when the shift ends (local time)."""
    query = (select(Person.name, Unit.name_zh, Unit.name_en, Shift.kind, Shift.ends_at)
             .join(Person, Person.id == Shift.person_id).join(Unit, Unit.id == Shift.unit_id)
             .where(Shift.starts_at <= now, Shift.ends_at > now).order_by(Unit.code, Person.name))
    if filters.unit_ids is not None:
        query = query.where(Shift.unit_id.in_(filters.unit_ids))
    return [{"name": r.name, "unit": _name(r.name_zh, r.name_en, lang), "kind": r.kind,
             "until": _local(r.ends_at, zone, "%m-%d %H:%M")} for r in session.execute(query)]


def grid_shapes(session: Session, lang: str) -> list[dict[str, Any]]:
    """The grids as GeoJSON features (WGS-84), for the map's first drawing; the counts come with each state."""
    return [{"type": "Feature", "id": gid, "geometry": g["boundary"],
             "properties": {"id": gid, "code": g["code"], "name": _name(g["name_zh"], g["name_en"], lang)}}
            for gid, g in _grid_layer(session, with_boundary=True).items() if g["boundary"]]


def state(session: Session, filters: Filters, now: datetime, lang: str = "zh", zoom: int = DEFAULT_ZOOM,
          role: str | None = None) -> dict[str, Any]:
    """The command centre now: grids with their people, the overdue board, hotspots, points and people on duty,
    local times; phones as `role` may see them."""
    campaign = campaign_for(session, None)
    zone = ZoneInfo(campaign.timezone if campaign is not None else DEFAULT_TIMEZONE)
    counted = _open_counts(session, filters, now)
    grids, totals = _per_grid(session, filters, counted, lang, role)
    return {"now": now.isoformat(), "updated_at": _local(now, zone, "%H:%M:%S"),
            "updated_on": _local(now, zone, "%Y-%m-%d"), "timezone": zone.key, "totals": totals, "grids": grids,
            "board": _board(session, filters, counted, now, lang), "hotspots": _hotspots(session, filters, lang),
            "points": _points_today(session, campaign, filters, now, zoom, lang),
            "on_duty": _on_duty(session, filters, now, zone, lang)}
