"""A case's stages (DESIGN 12): 受理 at intake, 核实 by the grid's collector where the source needs it, 立案 or
不予立案 by the shift leader with a filing evaluation, trusted sources and zero tolerance filed at once, a report
outside every grid waiting for the dispatcher, and 结案 against a closing condition after the checker's pass."""
from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from engine.assessment import indicators
from engine.cases.clocks import clocks
from engine.cases.closing import close_case
from engine.cases.verification import Photo, verify
from engine.core.models import Campaign, Case, Event, Evidence, FilingCondition, Task, TaskTransition, User
from engine.evaluation.filing import file_case, refuse_case
from engine.evaluation.hand_routing import route_case
from engine.intake.events import IntakeSource, accept_event
from rules.problems import InputError
from tests.helpers import event, jpeg

HOTLINE = IntakeSource("stage-tests-hotline", "hotline")
PATROL = IntakeSource("stage-tests-patrol", "patrol")
CAMERA = IntakeSource("stage-tests-camera", "camera")
ZONE = ZoneInfo("Asia/Shanghai")


def store(factory, source: IntakeSource, *payloads) -> list[int]:
    with factory() as s:
        ids = [accept_event(s, p, source)[0].id for p in payloads]
        s.commit()
    return ids


def user(session, name: str) -> User:
    return session.scalar(select(User).where(User.username == name))


def condition(session, code: str) -> str:
    return session.scalar(select(FilingCondition.code).join(FilingCondition.category)
                          .where(FilingCondition.category.has(code=code)).order_by(FilingCondition.id))


def verified(session, case: Case, tmp_path, finding: str = "confirmed") -> None:
    verify(session, case, user(session, "collector"), finding, "现场有店外经营", None,
           [Photo("spot.jpg", jpeg())], tmp_path, 5 * 2**20, ZONE, case.opened_at + timedelta(minutes=20))
    session.flush()


def test_a_hotline_report_waits_for_the_grids_collector_then_the_shift_leader_files_it(factory, drain, session,
                                                                                       tmp_path):
    [event_id] = store(factory, HOTLINE, event("09005", "DC-03", hour=10))
    drain()
    report = session.get(Event, event_id)
    case = report.case
    assert report.status == "evaluated" and case.stage == "verifying" and report.tasks == []
    assert case.verifier.name == "吴敏"  # DC-03's collector
    assert case.stage_due_at == case.opened_at + timedelta(minutes=30)
    assert {f.phase for f in report.firings} <= {"intake"} and report.points == 0
    verified(session, case, tmp_path)
    assert case.stage == "filing" and case.verification["finding"] == "confirmed"
    [photo] = session.scalars(select(Evidence).where(Evidence.case_id == case.id)).all()
    assert (tmp_path / photo.stored_name).exists()
    code = condition(session, "09005")
    task_ids = file_case(session, case.id, code, None, user(session, "shift_leader"),
                         case.opened_at + timedelta(minutes=25))
    session.flush()
    [task] = [session.get(Task, t) for t in task_ids]
    assert (task.unit.code, task.rule_key, task.case_id) == ("JD-DC", "routine", case.id)
    assert case.stage == "dispatched" and case.lead_unit.code == "JD-DC" and case.filing_condition == code
    assert [h.to_stage for h in case.stages] == ["reported", "verifying", "filing", "filed", "dispatched"]
    by_clock = {c.clock: c for c in clocks(case, session.get(Campaign, case.campaign_id), report.received_at)}
    assert by_clock["verify"].minutes(case.opened_at) == pytest.approx(20)
    assert not by_clock["verify"].overdue(case.opened_at) and by_clock["dispatch"].limit_minutes == 15


def test_filing_evaluates_again_and_only_its_firings_make_tasks(factory, drain, session, tmp_path):
    # 09013 (烧烤) from the hotline at night fires SM8 at intake; the task comes only with the filing evaluation.
    [event_id] = store(factory, HOTLINE, event("09013", "DC-03", hour=22))
    drain()
    report = session.get(Event, event_id)
    assert report.case.stage == "verifying" and report.tasks == []
    intake = [f for f in report.firings if f.phase == "intake"]
    assert intake and all(f.task_id is None for f in intake)
    assert session.scalar(select(Task.id).where(Task.event_id == event_id)) is None
    verified(session, report.case, tmp_path)
    file_case(session, report.case.id, condition(session, "09013"), None, user(session, "shift_leader"),
              report.case.opened_at + timedelta(minutes=40))
    session.flush()
    session.expire_all()
    filing = [f for f in session.get(Event, event_id).firings if f.phase == "filing"]
    assert {f.rule_key for f in filing} == {f.rule_key for f in intake}
    assert all(f.task_id is not None for f in filing if f.list_kind != "custom")


