"""People (issue 13): the staff register and its import, who answers for a grid, the chain above a task,
tasks born assigned to their grid's 责任人, and the on-call roster at night and on a holiday."""
from __future__ import annotations

import csv
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from engine.audit import changelog
from engine.core import clock
from engine.core.models import ChangeLogEntry, Grid, Holiday, Person, Shift, Street, Task, TaskTransition, Unit, User
from engine.core.tables import read_table
from engine.handling.assignment import AssignmentRefused, assign
from engine.handling import tasks as task_states
from engine.handling.dispatch import dispatch
from engine.people import register
from engine.people.responsibility import assign_grid, chain, grids_missing_people, staff_without_area
from engine.people.roster import WeekPattern, add_shift, gaps, on_duty, save_week, tonight
from engine.people.staff import mask_phone, save_person, shown_phone
from rules.problems import InputError
from tests.engine.test_dispatch import _orders

SHANGHAI = ZoneInfo("Asia/Shanghai")
HEADERS = ["工号", "姓名", "职务", "单位", "电话"]


def _unit(session, code: str) -> Unit:
    return session.scalar(select(Unit).where(Unit.code == code))


def _person(session, code: str) -> Person:
    return session.scalar(select(Person).where(Person.code == code))


def _generated(rows: int) -> list[list[str]]:
    units = ["ZD-DC", "ZD-XC", "ZD-NC", "JD-DC", "HWZX"]
    positions = ["责任人", "队员", "网格员", "中队长", "监督员"]
    return [[f"GEN-{i:04d}", f"队员{i:04d}", positions[i % 5], units[i % 5], f"137{i:08d}"] for i in range(rows)]


def _write_xlsx(path: Path, rows: list[list[str]]) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.append(HEADERS)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def test_an_import_of_500_rows_stores_the_good_ones_names_the_three_bad_and_a_second_run_changes_nothing(
        session, tmp_path):
    rows = _generated(500)
    rows[41][3] = "不存在的单位"  # line 43 of the file: unknown unit
    rows[207][2] = "局长助理"  # line 209: unknown position
    rows[388][4] = "13900000024"  # line 390: the phone of 张伟 (ZD-DC), so the same person in two units
    path = _write_xlsx(tmp_path / "花名册.xlsx", rows)
    before = session.scalar(select(func.count()).select_from(Person))

    first = register.import_staff(session, read_table(path))

    assert (first.created, first.updated, first.unchanged) == (497, 0, 0)
    assert first.bad_rows == [43, 209, 390]
    reasons = {p.row: (p.where, p.zh) for p in first.problems}
    assert reasons[43] == ("unit", "未知的单位「不存在的单位」")
    assert reasons[209][0] == "position" and "局长助理" in reasons[209][1]
    assert reasons[390][0] == "unit" and "张伟" in reasons[390][1] and "两个单位" in reasons[390][1]
    assert session.scalar(select(func.count()).select_from(Person)) == before + 497
    assert _person(session, "GEN-0041") is None and _person(session, "GEN-0042").unit.code == "ZD-NC"

    second = register.import_staff(session, read_table(path))
    assert (second.created, second.updated, second.unchanged) == (0, 0, 497)
    assert second.bad_rows == [43, 209, 390]
    assert session.scalar(select(func.count()).select_from(Person)) == before + 497


def test_a_csv_in_gb18030_moving_a_person_to_another_unit_is_refused_and_a_changed_phone_is_updated(
        session, tmp_path):
    path = tmp_path / "staff.csv"
    with path.open("w", encoding="gb18030", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADERS)
        writer.writerow(["ZDDC-002", "张伟", "责任人", "ZD-XC", "13900000024"])  # 张伟 is in ZD-DC
        writer.writerow(["ZDDC-003", "曹阳", "队员", "东城街道执法中队", "13812345678"])  # unit by its name
        writer.writerow(["X-1", "王五", "队员", "ZD-DC", "13811112222"])
        writer.writerow(["X-1", "王五", "队员", "ZD-XC", "13811112222"])  # the same number in two units
    report = register.import_staff(session, read_table(path))

    assert report.bad_rows == [2, 4, 5]
    assert {p.row: p.where for p in report.problems} == {2: "unit", 4: "unit", 5: "unit"}
    assert _person(session, "ZDDC-002").unit.code == "ZD-DC"
    assert _person(session, "ZDDC-003").phone == "13812345678" and report.updated == 1
    assert _person(session, "X-1") is None


