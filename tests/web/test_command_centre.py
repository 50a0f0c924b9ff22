"""The command centre's state (issue 17, point 5): its counts per grid and its overdue board by unit and tier equal
counts made by hand over the tasks one by one, with and without each filter; a bad filter is refused in both
languages; field units and collectors are refused, watchers get in with a session or a user token."""
from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from engine.core import clock
from engine.core.models import Category, Event, Grid, Task, TaskStep, Unit
from engine.core.states import TERMINAL, TaskStatus
from engine.people.staff import unit_and_below
from engine.supervision import escalation
from tests.helpers import bearer, event, steps_of, user_token


def reported(client, drain, intake_token, reports: list[tuple[str, str]]) -> list[int]:
    """Events (category, grid) sent and evaluated; their ids."""
    ids = []
    for category, grid in reports:
        answer = client.post("/api/v1/events", json=event(category, grid, hour=23), headers=bearer(intake_token))
        assert answer.status_code == 202, answer.get_json()
        ids.append(answer.get_json()["id"])
    drain()
    return ids


def by_hand(session, now, category: str | None = None, list_kind: str | None = None, unit: str | None = None):
    """Per grid code (open, overdue) and per (unit name, tier) the overdue count, task by task."""
    units = unit_and_below(session, session.scalar(select(Unit.id).where(Unit.code == unit))) if unit else None
    grids: Counter = Counter()
    late: Counter = Counter()
    board: Counter = Counter()
    for task in session.scalars(select(Task)):
        if task.status in TERMINAL:
            continue
        ev = session.get(Event, task.event_id)
        if category and session.get(Category, ev.category_id).code != category:
            continue
        if list_kind == "none" and task.list_kind in ("zero_tolerance", "strict_management"):
            continue
        if list_kind not in (None, "none") and task.list_kind != list_kind:
            continue
        if units is not None and task.unit_id not in units:
            continue
        code = session.get(Grid, ev.grid_id).code if ev.grid_id else None
        grids[code] += 1
        if task.deadline_at < now and task.status != TaskStatus.PARKED:
            late[code] += 1
            tiers = [s.tier_level for s in session.scalars(select(TaskStep).where(
                TaskStep.task_id == task.id, TaskStep.status == "done", TaskStep.tier_level.is_not(None)))]
            board[(session.get(Unit, task.unit_id).name_zh, max(tiers, default=0))] += 1
    return grids, late, board


def as_counted(state):
    grids = Counter({g["code"]: g["open"] for g in state["grids"] if g["open"]})
    late = Counter({g["code"]: g["overdue"] for g in state["grids"] if g["overdue"]})
    board = Counter({(r["unit"], int(level)): n for r in state["board"]["rows"] for level, n in r["counts"].items()
                     if n})
    return grids, late, board


def test_the_counts_equal_hand_counts_with_and_without_filters(client, factory, drain, intake_token, login):
    reported(client, drain, intake_token, [("06029", "DC-01"), ("06029", "DC-02"), ("06029", "XC-01"),
                                           ("06029", "XC-02")])
    with factory() as session:  # one task escalated to a tier: its step run by the poller
        task = session.scalar(select(Task).where(Task.list_kind == "zero_tolerance", Task.status.not_in(TERMINAL))
                              .order_by(Task.id.desc()))
        step = next(s for s in steps_of(session, task.id) if s.tier_level is not None)
        due, task_id = step.due_at, task.id
    for _ in range(100):
        with factory() as session:
            escalation.run_due(session, now=due + timedelta(seconds=1))
            if session.scalar(select(TaskStep.status).where(TaskStep.task_id == task_id,
                                                            TaskStep.position == step.position)) not in (None, "pending"):
                break
    now = due + timedelta(minutes=5)
    clock.set_clock(lambda: now)
    login(client, "dispatcher")
    state = client.get("/command/state").get_json()
    with factory() as session:
        hand = by_hand(session, now)
        assert as_counted(state) == hand
        assert any(level > 0 for _, level in hand[2]), "the escalated task is on a tier's column"
        unit = session.get(Task, task_id).unit.name_zh
    assert state["totals"]["overdue"] == sum(hand[1].values()) > 0
    assert state["updated_at"] == now.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%H:%M:%S")  # local, not UTC
    row = next(r for r in state["board"]["rows"] if r["unit"] == unit)
    assert sum(n for level, n in row["counts"].items() if level != "0") >= 1
    for filters in ({"category": "06029"}, {"list": "zero_tolerance"}, {"list": "none"}, {"unit": "JD-DC"},
                    {"category": "06029", "list": "strict_management", "unit": "JD-XC"}):
        state = client.get("/command/state", query_string=filters).get_json()
        with factory() as session:
            assert as_counted(state) == by_hand(session, now, filters.get("category"), filters.get("list"),
                                                filters.get("unit")), filters
    names = {r["unit"] for r in client.get("/command/state?unit=JD-DC").get_json()["board"]["rows"]}
    assert names and all("东城" in n for n in names)  # names, not codes


