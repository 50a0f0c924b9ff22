"""Zones on the map (issue 16, points 2, 4 and 7): the fact `in_zone` is the set of kinds of the published zones at
an event's place, so the demo's ZT6 (freight distribution in a 限制经营区) fires only inside one; a school's 200 m
buffer is measured in metres; a GCJ-02 report from a token declared gcj02 lands where it was made; bad zones are
refused field by field with nothing written."""
from __future__ import annotations

import math

import pytest
from sqlalchemy import func, select

from engine.accounts.users import issue_intake_token
from engine.core.models import ApiToken, Campaign, Event, Zone
from engine.evaluation.enrich import History
from engine.intake.events import IntakeSource, accept_event
from engine.space.datum import from_wgs84
from engine.space.geo import metres
from engine.space.zones import check, save_zone, set_active, zones_at
from rules.problems import InputError
from tests.helpers import event

PATROL = IntakeSource("zone-tests", "patrol")
GCJ = IntakeSource("zone-tests-gcj", "patrol", "gcj02")
#: Inside the demo's restricted-business zone in XC-03 (西城物流限制经营区), and in XC-03 but outside it.
INSIDE, OUTSIDE = (35.0360, 111.0150), (35.0320, 111.0110)
SCHOOL = (35.0252, 111.0050)  # the demo's 东城实验小学 (200 m buffer)


def north_of(lat: float, lon: float, distance: float) -> tuple[float, float]:
    return lat + distance / 111_195, lon


def at(spot: tuple[float, float], category: str = "L0001", grid: str = "XC-03", **extra) -> dict:
    return event(category, grid, hour=11, location={"lat": spot[0], "lon": spot[1]}, **extra)


def store(factory, *payloads, source: IntakeSource = PATROL) -> list[int]:
    with factory() as s:
        ids = [accept_event(s, p, source)[0].id for p in payloads]
        s.commit()
    return ids


def in_zone(e: Event) -> list[str]:
    """The fact as the demo campaign's evaluation saw it (facts are kept per campaign)."""
    [facts] = e.facts.values()
    return facts["in_zone"]


def fired(e: Event) -> set[str]:
    return {f.rule_key for f in e.firings}


