"""An in-process spatial index of places in metres: zones, permits and frontage holders become facts
per event by a point query here, not by SQL per event (DESIGN 16).

Geometries arrive as GeoJSON in WGS-84/CGCS2000 (lon, lat) and are projected to a transverse Mercator
centred on the data, so buffers (a school's 200 m, a street's width) and distances are metres, never
degrees; at city scale its scale error is far below a metre. A shapely STRtree answers the point queries.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Hashable, Iterable, TypeVar

import numpy as np
import shapely
from pyproj import Transformer
from shapely import STRtree
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import transform

Key = TypeVar("Key")


@dataclass(frozen=True)
class Place(Generic[Key]):
    """One indexed place: its key (e.g. a zone id), GeoJSON geometry and the metres it reaches beyond it."""

    key: Key
    geometry: dict[str, Any]
    buffer_metres: float = 0.0


class Projection:
    """WGS-84 (lon, lat) to a local metric plane centred on (lat, lon), and back."""

    def __init__(self, lat: float, lon: float) -> None:
        local = f"+proj=tmerc +lat_0={lat} +lon_0={lon} +k=1 +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs"
        self.forward = Transformer.from_crs("EPSG:4326", local, always_xy=True)
        self.backward = Transformer.from_crs(local, "EPSG:4326", always_xy=True)

    def point(self, lat: float, lon: float) -> Point:
        return Point(*self.forward.transform(lon, lat))

    def geometry(self, geojson: dict[str, Any]) -> BaseGeometry:
        return transform(self.forward.transform, shape(geojson))

    def to_wgs84(self, geometry: BaseGeometry) -> BaseGeometry:
        return transform(self.backward.transform, geometry)


def _centre(places: list[Place]) -> tuple[float, float]:
    """The middle of the places' extent (lat, lon), from their coordinates alone."""
    coords = shapely.get_coordinates(shapely.from_geojson(
        [json.dumps(p.geometry) for p in places if p.geometry.get("type") != "Point"]))
    points = np.array([p.geometry["coordinates"][:2] for p in places if p.geometry.get("type") == "Point"],
                      dtype=float).reshape(-1, 2)
    every = np.vstack([coords.reshape(-1, 2), points])
    return ((every[:, 1].min() + every[:, 1].max()) / 2, (every[:, 0].min() + every[:, 0].max()) / 2)


class PlaceIndex(Generic[Key]):
    """The places covering a point: a polygon containing it, or any geometry within its buffer of it.

    Points (a school, a permit's spot with a radius) are kept as points and found by distance, so no
    circle is ever drawn; other geometries are projected and buffered in bulk, one call each."""

    def __init__(self, places: Iterable[Place[Key]], centre: tuple[float, float] | None = None) -> None:
        self.places = list(places)
        lat, lon = centre or (_centre(self.places) if self.places else (0.0, 0.0))
        self.projection = Projection(lat, lon)
        is_point = [p.geometry.get("type") == "Point" for p in self.places]
        self._points = [i for i, flag in enumerate(is_point) if flag]
        self._areas = [i for i, flag in enumerate(is_point) if not flag]
        xy = np.array([self.places[i].geometry["coordinates"][:2] for i in self._points], dtype=float).reshape(-1, 2)
        x, y = self.projection.forward.transform(xy[:, 0], xy[:, 1])
        self._point_shapes = shapely.points(np.column_stack([x, y])) if len(xy) else np.array([], dtype=object)
        self._radius = np.array([self.places[i].buffer_metres for i in self._points], dtype=float)
        self._point_tree = STRtree(self._point_shapes) if len(self._points) else None
        forward = self.projection.forward

        def project(coords: np.ndarray) -> np.ndarray:
            px, py = forward.transform(coords[:, 0], coords[:, 1])
            return np.column_stack([px, py])

        areas = shapely.transform(np.array([shape(self.places[i].geometry) for i in self._areas], dtype=object),
                                  project) if self._areas else np.array([], dtype=object)
        buffers = np.array([self.places[i].buffer_metres for i in self._areas], dtype=float)
        if len(areas) and buffers.any():
            areas = np.where(buffers > 0, shapely.buffer(areas, buffers), areas)
        shapely.prepare(areas)
        self._area_shapes = areas
        self._area_tree = STRtree(areas) if len(areas) else None

    def __len__(self) -> int:
        return len(self.places)

    def at(self, lat: float, lon: float) -> list[Key]:
        """Keys of the places that cover the point (boundary included), in the order they were given."""
        point = self.projection.point(lat, lon)
        hits: list[int] = []
        if self._area_tree is not None:
            hits += [self._areas[i] for i in self._area_tree.query(point, predicate="intersects")]
        if self._point_tree is not None:
            near = self._point_tree.query(point, predicate="dwithin", distance=float(self._radius.max()))
            if len(near):
                close = shapely.distance(self._point_shapes[near], point) <= self._radius[near]
                hits += [self._points[i] for i in near[close]]
        return [self.places[i].key for i in sorted(hits)]

    def distance(self, i: int, lat: float, lon: float) -> float:
        """Metres from the point to place `i`'s reach (its buffer included); 0 inside it."""
        point = self.projection.point(lat, lon)
        if i in self._points:
            j = self._points.index(i)
            return max(0.0, float(shapely.distance(self._point_shapes[j], point)) - float(self._radius[j]))
        return float(shapely.distance(self._area_shapes[self._areas.index(i)], point))


Stamp = Hashable


@dataclass
class Cached(Generic[Key]):
    """An index rebuilt only when its data changes: `stamp` is a cheap query (e.g. count and newest change),
    asked at most every `ttl` seconds; `build` reads the rows and makes the index."""

    ttl: float = 5.0
    _by_bind: dict[str, tuple[Stamp, float, Any]] = field(default_factory=dict)

    def get(self, bind: str, stamp: Callable[[], Stamp], build: Callable[[], Any]) -> Any:
        now = time.monotonic()
        held = self._by_bind.get(bind)
        if held is not None and now - held[1] < self.ttl:
            return held[2]
        current = stamp()
        if held is None or held[0] != current:
            held = (current, now, build())
        self._by_bind[bind] = (held[0], now, held[2])
        return held[2]

    def clear(self) -> None:
        self._by_bind.clear()
