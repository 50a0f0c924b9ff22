"""A synthetic city-sized geography for bench/places.py: zones, permits and frontage holders of the real kinds
over a 24 × 20 km city around 111.70°E 40.82°N, and located reports, half anywhere and half near a place.

Rows are dicts for Core inserts into the real tables (zones, permits, frontage_holders); geometries are
WGS-84 GeoJSON as the engine stores them. Sizes are in metres and turned into degrees at the city's latitude.
"""
from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from rules.facts import PERMIT_KINDS

CENTRE = (40.82, 111.70)  # lat, lon
SPAN_M = (24_000.0, 20_000.0)  # east-west, north-south
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
_M_PER_DEG_LAT = 111_132.0
_M_PER_DEG_LON = 111_320.0 * math.cos(math.radians(CENTRE[0]))


def moved(lon: float, lat: float, east_m: float, north_m: float) -> list[float]:
    """[lon, lat] of the point `east_m` east and `north_m` north of (lon, lat)."""
    return [lon + east_m / _M_PER_DEG_LON, lat + north_m / _M_PER_DEG_LAT]


def anywhere(rng: random.Random) -> list[float]:
    """[lon, lat] of a random point of the city."""
    return moved(CENTRE[1], CENTRE[0], rng.uniform(-SPAN_M[0] / 2, SPAN_M[0] / 2),
                 rng.uniform(-SPAN_M[1] / 2, SPAN_M[1] / 2))


