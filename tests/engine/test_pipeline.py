"""One event in, tasks out: the hit policy, the linked firings, idempotent intake, derived facts."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from engine.intake.events import IntakeSource, accept_event
from engine.core.models import Event, Firing, OutboxMessage, Task, TaskTransition
from tests.helpers import event, local_time

SOURCE = IntakeSource("engine-tests", "patrol")


def store(factory, *payloads) -> list[int]:
    with factory() as session:
        ids = [accept_event(session, p, SOURCE)[0].id for p in payloads]
        session.commit()
    return ids


def load(session, event_id: int) -> Event:
    return session.get(Event, event_id)


def test_night_barbecue_gives_a_zero_tolerance_task_and_a_night_squad_task(factory, drain, session):
    [event_id] = store(factory, event("06029", "DC-01", hour=23))
    drain()
    e = load(session, event_id)
    assert e.status == "evaluated"
    by_rule = {f.rule_key: f for f in e.firings}
    assert {"zero_tolerance.zt4", "night-street-order"} <= set(by_rule)
    tasks = {t.unit.code: t for t in e.tasks}
    assert set(tasks) == {"JD-DC", "ZD-DC"}
    zt = tasks["JD-DC"]
    assert (zt.rule_key, zt.list_kind, zt.limit_value, zt.limit_unit) == ("zero_tolerance.zt4", "zero_tolerance", 2, "urgent_hours")
    assert zt.deadline_at - zt.created_at == timedelta(hours=2)
    assert by_rule["zero_tolerance.zt4"].task_id == zt.id
    night = by_rule["night-street-order"]
    assert {"fact": "local_hour", "op": "not_between", "value": [6, 21], "actual": 23} in night.matched
    assert night.task_id == tasks["ZD-DC"].id
    # Points count once, charged to the unit of the row that scored them.
    assert e.points == 3 and zt.points == 3 and tasks["ZD-DC"].points == 0


def test_barbecue_by_day_fires_only_the_list_row(factory, drain, session):
    [event_id] = store(factory, event("06029", "DC-02", hour=14))
    drain()
    e = load(session, event_id)
    assert "night-street-order" not in {f.rule_key for f in e.firings}
    assert [t.unit.code for t in e.tasks] == ["JD-DC"]


def test_illegal_structure_on_both_lists_gives_one_task_with_both_firings(factory, drain, session):
    [event_id] = store(factory, event("06001", "XC-02", hour=10, filing_condition="building"))
    drain()
    e = load(session, event_id)
    assert len(e.tasks) == 1
    task = e.tasks[0]
    assert (task.unit.code, task.list_kind, task.rule_key) == ("JD-XC", "zero_tolerance", "zero_tolerance.zt1")
    assert (task.limit_value, task.limit_unit) == (2, "urgent_days")
    linked = {f.rule_key for f in e.firings if f.task_id == task.id}
    assert linked == {"zero_tolerance.zt1", "strict_management.sm1"}
    assert e.points == 5


def test_filing_condition_selects_the_time_limit(factory, drain, session):
    [event_id] = store(factory, event("06001", "XC-03", hour=10, filing_condition="built"))
    drain()
    task = load(session, event_id).tasks[0]
    assert (task.limit_value, task.limit_unit) == (15, "working_days")


def test_two_units_get_one_task_each_and_the_transition_and_outbox_rows_exist(factory, drain, session):
    [event_id] = store(factory, event("06011", "NC-01", hour=9))
    drain()
    e = load(session, event_id)
    assert sorted(t.unit.code for t in e.tasks) == ["HWZX", "JD-NC"]
    for task in e.tasks:
        transitions = session.scalars(select(TaskTransition).where(TaskTransition.task_id == task.id)).all()
        assert [(t.from_status, t.to_status, t.action) for t in transitions] == [(None, "dispatched", "dispatch")]
        assert session.scalar(select(OutboxMessage).where(OutboxMessage.idempotency_key == f"task-dispatched:{task.id}"))


def test_the_same_source_event_id_is_stored_once_and_evaluated_once(factory, drain, session):
    payload = event("06029", "DC-03", hour=22)
    first, second = store(factory, payload, dict(payload, description="重复推送"))
    assert first == second
    drain()
    drain()
    assert session.scalar(select(func.count()).select_from(Event).where(Event.source_event_id == payload["source_event_id"])) == 1
    assert session.scalar(select(func.count()).select_from(Task).where(Task.event_id == first)) == 2


def test_repeats_in_the_same_grid_are_counted_back_from_occurred_at(factory, drain, session):
    grid, ids = "NC-04", []
    for days_ago in (3, 2, 1):
        payload = event("09010", grid, hour=10)
        payload["occurred_at"] = local_time(10, days_ago=days_ago)
        ids += store(factory, payload)
    drain()
    third = load(session, ids[-1])
    facts = next(iter(third.facts.values()))
    assert (facts["repeats_7d"], facts["repeats_30d"]) == (2, 2)
    assert "repeat-hotspot" in {f.rule_key for f in third.firings}
    assert "repeat-hotspot" not in {f.rule_key for f in load(session, ids[0]).firings}


def test_an_event_no_rule_matches_still_reaches_its_lead_unit_by_the_duty_lists(factory, drain, session):
    [event_id] = store(factory, event("09012", "DC-04", hour=10))  # 占用消防通道: the fire brigade leads it
    drain()
    e = load(session, event_id)
    assert e.status == "evaluated" and e.firings == [] and e.points == 0
    [task] = e.tasks
    assert (task.unit.code, task.rule_key, task.points, task.case_id) == ("GAFJ", "routine", 0, e.case_id)
    assert e.case.stage == "dispatched" and e.case.lead_unit.code == "GAFJ"


def test_a_lost_lease_writes_nothing(factory, session, settings):
    from engine.evaluation import pipeline

    [event_id] = store(factory, event("06029", "XC-04", hour=23))
    with factory() as s:
        token, ids, _ = pipeline.claim(s, 1000, 60)
    assert event_id in ids
    with factory() as s:  # another worker took the lease over
        s.query(Event).filter(Event.id.in_(ids)).update({"lease_token": "someone-else"}, synchronize_session=False)
        s.commit()
    with factory() as s:
        assert pipeline.evaluate_claimed(s, token, ids) == 0
    assert session.scalar(select(func.count()).select_from(Firing).where(Firing.event_id == event_id)) == 0
    with factory() as s:
        s.query(Event).filter(Event.id.in_(ids)).update({"lease_token": None, "lease_until": None, "attempts": 0},
                                                         synchronize_session=False)
        s.commit()
