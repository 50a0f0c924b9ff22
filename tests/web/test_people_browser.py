"""The role pages of issue 13 (named people): a unit's leader hands a task to a person on the task page;
the person finds it under 我的任务 on a 360 px phone and sees the chain 责任人 → 中队长 → 大队长 → 分管领导
on the task, with "未指定" for a link nobody holds; the collector's and the shift leader's home pages show
the check and the dispatcher's queues. The browser test keeps its screenshots (CIVICRULES_ARTIFACTS or
the test's tmp folder)."""
from __future__ import annotations

import re

from sqlalchemy import func, select

import random

import pytest

from engine.accounts.users import create_user
from engine.core.models import Person, Task, TaskTransition, Unit
from engine.people.staff import save_person
from tests.helpers import (artifacts, bearer, csrf_from, event, new_api_task, no_sideways_scroll,
                           unique)
from tests.helpers import phone_sign_in as sign_in

CHAIN = ["责任人/队员：张伟", "中队长：施伟", "大队长：何平", "分管领导：王建国"]


def text(html: str) -> str:
    """A page's visible text, roughly: tags dropped and white space folded."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.split("<main>", 1)[-1]))


def section(html: str, element_id: str) -> str:
    match = re.search(rf'<(\w+)[^>]*id="{element_id}"[^>]*>(.*?)</\1>', html, re.S)
    assert match, f"no #{element_id} on the page"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", match.group(2))).strip()


@pytest.fixture()
def newcomer(session) -> Person:
    """A team member of the Dongcheng squad who holds nothing yet, with an account: the suite's other
    tests leave many tasks with the demo's people (every DC-01 task is born 张伟's)."""
    squad = session.scalar(select(Unit).where(Unit.code == "ZD-DC"))
    account = create_user(session, unique("member"), "field_unit", "civicrules-demo", "ZD-DC")
    person = save_person(session, code=unique("P"), name="李新", position="responsible", unit=squad,
                         phone=f"150{random.randrange(10**8):08d}", user=account)
    session.commit()
    return person


def person_id(session, name: str) -> int:
    return session.scalar(select(Person.id).where(Person.name == name))


def transitions(session, task_id: int) -> int:
    return session.scalar(select(func.count()).select_from(TaskTransition).where(TaskTransition.task_id == task_id))


def test_the_leader_assigns_on_the_task_page_and_a_wrong_person_is_named_by_the_select(
        app, client, csrf_on, login, intake_token, drain, session):
    task = new_api_task(client, intake_token, drain, grid="DC-02")
    login(client, "dongcheng")
    page = client.get(f"/tasks/{task['id']}").get_data(as_text=True)
    form = section(page, "assign-form")
    assert "张伟 · 责任人/队员" in form and "施伟 · 中队长" in form and "邹静" not in form
    before = transitions(session, task["id"])
    wrong = client.post(f"/tasks/{task['id']}/assign", data={"person": person_id(session, "邹静"),
                                                             "csrf_token": csrf_from(page)})
    assert wrong.status_code == 422
    errors = section(wrong.get_data(as_text=True), "person-errors")
    assert "邹静属于「西城街道执法中队」" in errors and "不属于任务所属单位" in errors
    session.expire_all()
    assert transitions(session, task["id"]) == before and session.get(Task, task["id"]).assignee.name == "曹阳"
    assert client.post(f"/tasks/{task['id']}/assign", data={"person": person_id(session, "张伟")}).status_code == 400
    done = client.post(f"/tasks/{task['id']}/assign", data={"person": person_id(session, "张伟"), "comment": "熟悉片区",
                                                            "csrf_token": csrf_from(page)}, follow_redirects=True)
    html = done.get_data(as_text=True)
    assert "已指派给 张伟。" in html
    assert "张伟" in section(html, "assignee") and "责任人/队员" in section(html, "assignee")
    chain = section(html, "chain")
    for link in CHAIN:
        assert link in chain, chain
    history = section(html, "history")
    assert "指派给 张伟" in history and "dongcheng" in history and "熟悉片区" in history


def test_a_team_member_gets_no_assignment_form_and_is_refused(client, login, intake_token, drain, session):
    task = new_api_task(client, intake_token, drain, grid="DC-01")  # born assigned to 张伟
    login(client, "zhangwei")
    page = client.get(f"/tasks/{task['id']}").get_data(as_text=True)
    assert 'id="assign-form"' not in page and "张伟" in section(page, "assignee")
    refused = client.post(f"/tasks/{task['id']}/assign", data={"person": person_id(session, "曹阳"),
                                                               "csrf_token": csrf_from(page)}, follow_redirects=True)
    assert "无权指派该任务" in refused.get_data(as_text=True)
    session.expire_all()
    assert session.get(Task, task["id"]).assignee.name == "张伟"


def test_a_link_nobody_holds_reads_not_assigned_in_either_language(client, login, intake_token, drain, session):
    task = new_api_task(client, intake_token, drain, grid="DC-02")
    row = session.get(Task, task["id"])
    row.assignee_id = person_id(session, "吕芳")  # a grid worker of the sub-district: no squad chief above her
    session.commit()
    login(client, "dongcheng")
    chain = section(client.get(f"/tasks/{task['id']}").get_data(as_text=True), "chain")
    assert "责任人/队员：吕芳" in chain and "中队长：未指定" in chain and "大队长：何平" in chain
    english = section(client.get(f"/tasks/{task['id']}?lang=en").get_data(as_text=True), "chain")
    assert "Squad chief: Not assigned" in english and "Responsible officer: 吕芳" in english


def test_my_tasks_is_the_team_members_default_and_a_tab_for_the_leader(app, client, login, intake_token, drain,
                                                                      session, newcomer):
    mine = new_api_task(client, intake_token, drain, grid="DC-01")
    other = new_api_task(client, intake_token, drain, grid="DC-02")  # 曹阳's
    row = session.get(Task, mine["id"])
    row.assignee_id = newcomer.id
    session.commit()
    login(client, newcomer.user.username)
    html = client.get("/tasks").get_data(as_text=True)
    assert 'id="nav-mine"' in html and "<h1>我的任务</h1>" in html
    assert f"/tasks/{mine['id']}\"" in html and f"/tasks/{other['id']}\"" not in html
    assert f"/tasks/{mine['id']}\"" in client.get("/").get_data(as_text=True)  # the home page lists them too
    chief = app.test_client()
    login(chief, "squad_dc")
    everything = chief.get("/tasks").get_data(as_text=True)
    assert "<h1>任务</h1>" in everything and 'id="tab-mine"' in everything
    for task in (mine, other):  # pages of 50: each found by its number among the suite's other tasks
        assert f"/tasks/{task['id']}\"" in chief.get(f"/tasks?q={task['id']}").get_data(as_text=True)
    assert f"/tasks/{mine['id']}\"" not in chief.get("/tasks?mine=1").get_data(as_text=True)
    unit = app.test_client()
    login(unit, "dongcheng")  # a unit's shared account belongs to nobody
    shared = unit.get("/tasks").get_data(as_text=True)
    assert 'id="nav-mine"' not in shared and 'id="tab-mine"' not in shared
    # its whole list, in pages of 50: the task found by its number among the other tasks files before have left
    assert f"/tasks/{other['id']}\"" in unit.get(f"/tasks?q={other['id']}").get_data(as_text=True)


def test_the_collector_and_the_shift_leader_open_on_their_queues(app, login):
    collector = app.test_client()
    login(collector, "collector")
    home = text(collector.get("/").get_data(as_text=True))
    assert "待核查" in home and "待派遣员处理" not in home and "吴敏 (监督员)" in home
    assert collector.get("/check").status_code == 200 and collector.get("/dispatch").status_code == 403
    leader = app.test_client()
    login(leader, "shift_leader")
    home = text(leader.get("/").get_data(as_text=True))
    assert "待派遣员处理" in home and "待核查" not in home and "孙丽 (值班长)" in home
    assert leader.get("/dispatch").status_code == 200 and leader.get("/check").status_code == 403


def test_a_task_assigned_by_the_leader_shows_under_my_tasks_at_360px_with_its_chain(
        live_server, browser, client, intake_token, drain, session, tmp_path, newcomer):
    shots = artifacts(tmp_path, "people")
    event_id = client.post("/api/v1/events", json=event("06029", "DC-04", hour=14),
                           headers=bearer(intake_token)).get_json()["id"]
    drain()
    task = session.scalar(select(Task).where(Task.event_id == event_id, Task.list_kind == "zero_tolerance"))
    assert task.assignee.name == "华杰"  # born with the grid's 责任人

    leader = sign_in(browser, live_server, "squad_dc")  # 施伟, the squad's chief
    leader.goto(f"{live_server}/tasks/{task.id}")
    assert "李新 · 责任人/队员" in leader.locator("#assign-form select").inner_text()
    leader.select_option("#assign-form select[name=person]", value=str(newcomer.id))
    leader.fill("#assign-form textarea[name=comment]", "李新熟悉该片区")
    leader.click("#assign-form button[type=submit]")
    leader.wait_for_load_state()
    assert "已指派给 李新" in leader.locator(".flash").first.inner_text()
    leader.screenshot(path=str(shots / "1-leader-assigned.png"), full_page=True)

    member = sign_in(browser, live_server, newcomer.user.username)
    member.click("#nav-mine")
    member.wait_for_load_state()
    assert member.locator("h1").inner_text() == "我的任务"
    row = member.locator(".task-row", has=member.locator(f"a[href='/tasks/{task.id}']"))
    assert row.count() == 1 and "露天烧烤" in row.inner_text() and "李新" in row.inner_text()
    assert no_sideways_scroll(member)
    member.screenshot(path=str(shots / "2-my-tasks-360.png"), full_page=True)

    row.locator("a").click()
    member.wait_for_load_state()
    chain = [member.locator("#chain li").nth(i).inner_text().strip() for i in range(4)]
    assert chain == ["责任人/队员：李新", *CHAIN[1:]]
    assert "李新" in member.locator("#assignee").inner_text()
    assert "指派给 李新" in member.locator("#history").inner_text()
    assert member.locator("#assign-form").count() == 0
    assert no_sideways_scroll(member)
    member.locator("#people").screenshot(path=str(shots / "3-chain-360.png"))
    member.screenshot(path=str(shots / "4-task-360.png"), full_page=True)

    member.locator("#action-sign button[type=submit]").click()  # his to act on, though the task is the district's
    member.wait_for_load_state()
    assert "已签收" in member.locator("#task-state").inner_text()
    session.expire_all()
    signed = session.get(Task, task.id)
    assert signed.status == "signed" and signed.assignee.name == "李新"