def rectangle(rng: random.Random, low_m: float, high_m: float) -> dict[str, Any]:
    lon, lat = anywhere(rng)
    w, h = rng.uniform(low_m, high_m), rng.uniform(low_m, high_m)
    ring = [[lon, lat], moved(lon, lat, w, 0), moved(lon, lat, w, h), moved(lon, lat, 0, h), [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def polyline(rng: random.Random, segments: int, low_m: float, high_m: float) -> dict[str, Any]:
    """A line of straight segments, mostly along the city's east-west and north-south street grid."""
    line = [anywhere(rng)]
    for _ in range(segments):
        length = rng.uniform(low_m, high_m)
        east = rng.random() < 0.5
        line.append(moved(*line[-1], length if east else rng.uniform(-5, 5), rng.uniform(-5, 5) if east else length))
    return {"type": "LineString", "coordinates": line}


def point(rng: random.Random) -> dict[str, Any]:
    return {"type": "Point", "coordinates": anywhere(rng)}


def zone_rows(n: int, rng: random.Random) -> list[dict[str, Any]]:
    """30 % residential areas (200–600 m), 10 % restricted-business zones (100–400 m), 30 % strict-management
    streets (300–1,500 m, 12–40 m wide), 30 % schools (points with the 200 m buffer, some with their own)."""
    rows = []
    for i in range(n):
        roll = rng.random()
        width = buffer = None
        if roll < 0.3:
            kind, geometry = "residential", rectangle(rng, 200, 600)
        elif roll < 0.4:
            kind, geometry = "restricted_business", rectangle(rng, 100, 400)
        elif roll < 0.7:
            kind, geometry, width = "strict_street", polyline(rng, rng.randint(1, 4), 150, 500), rng.uniform(12, 40)
        else:
            kind, geometry = "school_surroundings", point(rng)
            buffer = None if rng.random() < 0.8 else rng.choice([150.0, 300.0])
        rows.append({"id": i + 1, "kind": kind, "name": f"zone {i + 1}", "geometry": geometry, "width_metres": width,
                     "buffer_metres": buffer, "campaign_id": None if rng.random() < 0.8 else 1, "active": True,
                     "updated_at": NOW})
    return rows


def permit_rows(n: int, rng: random.Random, unit_id: int) -> list[dict[str, Any]]:
    """60 % points with a radius (10–100 m), 40 % polygons (20–150 m); a construction-waste permit has a designated
    site; periods of 1–365 days over the past year; 80 % valid, the rest pending, expired or revoked."""
    rows = []
    for i in range(n):
        kind = rng.choice(PERMIT_KINDS)
        if rng.random() < 0.6:
            place, radius = point(rng), rng.uniform(10, 100)
        else:
            place, radius = rectangle(rng, 20, 150), 0.0
        site, site_radius = (point(rng), rng.uniform(50, 300)) if kind == "construction_waste" else (None, 0.0)
        starts = NOW - timedelta(days=rng.uniform(0, 365))
        status = rng.choices(["valid", "pending", "expired", "revoked"], [80, 5, 10, 5])[0]
        rows.append({"id": i + 1, "number": f"P{i + 1:06d}", "kind": kind, "holder_name": f"holder {i + 1}",
                     "place": place, "radius_m": radius, "site": site, "site_radius_m": site_radius,
                     "starts_at": starts, "ends_at": starts + timedelta(days=rng.uniform(1, 365)), "status": status,
                     "approved_by_id": unit_id, "updated_at": NOW})
    return rows


def holder_rows(n: int, rng: random.Random, grid_id: int) -> list[dict[str, Any]]:
    """70 % frontages drawn as lines (1–3 segments of 8–40 m), 30 % a shop's point only; reach 10–30 m."""
    rows = []
    for i in range(n):
        if rng.random() < 0.7:
            frontage = polyline(rng, rng.randint(1, 3), 8, 40)
            lon, lat = frontage["coordinates"][0]
        else:
            frontage, (lon, lat) = None, anywhere(rng)
        rows.append({"id": i + 1, "code": f"H{i + 1:06d}", "name": f"shop {i + 1}", "address": f"street {i + 1}",
                     "grid_id": grid_id, "lat": lat, "lon": lon, "frontage": frontage,
                     "reach_metres": rng.choice([10.0, 15.0, 15.0, 15.0, 20.0, 30.0]), "updated_at": NOW})
    return rows


def events(n: int, rng: random.Random, near: list[list[float]], first_id: int = 1) -> list[SimpleNamespace]:
    """Located reports of the past half year: half anywhere in the city, half within 30 m east and north (either
    way) of a place in `near`."""
    found = []
    for i in range(n):
        if rng.random() < 0.5:
            lon, lat = anywhere(rng)
        else:
            lon, lat = moved(*rng.choice(near), rng.uniform(-30, 30), rng.uniform(-30, 30))
        found.append(SimpleNamespace(id=first_id + i, lat=lat, lon=lon,
                                     occurred_at=NOW - timedelta(days=rng.uniform(0, 180))))
    return found


def anchors(zones: list[dict], permits: list[dict], holders: list[dict]) -> list[list[float]]:
    """A first coordinate of every place: where the "near a place" reports gather."""
    def first(geometry: dict[str, Any]) -> list[float]:
        coords = geometry["coordinates"]
        while isinstance(coords[0], list):
            coords = coords[0]
        return coords[:2]

    return ([first(z["geometry"]) for z in zones] + [first(p["place"]) for p in permits]
            + [[h["lon"], h["lat"]] for h in holders])


def point_rows(n: int, rng: random.Random, unit_id: int, type_ids: list[int]) -> list[dict[str, Any]]:
    """Evaluation points (测评点位): 60 % points reaching 30–100 m (a school gate, a station), 40 % areas of
    50–300 m (a market, a square) reaching 10 m."""
    rows = []
    for i in range(n):
        place, reach = (point(rng), rng.uniform(30, 100)) if rng.random() < 0.6 else (rectangle(rng, 50, 300), 10.0)
        rows.append({"id": i + 1, "code": f"D{i + 1:05d}", "name": f"point {i + 1}", "type_id": rng.choice(type_ids),
                     "place": place, "reach_metres": reach, "unit_id": unit_id, "active": True, "updated_at": NOW})
    return rows
