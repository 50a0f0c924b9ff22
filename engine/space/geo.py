"""Where a point or an address lies: grids by their GeoJSON boundary (shapely), frontage holders by address.

Boundaries are master data that rarely change, so prepared geometries are cached per process and
rebuilt when any grid's boundary changes (checked at most every few seconds).
"""
from __future__ import annotations

import hashlib
import json
import math
import time
from typing import Any

from shapely import prepare
from shapely.geometry import Point, shape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.core.models import Event, FrontageHolder, Grid

_TTL = 5.0
_cache: dict[str, Any] = {"key": None, "checked": 0.0, "grids": []}


def metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine) in metres, good to a metre at city scale."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(a))


def contains(boundary: dict[str, Any], lat: float, lon: float) -> bool:
    """True when (lat, lon) lies inside a GeoJSON Polygon or MultiPolygon (holes excluded)."""
    return shape(boundary).contains(Point(lon, lat))


def _prepared(session: Session) -> list[tuple[int, str, Any]]:
    now = time.monotonic()
    bind = str(session.get_bind().engine.url)
    if _cache["key"] is not None and _cache["key"][0] == bind and now - _cache["checked"] < _TTL:
        return _cache["grids"]
    rows = session.execute(select(Grid.id, Grid.code, Grid.boundary).where(Grid.boundary.is_not(None))
                           .order_by(Grid.code)).all()
    digest = hashlib.sha256(json.dumps([(r.id, r.boundary) for r in rows], sort_keys=True).encode()).hexdigest()
    if _cache["key"] != (bind, digest):
        grids = []
        for row in rows:
            geometry = shape(row.boundary)
            prepare(geometry)
            grids.append((row.id, row.code, geometry))
        _cache["grids"] = grids
    _cache["key"], _cache["checked"] = (bind, digest), now
    return _cache["grids"]


def recheck() -> None:
    """Read the boundaries again at the next lookup (an import changed them), not only after the TTL."""
    _cache["checked"] = 0.0


def grid_for_point(session: Session, lat: float, lon: float) -> Grid | None:
    """The grid whose boundary contains the point, or None outside every grid."""
    point = Point(lon, lat)
    for grid_id, _code, geometry in _prepared(session):
        if geometry.contains(point):
            return session.get(Grid, grid_id)
    return None


def _normalise(address: str) -> str:
    return "".join(address.split()).replace("（", "(").replace("）", ")").lower()


def holder_for_address(session: Session, address: str) -> FrontageHolder | None:
    """A frontage holder (门前三包) whose registered address matches, ignoring spaces and case.

    There is no geocoder offline: an address is only as good as the register of known addresses."""
    wanted = _normalise(address)
    if not wanted:
        return None
    exact = session.scalar(select(FrontageHolder).where(FrontageHolder.address == address.strip()).limit(1))
    if exact is not None:
        return exact
    candidates = session.scalars(select(FrontageHolder).where(
        func.length(FrontageHolder.address) <= len(address) + 8))
    return next((h for h in candidates if _normalise(h.address) == wanted), None)


def holders_by_address(session: Session, events: list[Event]) -> dict[int, int]:
    """Per event given by address alone: the id of the holder registered at exactly that address (one query).
    Intake matched the address loosely and gave the event the holder's point when it has one, so this only finds
    the holders registered without a place."""
    wanted = {e.id: e.address.strip() for e in events if e.address and e.address.strip()}
    if not wanted:
        return {}
    exact = dict(session.execute(select(FrontageHolder.address, FrontageHolder.id).where(
        FrontageHolder.address.in_(set(wanted.values()))).order_by(FrontageHolder.id.desc())).all())
    return {eid: exact[address] for eid, address in wanted.items() if address in exact}


def grid_for_address(session: Session, address: str) -> tuple[Grid | None, FrontageHolder | None]:
    """The grid an address names: a frontage holder's registered address, or a grid's own code or name."""
    holder = holder_for_address(session, address)
    if holder is not None:
        return holder.grid, holder
    wanted = _normalise(address)
    for grid in session.scalars(select(Grid).order_by(Grid.code)):
        if wanted in (_normalise(grid.code), _normalise(grid.name_zh), _normalise(grid.name_en)):
            return grid, None
    return None, None