def test_a_file_without_the_needed_columns_is_refused_whole(session, tmp_path):
    path = tmp_path / "staff.csv"
    path.write_text("姓名,电话\n张三,13800000000\n", encoding="utf-8")
    with pytest.raises(InputError) as refused:
        register.import_staff(session, read_table(path))
    assert refused.value.problems[0].where == "file" and "工号" in refused.value.problems[0].zh


def test_a_person_is_in_one_unit_and_a_phone_is_one_person(session):
    with pytest.raises(InputError) as refused:
        save_person(session, code="NEW-1", name="张伟", position="responsible", unit=_unit(session, "ZD-XC"),
                    phone="13900000024")
    assert [p.where for p in refused.value.problems] == ["unit"]
    with pytest.raises(InputError) as refused:
        save_person(session, code="ZDDC-002", name="张伟", position="responsible", unit=_unit(session, "ZD-XC"),
                    phone="13700000001")
    assert [p.where for p in refused.value.problems] == ["code"]
    with pytest.raises(InputError) as refused:
        save_person(session, code="NEW-2", name="", position="chief", unit=None, phone="abc")
    assert sorted(p.where for p in refused.value.problems) == ["name", "phone", "position", "unit"]


def test_phones_are_masked_for_roles_that_do_not_call_people():
    assert mask_phone("13900000024") == "139****0024"
    assert shown_phone("13900000024", "dispatcher") == "13900000024"
    assert shown_phone("13900000024", "auditor") == "139****0024"
    assert shown_phone("13900000024", "field_unit") == "139****0024"


def test_every_demo_grid_has_a_responsible_person_and_a_collector_and_a_new_grid_is_flagged(session):
    assert grids_missing_people(session) == []
    grid = Grid(code="DC-99", name_zh="东城街道第99网格", name_en="Dongcheng grid 99", unit=_unit(session, "JD-DC"))
    session.add(grid)
    session.flush()
    assert [g.code for g in grids_missing_people(session)] == ["DC-99"]
    assign_grid(session, grid, _person(session, "ZDDC-002"), _person(session, "CGJ-006"))
    assert grids_missing_people(session) == []


def test_every_demo_field_worker_has_an_area_and_a_new_one_without_is_flagged_until_given_a_street(session):
    """Seed 004: 每名队员都要有自己的责任区域; leaders answer through the chain and are never flagged."""
    assert staff_without_area(session) == []
    unit = _unit(session, "JD-DC")
    worker = save_person(session, code="DC-099", name="测试网格员", position="grid_worker", unit=unit,
                         phone="13700009901")
    save_person(session, code="DC-098", name="测试领导", position="leader_in_charge", unit=unit, phone="13700009902")
    assert [p.name for p in staff_without_area(session)] == ["测试网格员"]
    session.add(Street(code="ST-DC-99", name_zh="测试路", name_en="Test Road", unit=unit, responsible=worker))
    session.flush()
    assert staff_without_area(session) == []


def test_a_grid_cannot_be_given_to_a_person_of_another_unit_or_a_collector_who_is_not_one(session):
    grid = session.scalar(select(Grid).where(Grid.code == "DC-01"))
    before = (grid.responsible_id, grid.collector_id)
    with pytest.raises(InputError) as refused:
        assign_grid(session, grid, _person(session, "ZDXC-002"), _person(session, "ZDDC-003"))
    problems = {p.where: p.zh for p in refused.value.problems}
    assert "西城街道执法中队" in problems["responsible"] and "不是监督员" in problems["collector"]
    session.refresh(grid)
    assert (grid.responsible_id, grid.collector_id) == before


