"""Which grid contains a point: GeoJSON polygon boundaries, tested with a ray cast."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.models import Grid


def _in_ring(lon: float, lat: float, ring: list[list[float]]) -> bool:
    inside = False
    for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1]):
        if (y1 > lat) != (y2 > lat) and lon < (x2 - x1) * (lat - y1) / (y2 - y1) + x1:
            inside = not inside
    return inside


def contains(boundary: dict[str, Any], lat: float, lon: float) -> bool:
    polygons = boundary.get("coordinates", [])
    if boundary.get("type") == "Polygon":
        polygons = [polygons]
    for polygon in polygons:
        if polygon and _in_ring(lon, lat, [list(p[:2]) for p in polygon[0]]) and not any(
                _in_ring(lon, lat, [list(p[:2]) for p in hole]) for hole in polygon[1:]):
            return True
    return False


def grid_for_point(session: Session, lat: float, lon: float) -> Grid | None:
    for grid in session.scalars(select(Grid).where(Grid.boundary.is_not(None)).order_by(Grid.code)):
        if contains(grid.boundary, lat, lon):
            return grid
    return None
