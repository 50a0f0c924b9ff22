"""Hotspots and rebounds (反弹) as facts computed from SQL: a third report at a spot (in a grid, for reports
without a place) within 7 days, reports within 200 m, a report after a task at that place was closed, and a
hotspot that fires once per spot."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine.core import clock
from engine.core.models import Event, Supervision, Task, TaskTransition
from engine.intake.events import IntakeSource, accept_event
from tests.helpers import event, local_time, steps_of

SOURCE = IntakeSource("history-tests", "patrol")


def store(factory, payloads) -> list[int]:
    with factory() as session:
        ids = [accept_event(session, p, SOURCE)[0].id for p in payloads]
        session.commit()
    return ids


def facts(session, event_id: int) -> dict:
    session.expire_all()
    return next(iter(session.get(Event, event_id).facts.values()))


def test_third_barbecue_in_a_grid_within_a_week_is_ordered_at_tier_2_and_listed_only_once_overdue(
        factory, drain, session):
    payloads = []
    for days_ago in (5, 3, 1):
        p = event("06029", "XC-03", hour=21)
        p["occurred_at"] = local_time(21, days_ago=days_ago)
        payloads.append(p)
    ids = store(factory, payloads)
    drain()
    assert facts(session, ids[2])["repeats_7d"] == 2
    third = session.get(Event, ids[2])
    assert "repeat-hotspot" in {f.rule_key for f in third.firings}
    listed = session.scalars(select(Supervision).where(Supervision.task_id.in_([t.id for t in third.tasks]))).all()
    assert {(s.tier_level, s.kind) for s in listed} == {(2, "urge")}  # 督办 at once, no listing yet
    hotspot = next(t for t in third.tasks if t.rule_key == "repeat-hotspot")
    [listing] = [s for s in steps_of(session, hotspot.id) if s.action == "list_publicly"]
    assert listing.due_at > hotspot.deadline_at  # 挂牌督办 only once the case is overdue
    assert not session.scalars(select(Supervision).where(
        Supervision.task_id.in_([t.id for t in session.get(Event, ids[1]).tasks]))).all()


def test_reports_within_200_metres_are_counted(factory, drain, session):
    near = [event("09005", "NC-02", hour=10, location={"lat": 35.0305 + i * 0.0005, "lon": 110.9955})
            for i in range(3)]
    for p in near:
        del p["grid"]
    far = event("09005", "NC-02", hour=10, location={"lat": 35.0395, "lon": 111.0295})
    del far["grid"]
    ids = store(factory, near + [far])
    drain()
    assert facts(session, ids[2])["nearby_7d"] == 2  # 55 m and 110 m away
    assert facts(session, ids[3])["nearby_7d"] == 0  # more than 2 km away


def test_a_report_a_week_after_closure_is_a_rebound_charged_to_the_closed_task(factory, drain, session):
    [first] = store(factory, [event("09021", "DC-04", hour=10)])
    drain()
    task = session.get(Event, first).tasks[0]
    with factory() as s:  # the task was closed eight days ago
        s.add(TaskTransition(task_id=task.id, from_status="submitted", to_status="closed", action="pass_check",
                             at=clock.now() - timedelta(days=8), comment="", data={}))
        s.commit()
    second = event("09021", "DC-04", hour=10)
    second["occurred_at"] = local_time(10, days_ago=1)
    [again] = store(factory, [second])
    drain()
    f = facts(session, again)
    assert f["rebound_30d"] is True and 6 <= f["days_since_closed"] <= 8
    rebound = session.get(Event, again)
    assert rebound.rebound_task_id == task.id
    assert "rebound-alert" in {x.rule_key for x in rebound.firings}
    assert facts(session, first)["rebound_30d"] is False


SPOT = (35.0240, 110.9950)  # inside DC-01
NORTH_30M = 0.00027  # degrees of latitude: about 30 m
EAST_200M = 0.0022  # degrees of longitude at 35°N: about 200 m


def located(code: str, lat: float, lon: float, hour: int, days_ago: int = 1) -> dict:
    p = event(code, "DC-01", hour=hour, location={"lat": lat, "lon": lon})
    p["occurred_at"] = local_time(hour, days_ago=days_ago)
    return p


def test_located_reports_count_per_spot_30_metres_apart_but_not_200(factory, drain, session):
    lat, lon = SPOT
    ids = store(factory, [located("09005", lat, lon, 10, days_ago=3),
                          located("09005", lat + NORTH_30M, lon, 10, days_ago=2),
                          located("09005", lat, lon + EAST_200M, 11, days_ago=2),
                          event("09005", "DC-01", hour=10)])  # no place: counted in its grid
    drain()
    assert [facts(session, i)["repeats_7d"] for i in ids] == [0, 1, 0, 3]
    assert [facts(session, i)["repeats_30d"] for i in ids] == [0, 1, 0, 3]


def close_tasks(factory, event_id: int, days_ago: int) -> list[int]:
    """Close every task of a report, `days_ago` days back (the case's work is done)."""
    with factory() as s:
        tasks = s.get(Event, event_id).tasks
        for task in tasks:
            task.status = "closed"
            s.add(TaskTransition(task_id=task.id, from_status="submitted", to_status="closed", action="pass_check",
                                 at=clock.now() - timedelta(days=days_ago), comment="", data={}))
        s.commit()
        return [t.id for t in tasks]


def test_a_rebound_is_a_report_at_the_closed_tasks_place_not_anywhere_in_its_grid(factory, drain, session):
    lat, lon = SPOT
    [first] = store(factory, [located("09021", lat, lon, 10, days_ago=10)])
    drain()
    closed = close_tasks(factory, first, days_ago=8)
    near, far = store(factory, [located("09021", lat + NORTH_30M, lon, 10),
                                located("09021", lat, lon + EAST_200M, 11)])
    drain()
    session.expire_all()
    assert facts(session, near)["rebound_30d"] is True and 6 <= facts(session, near)["days_since_closed"] <= 8
    assert session.get(Event, near).rebound_task_id in closed
    assert "rebound-alert" in {f.rule_key for f in session.get(Event, near).firings}
    assert facts(session, far)["rebound_30d"] is False and "days_since_closed" not in facts(session, far)
    assert session.get(Event, far).rebound_task_id is None
    assert "rebound-alert" not in {f.rule_key for f in session.get(Event, far).firings}


def test_a_rebound_reported_four_times_counts_once(factory, drain, session):
    lat, lon = SPOT
    [first] = store(factory, [located("09021", lat, lon, 10, days_ago=10)])
    drain()
    close_tasks(factory, first, days_ago=8)
    ids = store(factory, [located("09021", lat + i * 0.00005, lon, 10 + i) for i in range(4)])
    drain()
    session.expire_all()
    reports = [session.get(Event, i) for i in ids]
    assert all(facts(session, i)["rebound_30d"] is True for i in ids)
    assert len({e.case_id for e in reports}) == 1  # one problem, one case
    assert [e.rebound_task_id is not None for e in reports] == [True, False, False, False]


def test_four_located_reports_at_one_spot_fire_the_hotspot_once(factory, drain, session):
    lat, lon = SPOT
    ids = store(factory, [located("06029", lat, lon, 12), located("06029", lat + 0.0001, lon, 12)])
    drain()
    ids += store(factory, [located("06029", lat, lon + 0.0001, 13)])
    drain()
    ids += store(factory, [located("06029", lat - 0.0001, lon - 0.0001, 14)])
    drain()
    session.expire_all()
    assert [facts(session, i)["repeats_7d"] for i in ids] == [0, 1, 2, 3]
    fired = [[f.rule_key for f in session.get(Event, i).firings] for i in ids]
    assert sum(keys.count("repeat-hotspot") for keys in fired) == 1 and "repeat-hotspot" in fired[2]
    [case_id] = {session.get(Event, i).case_id for i in ids}
    tasks = session.scalars(select(Task).where(Task.case_id == case_id)).all()
    assert {t.event_id for t in tasks} == {ids[0]}  # linked reports make no task: no hotspot task per report


def test_a_hotspot_past_the_linking_window_does_not_fire_again_while_its_case_is_open(factory, drain, session):
    lat, lon = SPOT
    ids = store(factory, [located("06029", lat, lon, 12, days_ago=6), located("06029", lat, lon, 13, days_ago=6),
                          located("06029", lat, lon, 14, days_ago=6)])
    drain()
    [later] = store(factory, [located("06029", lat + NORTH_30M, lon, 12, days_ago=1)])  # 5 days on: a new case
    drain()
    session.expire_all()
    assert facts(session, later)["repeats_7d"] == 3 and session.get(Event, later).case_id != session.get(
        Event, ids[0]).case_id
    assert "repeat-hotspot" not in {f.rule_key for f in session.get(Event, later).firings}
    assert all(t.rule_key != "repeat-hotspot" for t in session.get(Event, later).tasks)
    assert session.get(Event, later).tasks  # its own case still reaches its unit


def test_reports_without_a_place_fire_the_hotspot_each_time_in_their_grid(factory, drain, session):
    payloads = []
    for hour in (9, 10, 11, 12):
        payloads.append(event("06029", "XC-03", hour=hour))
    ids = store(factory, payloads)
    drain()
    session.expire_all()
    hot = [e for e in (session.get(Event, i) for i in ids) if "repeat-hotspot" in {f.rule_key for f in e.firings}]
    assert [e.id for e in hot] == ids[2:] and all(any(t.rule_key == "repeat-hotspot" for t in e.tasks) for e in hot)
