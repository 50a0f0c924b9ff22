"""Daily readiness (issue 17 point 2) on a generated checklist: a point's responsible person runs it before the
campaign's readiness time; a failed item becomes a case for the point's unit (source type readiness, no points);
a point not checked by the time is escalated once; a bad score, the wrong person or a second check of the day is
refused in both languages with nothing written. The clock is injected, never the wall clock's hour."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from engine.core import clock
from engine.core.models import Case, Event, Evidence, InspectionPoint, OutboxMessage, ReadinessCheck, Task
from engine.readiness import daily
from engine.readiness.checklists import save_item
from engine.supervision.inspection import Photo
from rules.problems import InputError
from tests.helpers import jpeg, user

SHANGHAI = ZoneInfo("Asia/Shanghai")
MORNING = datetime(2026, 11, 5, 6, 10, tzinfo=SHANGHAI)  # inside the demo's inspection window (November)
LATE = datetime(2026, 11, 5, 6, 41, tzinfo=SHANGHAI)


def generated_checklist(session, kind: str = "back_street", n: int = 3) -> list[str]:
    codes = [f"GEN-{kind[:2].upper()}-{i}" for i in range(1, n + 1)]
    for i, code in enumerate(codes):
        save_item(session, {"type": kind, "code": code, "text": f"生成的检查项 {i + 1}", "method": "现场查看",
                            "max_score": 2 + i, "frequency": "daily", "category_code": "06036", "position": i},
                  replace=True)
    return codes


def point(session, code: str) -> InspectionPoint:
    return session.scalar(select(InspectionPoint).where(InspectionPoint.code == code))


def counts(session) -> tuple[int, ...]:
    return tuple(session.scalar(select(func.count()).select_from(m)) for m in (ReadinessCheck, Event, Case, Evidence))


def test_a_failed_item_becomes_a_case_for_the_points_unit_that_costs_no_points(session, tmp_path):
    codes = generated_checklist(session)
    clock.set_clock(lambda: MORNING)
    street = point(session, "CP-003")
    answers = [daily.Answer(codes[0], True), daily.Answer(codes[1], False, 0, "后巷有暴露垃圾",
                                                          [Photo("g.jpg", jpeg(size=80))]),
               daily.Answer(codes[2], True, 3)]
    check = daily.run_check(session, street, user(session, "xc_point"), answers, tmp_path, 2 ** 20)
    session.flush()
    assert check.failed == 1 and check.day.isoformat() == "2026-11-05"
    failed = next(r for r in check.results if not r["passed"])
    case = session.get(Case, failed["case"])
    assert case.lead_unit.code == "JD-XC" and case.stage == "dispatched"
    [report] = case.reports
    assert report.source_type == "readiness" and "后巷有暴露垃圾" in report.description
    tasks = session.scalars(select(Task).where(Task.case_id == case.id).order_by(Task.id)).all()
    assert [(t.unit.code, t.points) for t in tasks] == [("JD-XC", 0), ("CGJ", 0)], \
        "the department in charge of back streets (城管局) cooperates on the point's case"
    assert len(failed["photos"]) == 1 and session.get(Evidence, failed["photos"][0]).case_id == case.id
    assert [r["score"] for r in check.results] == [2, 0, 3]
    state = daily.today(session, [street])[street.id]
    assert state["state"] == "failed" and state["cases"] == [case.id]


def test_bad_checks_are_refused_in_both_languages_with_nothing_written(session, tmp_path):
    codes = generated_checklist(session)
    clock.set_clock(lambda: MORNING)
    street, person = point(session, "CP-003"), user(session, "xc_point")
    before = counts(session)
    too_high = [daily.Answer(codes[0], True, 9), daily.Answer(codes[1], True), daily.Answer(codes[2], True)]
    with pytest.raises(InputError) as err:
        daily.run_check(session, street, person, too_high, tmp_path, 2 ** 20)
    assert err.value.by_field("zh")[f"item-{codes[0]}"] == ["得分须在 0 至本项满分 2 之间"]
    assert err.value.by_field("en")[f"item-{codes[0]}"] == ["a score from 0 to the item's maximum 2"]
    no_photo = [daily.Answer(codes[0], False), daily.Answer(codes[1], True), daily.Answer(codes[2], True)]
    with pytest.raises(InputError) as err:
        daily.run_check(session, street, person, no_photo, tmp_path, 2 ** 20)
    assert "不合格项须拍照上传" in err.value.by_field("zh")[f"item-{codes[0]}"]
    good = [daily.Answer(c, True) for c in codes]
    with pytest.raises(InputError) as err:
        daily.run_check(session, street, user(session, "dc_point"), good, tmp_path, 2 ** 20)
    assert err.value.by_field("zh")["point"] == ["只有本点位的包点责任人可以进行每日自查"]
    assert err.value.by_field("en")["point"] == ["only the point's responsible person runs its daily check"]
    assert counts(session) == before
    daily.run_check(session, street, person, good, tmp_path, 2 ** 20)
    with pytest.raises(InputError) as err:
        daily.run_check(session, street, person, good, tmp_path, 2 ** 20)
    assert err.value.by_field("zh")["point"] == ["该点位今天已完成自查"]
    assert err.value.by_field("en")["point"] == ["this point was already checked today"]
    assert counts(session)[0] == before[0] + 1
    clock.set_clock(lambda: datetime(2026, 12, 5, 6, 0, tzinfo=SHANGHAI))
    with pytest.raises(InputError) as err:
        daily.run_check(session, street, person, good, tmp_path, 2 ** 20)
    assert err.value.by_field("zh")["point"] == ["每日自查仅在测评期内进行"]



def test_a_fourth_photo_and_a_file_that_is_no_photo_are_named_on_their_item_with_nothing_written(session, tmp_path):
    codes = generated_checklist(session)
    clock.set_clock(lambda: MORNING)
    street, person = point(session, "CP-003"), user(session, "xc_point")
    before = counts(session)
    four = [Photo(f"p{i}.jpg", jpeg(size=80)) for i in range(4)]
    answers = [daily.Answer(codes[0], False, 0, "后巷有暴露垃圾", four),
               daily.Answer(codes[1], False, 0, "", [Photo("scan.jpg", b"not a photo")]), daily.Answer(codes[2], True)]
    with pytest.raises(InputError) as err:
        daily.run_check(session, street, person, answers, tmp_path, 2 ** 20)
    assert err.value.by_field("zh")[f"item-{codes[0]}"] == ["每项最多 3 张照片"]
    assert err.value.by_field("en")[f"item-{codes[0]}"] == ["at most 3 photos per item"]
    [zh] = err.value.by_field("zh")[f"item-{codes[1]}"]
    [en] = err.value.by_field("en")[f"item-{codes[1]}"]
    assert zh.startswith("scan.jpg：") and en.startswith("scan.jpg: ")
    assert counts(session) == before

def test_a_point_not_checked_by_the_readiness_time_is_escalated_once(session, tmp_path):
    codes = generated_checklist(session)
    street, market = point(session, "CP-003"), point(session, "CP-002")
    clock.set_clock(lambda: MORNING)
    daily.run_check(session, street, user(session, "xc_point"), [daily.Answer(c, True) for c in codes], tmp_path,
                    2 ** 20)
    assert daily.run_due(session, MORNING) == 0, "nothing is due before 06:40"
    assert daily.today(session, [market], MORNING)[market.id]["state"] == "pending"
    raised = daily.run_due(session, LATE)
    assert raised == session.scalar(select(func.count()).select_from(InspectionPoint)) - 1
    key = f"readiness:{market.id}:2026-11-05"
    message = session.scalar(select(OutboxMessage).where(OutboxMessage.idempotency_key == key))
    assert message.kind == "readiness_missed" and message.target == f"unit:{market.unit_id}"
    assert "未完成每日自查" in message.payload["message"] and message.payload["chain"]
    assert session.scalar(select(OutboxMessage).where(
        OutboxMessage.idempotency_key == f"readiness:{street.id}:2026-11-05")) is None, "a checked point is not"
    assert daily.run_due(session, LATE + timedelta(minutes=5)) == 0, "raised once a day"
    state = daily.today(session, [market, street], LATE)
    assert state[market.id]["state"] == "missed" and state[market.id]["escalated_at"]
    assert state[street.id]["state"] == "checked" and state[street.id]["escalated_at"] is None


def test_a_window_opening_after_the_readiness_time_escalates_nothing_that_day(session):
    campaign = daily.readiness_campaign(session)
    campaign.inspection_starts_at = datetime(2026, 11, 5, 9, 0, tzinfo=SHANGHAI)
    session.flush()
    assert daily.run_due(session, datetime(2026, 11, 5, 9, 30, tzinfo=SHANGHAI)) == 0
    assert daily.run_due(session, datetime(2026, 11, 6, 6, 41, tzinfo=SHANGHAI)) > 0


def test_a_new_item_never_overwrites_an_item_of_the_same_code(session):
    [code, *_] = generated_checklist(session, n=1)
    with pytest.raises(InputError) as refused:
        save_item(session, {"type": "back_street", "code": code, "text": "另一个检查项", "max_score": 1,
                            "frequency": "daily"})
    assert refused.value.problems[0].where == "code" and "已有编号" in refused.value.problems[0].zh


def test_the_department_in_charge_is_the_one_the_duty_lists_name_for_the_matter_else_the_types_first(session):
    """A main road names 城管局, 公安分局, 交警大队 and 住建局: a hoarding problem there is 住建局's by its duty list;
    a matter no duty row gives to any of them goes to the type's first, 城管局, not to all four."""
    from engine.core.models import Category
    from engine.readiness.findings import departments_in_charge
    road = point(session, "CP-001")
    assert road.type.departments == ["CGJ", "GAFJ", "JJDD", "ZJJ"]
    matter = {c.code: c for c in session.scalars(select(Category).where(Category.code.in_(["08007", "06036"])))}
    assert [u.code for u in departments_in_charge(session, road, matter["08007"], road.grid_id)] == ["ZJJ"]
    assert [u.code for u in departments_in_charge(session, road, matter["06036"], road.grid_id)] == ["CGJ"]


def test_a_findings_points_split_over_its_tasks_add_up_to_what_was_deducted():
    """Under `lead` the lead's task carries all and a department 0; under `shared` equal hundredths, the lead taking
    what they leave (1 point by 3: 0.34, 0.33, 0.33); an unknown rule is the default, `lead`."""
    from decimal import Decimal

    from engine.readiness.findings import share_points
    assert share_points(2, [7, 8], 7, "lead") == {7: Decimal(2), 8: Decimal(0)}
    assert share_points(1, [7, 8], 7, "shared") == {7: Decimal("0.5"), 8: Decimal("0.5")}
    assert share_points(1, [8, 7, 9], 7, "shared") == {7: Decimal("0.34"), 8: Decimal("0.33"), 9: Decimal("0.33")}
    assert share_points(0.1, [7], 7, "shared") == {7: Decimal("0.1")}
    assert share_points(3, [7, 8], 7, "") == {7: Decimal(3), 8: Decimal(0)}