def test_the_shift_leader_may_correct_the_category_and_refuses_a_condition_of_another(factory, drain, session,
                                                                                      tmp_path):
    [event_id] = store(factory, HOTLINE, event("09005", "DC-03", hour=10))
    drain()
    case = session.get(Event, event_id).case
    verified(session, case, tmp_path)
    leader = user(session, "shift_leader")
    with pytest.raises(InputError) as refused:  # 积存2日以上 is a condition of 06011 (垃圾), not of 店外经营
        file_case(session, case.id, "over_2_days", None, leader, case.opened_at)
    assert "不是" in refused.value.problems[0].zh and refused.value.problems[0].where == "filing_condition"
    with pytest.raises(InputError):
        file_case(session, case.id, "X", "99999", leader, case.opened_at)
    assert case.stage == "filing" and session.scalar(select(Task.id).where(Task.case_id == case.id)) is None
    file_case(session, case.id, condition(session, "08003"), "08003", leader, case.opened_at)
    session.flush()
    assert case.category.code == "08003" and session.get(Event, event_id).category.code == "08003"
    assert "09005 → 08003" in case.stages[-2].comment


def test_not_filed_ends_the_case_with_the_reason(factory, drain, session, tmp_path):
    [event_id] = store(factory, HOTLINE, event("09005", "DC-03", hour=10))
    drain()
    case = session.get(Event, event_id).case
    verified(session, case, tmp_path, "not_found")
    with pytest.raises(InputError):
        refuse_case(session, case.id, "  ", user(session, "shift_leader"), case.opened_at)
    with pytest.raises(InputError):  # a collector does not file
        refuse_case(session, case.id, "无", user(session, "collector"), case.opened_at)
    refuse_case(session, case.id, "现场未发现店外经营", user(session, "shift_leader"), case.opened_at)
    session.flush()
    assert case.stage == "not_filed" and case.closed_at is not None and case.stages[-1].comment == "现场未发现店外经营"


def test_verification_needs_a_photo_and_the_cases_collector(factory, drain, session, tmp_path):
    [event_id] = store(factory, HOTLINE, event("09005", "DC-03", hour=10))
    drain()
    case = session.get(Event, event_id).case
    with pytest.raises(InputError) as no_photo:
        verify(session, case, user(session, "collector"), "confirmed", "", None, [], tmp_path, 2**20, ZONE,
               case.opened_at)
    assert no_photo.value.problems[0].where == "photo"
    with pytest.raises(InputError) as not_a_photo:
        verify(session, case, user(session, "collector"), "confirmed", "", None, [Photo("x.jpg", b"not an image")],
               tmp_path, 2**20, ZONE, case.opened_at)
    [en], [zh] = not_a_photo.value.by_field("en")["photo"], not_a_photo.value.by_field("zh")["photo"]
    assert en.startswith("x.jpg: ") and zh.startswith("x.jpg：")  # named by its file name, next to the photo field
    with pytest.raises(InputError):  # a field unit does not verify
        verify(session, case, user(session, "dongcheng"), "confirmed", "", None, [Photo("a.jpg", jpeg())],
               tmp_path, 2**20, ZONE, case.opened_at)
    assert case.stage == "verifying" and list(tmp_path.iterdir()) == []
    assert session.scalar(select(Evidence.id).where(Evidence.case_id == case.id)) is None


def test_patrol_and_sure_cameras_file_at_once_and_unsure_cameras_are_verified(factory, drain, session):
    patrol = store(factory, PATROL, event("09005", "DC-03", hour=10))
    sure, unsure = store(factory, CAMERA, event("09005", "DC-03", hour=10, confidence=0.9),
                         event("09005", "DC-02", hour=10, confidence=0.5))
    drain()
    assert session.get(Event, patrol[0]).case.stage == "dispatched"
    assert session.get(Event, sure).case.stage == "dispatched" and session.get(Event, sure).tasks
    assert session.get(Event, unsure).case.stage == "verifying" and not session.get(Event, unsure).tasks