def test_a_bad_filter_is_refused_next_to_its_name_in_both_languages(client, login):
    login(client, "supervisor")
    answer = client.get("/command/state?category=99999&list=weird&unit=NOPE")
    assert answer.status_code == 422
    fields = {e["field"]: e["message"] for e in answer.get_json()["errors"]}
    assert set(fields) == {"category", "list", "unit"} and "类别" in fields["category"]
    english = client.get("/command/state?list=weird", headers={"Accept-Language": "en"}).get_json()
    assert english["errors"][0]["message"].startswith("The list must be")


def test_who_may_watch(client, login):
    for username, status in (("dongcheng", 403), ("collector", 403), ("auditor", 200), ("shift_leader", 200)):
        client.post("/logout")
        login(client, username)
        assert client.get("/command").status_code == status, username
        assert client.get("/command/state").status_code == status, username
    assert client.get("/api/v1/command-centre", headers=bearer(user_token(client, "dongcheng"))).status_code == 403
    answer = client.get("/api/v1/command-centre?list=zero_tolerance",
                        headers=bearer(user_token(client, "assessor")))
    assert answer.status_code == 200 and {"grids", "board", "hotspots", "points", "on_duty"} <= set(answer.get_json())


def test_the_page_draws_every_grid_with_its_boundary(client, login, session):
    login(client, "admin")
    page = client.get("/command").get_data(as_text=True)
    assert 'id="command-map"' in page and "command-centre.js" in page
    for code in session.scalars(select(Grid.code).where(Grid.boundary.is_not(None))):
        assert f'"code": "{code}"' in page or f'&#34;code&#34;: &#34;{code}&#34;' in page