def test_the_chain_above_a_task_runs_from_the_grid_responsible_to_the_paired_leader(session):
    grid = session.scalar(select(Grid).where(Grid.code == "DC-01"))
    links = chain(session, _unit(session, "JD-DC").id, grid.id)
    assert [(link.label(), link.person.name) for link in links] == [
        ("责任人/队员", "张伟"), ("中队长", "施伟"), ("大队长", "何平"), ("分管领导", "王建国")]
    other = chain(session, _unit(session, "JD-DC").id, grid.id, assignee=_person(session, "ZDDC-004"))
    assert other[0].person.name == "严斌"
    lone = chain(session, _unit(session, "JTJ").id)
    assert lone[0].person is None and lone[3].person.name == "沈军"


def test_tasks_are_born_assigned_to_their_grid_responsible_within_the_task_unit(session):
    ids = dispatch(session, _orders(session), clock.now())
    tasks = {t.unit.code: t for t in session.scalars(select(Task).where(Task.id.in_(ids)))}
    assert tasks["JD-DC"].assignee.name == "张伟"  # DC-01's 责任人, of ZD-DC under JD-DC
    assert tasks["ZD-DC"].assignee.name == "张伟"


def test_a_leader_assigns_a_task_within_the_unit_and_a_team_member_may_not(session):
    task = session.get(Task, dispatch(session, _orders(session), clock.now())[0])
    leader = session.scalar(select(User).where(User.username == "dongcheng"))
    member = session.scalar(select(User).where(User.username == "zhangwei"))
    row = assign(session, task, _person(session, "ZDDC-004"), leader, clock.now(), "就近处置")
    assert task.assignee.name == "严斌" and row.action == "assign" and row.to_status == task.status
    assert row.data == {"person": task.assignee_id, "name": "严斌", "previous": "张伟"}
    with pytest.raises(InputError) as refused:
        assign(session, task, _person(session, "ZDXC-002"), leader, clock.now())
    assert refused.value.problems[0].where == "person" and "西城" in refused.value.problems[0].zh
    with pytest.raises(AssignmentRefused):
        assign(session, task, _person(session, "ZDDC-003"), member, clock.now())
    assert task.assignee.name == "严斌"
    assert session.scalar(select(func.count()).select_from(TaskTransition).where(
        TaskTransition.task_id == task.id, TaskTransition.action == "assign")) == 1


def _week(session, unit_code: str, monday: date, **cells) -> WeekPattern:
    people = [p.id for p in session.scalars(select(Person).where(Person.unit_id == _unit(session, unit_code).id)
                                            .order_by(Person.code))]
    return WeekPattern(unit_id=_unit(session, unit_code).id, monday=monday,
                       day=[people[0]] * 7, night=[people[1]] * 7, **cells)


def test_the_roster_answers_for_a_night_hour_and_for_a_holiday(session):
    session.merge(Holiday(day=date(2026, 10, 1), kind="holiday", name="国庆节"))
    session.flush()
    holiday_person = _person(session, "ZDDC-005")
    save_week(session, _week(session, "ZD-DC", date(2026, 9, 28), holiday=holiday_person.id), "Asia/Shanghai")

    night = datetime(2026, 9, 29, 2, 30, tzinfo=SHANGHAI)  # Tuesday 02:30: Monday's night shift
    assert [(s.person.name, s.kind) for s in on_duty(session, _unit(session, "ZD-DC").id, night)] == [("张伟", "night")]
    day = datetime(2026, 9, 29, 10, 0, tzinfo=SHANGHAI)
    assert [s.person.code for s in on_duty(session, _unit(session, "ZD-DC").id, day)] == ["ZDDC-001"]
    national_day = datetime(2026, 10, 1, 23, 0, tzinfo=SHANGHAI)
    assert [(s.person.name, s.kind) for s in on_duty(session, _unit(session, "ZD-DC").id, national_day)] == [
        ("华杰", "holiday")]
    small_hours = datetime(2026, 10, 2, 7, 59, tzinfo=SHANGHAI)  # still the holiday shift, until 08:00
    assert [s.kind for s in on_duty(session, _unit(session, "ZD-DC").id, small_hours)] == ["holiday"]


