"""Wording a reader notices: a routine task says why it exists (常规派遣 by the duty lists) under 任务由来 rather than
an empty heading; English lists names with ", " not the Chinese 、; a count of one reads in the singular."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from engine.cases.routing import duty_behind
from engine.core import clock, outbox
from engine.core.models import Campaign, ChecklistItem, Event, InspectionPoint, Task, Unit
from engine.intake.events import accept_event
from engine.readiness.findings import Finding, open_case
from tests.helpers import TASK_SOURCE, event, new_task, unique

pytestmark = pytest.mark.usefixtures("messages_caught_up")  # the digest written here is the inbox's newest


def _after_heading(page: str, heading: str) -> str:
    """What follows the heading, up to the next one, without tags."""
    part = page[page.index(f"<h2>{heading}</h2>") + len(heading) + 9:]
    part = part[:part.find("<h2>")] if "<h2>" in part else part
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", part)).strip()


def test_a_routine_task_says_it_came_from_the_duty_lists(client, login, factory, drain, session):
    with factory() as s:  # by day no campaign list covers 09005: the duty lists dispatch it (tests/engine/test_cases.py)
        event_id = accept_event(s, event("09005", "DC-03", hour=10), TASK_SOURCE)[0].id
        s.commit()
    drain()
    session.expire_all()
    routine = next(t for t in session.get(Event, event_id).tasks if t.unit.code == "JD-DC")
    assert routine.rule_key == "routine"
    duty = duty_behind(session, routine.case.category_id if routine.case else routine.event.category_id,
                       routine.event.grid_id, routine.unit_id)
    assert duty is not None and not routine.firings
    login(client, "dongcheng")
    zh = _after_heading(client.get(f"/tasks/{routine.id}?lang=zh_Hans_CN").get_data(as_text=True), "任务由来")
    assert zh.startswith(f"常规派遣（职责清单）：主办 · {duty.text_zh}")
    en = _after_heading(client.get(f"/tasks/{routine.id}?lang=en").get_data(as_text=True), "Why this task exists")
    assert en.startswith(f"Routine dispatch (duty lists): lead · {duty.text_en or duty.text_zh}")


def test_a_task_a_rule_made_keeps_its_rule_cards_and_no_routine_line(client, login, factory, drain, session):
    task = new_task(factory, drain, session, grid="DC-02", unit="JD-DC")
    ruled = next(t for t in session.get(type(task.event), task.event_id).tasks if t.firings)
    login(client, "dongcheng" if ruled.unit.code == "JD-DC" else "admin")
    page = client.get(f"/tasks/{ruled.id}?lang=zh_Hans_CN").get_data(as_text=True)
    assert "<h2>任务由来</h2>" in page and 'id="task-origin"' not in page and 'class="card"' in page


def test_english_lists_cooperating_units_with_commas(client, login):
    login(client, "dongcheng")
    page = client.get("/plan?lang=en").get_data(as_text=True)
    cooperating = re.search(r"Cooperating: ([^<·]+)", page).group(1).strip()
    assert "、" not in cooperating and ", " in cooperating
    assert "、" in client.get("/plan?lang=zh_Hans_CN").get_data(as_text=True)


def test_one_open_task_reads_in_the_singular(client, login, factory):
    with factory() as session:
        unit_id = session.scalar(select(Unit.id).where(Unit.code == "HWZX"))
        outbox.write(session, [outbox.message("digest:singular-test", "digest", f"unit:{unit_id}",
                                              {"day": "2026-12-01", "open": 1, "overdue": 0, "tasks": []},
                                              clock.now())])
        session.commit()
    login(client, "sanitation")
    english = client.get("/inbox?lang=en").get_data(as_text=True)
    assert "1 open task, 0 overdue" in english and "1 open tasks" not in english
    assert "未办结任务 1 件，其中超期 0 件" in client.get("/inbox?lang=zh_Hans_CN").get_data(as_text=True)
    listing = client.get("/tasks?state=open&lang=en").get_data(as_text=True)
    total = re.search(r'id="task-total">([^<]+)<', listing).group(1)
    assert re.fullmatch(r"1 task, page 1 of 1|\d+ tasks, page \d+ of \d+|0 tasks, page 1 of 1", total), total


def test_an_evaluation_finding_s_task_says_who_found_it(client, login, session):
    campaign = session.scalars(select(Campaign).order_by(Campaign.id)).first()
    item = session.scalars(select(ChecklistItem).order_by(ChecklistItem.id)).first()
    point = session.scalars(select(InspectionPoint).where(InspectionPoint.type_id == item.type_id)
                            .order_by(InspectionPoint.id)).first()
    case = open_case(session, campaign, point, item, Finding("wording-test", "mock_evaluation", unique(), "测试", ""),
                     None, clock.now())
    session.commit()
    task = session.scalar(select(Task).where(Task.case_id == case.id))
    login(client, "admin")
    zh = _after_heading(client.get(f"/tasks/{task.id}?lang=zh_Hans_CN").get_data(as_text=True), "任务由来")
    assert zh.startswith("模拟测评发现的问题，派给测评点位的责任单位办理") and "职责清单" not in zh
    en = _after_heading(client.get(f"/tasks/{task.id}?lang=en").get_data(as_text=True), "Why this task exists")
    assert en.startswith("Found by the mock evaluation; sent to the responsible unit of the inspection point")
