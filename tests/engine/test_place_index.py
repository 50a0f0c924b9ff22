"""The in-process spatial index answers in metres: a 200 m buffer holds at 190 m and not at 210 m, a
street with a width covers its edges, a polygon its inside; rebuilt only when the stamp changes."""
from __future__ import annotations

import math

from engine.space.index import Cached, Place, PlaceIndex

SCHOOL = (39.9100, 116.4000)  # lat, lon


def _north(lat: float, lon: float, metres: float) -> tuple[float, float]:
    return lat + metres / 111_132.0, lon  # one degree of latitude near 40°N is ~111.13 km


def _east(lat: float, lon: float, metres: float) -> tuple[float, float]:
    return lat, lon + metres / (111_320.0 * math.cos(math.radians(lat)))


def test_a_school_buffer_of_200_metres_holds_at_190_and_not_at_210():
    index = PlaceIndex([Place("school", {"type": "Point", "coordinates": [SCHOOL[1], SCHOOL[0]]}, 200)])
    assert index.at(*_north(*SCHOOL, 190)) == ["school"]
    assert index.at(*_north(*SCHOOL, 210)) == []
    assert index.at(*_east(*SCHOOL, 190)) == ["school"]  # metres, not degrees: east counts the same as north
    assert index.at(*_east(*SCHOOL, 210)) == []


def test_a_street_with_a_width_covers_its_sides_and_a_polygon_its_inside():
    lat, lon = SCHOOL
    street = {"type": "LineString", "coordinates": [[lon, lat], [_east(lat, lon, 500)[1], lat]]}
    block = {"type": "Polygon", "coordinates": [[[lon, lat], [lon + 0.002, lat], [lon + 0.002, lat + 0.002],
                                                 [lon, lat + 0.002], [lon, lat]]]}
    index = PlaceIndex([Place("street", street, 15), Place("block", block)])
    assert index.at(*_north(*_east(lat, lon, 250), -14)) == ["street"]
    assert index.at(*_north(*_east(lat, lon, 250), -16)) == []
    assert index.at(lat + 0.001, lon + 0.001) == ["block"]
    assert index.at(*_north(*_east(lat, lon, 100), 10)) == ["street", "block"]
    assert PlaceIndex([]).at(lat, lon) == []


def test_the_cached_index_is_rebuilt_only_when_its_stamp_changes():
    stamp, builds = [1], []
    cache = Cached(ttl=0.0)

    def build():
        builds.append(stamp[0])
        return PlaceIndex([])

    first = cache.get("db", lambda: stamp[0], build)
    assert cache.get("db", lambda: stamp[0], build) is first
    stamp[0] = 2
    assert cache.get("db", lambda: stamp[0], build) is not first
    assert builds == [1, 2]
