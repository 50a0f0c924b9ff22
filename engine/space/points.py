"""Inspection points (测评点位) by place (DESIGN 16/17): the register of the points the national evaluation visits,
each with its type, place, responsible unit and person (包点). A report at a point carries the fact
`inspection_point` (the point's type), from an in-process spatial index rebuilt when a point changes."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core import clock
from engine.core.models import Event, Grid, InspectionPoint, InspectionPointType, Person, Unit
from engine.space.datum import datum_problem
from engine.space.index import Cached, Place, PlaceIndex, table_stamp
from engine.space.zones import MAX_REACH_METRES, checked_geometry
from rules.facts import POINT_TYPES
from rules.problems import InputError, Problem

#: Each point type's names (zh, en), in the order of rules.facts.POINT_TYPES.
TYPE_NAMES: dict[str, tuple[str, str]] = dict(zip(POINT_TYPES, (
    ("主次干道", "main road"), ("背街小巷", "back street"), ("农贸市场", "farmers' market"),
    ("建筑工地", "construction site"), ("公园广场", "park or square"), ("学校周边", "school surroundings"),
    ("医院", "hospital"), ("车站", "station"), ("社区", "residential community"),
    ("商场超市", "shopping mall or supermarket"), ("宾馆饭店", "hotel or restaurant"),
    ("网吧及娱乐场所", "internet café or entertainment venue"), ("公共文化场所", "public cultural venue"),
    ("景区景点", "scenic spot"), ("窗口单位", "public service window"),
)))
DEFAULT_REACH_METRES = 50.0

PointKey = tuple[int, str]  # (point id, type code)
_index: Cached[PointKey] = Cached(ttl=0.0)  # one aggregate per batch: a saved point counts at once


def type_name(code: str, lang: str = "zh") -> str:
    zh, en = TYPE_NAMES.get(code, (code, code))
    return zh if lang == "zh" else en


def _reference(session: Session, model: type, value: Any, field: str, what: tuple[str, str],
               problems: list[Problem], required: bool = True) -> Any:
    """A row named by its code (or id), else a Problem on `field`."""
    if value in (None, "", "__None"):
        if required:
            problems.append(Problem(field, f"required: choose the {what[1]}", f"必填：请选择{what[0]}"))
        return None
    if isinstance(value, model):
        return value
    row = session.scalar(select(model).where(model.code == str(value)))
    if row is None and str(value).isdecimal() and len(str(value)) < 19:
        row = session.get(model, int(value))
    if row is None:
        problems.append(Problem(field, f"no {what[1]} {value!r}", f"没有这个{what[0]}：{value}"))
    return row


def check(session: Session, data: dict[str, Any], datum: str = "wgs84") -> dict[str, Any]:
    """The point's columns from a form, request or import row, or InputError naming each field."""
    problems: list[Problem] = []
    code = str(data.get("code") or "").strip()
    if not code or len(code) > 32:
        problems.append(Problem("code", "required: 1–32 characters", "必填：1–32 个字符"))
    name = str(data.get("name") or "").strip()
    if not name or len(name) > 200:
        problems.append(Problem("name", "required: 1–200 characters", "必填：1–200 个字符"))
    kind = _reference(session, InspectionPointType, data.get("type"), "type", ("点位类型", "point type"), problems)
    unit = _reference(session, Unit, data.get("unit"), "unit", ("责任单位", "responsible unit"), problems)
    person = _reference(session, Person, data.get("person"), "person", ("包点责任人", "responsible person"), problems,
                        required=False)
    if person is not None and unit is not None and person.unit_id != unit.id:
        problems.append(Problem("person", f"{person.name} is not in {unit.name_en}",
                                f"{person.name}不属于{unit.name_zh}"))
    grid = _reference(session, Grid, data.get("grid"), "grid", ("网格", "grid"), problems, required=False)
    reach = data.get("reach_metres")
    if reach in (None, ""):
        reach = DEFAULT_REACH_METRES
    try:
        reach = float(reach)
    except (TypeError, ValueError):
        reach = -1.0
    if not 0 <= reach <= MAX_REACH_METRES:
        problems.append(Problem("reach_metres", f"metres, from 0 to {MAX_REACH_METRES:.0f}",
                                f"以米计，0 至 {MAX_REACH_METRES:.0f}"))
    bad_datum = datum_problem("crs", datum)
    if bad_datum:
        problems.append(bad_datum)
        datum = "wgs84"
    drawn: list[Problem] = []
    place = checked_geometry({"geometry": data.get("place")}, None, datum, drawn)
    problems += [Problem("place", p.en.replace("draw the zone", "draw the point"), p.zh.replace("区域", "点位"))
                 for p in drawn]
    address = str(data.get("address") or "").strip()[:300] or None
    if problems:
        raise InputError(problems)
    return {"code": code, "name": name, "type": kind, "unit": unit, "person": person, "grid": grid,
            "reach_metres": reach, "place": place, "address": address}


