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


def _box(lat: float, lon: float, east: float, north: float) -> dict:
    """A rectangle from (lat, lon) reaching `east` and `north` metres."""
    top, right = _north(lat, lon, north)[0], _east(lat, lon, east)[1]
    return {"type": "Polygon", "coordinates": [[[lon, lat], [right, lat], [right, top], [lon, top], [lon, lat]]]}


def _line(*spots: tuple[float, float]) -> dict:
    return {"type": "LineString", "coordinates": [[lon, lat] for lat, lon in spots]}


def test_a_batch_finds_each_points_places_in_one_call_as_the_point_by_point_lookup_does():
    lat, lon = SCHOOL
    block = _box(*_north(lat, lon, 300), 400, 200)
    index = PlaceIndex([Place("school", {"type": "Point", "coordinates": [lon, lat]}, 200), Place("block", block)])
    spots = [_north(lat, lon, 190), _north(lat, lon, 210), _east(lat, lon, -190), _east(lat, lon, -210),
             _north(*_east(lat, lon, 100), 400), _north(*_east(lat, lon, 100), 510), (lat, lon)]
    found = index.at_each([s[0] for s in spots], [s[1] for s in spots])
    assert found == [["school"], [], ["school"], [], ["block"], [], ["school"]]
    assert found == [index.at(*s) for s in spots]
    assert index.at_each([], []) == []
    assert PlaceIndex([]).at_each([lat], [lon]) == [[]]


def test_a_polygons_boundary_belongs_to_it_and_a_point_a_metre_outside_does_not():
    lat, lon = SCHOOL
    index = PlaceIndex([Place("block", _box(lat, lon, 100, 100))])
    corner, outside, inside = (lat, lon), _north(lat, lon, -1), _north(*_east(lat, lon, 50), 1)
    spots = [corner, outside, inside, _east(lat, lon, -1)]
    assert index.at_each([s[0] for s in spots], [s[1] for s in spots]) == [["block"], [], ["block"], []]


def test_several_places_at_a_point_come_in_the_order_they_were_given_whatever_their_kind():
    lat, lon = SCHOOL
    places = [Place("street", _line((lat, lon), _east(lat, lon, 400)), 20), Place("school-b", {
        "type": "Point", "coordinates": [lon, lat]}, 200), Place("block", _box(*_north(lat, lon, -50), 300, 100)),
        Place("school-a", {"type": "Point", "coordinates": [_east(lat, lon, 100)[1], lat]}, 200)]
    index = PlaceIndex(places)
    spot = _east(lat, lon, 50)
    assert index.at_each([spot[0]] * 2, [spot[1]] * 2) == [["street", "school-b", "block", "school-a"]] * 2
    assert index.at(*_north(*_east(lat, lon, 150), 150)) == ["school-a"]  # 158 m from it, 212 m from b


def test_the_nearest_frontage_answers_for_a_point_that_several_reach():
    lat, lon = SCHOOL
    far = Place(1, _line(_north(lat, lon, 12), _north(*_east(lat, lon, 40), 12)), 15)  # 12 m north of the spot
    near = Place(2, _line(_north(lat, lon, -4), _north(*_east(lat, lon, 40), -4)), 15)  # 4 m south of it
    shop = Place(3, {"type": "Point", "coordinates": [_east(lat, lon, 20)[1], lat]}, 30)  # 20 m east, reach 30
    index = PlaceIndex([far, near, shop])
    # at the shop (0 m from it), 1 m from the far line, 6.4 m from the near one past its end, reached by none
    spots = [_east(lat, lon, 20), _north(*_east(lat, lon, 20), 11), _east(lat, lon, 45), _north(lat, lon, 100)]
    assert index.at(*spots[0]) == [1, 2, 3]
    assert index.nearest_each([s[0] for s in spots], [s[1] for s in spots]) == [3, 1, 2, None]
    twins = PlaceIndex([Place("first", _line((lat, lon), _east(lat, lon, 30)), 15),
                        Place("second", _line((lat, lon), _east(lat, lon, 30)), 15)])
    assert twins.nearest_each([lat], [_east(lat, lon, 10)[1]]) == ["first"]
    assert PlaceIndex([]).nearest_each([lat], [lon]) == [None]
