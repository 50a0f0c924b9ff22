"""The people API (issue 13): the staff register with names, positions and units; each grid's 责任人 and
监督员; who is on duty at a night hour and on a statutory holiday; phone numbers masked by role; and
handing a task to a person, refused for a team member and for a person of another unit."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from engine.core import clock
from engine.core.models import Grid, Holiday, Person, Task, TaskTransition, Unit
from engine.people.roster import WeekPattern, save_week
from tests.helpers import bearer, new_api_task, user_token

ZHANG_WEI_PHONE = "13900000024"  # the demo's 张伟, 责任人 of grid DC-01 in squad ZD-DC
FULL_PHONE_ROLES = ("admin", "dispatcher", "shift_leader", "supervisor")
MASKED_PHONE_ROLES = ("checker", "collector", "assessor", "auditor", "dongcheng")


def staff(client, token: str, query: str = "", lang: str = "zh"):
    return client.get(f"/api/v1/staff{query}", headers={**bearer(token), "Accept-Language": lang})


def by_name(rows: list[dict]) -> dict[str, dict]:
    return {row["name"]: row for row in rows}


def test_staff_carry_name_position_unit_and_account(client):
    admin = user_token(client, "admin")
    people = by_name(staff(client, admin).get_json()["staff"])
    assert len(people) >= 45
    zhang = people["张伟"]
    assert zhang["code"] == "ZDDC-002" and zhang["position"] == "responsible"
    assert zhang["position_name"] == "责任人/队员"
    assert zhang["unit"] == {"code": "ZD-DC", "name": "东城街道执法中队"}
    assert zhang["account"] == "zhangwei" and zhang["active"] is True and zhang["phone"] == ZHANG_WEI_PHONE
    assert people["曹阳"]["account"] is None
    english = by_name(staff(client, admin, lang="en").get_json()["staff"])["张伟"]
    assert english["position_name"] == "Responsible officer"
    assert english["unit"] == {"code": "ZD-DC", "name": "Dongcheng Sub-district Enforcement Squad"}


@pytest.mark.parametrize("username", FULL_PHONE_ROLES)
def test_roles_that_call_people_read_full_phone_numbers(client, username):
    zhang = by_name(staff(client, user_token(client, username)).get_json()["staff"])["张伟"]
    assert zhang["phone"] == ZHANG_WEI_PHONE


@pytest.mark.parametrize("username", MASKED_PHONE_ROLES)
def test_other_roles_read_masked_phone_numbers(client, username):
    rows = staff(client, user_token(client, username)).get_json()["staff"]
    zhang = by_name(rows)["张伟"]
    assert zhang["phone"] == "139****0024"
    assert all("****" in row["phone"] for row in rows)


def test_an_intake_token_reads_neither_the_staff_register_nor_the_roster(client, intake_token):
    """Source tokens go to hotline platforms and camera vendors: people are for signed-in users only."""
    assert staff(client, intake_token).status_code == 403
    assert client.get("/api/v1/roster?unit=JD-DC", headers=bearer(intake_token)).status_code == 403
    assert client.get("/api/v1/staff").status_code == 401


def test_filters_by_unit_and_below_and_by_position(client):
    admin = user_token(client, "admin")
    squad = staff(client, admin, "?unit=ZD-DC").get_json()["staff"]
    assert {p["unit"]["code"] for p in squad} == {"ZD-DC"} and "张伟" in by_name(squad)
    district = staff(client, admin, "?unit=JD-DC").get_json()["staff"]
    assert {p["unit"]["code"] for p in district} == {"JD-DC", "ZD-DC"}
    chiefs = staff(client, admin, "?position=squad_chief").get_json()["staff"]
    assert chiefs and {p["position"] for p in chiefs} == {"squad_chief"} and "施伟" in by_name(chiefs)
    both = staff(client, admin, "?unit=JD-DC&position=squad_chief").get_json()["staff"]
    assert [p["name"] for p in both] == ["施伟", "韩立军"]  # the squad's chief and the squad lead who supervises


def test_unknown_filters_are_named_in_the_callers_language(client):
    admin = user_token(client, "admin")
    response = staff(client, admin, "?unit=NOPE&position=boss", lang="en")
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    fields = {e["field"]: e["message"] for e in response.get_json()["errors"]}
    assert set(fields) == {"unit", "position"} and "unit" in fields["unit"]
    chinese = staff(client, admin, "?unit=NOPE", lang="zh").get_json()["errors"][0]["message"]
    assert "单位" in chinese


def test_a_field_unit_sees_its_own_unit_and_below_only(client):
    squad = user_token(client, "zhangwei")
    units = {p["unit"]["code"] for p in staff(client, squad).get_json()["staff"]}
    assert units == {"ZD-DC"}
    assert staff(client, squad, "?unit=JD-DC").status_code == 422
    district = {p["unit"]["code"] for p in staff(client, user_token(client, "dongcheng")).get_json()["staff"]}
    assert district == {"JD-DC", "ZD-DC"}


def test_grids_carry_their_responsible_person_and_collector(client, intake_token, session):
    grids = {g["code"]: g for g in client.get("/api/v1/grids", headers=bearer(intake_token)).get_json()["grids"]}
    assert len(grids) == 17
    dc01 = grids["DC-01"]
    assert dc01["name"]["zh"] and dc01["unit"] == "JD-DC" and dc01["boundary"]["type"] == "Polygon"
    assert dc01["responsible"]["name"] == "张伟" and dc01["responsible"]["position"] == "responsible"
    assert dc01["responsible"]["position_name"] == "责任人/队员" and dc01["responsible"]["unit"]["code"] == "ZD-DC"
    assert dc01["collector"]["name"] == "吴敏" and dc01["collector"]["position_name"] == "监督员"
    assert all(g["responsible"] and g["collector"] for g in grids.values()), "every demo grid is assigned"
    grid = session.scalar(select(Grid).where(Grid.code == "XC-02"))
    grid.collector_id = None
    session.commit()
    after = {g["code"]: g for g in client.get("/api/v1/grids", headers=bearer(intake_token)).get_json()["grids"]}
    assert after["XC-02"]["collector"] is None and after["XC-02"]["responsible"]["name"] == "喻磊"


# The week of National Day 2026: Monday 28 September to Sunday 4 October; 1 October is a Thursday.
MONDAY = date(2026, 9, 28)


@pytest.fixture()
def national_day_roster(session) -> dict[str, Person]:
    """JD-NC's roster for that week: a day and a night person on weekdays (nobody on Monday's day shift),
    and one person for the whole of the holiday."""
    if session.get(Holiday, date(2026, 10, 1)) is None:
        session.add(Holiday(day=date(2026, 10, 1), kind="holiday", name="国庆节", source="admin"))
        session.flush()
    unit = session.scalar(select(Unit).where(Unit.code == "JD-NC"))
    people = {p.name: p for p in session.scalars(select(Person).where(Person.name.in_(["云峰", "苏畅", "章宇"])))}
    pattern = WeekPattern(unit_id=unit.id, monday=MONDAY, day=[None] + [people["云峰"].id] * 6,
                          night=[people["苏畅"].id] * 7, holiday=people["章宇"].id)
    save_week(session, pattern, "Asia/Shanghai")
    session.commit()
    return people


def roster(client, token: str, query: str, lang: str = "zh"):
    return client.get(f"/api/v1/roster{query}", headers={**bearer(token), "Accept-Language": lang})


def test_the_roster_answers_a_night_hour(client, national_day_roster):
    body = roster(client, user_token(client, "shift_leader"), "?unit=JD-NC&at=2026-09-30T02:00:00%2B08:00").get_json()
    assert body["unit"] == {"code": "JD-NC", "name": "南城街道办事处"} and body["gap"] is False
    assert body["at_local"] == "2026-09-30T02:00:00+08:00" and body["at"] == "2026-09-29T18:00:00+00:00"
    [duty] = body["on_duty"]
    assert duty["name"] == "苏畅" and duty["position"] == "grid_worker" and duty["position_name"] == "网格员"
    assert duty["phone"] == "13900000040"  # the shift leader calls them
    assert duty["shift"] == {"kind": "night", "kind_name": "夜班", "starts_at": "2026-09-29T18:00:00+08:00",
                             "ends_at": "2026-09-30T08:00:00+08:00"}


def test_the_roster_answers_a_statutory_holiday(client, national_day_roster):
    checker = user_token(client, "checker")
    body = roster(client, checker, "?unit=JD-NC&at=2026-10-01T14:30:00%2B08:00", lang="en").get_json()
    [duty] = body["on_duty"]
    assert duty["name"] == "章宇" and duty["position_name"] == "Brigade chief" and duty["phone"] == "139****0038"
    assert duty["shift"]["kind"] == "holiday" and duty["shift"]["kind_name"] == "Holiday (all day)"
    assert duty["shift"]["starts_at"] == "2026-10-01T08:00:00+08:00"
    assert duty["shift"]["ends_at"] == "2026-10-02T08:00:00+08:00"
    night_before = roster(client, checker, "?unit=JD-NC&at=2026-10-01T03:00:00Z").get_json()  # 11:00 local
    assert [d["name"] for d in night_before["on_duty"]] == ["章宇"]
    eve = roster(client, checker, "?unit=JD-NC&at=2026-09-30T19:00:00%2B08:00").get_json()
    assert [d["name"] for d in eve["on_duty"]] == ["苏畅"]


def test_nobody_on_duty_is_a_gap(client, national_day_roster):
    body = roster(client, user_token(client, "admin"), "?unit=JD-NC&at=2026-09-28T10:00:00%2B08:00").get_json()
    assert body["on_duty"] == [] and body["gap"] is True


def test_the_roster_defaults_to_the_injected_now_and_to_the_callers_unit(client, national_day_roster):
    token = user_token(client, "admin")
    clock.set_clock(lambda: datetime(2026, 9, 29, 18, 0, tzinfo=UTC))  # 02:00 on 30 September, local
    body = roster(client, token, "?unit=JD-NC").get_json()
    assert body["at_local"] == "2026-09-30T02:00:00+08:00" and [d["name"] for d in body["on_duty"]] == ["苏畅"]
    assert roster(client, user_token(client, "zhangwei"), "").get_json()["unit"]["code"] == "ZD-DC"


def test_an_unencoded_offset_in_the_query_is_read_as_plus(client, national_day_roster):
    body = roster(client, user_token(client, "admin"), "?unit=JD-NC&at=2026-09-30T02:00:00+08:00").get_json()
    assert body["at_local"] == "2026-09-30T02:00:00+08:00" and [d["name"] for d in body["on_duty"]] == ["苏畅"]


@pytest.mark.parametrize("at", ["yesterday", "2026-09-30T02:00:00", "2026-13-01T02:00:00%2B08:00",
                                "0001-01-01T00:00:00%2B08:00"])
def test_a_bad_time_is_422_in_the_callers_language(client, at):
    token = user_token(client, "admin")
    english = roster(client, token, f"?unit=JD-NC&at={at}", lang="en")
    assert english.status_code == 422 and english.mimetype == "application/problem+json"
    [error] = english.get_json()["errors"]
    assert error["field"] == "at" and "offset" in error["message"]
    chinese = roster(client, token, f"?unit=JD-NC&at={at}").get_json()
    assert chinese["title"] == "输入无效" and "时区" in chinese["errors"][0]["message"]


def test_an_unknown_or_foreign_unit_is_422(client):
    assert roster(client, user_token(client, "admin"), "?unit=NOPE").get_json()["errors"][0]["field"] == "unit"
    foreign = roster(client, user_token(client, "zhangwei"), "?unit=JD-NC&at=2026-09-30T02:00:00Z")
    assert foreign.status_code == 422 and foreign.get_json()["errors"][0]["field"] == "unit"
    assert roster(client, user_token(client, "dispatcher"), "").get_json()["errors"][0]["field"] == "unit"


def assign(client, token: str, task_id: int, person: object, lang: str = "zh", comment: str = ""):
    return client.post(f"/api/v1/tasks/{task_id}/assign", json={"person": person, "comment": comment},
                       headers={**bearer(token), "Accept-Language": lang})


def person_id(session, name: str) -> int:
    return session.scalar(select(Person.id).where(Person.name == name))


def history(session, task_id: int) -> int:
    return session.scalar(select(func.count()).select_from(TaskTransition).where(TaskTransition.task_id == task_id))


def test_a_leader_assigns_and_the_task_shows_its_assignee_and_chain(client, intake_token, drain, session):
    task = new_api_task(client, intake_token, drain, grid="DC-04")
    assert task["assignee"]["name"] == "华杰"  # born assigned to the grid's 责任人
    chief = user_token(client, "squad_dc")
    response = assign(client, chief, task["id"], person_id(session, "张伟"), comment="就近处置")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["assignee"] == {"id": person_id(session, "张伟"), "name": "张伟", "position": "responsible"}
    assert body["status"] == task["status"] and body["version"] == task["version"]  # not a move of state
    assert [(link["position"], link["name"]) for link in body["chain"]] == [
        ("responsible", "张伟"), ("squad_chief", "施伟"), ("brigade_chief", "何平"), ("leader_in_charge", "王建国")]
    assert [link["position_name"] for link in body["chain"]] == ["责任人/队员", "中队长", "大队长", "分管领导"]
    last = body["transitions"][-1]
    assert last["action"] == "assign" and last["data"]["name"] == "张伟" and last["data"]["previous"] == "华杰"
    assert last["comment"] == "就近处置"
    listed = client.get(f"/api/v1/tasks?event={task['event']}", headers=bearer(user_token(client, "admin")))
    assert next(t for t in listed.get_json()["tasks"] if t["id"] == task["id"])["assignee"]["name"] == "张伟"


def test_a_team_member_may_not_assign(client, intake_token, drain, session):
    task = new_api_task(client, intake_token, drain, grid="DC-01")  # 张伟's own grid: he sees the task
    before = history(session, task["id"])
    for lang, words in (("zh", "无权指派"), ("en", "may not assign")):
        response = assign(client, user_token(client, "zhangwei"), task["id"], person_id(session, "曹阳"), lang)
        assert response.status_code == 403 and response.mimetype == "application/problem+json"
        assert words in response.get_json()["detail"]
    assert assign(client, user_token(client, "checker"), task["id"], person_id(session, "曹阳")).status_code == 403
    session.expire_all()
    assert session.get(Task, task["id"]).assignee.name == "张伟" and history(session, task["id"]) == before


def test_a_person_of_another_unit_is_422_naming_the_field(client, intake_token, drain, session):
    task = new_api_task(client, intake_token, drain, grid="DC-02")
    before = history(session, task["id"])
    dongcheng = user_token(client, "dongcheng")
    response = assign(client, dongcheng, task["id"], person_id(session, "邹静"), "en")
    assert response.status_code == 422
    [error] = response.get_json()["errors"]
    assert error["field"] == "person" and "Xicheng" in error["message"] and "邹静" in error["message"]
    chinese = assign(client, dongcheng, task["id"], person_id(session, "邹静")).get_json()["errors"][0]
    assert chinese["field"] == "person" and "不属于" in chinese["message"]
    for bad in (None, "张伟", True, 0, 10**9, 2**40):
        assert assign(client, dongcheng, task["id"], bad).get_json()["errors"][0]["field"] == "person"
    assert client.post(f"/api/v1/tasks/{task['id']}/assign", data="x",
                       headers=bearer(dongcheng)).status_code == 415
    session.expire_all()
    assert session.get(Task, task["id"]).assignee.name == "曹阳" and history(session, task["id"]) == before


def test_a_field_unit_outside_the_task_gets_404(client, intake_token, drain, session):
    task = new_api_task(client, intake_token, drain, grid="DC-02")
    assert assign(client, user_token(client, "xicheng"), task["id"], person_id(session, "邹静")).status_code == 404


def test_the_assignee_sees_and_acts_on_a_task_of_the_unit_above(client, intake_token, drain, session):
    """张伟's account belongs to squad ZD-DC; a task of sub-district JD-DC assigned to him is his to see and sign."""
    task = new_api_task(client, intake_token, drain, grid="DC-03")
    zhangwei = user_token(client, "zhangwei")
    assert client.get(f"/api/v1/tasks/{task['id']}", headers=bearer(zhangwei)).status_code == 404
    assert assign(client, user_token(client, "dongcheng"), task["id"], person_id(session, "张伟")).status_code == 200
    mine = client.get(f"/api/v1/tasks?event={task['event']}", headers=bearer(zhangwei)).get_json()["tasks"]
    assert [t["id"] for t in mine] == [task["id"]]
    detail = client.get(f"/api/v1/tasks/{task['id']}", headers=bearer(zhangwei)).get_json()
    assert detail["assignee"]["name"] == "张伟"
    event = client.get(f"/api/v1/events/{task['event']}", headers=bearer(zhangwei)).get_json()
    assert [t["id"] for t in event["tasks"]] == [task["id"]]
    signed = client.post(f"/api/v1/tasks/{task['id']}/transitions",
                         json={"action": "sign", "version": detail["version"]}, headers=bearer(zhangwei))
    assert signed.status_code == 200, signed.get_json()
    assert signed.get_json()["status"] == "signed"


