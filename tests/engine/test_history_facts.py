"""Hotspots and rebounds (反弹) as facts computed from SQL: a third report in a grid within 7 days,
reports within 200 m, and a report after a task in that grid and category was closed."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine.core import clock
from engine.intake.events import IntakeSource, accept_event
from engine.core.models import Event, Supervision, TaskTransition
from tests.helpers import event, local_time

SOURCE = IntakeSource("history-tests", "patrol")


def store(factory, payloads) -> list[int]:
    with factory() as session:
        ids = [accept_event(session, p, SOURCE)[0].id for p in payloads]
        session.commit()
    return ids


def facts(session, event_id: int) -> dict:
    session.expire_all()
    return next(iter(session.get(Event, event_id).facts.values()))


def test_third_barbecue_in_a_grid_within_a_week_is_listed_publicly_at_tier_2(factory, drain, session):
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
    assert {(s.tier_level, s.kind) for s in listed} == {(2, "list_publicly")}
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
