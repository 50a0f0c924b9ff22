"""Zones on the map (DESIGN 16): restricted-business zones (限制经营区), strict-management streets (严管街) as lines
with a width, school surroundings as school points with a buffer, and residential areas. They are master data
read at evaluation: the fact `in_zone` is the set of kinds of the active zones at an event's place, found in an
in-process spatial index that is rebuilt as soon as a zone is saved (its stamp is asked once per batch)."""
from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from shapely.geometry import shape
from shapely.validation import explain_validity
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core import clock
from engine.core.models import Campaign, Event, Zone
from engine.space.datum import datum_problem, geometry_from_wgs84, geometry_to_wgs84
from engine.space.index import Cached, Place, PlaceIndex, table_stamp
from rules.problems import InputError, Problem

#: Each kind's names (zh, en) and the geometry types it is drawn as.
KIND_NAMES: dict[str, tuple[str, str]] = {
    "restricted_business": ("限制经营区", "restricted-business zone"),
    "strict_street": ("严管街", "strict-management street"),
    "school_surroundings": ("学校周边", "school surroundings"),
    "residential": ("居住区", "residential area"),
}
SHAPES: dict[str, tuple[str, ...]] = {
    "restricted_business": ("Polygon", "MultiPolygon"),
    "strict_street": ("LineString", "MultiLineString"),
    "school_surroundings": ("Point", "MultiPoint"),
    "residential": ("Polygon", "MultiPolygon"),
}
SHAPE_NAMES = {"Polygon": ("面", "an area"), "LineString": ("线", "a line"), "Point": ("点", "points")}
#: School surroundings reach this far around the school unless the zone says otherwise (the seeds' 200 m).
SCHOOL_BUFFER_METRES = 200.0
MAX_REACH_METRES = 5000.0

ZoneKey = tuple[str, "int | None"]  # (kind, campaign id or None for every campaign)
_index: Cached[ZoneKey] = Cached(ttl=0.0)  # the stamp is one aggregate per batch: a saved zone counts at once


def reach(kind: str, width_metres: float | None, buffer_metres: float | None) -> float:
    """How far beyond its geometry a zone covers: half a street's width, a school's buffer, nothing for areas."""
    if kind == "strict_street":
        return (width_metres or 0.0) / 2
    if kind == "school_surroundings":
        return SCHOOL_BUFFER_METRES if buffer_metres is None else buffer_metres
    return 0.0


def _number(data: dict[str, Any], name: str, problems: list[Problem]) -> float | None:
    raw = data.get(name)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = -1.0
    if not 0 < value <= MAX_REACH_METRES:
        problems.append(Problem(name, f"metres, more than 0 and at most {MAX_REACH_METRES:.0f}",
                                f"以米计，大于 0 且不超过 {MAX_REACH_METRES:.0f}"))
        return None
    return value


def checked_geometry(data: dict[str, Any], kind: str | None, datum: str,
                     problems: list[Problem]) -> dict[str, Any] | None:
    """`data["geometry"]` (GeoJSON, or its text) in WGS-84 when it is a valid shape of the kind, else None with the
    reason added to `problems` (a polygon crossing itself is named as such); zone forms, imports and inspection points share it."""
    raw = data.get("geometry")
    if isinstance(raw, str) and raw.strip():
        try:
            raw = json.loads(raw)
        except ValueError:
            raw = {}
    if not raw:
        problems.append(Problem("geometry", "required: draw the zone on the map", "必填：请在地图上绘制区域"))
        return None
    try:
        if not isinstance(raw, dict) or raw.get("type") not in ("Point", "MultiPoint", "LineString", "MultiLineString",
                                                                "Polygon", "MultiPolygon"):
            raise ValueError(raw)
        geometry = shape(raw)
        x0, y0, x1, y1 = geometry.bounds
    except Exception:
        problems.append(Problem("geometry", "not a GeoJSON point, line or polygon", "不是 GeoJSON 点、线或多边形"))
        return None
    if geometry.is_empty or not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        problems.append(Problem("geometry", "coordinates are longitude, latitude in degrees",
                                "坐标须为经度、纬度（度）"))
        return None
    if kind in SHAPES and raw["type"] not in SHAPES[kind]:
        zh, en = SHAPE_NAMES[SHAPES[kind][0]]
        problems.append(Problem("geometry", f"a {KIND_NAMES[kind][1]} is drawn as {en}, not a {raw['type']}",
                                f"{KIND_NAMES[kind][0]}须绘制为{zh}，不能是 {raw['type']}"))
        return None
    if not geometry.is_valid:
        reason = explain_validity(geometry)
        if "Self-intersection" in reason:
            problems.append(Problem("geometry", f"the polygon crosses itself ({reason}); redraw it so that its edges "
                                    "do not cross", f"多边形边线自相交（{reason}），请重新绘制，使边线互不交叉"))
        else:
            problems.append(Problem("geometry", f"the shape is not valid ({reason})", f"图形无效（{reason}）"))
        return None
    return geometry_to_wgs84(raw, datum)