def box(lon0: float, lat0: float, lon1: float, lat1: float) -> dict:
    return {"type": "Polygon", "coordinates": [[[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]]}


def test_freight_distribution_fires_zt6_inside_the_restricted_business_zone_only(factory, drain, session):
    inside, outside = store(factory, at(INSIDE), at(OUTSIDE))
    drain()
    e, other = session.get(Event, inside), session.get(Event, outside)
    assert in_zone(e) == ["restricted_business"] and fired(e) == {"zero_tolerance.zt6"}
    assert e.case.lead_unit.code == "JD-XC"
    assert in_zone(other) == [] and "zero_tolerance.zt6" not in fired(other)
    assert {t.unit.code for t in other.tasks} == {"JD-XC", "JTJ"} and other.points == 0  # a routine case


def test_a_report_without_a_place_is_in_no_zone(factory, drain, session):
    [event_id] = store(factory, event("L0001", "XC-03", hour=11))
    drain()
    e = session.get(Event, event_id)
    assert in_zone(e) == [] and e.firings == []


def test_a_schools_buffer_is_200_metres_measured_in_metres(factory, session):
    near, far = north_of(*SCHOOL, 190), north_of(*SCHOOL, 210)
    assert 189 < metres(*SCHOOL, *near) < 191 and 209 < metres(*SCHOOL, *far) < 211
    ids = store(factory, at(near, "09006", "DC-02"), at(far, "09006", "DC-02"))
    found = zones_at(session, [session.get(Event, i) for i in ids])
    assert [kind for kind, _ in found[ids[0]]] == ["school_surroundings"] and found[ids[1]] == ()


def test_a_strict_street_covers_half_its_width_either_side(factory, session):
    # 东城人民路严管街: a line along latitude 35.0255, 30 m wide
    ids = store(factory, at(north_of(35.0255, 110.995, 14), "09006", "DC-01"),
                at(north_of(35.0255, 110.995, 16), "09006", "DC-01"))
    found = zones_at(session, [session.get(Event, i) for i in ids])
    assert [k for k, _ in found[ids[0]]] == ["strict_street"] and found[ids[1]] == ()


def test_a_published_zone_counts_from_the_next_evaluation_and_a_draft_does_not(factory, drain, session):
    spot = (35.0240, 111.0240)  # in DC-04, where the demo has no zone
    with factory() as s:
        zone = save_zone(s, {"kind": "restricted_business", "name": "东城临时限制经营区",
                             "geometry": box(111.0230, 35.0230, 111.0250, 35.0250)})
        s.commit()
        zone_id = zone.id
    [draft] = store(factory, at(spot, grid="DC-04"))
    drain()
    assert in_zone(session.get(Event, draft)) == []
    with factory() as s:
        set_active(s, s.get(Zone, zone_id), True)
        s.commit()
    [published] = store(factory, at(spot, grid="DC-04"))
    drain()
    e = session.get(Event, published)
    assert in_zone(e) == ["restricted_business"] and fired(e) == {"zero_tolerance.zt6"}


def test_a_zone_of_another_campaign_is_not_in_this_campaigns_facts(factory, session):
    with factory() as s:
        other = Campaign(code="zone-other", name_zh="另一专项", name_en="Another campaign", status="draft")
        s.add(other)
        s.flush()
        set_active(s, save_zone(s, {"kind": "residential", "name": "别的专项的小区", "campaign_id": other.id,
                                    "geometry": box(111.0140, 35.0350, 111.0160, 35.0370)}), True)
        s.commit()
        other_id = other.id
    [event_id] = store(factory, at(INSIDE))
    e = session.get(Event, event_id)
    history = History.of(session, [e])
    assert sorted(k for k, _ in history.zones[event_id]) == ["residential", "restricted_business"]
    demo_campaign = session.scalar(select(Campaign.id).where(Campaign.code != "zone-other").order_by(Campaign.id))
    from engine.space.zones import kinds_for
    assert kinds_for(history.zones[event_id], demo_campaign) == ["restricted_business"]
    assert kinds_for(history.zones[event_id], other_id) == ["residential", "restricted_business"]


def test_a_gcj02_report_from_a_gcj02_token_lands_in_the_zone_and_fires_its_rule(factory, drain, session):
    shifted = from_wgs84(*INSIDE, "gcj02")  # what a phone or a Gaode picker reports for that spot
    assert metres(*INSIDE, *shifted) > 300
    [converted] = store(factory, at(shifted), source=GCJ)
    [as_if_wgs84] = store(factory, at(shifted))
    drain()
    e = session.get(Event, converted)
    assert metres(e.lat, e.lon, *INSIDE) < 1  # stored in WGS-84
    assert in_zone(e) == ["restricted_business"] and fired(e) == {"zero_tolerance.zt6"}
    wrong = session.get(Event, as_if_wgs84)  # the same numbers taken as WGS-84 lie half a kilometre away
    assert in_zone(wrong) == [] and not fired(wrong)


def test_an_intake_token_declares_its_datum(session):
    issue_intake_token(session, "zone-tests-bd", "hotline", "bd09")
    assert session.scalar(select(ApiToken.crs).where(ApiToken.source == "zone-tests-bd")) == "bd09"
    with pytest.raises(InputError) as err:
        issue_intake_token(session, "zone-tests-bad", "hotline", "mars")
    assert [p.where for p in err.value.problems] == ["crs"]


def refused(session, data: dict) -> dict[str, str]:
    before = session.scalar(select(func.count(Zone.id)))
    with pytest.raises(InputError) as err:
        save_zone(session, data)
    assert session.scalar(select(func.count(Zone.id))) == before  # nothing half-written
    return {p.where: p.en + " / " + p.zh for p in err.value.problems}


def test_a_self_intersecting_polygon_is_refused_next_to_the_shape(session):
    bowtie = {"type": "Polygon", "coordinates": [[[111.0, 35.0], [111.01, 35.01], [111.01, 35.0], [111.0, 35.01],
                                                  [111.0, 35.0]]]}
    problems = refused(session, {"kind": "residential", "name": "自相交", "geometry": bowtie})
    assert list(problems) == ["geometry"] and "crosses itself" in problems["geometry"]
    assert "自相交" in problems["geometry"]


def test_a_zone_with_no_kind_is_refused_next_to_the_kind(session):
    problems = refused(session, {"kind": "", "name": "没有类型", "geometry": box(111.0, 35.0, 111.01, 35.01)})
    assert list(problems) == ["kind"] and "必填" in problems["kind"]


def test_other_bad_zones_are_named_by_field(session):
    line = {"type": "LineString", "coordinates": [[111.0, 35.0], [111.01, 35.0]]}
    assert list(refused(session, {"kind": "strict_street", "name": "没有宽度", "geometry": line})) == ["width_metres"]
    assert list(refused(session, {"kind": "residential", "name": "线不是面", "geometry": line})) == ["geometry"]
    assert list(refused(session, {"kind": "school_surroundings", "name": "", "geometry": line})) == ["name", "geometry"]
    assert list(refused(session, {"kind": "residential", "name": "没有图形"})) == ["geometry"]
    assert list(refused(session, {"kind": "school_surroundings", "name": "负缓冲", "buffer_metres": -5,
                                  "geometry": {"type": "Point", "coordinates": [111.0, 35.0]}})) == ["buffer_metres"]


def test_a_shape_drawn_on_gcj02_tiles_is_stored_in_wgs84(session):
    lat, lon = from_wgs84(*SCHOOL, "gcj02")
    values = check(session, {"kind": "school_surroundings", "name": "学校",
                             "geometry": {"type": "Point", "coordinates": [lon, lat]}}, "gcj02")
    stored_lon, stored_lat = values["geometry"]["coordinates"]
    assert metres(stored_lat, stored_lon, *SCHOOL) < 1 and values["buffer_metres"] is None
    assert not math.isclose(lat, SCHOOL[0])