def test_hotspots_points_in_cells_and_people_on_duty(client, login, session, drain, intake_token):
    from engine.core.models import Case, InspectionPoint, Person, Shift

    now = clock.now()
    event_id = reported(client, drain, intake_token, [("06029", "DC-01")])[0]
    spot = session.get(Case, session.scalar(select(Event.case_id).where(Event.id == event_id)))
    spot.report_count, spot.lat, spot.lon = 99, 35.0261, 110.9921
    point = session.scalar(select(InspectionPoint).order_by(InspectionPoint.id))
    session.add_all([InspectionPoint(code=f"BULK-{i}", name=f"批量点位 {i}", type_id=point.type_id, place={
        "type": "Point", "coordinates": [110.99 + (i % 20) * 0.001, 35.02 + (i // 20) * 0.001]},
        unit_id=point.unit_id, updated_at=now) for i in range(240)])
    person = session.scalar(select(Person).where(Person.active.is_(True)).order_by(Person.id))
    duty = Shift(unit_id=person.unit_id, person_id=person.id, starts_at=now - timedelta(hours=1),
                 ends_at=now + timedelta(hours=2), kind="day")
    session.add(duty)
    session.commit()
    login(client, "supervisor")
    state = client.get("/command/state").get_json()
    top = state["hotspots"][0]
    assert top["case_id"] == spot.id and top["reports"] == 99 and top["category"] == spot.category.name_zh
    points = state["points"]
    total = session.scalar(select(func.count()).select_from(InspectionPoint).where(InspectionPoint.active.is_(True)))
    assert points["clustered"] and sum(c["count"] for c in points["items"]) == total == sum(points["counts"].values())
    closer = client.get("/command/state?zoom=18").get_json()["points"]
    assert len(closer["items"]) > len(points["items"])  # zoomed in: smaller cells, more of them
    until = duty.ends_at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%m-%d %H:%M")
    shown = [p for p in state["on_duty"] if p["name"] == person.name and p["until"] == until]
    assert shown and shown[0]["unit"] == person.unit.name_zh  # the local end of the shift, the unit's name


def test_each_grid_names_its_people_phones_whole_only_for_roles_that_call_and_the_area_list_is_on_the_page(
        client, login):
    """Seed 004: the 责任区域清单 is on the command platform (智慧城管指挥平台统一指挥管理)."""
    login(client, "dispatcher")
    grid = next(g for g in client.get("/command/state").get_json()["grids"] if g["code"] == "DC-01")
    assert [(p["name"], p["duty"], p["phone"]) for p in grid["people"]] == [("张伟", "责任人", "13900000024"),
                                                                           ("吴敏", "监督员", "13900000006")]
    page = client.get("/command?lang=en").get_data(as_text=True)
    assert "Responsibility areas (责任区域清单)" in page
    row = page[page.find('data-area="ST-DC-03"'):][:400]
    assert "Street · Heping Road" in row and "Dongcheng Sub-district Office" in row and "吕芳 (Responsible" in row
    client.post("/logout")
    login(client, "auditor")
    grid = next(g for g in client.get("/command/state").get_json()["grids"] if g["code"] == "DC-01")
    assert grid["people"][0]["phone"] == "139****0024" and grid["people"][0]["name"] == "张伟"
    page = client.get("/command?lang=zh").get_data(as_text=True)
    row = page[page.find('data-area="CP-001"'):][:400]
    assert "测评点位 · 人民路（解放路口至和平路口）" in row and "何平 (责任人, 大队长, 139****" in row


def test_the_area_list_filters_by_unit_name_and_downloads_as_a_csv_excel_reads(client, login):
    """Seed 004's 责任区域清单 per unit: the picker names units, the CSV has names (no codes), a BOM and the local time."""
    from datetime import datetime

    clock.set_clock(lambda: datetime(2026, 12, 9, 2, 30, tzinfo=ZoneInfo("UTC")))
    login(client, "dispatcher")
    page = client.get("/command?lang=zh&area_unit=JD-DC").get_data(as_text=True)
    assert '<option value="JD-DC" selected>东城街道办事处</option>' in page
    listed = page[page.find('id="area-list"'):]
    assert 'data-area="ST-DC-03"' in listed and 'data-area="XC-01"' not in listed
    assert all("东城街道办事处" in row.split("</td>")[1] for row in listed.split('<tr data-area=')[1:])

    answer = client.get("/command/areas.csv?lang=zh&area_unit=JD-DC")
    assert answer.status_code == 200 and answer.content_type.startswith("text/csv")
    assert "filename*=UTF-8''" in answer.headers["Content-Disposition"]
    assert "2026-12-09_10-30.csv" in answer.headers["Content-Disposition"]  # the campaign's local time
    body = answer.get_data()
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][:4] == ["类型", "区域", "单位", "责任人"]
    assert ["道路", "和平路", "东城街道办事处", "吕芳"] == next(r for r in rows if r[1] == "和平路")[:4]
    assert all(r[2] == "东城街道办事处" for r in rows[1:]) and "JD-DC" not in body.decode() and "ST-DC" not in body.decode()
    assert client.get("/command/areas.csv?area_unit=NOPE").status_code == 422

    client.post("/logout")
    login(client, "auditor")
    rows = list(csv.reader(io.StringIO(client.get("/command/areas.csv?lang=en").get_data().decode("utf-8-sig"))))
    assert rows[0][:3] == ["Kind", "Area", "Unit"] and any(r[1] == "Heping Road" for r in rows)
    assert any("****" in r[5] for r in rows[1:]) and not any(r[5].isdecimal() for r in rows[1:])  # phones masked
    client.post("/logout")
    login(client, "dongcheng")
    assert client.get("/command/areas.csv").status_code == 403