def test_a_zero_tolerance_item_from_the_hotline_is_filed_and_dispatched_in_the_same_job(factory, drain, session):
    [event_id] = store(factory, HOTLINE, event("06029", "DC-03", hour=23))  # ZT4 烧烤 at night
    drain()
    report = session.get(Event, event_id)
    assert report.status == "evaluated" and report.case.stage == "dispatched"
    [task] = [t for t in report.tasks if t.list_kind == "zero_tolerance"]
    assert task.unit.code == "JD-DC" and task.points > 0 and report.points == task.points
    zt = next(f.rule_key for f in report.firings if f.list_kind == "zero_tolerance")
    [once] = [f for f in report.firings if f.rule_key == zt]  # one evaluation, both intake and filing: one row
    assert once.phase == "intake+filing" and once.task_id == task.id and once.points == task.points
    assert [h.to_stage for h in report.case.stages] == ["reported", "filed", "dispatched"]
    # its points count only once the unit has signed: overdue and unsigned it costs nothing, signed it costs
    campaign = session.get(Campaign, task.campaign_id)
    period = indicators.period_containing("month", task.deadline_at, campaign.timezone)
    later = task.deadline_at + timedelta(hours=1)

    def lost() -> float:
        rows, rebounds = indicators.read_rows(session, campaign, period)
        return indicators.compute([r for r in rows if r.task_id == task.id], [], period, later)[task.unit_id].points_lost

    assert lost() == 0
    session.add(TaskTransition(task_id=task.id, from_status="dispatched", to_status="signed", action="sign",
                               at=task.created_at + timedelta(minutes=5), comment="", data={}))
    session.flush()
    assert lost() > 0


def test_a_located_report_outside_every_grid_waits_for_the_dispatcher(factory, drain, session):
    [event_id] = store(factory, HOTLINE, {**event("09005", hour=10), "grid": None,
                                          "location": {"lat": 10.0, "lon": 10.0}})
    drain()
    report = session.get(Event, event_id)
    assert report.status == "evaluated" and report.grid_id is None and report.firings == []
    case = report.case
    assert case.stage == "awaiting_dispatch" and "网格" in case.stages[-1].comment
    task_id = route_case(session, case.id, "JD-DC", user(session, "dispatcher"), case.opened_at)
    session.flush()
    assert case.stage == "dispatched" and session.get(Task, task_id).unit.code == "JD-DC"


def test_the_shift_leader_closes_a_case_only_after_the_checkers_pass(factory, drain, session):
    [event_id] = store(factory, PATROL, event("09005", "DC-03", hour=10))
    drain()
    report = session.get(Event, event_id)
    case, [task] = report.case, report.tasks
    leader = user(session, "shift_leader")
    with pytest.raises(InputError) as early:
        close_case(session, case.id, "", leader, case.opened_at)
    assert "核查" in early.value.problems[0].zh
    task.status = "closed"  # the checker passed the unit's work
    session.add(TaskTransition(task_id=task.id, from_status="submitted", to_status="closed", action="pass_check",
                               at=case.opened_at + timedelta(minutes=50), comment="", data={}))
    session.flush()
    with pytest.raises(InputError):
        close_case(session, case.id, "NOPE", leader, case.opened_at)
    close_case(session, case.id, "", leader, case.opened_at + timedelta(hours=1), "已整改")
    session.flush()
    assert case.stage == "closed" and case.closing_condition == case.filing_condition
    assert "已整改" in case.stages[-1].comment


def test_from_the_hotline_the_sub_district_duties_wait_for_verification_and_filing(factory, drain, session):
    # ③ and ④ of the seed's sub-district duties (店外经营, 乱挖, 乱贴乱挂, 乱写乱画, 焚烧垃圾, 毁绿) by day: from a
    # patrol they are dispatched at once (test_cases.py); from the hotline each first waits for DC-03's collector.
    duties = ["09005", "08003", "07001", "06004", "06020", "06045"]
    ids = store(factory, HOTLINE, *[event(code, "DC-03", hour=10) for code in duties])
    drain()
    for event_id in ids:
        report = session.get(Event, event_id)
        assert report.status == "evaluated" and report.tasks == [], report.category.code
        assert report.case.stage == "verifying" and report.case.verifier.name == "吴敏"


def test_the_stage_clocks_count_into_on_time_rates(factory, drain, session, tmp_path):
    from engine.cases.clocks import clock_rates
    ids = store(factory, HOTLINE, event("09005", "DC-03", hour=10), event("08003", "DC-03", hour=10))
    drain()
    early, late = (session.get(Event, i).case for i in ids)
    for case, minutes in ((early, 20), (late, 45)):
        verify(session, case, user(session, "collector"), "confirmed", "", None, [Photo("a.jpg", jpeg())], tmp_path,
               2**20, ZONE, case.opened_at + timedelta(minutes=minutes))
    session.flush()
    campaign = session.get(Campaign, early.campaign_id)
    start, end = early.opened_at - timedelta(seconds=1), late.opened_at + timedelta(seconds=1)
    rates = clock_rates(session, campaign, start, end, late.opened_at + timedelta(minutes=50))
    assert (rates["verify"].counted, rates["verify"].on_time) == (2, 1)
    assert rates["accept"].counted == 2 and rates["accept"].on_time == 2  # evaluated within 15 minutes
    # 待立案 since minute 20 and 45: the first has run past its 15 minutes, the second is still within them
    assert (rates["dispatch"].counted, rates["dispatch"].on_time) == (1, 0)
