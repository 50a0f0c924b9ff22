"""An in-process spatial index of places in metres: zones, permits and frontage holders become facts
per event by a point query here, not by SQL per event (DESIGN 16).

Geometries arrive as GeoJSON in WGS-84/CGCS2000 (lon, lat) and are projected to a transverse Mercator
centred on the data, so buffers (a school's 200 m, a street's width) and distances are metres, never
degrees; at city scale its scale error is far below a metre. A shapely STRtree answers the point queries.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Hashable, Iterable, TypeVar

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

    def to_wgs84(self, geometry: BaseGeometry) -> BaseGeometry:
        return transform(self.backward.transform, geometry)


def _centre(places: list[Place]) -> tuple[float, float]:
    bounds = [shape(p.geometry).bounds for p in places]
    return ((min(b[1] for b in bounds) + max(b[3] for b in bounds)) / 2,
            (min(b[0] for b in bounds) + max(b[2] for b in bounds)) / 2)


class PlaceIndex(Generic[Key]):
    """The places covering a point: a polygon containing it, or any geometry within its buffer of it."""

    def __init__(self, places: Iterable[Place[Key]], centre: tuple[float, float] | None = None) -> None:
        self.places = list(places)
        lat, lon = centre or (_centre(self.places) if self.places else (0.0, 0.0))
        self.projection = Projection(lat, lon)
        shapes = []
        for place in self.places:
            geometry = self.projection.geometry(place.geometry)
            if place.buffer_metres:
                geometry = geometry.buffer(place.buffer_metres)
            prepare(geometry)
            shapes.append(geometry)
        self.shapes = shapes
        self.tree = STRtree(shapes) if shapes else None

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