def check(session: Session, data: dict[str, Any], datum: str = "wgs84") -> dict[str, Any]:
    """The zone's columns from a form or request (geometry drawn in `datum`), or InputError naming each field."""
    problems: list[Problem] = []
    kind = data.get("kind")
    if not kind:
        problems.append(Problem("kind", "required: choose the kind of zone", "必填：请选择区域类型"))
        kind = None
    elif kind not in KIND_NAMES:
        problems.append(Problem("kind", f"one of {', '.join(KIND_NAMES)}",
                                f"须为{'、'.join(zh for zh, _en in KIND_NAMES.values())}之一"))
        kind = None
    name = str(data.get("name") or "").strip()
    if not name or len(name) > 200:
        problems.append(Problem("name", "required: 1–200 characters", "必填：1–200 个字符"))
    width = _number(data, "width_metres", problems)
    buffer = _number(data, "buffer_metres", problems)
    if kind == "strict_street" and width is None and not any(p.where == "width_metres" for p in problems):
        problems.append(Problem("width_metres", "required for a strict-management street: its width in metres",
                                "严管街必填：街道宽度（米）"))
    campaign_id = data.get("campaign_id")
    if campaign_id in ("", "None", "__None"):
        campaign_id = None
    if campaign_id is not None:
        try:
            campaign_id = int(campaign_id)
        except (TypeError, ValueError):
            campaign_id = -1
        if session.get(Campaign, campaign_id) is None:
            problems.append(Problem("campaign_id", "no such campaign", "没有这个专项行动"))
    bad_datum = datum_problem("crs", datum)
    if bad_datum:
        problems.append(bad_datum)
        datum = "wgs84"
    geometry = checked_geometry(data, kind, datum, problems)
    if problems:
        raise InputError(problems)
    return {"kind": kind, "name": name, "geometry": geometry, "campaign_id": campaign_id,
            "width_metres": width if kind == "strict_street" else None,
            "buffer_metres": buffer if kind == "school_surroundings" else None}


def save_zone(session: Session, data: dict[str, Any], zone: Zone | None = None, datum: str = "wgs84") -> Zone:
    """Create or change a zone from checked input; a new zone is a draft (inactive) until published."""
    values = check(session, data, datum)
    if zone is None:
        zone = Zone(active=False)
        session.add(zone)
    for name, value in values.items():
        setattr(zone, name, value)
    zone.updated_at = clock.now()
    session.flush()
    _index.clear()  # this process sees it at once, even at a frozen clock
    return zone


def set_active(session: Session, zone: Zone, active: bool) -> None:
    """Publish a zone (the next evaluation sees it) or withdraw it."""
    zone.active = active
    zone.updated_at = clock.now()
    session.flush()
    _index.clear()


def delete_zone(session: Session, zone: Zone) -> None:
    session.delete(zone)
    session.flush()
    _index.clear()



def _stamp(session: Session) -> tuple[Any, ...]:
    """Changes whenever a zone is added, removed, changed, published or withdrawn (each sets `updated_at`), in any
    process; the newest change and id come from indexes, the count from the small stamp index."""
    return table_stamp(session, Zone.id, Zone.updated_at)


def places(zones: Iterable[Any]) -> list[Place[ZoneKey]]:
    """Zones, or rows of their kind, campaign_id, geometry, width_metres and buffer_metres, as indexed places."""
    return [Place((z.kind, z.campaign_id), z.geometry, reach(z.kind, z.width_metres, z.buffer_metres)) for z in zones]


def zone_index(session: Session) -> PlaceIndex[ZoneKey]:
    """The active zones in a spatial index, rebuilt when any zone was added, changed, published or removed."""
    bind = str(session.get_bind().engine.url)
    columns = (Zone.kind, Zone.campaign_id, Zone.geometry, Zone.width_metres, Zone.buffer_metres)  # rows: no ORM
    return _index.get(bind, lambda: _stamp(session), lambda: PlaceIndex(
        places(session.execute(select(*columns).where(Zone.active.is_(True)).order_by(Zone.id)))))


def zones_at(session: Session, events: list[Event]) -> dict[int, tuple[ZoneKey, ...]]:
    """Per located event: the (kind, campaign) of every active zone at its place."""
    located = [e for e in events if e.lat is not None and e.lon is not None]
    if not located:
        return {}
    index = zone_index(session)
    if not len(index):
        return {}
    found = index.at_each([e.lat for e in located], [e.lon for e in located])
    return {e.id: tuple(keys) for e, keys in zip(located, found)}


def kinds_for(found: Iterable[ZoneKey], campaign_id: int) -> list[str]:
    """The fact `in_zone` under one campaign: kinds of its own zones and of zones for every campaign."""
    return sorted({kind for kind, campaign in found if campaign is None or campaign == campaign_id})


def feature(zone: Zone, datum: str = "wgs84", lang: str = "zh") -> dict[str, Any]:
    """A zone as a GeoJSON feature, its geometry in `datum` (the map's tiles)."""
    zh, en = KIND_NAMES.get(zone.kind, (zone.kind, zone.kind))
    return {"type": "Feature", "id": zone.id, "geometry": geometry_from_wgs84(zone.geometry, datum),
            "properties": {"id": zone.id, "kind": zone.kind, "kind_name": zh if lang == "zh" else en,
                           "name": zone.name, "width_metres": zone.width_metres,
                           "buffer_metres": reach(zone.kind, zone.width_metres, zone.buffer_metres)
                           if zone.kind == "school_surroundings" else zone.buffer_metres,
                           "campaign_id": zone.campaign_id, "active": zone.active}}


def feature_collection(session: Session, datum: str = "wgs84", lang: str = "zh",
                       active_only: bool = False) -> dict[str, Any]:
    query = select(Zone).order_by(Zone.id)
    if active_only:
        query = query.where(Zone.active.is_(True))
    return {"type": "FeatureCollection", "features": [feature(z, datum, lang) for z in session.scalars(query)]}