def save_point(session: Session, data: dict[str, Any], point: InspectionPoint | None = None,
               datum: str = "wgs84") -> InspectionPoint:
    """Create or change a point from checked input; its code is unique. Flushes; the caller commits."""
    values = check(session, data, datum)
    taken = session.scalar(select(InspectionPoint.id).where(InspectionPoint.code == values["code"]))
    if taken is not None and (point is None or taken != point.id):
        raise InputError([Problem("code", f"point {values['code']} exists already",
                                  f"点位编号 {values['code']} 已存在")])
    if point is None:
        point = InspectionPoint(active=True)
        session.add(point)
    for name, value in values.items():
        setattr(point, name, value)
    point.updated_at = clock.now()
    session.flush()
    _index.clear()
    return point


def _stamp(session: Session) -> tuple[Any, ...]:
    return table_stamp(session, InspectionPoint.id, InspectionPoint.updated_at)


def _build(session: Session) -> PlaceIndex[PointKey]:
    rows = session.execute(select(InspectionPoint.id, InspectionPointType.code, InspectionPoint.place,
                                  InspectionPoint.reach_metres)
                           .join(InspectionPointType, InspectionPointType.id == InspectionPoint.type_id)
                           .where(InspectionPoint.active.is_(True)).order_by(InspectionPoint.id)).all()
    return PlaceIndex([Place((point_id, code), place, float(reach or 0.0)) for point_id, code, place, reach in rows])


def point_index(session: Session) -> PlaceIndex[PointKey]:
    """The active points in a spatial index, rebuilt when a point was added, changed or removed."""
    bind = str(session.get_bind().engine.url)
    return _index.get(bind, lambda: _stamp(session), lambda: _build(session))


def points_at(session: Session, events: list[Event]) -> dict[int, PointKey]:
    """Per located event at a point: (point id, type), the nearest point when several reach it."""
    located = [e for e in events if e.lat is not None and e.lon is not None]
    if not located:
        return {}
    index = point_index(session)
    if not len(index):
        return {}
    nearest = index.nearest_each([e.lat for e in located], [e.lon for e in located])
    return {e.id: key for e, key in zip(located, nearest) if key is not None}


def point_json(point: InspectionPoint, lang: str = "zh") -> dict[str, Any]:
    """A point as the register's API gives it: names beside codes, in the reader's language."""
    unit, person = point.unit, point.person
    return {"id": point.id, "code": point.code, "name": point.name,
            "type": {"code": point.type.code, "name": type_name(point.type.code, lang)},
            "address": point.address, "place": point.place, "reach_metres": point.reach_metres,
            "unit": {"code": unit.code, "name": unit.name_zh if lang == "zh" else unit.name_en},
            "person": None if person is None else {"id": person.id, "name": person.name},
            "grid": None if point.grid is None else point.grid.code, "active": point.active}
