"""Every report reaches someone, one problem makes one case (DESIGN 12, 13): routine dispatch by the duty lists,
linking by place and time, and the cases nobody owns waiting for the dispatcher."""
from __future__ import annotations

from sqlalchemy import func, select

from engine.core.models import Case, Event, FilingCondition, Firing, Task
from engine.intake.events import IntakeSource, accept_event
from tests.helpers import event

PATROL = IntakeSource("case-tests", "patrol")
SPOT = (35.0240, 110.9950)  # inside DC-01 (东城 sub-district)
EAST_200M = 0.0022  # degrees of longitude at 35°N: about 200 m


def store(factory, *payloads) -> list[int]:
    with factory() as s:
        ids = [accept_event(s, p, PATROL)[0].id for p in payloads]
        s.commit()
    return ids


def at(lat: float, lon: float) -> dict:
    return {"location": {"lat": lat, "lon": lon}}


def catalogue_limit(session, code: str) -> tuple[float, str]:
    row = session.execute(select(FilingCondition.limit_value, FilingCondition.limit_unit)
                          .join(FilingCondition.category).where(FilingCondition.category.has(code=code))
                          .order_by(FilingCondition.id)).first()
    return row[0], row[1]


def test_each_sub_district_duty_reaches_the_grids_sub_district_with_the_catalogues_limit(factory, drain, session):
    # ② 夜间施工扰民 is a list item, so the routine duties come from ③ and ④: 店外经营, 乱挖, 乱贴乱挂, 乱写乱画,
    # 焚烧垃圾, 毁绿, reported by day in a 东城 grid and in a 西城 grid.
    duties = ["09005", "08003", "07001", "06004", "06020", "06045"]
    ids = store(factory, *[event(code, grid, hour=10) for grid in ("DC-03", "XC-02") for code in duties])
    drain()
    for event_id in ids:
        e = session.get(Event, event_id)
        unit = {"DC-03": "JD-DC", "XC-02": "JD-XC"}[e.grid.code]
        mine = [t for t in e.tasks if t.unit.code == unit]
        assert len(mine) == 1, (e.category.code, e.grid.code, [t.unit.code for t in e.tasks])
        task = mine[0]
        if task.rule_key == "routine":
            assert (task.limit_value, task.limit_unit) == catalogue_limit(session, e.category.code)
            assert task.points == 0 and task.template.code == "routine" and task.list_kind == "routine"
        assert task.case_id == e.case_id and e.case.stage == "dispatched" and e.case.lead_unit.code == unit
    routine = [t for i in ids for t in session.get(Event, i).tasks if t.rule_key == "routine"]
    assert len(routine) >= 10  # by day no list item covers these duties: the duty lists dispatch them


def test_daytime_construction_noise_is_a_routine_case_for_the_sub_district(factory, drain, session):
    [event_id] = store(factory, event("08001", "DC-02", hour=10))
    drain()
    e = session.get(Event, event_id)
    assert e.firings == []  # no rule fires by day (SM4 is night-time construction)
    [task] = e.tasks
    assert (task.unit.code, task.rule_key, task.template.code) == ("JD-DC", "routine", "routine")
    assert (task.limit_value, task.limit_unit) == catalogue_limit(session, "08001")
    assert e.case.stage == "dispatched" and e.case.report_count == 1
    assert [(h.from_stage, h.to_stage) for h in e.case.stages] == [(None, "reported"), ("reported", "filed"),
                                                                   ("filed", "dispatched")]


def test_four_reports_of_one_barbecue_make_one_case_and_a_fifth_200m_away_another(factory, drain, session):
    lat, lon = SPOT
    first = store(factory, event("06029", "DC-01", hour=12, **at(lat, lon)),
                  event("06029", "DC-01", hour=12, **at(lat + 0.0001, lon)))  # about 11 m apart, one batch
    drain()
    later = store(factory, event("06029", "DC-01", hour=13, **at(lat, lon + 0.0001)),
                  event("06029", "DC-01", hour=14, **at(lat - 0.0001, lon - 0.0001)))
    drain()
    session.expire_all()
    reports = [session.get(Event, i) for i in first + later]
    [case_id] = {e.case_id for e in reports}
    case = session.get(Case, case_id)
    assert case.report_count == 4 and len(case.reports) == 4
    tasks = session.scalars(select(Task).where(Task.event_id.in_(first + later))).all()
    assert tasks and {t.event_id for t in tasks} == {first[0]}  # one task set, from the first report
    assert {t.case_id for t in tasks} == {case_id}
    assert sum(e.points for e in reports) == reports[0].points > 0  # one set of points
    fired = session.scalar(select(func.count()).select_from(Firing).where(Firing.event_id.in_(first + later[1:])))
    assert fired >= 3  # the linked reports' firings are kept (phase intake), with no task
    assert all(f.task_id is None and f.phase == "intake" for e in reports[1:] for f in e.firings)

    [fifth] = store(factory, event("06029", "DC-01", hour=15, **at(lat, lon + EAST_200M)))
    drain()
    other = session.get(Event, fifth)
    assert other.case_id != case_id and other.case.report_count == 1 and other.tasks


def test_reports_without_a_place_are_never_linked_automatically(factory, drain, session):
    ids = store(factory, event("06029", "DC-01", hour=12), event("06029", "DC-01", hour=12))
    drain()
    first, second = (session.get(Event, i) for i in ids)
    assert first.case_id != second.case_id and first.tasks and second.tasks


def test_a_case_no_unit_owns_waits_for_the_dispatcher(factory, drain, session):
    [event_id] = store(factory, event("07008", "DC-01", hour=10))  # 公益性宣传品缺损: no duty list leads it
    drain()
    e = session.get(Event, event_id)
    assert e.status == "evaluated" and e.tasks == [] and e.case.stage == "awaiting_dispatch"
    assert e.case.lead_unit_id is None
