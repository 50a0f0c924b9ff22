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
from shapely import STRtree, prepare
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

    def geometries(self, geometries: np.ndarray) -> np.ndarray:
        """Many WGS-84 geometries projected at once (one pyproj call for all their coordinates)."""
        def forward(xy: np.ndarray) -> np.ndarray:
            return np.column_stack(self.forward.transform(xy[:, 0], xy[:, 1]))
        return shapely.transform(geometries, forward)

    def to_wgs84(self, geometry: BaseGeometry) -> BaseGeometry:
        return transform(self.backward.transform, geometry)


def _centre(geometries: np.ndarray) -> tuple[float, float]:
    x0, y0, x1, y1 = shapely.total_bounds(geometries)
    return (y0 + y1) / 2, (x0 + x1) / 2


class PlaceIndex(Generic[Key]):
    """The places covering a point: a polygon containing it, or any geometry within its buffer of it."""

    def __init__(self, places: Iterable[Place[Key]], centre: tuple[float, float] | None = None) -> None:
        self.places = list(places)
        # Parsed, projected and buffered in a few vectorised calls: 10,000 zones in about a second.
        parsed = shapely.from_geojson(np.array([json.dumps(p.geometry) for p in self.places], dtype=object))
        lat, lon = centre or (_centre(parsed) if self.places else (0.0, 0.0))
        self.projection = Projection(lat, lon)
        shapes = self.projection.geometries(parsed)
        reach = np.array([place.buffer_metres or 0.0 for place in self.places])
        if reach.any():
            buffered = reach > 0
            shapes[buffered] = shapely.buffer(shapes[buffered], reach[buffered])
        prepare(shapes)
        self.shapes = list(shapes)
        self.tree = STRtree(shapes) if len(shapes) else None

    def __len__(self) -> int:
        return len(self.places)

    def at(self, lat: float, lon: float) -> list[Key]:
        """Keys of the places that cover the point (boundary included), in the order they were given."""
        if self.tree is None:
            return []
        point = self.projection.point(lat, lon)
        hits = self.tree.query(point, predicate="intersects")
        return [self.places[i].key for i in sorted(hits)]

    def distance(self, i: int, lat: float, lon: float) -> float:
        """Metres from the point to place `i`'s (buffered) geometry; 0 inside it."""
        return self.shapes[i].distance(self.projection.point(lat, lon))


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