def test_saving_a_week_again_replaces_it_and_repeats_for_following_weeks(session):
    unit = _unit(session, "ZD-XC")
    save_week(session, _week(session, "ZD-XC", date(2027, 3, 1), weeks=3), "Asia/Shanghai")
    count = select(func.count()).select_from(Shift).where(Shift.unit_id == unit.id,
                                                           Shift.starts_at >= datetime(2027, 3, 1, tzinfo=SHANGHAI))
    assert session.scalar(count) == 3 * 14
    save_week(session, _week(session, "ZD-XC", date(2027, 3, 1)), "Asia/Shanghai")
    assert session.scalar(count) == 3 * 14  # the first week replaced, the two after it kept
    sunday_night = datetime(2027, 3, 21, 23, 0, tzinfo=SHANGHAI)
    assert len(on_duty(session, unit.id, sunday_night)) == 1


def test_a_week_with_a_person_of_another_unit_or_a_night_before_the_day_writes_nothing(session):
    unit = _unit(session, "ZD-NC")
    pattern = _week(session, "ZD-NC", date(2027, 4, 5))
    pattern.night[3] = _person(session, "ZDDC-002").id
    pattern.night_starts = time(7, 0)
    with pytest.raises(InputError) as refused:
        save_week(session, pattern, "Asia/Shanghai")
    assert sorted(p.where for p in refused.value.problems) == ["night.3", "night_starts"]
    assert session.scalar(select(func.count()).select_from(Shift).where(
        Shift.unit_id == unit.id, Shift.starts_at >= datetime(2027, 4, 5, tzinfo=SHANGHAI))) == 0


def test_a_shift_that_ends_before_it_starts_is_refused(session):
    unit, person = _unit(session, "ZD-DC"), _person(session, "ZDDC-002")
    start = datetime(2027, 5, 1, 20, 0, tzinfo=timezone.utc)
    with pytest.raises(InputError) as refused:
        add_shift(session, unit.id, person, start, start - timedelta(hours=1), "night")
    assert [p.where for p in refused.value.problems] == ["ends_at"]
    with pytest.raises(InputError) as refused:
        add_shift(session, unit.id, _person(session, "ZDXC-002"), start, start + timedelta(hours=12), "night")
    assert [p.where for p in refused.value.problems] == ["person"]


def test_a_gap_in_tonight_is_found_and_closed_by_a_shift(session):
    unit = _unit(session, "JTJ")
    now = datetime(2027, 6, 2, 15, 0, tzinfo=SHANGHAI)
    start, end = tonight(now, "Asia/Shanghai")
    assert (start.astimezone(SHANGHAI).hour, end.astimezone(SHANGHAI).day) == (18, 3)
    assert gaps(session, [unit.id], start, end) == {unit.id: [(start, end)]}
    add_shift(session, unit.id, _person(session, "JTJ-002"), start, start + timedelta(hours=10), "night")
    assert gaps(session, [unit.id], start, end) == {unit.id: [(start + timedelta(hours=10), end)]}
    add_shift(session, unit.id, _person(session, "JTJ-001"), start + timedelta(hours=9), end, "night")
    assert gaps(session, [unit.id], start, end) == {}
    assert tonight(datetime(2027, 6, 3, 3, 0, tzinfo=SHANGHAI), "Asia/Shanghai") == (start, end)


def test_the_change_log_records_staff_edits_with_the_phone_masked(session):
    assert {Person, Street, Shift} <= set(changelog.TRACKED)  # importing the module installs its session hooks
    person = _person(session, "ZDDC-003")
    person.phone = "13712345678"
    session.flush()
    entry = session.scalar(select(ChangeLogEntry).where(ChangeLogEntry.object_type == "Person")
                           .order_by(ChangeLogEntry.id.desc()).limit(1))
    assert entry is not None and entry.after == {"phone": "137****5678"}