def test_a_team_member_does_not_see_a_colleagues_task_but_the_squad_chief_does(client, intake_token, drain, session):
    task = new_api_task(client, intake_token, drain, grid="DC-02")  # JD-DC's task, born assigned to 曹阳 of ZD-DC
    assert client.get(f"/api/v1/tasks/{task['id']}", headers=bearer(user_token(client, "zhangwei"))).status_code == 404
    chief = user_token(client, "squad_dc")
    assert client.get(f"/api/v1/tasks/{task['id']}", headers=bearer(chief)).status_code == 200
    listed = client.get(f"/api/v1/tasks?event={task['event']}", headers=bearer(chief)).get_json()["tasks"]
    assert task["id"] in [t["id"] for t in listed]
    outside = assign(client, chief, task["id"], person_id(session, "何平"), "en")  # JD-DC's brigade chief
    assert outside.status_code == 422 and outside.get_json()["errors"][0]["field"] == "person"
    assert assign(client, chief, task["id"], person_id(session, "严斌")).status_code == 200


def test_a_nul_in_a_unit_code_is_an_unknown_unit_not_a_server_error(client):
    """PostgreSQL refuses NUL in text; the fuzz run found it in hand-over fields first."""
    token = user_token(client, "dispatcher")
    assert staff(client, token, "?unit=%00").status_code == 422
    assert client.get("/api/v1/roster?unit=JD%00DC", headers=bearer(token)).status_code == 422
