"""Datums: phones, 12345 platforms and Gaode/Tencent pickers send GCJ-02, Baidu BD-09, 100–700 m off the
WGS-84/CGCS2000 we store (DESIGN 16). A source declares its datum and its points are converted at intake;
the map converts stored layers to its tiles' datum for display and drawn shapes back."""
from __future__ import annotations

from typing import Any, Callable

import prcoords

from engine.core.models import DATUMS
from rules.problems import Problem

_TO_WGS84: dict[str, Callable[[Any], Any]] = {"gcj02": prcoords.gcj_wgs_bored, "bd09": prcoords.bd_wgs_bored}
_FROM_WGS84: dict[str, Callable[[Any], Any]] = {"gcj02": prcoords.wgs_gcj, "bd09": prcoords.wgs_bd}


def datum_problem(field: str, value: Any) -> Problem | None:
    """A bilingual problem when `value` is not a known datum."""
    if value in DATUMS:
        return None
    return Problem(field, f"the datum is one of {', '.join(DATUMS)} (got {value!r})",
                   f"坐标系须为 {'、'.join(DATUMS)} 之一（收到 {value!r}）")


def to_wgs84(lat: float, lon: float, datum: str) -> tuple[float, float]:
    """A point given in `datum`, in WGS-84. Outside China GCJ-02 and BD-09 equal WGS-84, as prcoords knows."""
    if datum == "wgs84":
        return lat, lon
    point = _TO_WGS84[datum](prcoords.Coords(lat, lon))
    return point.lat, point.lon


def from_wgs84(lat: float, lon: float, datum: str) -> tuple[float, float]:
    if datum == "wgs84":
        return lat, lon
    point = _FROM_WGS84[datum](prcoords.Coords(lat, lon))
    return point.lat, point.lon


def _map_coordinates(coordinates: Any, convert: Callable[[float, float], tuple[float, float]]) -> Any:
    if coordinates and isinstance(coordinates[0], (int, float)):
        lat, lon = convert(coordinates[1], coordinates[0])
        return [lon, lat, *coordinates[2:]]
    return [_map_coordinates(c, convert) for c in coordinates]


def geometry_to_wgs84(geometry: dict[str, Any], datum: str) -> dict[str, Any]:
    """A GeoJSON geometry (lon, lat) drawn in `datum`, in WGS-84."""
    if datum == "wgs84":
        return geometry
    return {**geometry, "coordinates": _map_coordinates(geometry["coordinates"], lambda a, b: to_wgs84(a, b, datum))}


def geometry_from_wgs84(geometry: dict[str, Any], datum: str) -> dict[str, Any]:
    """A stored GeoJSON geometry as it lies on tiles in `datum`."""
    if datum == "wgs84":
        return geometry
    return {**geometry,
            "coordinates": _map_coordinates(geometry["coordinates"], lambda a, b: from_wgs84(a, b, datum))}