def test_a_rerouted_task_leaves_its_person_behind_unless_the_grid_responsible_is_in_the_new_unit(session):
    task = session.get(Task, dispatch(session, _orders(session), clock.now())[0])  # JD-DC, 张伟
    dispatcher = session.scalar(select(User).where(User.username == "dispatcher"))
    task_states.apply(session, task, "reroute", dispatcher, data={"unit": "JD-XC"}, expected_version=task.version)
    assert task.unit.code == "JD-XC" and task.assignee is None


def test_a_person_who_still_holds_work_is_neither_moved_nor_stopped_until_it_is_handed_over(session):
    zhang = _person(session, "ZDDC-002")  # DC-01's 责任人, with shifts ahead in the demo roster
    with pytest.raises(InputError) as refused:
        save_person(session, code=zhang.code, name=zhang.name, position=zhang.position, unit=_unit(session, "HWZX"),
                    phone=zhang.phone, person=zhang)  # his ZD-DC account would be refused too: see below
    assert refused.value.problems[0].where == "unit" and "1 个网格" in refused.value.problems[0].zh
    with pytest.raises(InputError) as stopped:
        save_person(session, code=zhang.code, name=zhang.name, position=zhang.position, unit=zhang.unit,
                    phone=zhang.phone, user=zhang.user, person=zhang, active=False)
    assert stopped.value.problems[0].where == "active"
    session.refresh(zhang)
    assert zhang.unit.code == "ZD-DC" and zhang.active
    newcomer = save_person(session, code="NEW-9", name="王五", position="responsible", unit=_unit(session, "ZD-DC"),
                           phone="137 0000-0009")
    assert newcomer.phone == "13700000009"
    moved = save_person(session, code="NEW-9", name="王五", position="responsible", unit=_unit(session, "ZD-XC"),
                        phone="13700000009", person=newcomer)
    assert moved.unit.code == "ZD-XC"  # nothing held: a transfer is one save


def test_a_phone_written_with_spaces_is_still_one_person(session):
    with pytest.raises(InputError) as refused:
        save_person(session, code="NEW-3", name="赵六", position="responsible", unit=_unit(session, "HWZX"),
                    phone="139 0000 0001")  # 王建国's, of the bureau
    assert [p.where for p in refused.value.problems] == ["unit"] and "王建国" in refused.value.problems[0].zh


def test_an_inactive_person_takes_no_shift(session):
    person = _person(session, "JTJ-002")
    person.active = False
    session.flush()
    start = datetime(2027, 7, 1, 18, 0, tzinfo=SHANGHAI)
    with pytest.raises(InputError) as refused:
        add_shift(session, _unit(session, "JTJ").id, person, start, start + timedelta(hours=14), "night")
    assert "已不在岗" in refused.value.problems[0].zh


def test_an_assignment_read_before_a_reroute_is_refused_after_it(session):
    task = session.get(Task, dispatch(session, _orders(session), clock.now())[0])  # JD-DC
    leader = session.scalar(select(User).where(User.username == "dongcheng"))
    stale = session.get(Task, task.id)
    session.execute(Task.__table__.update().where(Task.id == task.id).values(unit_id=_unit(session, "JD-XC").id))
    with pytest.raises(AssignmentRefused):
        assign(session, stale, _person(session, "ZDDC-004"), leader, clock.now())


def test_a_field_account_links_only_to_a_person_of_its_unit(session):
    xicheng = session.scalar(select(User).where(User.username == "xicheng"))  # JD-XC's account
    with pytest.raises(InputError) as refused:
        save_person(session, code="NEW-4", name="钱七", position="responsible", unit=_unit(session, "ZD-DC"),
                    phone="13700000044", user=xicheng)
    assert [p.where for p in refused.value.problems] == ["user"]
