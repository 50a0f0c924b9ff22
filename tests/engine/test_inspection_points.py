"""Evaluation points (issue 17 point 1): the register by point type with place, unit and person (包点); a report at
a point carries the fact `inspection_point` (its type), measured in metres; each type names its responsible
departments from the seeds' duty list; bad points are refused field by field with nothing written."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from engine.core import clock
from engine.core.models import Campaign, Event, InspectionPoint, InspectionPointType, Task, Unit
from engine.intake.events import IntakeSource, accept_event
from engine.space.geo import metres
from engine.space.points import save_point
from rules.problems import InputError
from tests.helpers import act, event, user_token

PATROL = IntakeSource("point-tests", "patrol")
SCHOOL = (35.0252, 111.0050)  # the demo's CP-006 东城实验小学周边 (a point reaching 200 m)
ROAD = (35.0262, 110.9950)  # on the demo's CP-001 人民路, a line reaching 20 m


def north_of(lat: float, lon: float, distance: float) -> tuple[float, float]:
    return lat + distance / 111_195, lon


def store(factory, *spots_and_grids) -> list[int]:
    with factory() as s:
        ids = [accept_event(s, event("09006", grid, hour=11, location={"lat": lat, "lon": lon}), PATROL)[0].id
               for (lat, lon), grid in spots_and_grids]
        s.commit()
    return ids


def fact(e: Event) -> str:
    [facts] = e.facts.values()
    return facts["inspection_point"]


def test_a_report_at_a_point_carries_its_type_measured_in_metres(factory, drain, session):
    near, far = north_of(*SCHOOL, 190), north_of(*SCHOOL, 210)
    assert 189 < metres(*SCHOOL, *near) < 191 and 209 < metres(*SCHOOL, *far) < 211
    on_road, off_road = north_of(*ROAD, 15), north_of(*ROAD, 30)
    ids = store(factory, (near, "DC-02"), (far, "DC-02"), (on_road, "DC-01"), (off_road, "DC-01"))
    drain()
    assert [fact(session.get(Event, i)) for i in ids] == ["school", "", "main_road", ""]


def test_a_report_without_a_place_is_at_no_point(factory, drain, session):
    with factory() as s:
        event_id = accept_event(s, event("09006", "DC-02", hour=11), PATROL)[0].id
        s.commit()
    drain()
    assert fact(session.get(Event, event_id)) == ""


def test_a_new_point_counts_from_the_next_evaluation(factory, drain, session):
    spot = (35.0240, 111.0240)  # in DC-04, where the demo has no point
    [before] = store(factory, (spot, "DC-04"))
    drain()
    with factory() as s:
        save_point(s, {"code": "CP-T01", "name": "东城客运站", "type": "station", "unit": "JD-DC", "grid": "DC-04",
                       "place": {"type": "Point", "coordinates": [spot[1], spot[0]]}, "reach_metres": 60})
        s.commit()
    [after] = store(factory, (spot, "DC-04"))
    drain()
    assert fact(session.get(Event, before)) == "" and fact(session.get(Event, after)) == "station"


def test_each_type_names_its_departments_from_the_seed_duties(session):
    types = {t.code: t for t in session.scalars(select(InspectionPointType))}
    assert types["farmers_market"].departments == ["SCJGJ"]  # 市场监管局: 集贸市场
    assert types["construction_site"].departments == ["ZJJ"]  # 住建局: 建筑围挡
    assert "教育局" in types["school"].duty and "种子文件001" in types["school"].source
    assert types["school"].departments == ["JYJ", "SCJGJ"]  # 教育局: 中小学校; 市场监管局: 学校周边经营
    assert types["hospital"].departments == ["WJJ"]  # 卫计局: 医院
    assert types["cultural_venue"].departments == ["WTJ"]  # 文体局: 图书馆、文化馆
    assert types["hotel_restaurant"].departments == ["SMLYJ", "SCJGJ"]  # 商贸旅游局: 星级酒店; 市场监管局: 餐饮
    units = set(session.scalars(select(Unit.code)))
    assert all(set(t.departments) <= units and "无此单位" not in t.duty for t in types.values())


@pytest.mark.parametrize("change, field", [
    ({"type": ""}, "type"),
    ({"type": "no-such-type"}, "type"),
    ({"unit": ""}, "unit"),
    ({"person": "XC-002"}, "person"),  # a 西城 person cannot answer for a 东城 point
    ({"place": {"type": "Polygon", "coordinates": [[[111.0, 35.02], [111.01, 35.03], [111.01, 35.02],
                                                    [111.0, 35.03], [111.0, 35.02]]]}}, "place"),
    ({"place": None}, "place"),
    ({"reach_metres": "-5"}, "reach_metres"),
    ({"code": "CP-001"}, "code"),  # taken by the demo
])
def test_a_bad_point_is_refused_at_its_field_and_nothing_is_written(factory, change, field):
    good = {"code": "CP-T02", "name": "东城医院", "type": "hospital", "unit": "JD-DC", "person": "DC-002",
            "place": {"type": "Point", "coordinates": [111.02, 35.025]}}
    with factory() as s:
        count = s.scalar(select(func.count()).select_from(InspectionPoint))
        with pytest.raises(InputError) as refused:
            save_point(s, {**good, **change})
        s.rollback()
        assert field in {p.where for p in refused.value.problems}
        assert all(p.zh and p.en for p in refused.value.problems)
        assert s.scalar(select(func.count()).select_from(InspectionPoint)) == count


def test_the_register_api_names_types_units_and_people_for_readers_only(client):
    admin = user_token(client, "admin")
    answer = client.get("/api/v1/inspection-points?type=farmers_market", headers={"Authorization": f"Bearer {admin}"})
    assert answer.status_code == 200
    [market] = answer.get_json()["points"]
    assert market["code"] == "CP-002" and market["type"] == {"code": "farmers_market", "name": "农贸市场"}
    assert market["unit"]["name"] == "东城街道办事处" and market["person"]["name"]
    english = client.get("/api/v1/inspection-points?type=farmers_market",
                         headers={"Authorization": f"Bearer {admin}", "Accept-Language": "en"}).get_json()
    assert english["points"][0]["type"]["name"] == "farmers' market"
    bad = client.get("/api/v1/inspection-points?type=plaza", headers={"Authorization": f"Bearer {admin}"})
    assert bad.status_code == 422
    field = user_token(client, "xicheng")
    assert client.get("/api/v1/inspection-points", headers={"Authorization": f"Bearer {field}"}).status_code == 403


def inspection_starts_soon(factory) -> tuple[datetime, datetime]:
    """The clock at Wednesday 9 December 2026, 10:00 Beijing time, and the demo's inspection starting half an hour
    later for a week; returns both instants."""
    now = datetime(2026, 12, 9, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    clock.set_clock(lambda: now)
    starts = now + timedelta(minutes=30)
    with factory() as s:
        campaign = s.scalar(select(Campaign).where(Campaign.status == "active"))
        campaign.inspection_starts_at, campaign.inspection_ends_at = starts, starts + timedelta(days=7)
        s.commit()
    return now, starts


def test_a_task_at_a_point_is_due_by_the_inspection_start_and_one_elsewhere_keeps_its_own_deadline(factory, drain,
                                                                                                   session):
    """Seed 003: 确保所有测评点在3月22日之前整改到位. Tasks set before the inspection starts, whose deadline would fall
    after the start, are due at the start when at a point; a task set after the start keeps its own."""
    now, starts = inspection_starts_soon(factory)
    at_point, elsewhere = store(factory, (north_of(*SCHOOL, 50), "DC-02"), ((35.0240, 111.0240), "DC-04"))
    drain()
    kept = list(session.scalars(select(Task).where(Task.event_id == elsewhere)))
    capped = list(session.scalars(select(Task).where(Task.event_id == at_point)))
    assert fact(session.get(Event, at_point)) == "school" and capped and kept
    assert {t.deadline_at for t in capped} == {starts}
    assert all(t.deadline_at > starts for t in kept)

    clock.set_clock(lambda: now + timedelta(minutes=10))  # sent back and rerouted: the new unit is held to it too
    task = next(t for t in capped if t.unit.code == "JD-DC")
    act(session, task, "send_back", "dongcheng", "不属于本街道管辖", {"grounds": "outside_area"})
    act(session, task, "reroute", "dispatcher", "改派西城", {"unit": "JD-XC"})
    assert task.unit.code == "JD-XC" and task.deadline_at == starts

    clock.set_clock(lambda: starts + timedelta(minutes=5))  # during the inspection: nothing is brought forward
    [later] = store(factory, (north_of(*SCHOOL, -150), "DC-02"))  # 200 m from the first: a case of its own
    drain()
    own = list(session.scalars(select(Task).where(Task.event_id == later)))
    assert fact(session.get(Event, later)) == "school" and own
    assert all(t.deadline_at > starts + timedelta(minutes=5) for t in own)
