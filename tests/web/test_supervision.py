"""The supervision board: what escalated to my tier, and urge / order / list publicly answered by the unit."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine.core import clock
from engine.supervision import escalation
from engine.core.models import Event, Supervision, TaskStep
from tests.helpers import bearer, csrf_from, event, steps_of, user_token


def escalated_task(client, factory, drain, intake_token, grid: str, through_position: int) -> int:
    event_id = client.post("/api/v1/events", json=event("06029", grid, hour=23), headers=bearer(intake_token)).get_json()["id"]
    drain()
    with factory() as session:
        task = next(t for t in session.get(Event, event_id).tasks if t.list_kind == "zero_tolerance")
        due, task_id = steps_of(session, task.id)[through_position].due_at, task.id
    for _ in range(100):  # other tests' steps may be due too: run batches until this task's step has run
        with factory() as session:
            escalation.run_due(session, now=due + timedelta(seconds=1))
            done = session.scalar(select(TaskStep.status).where(TaskStep.task_id == task_id,
                                                                 TaskStep.position == through_position))
        if done not in (None, "pending"):  # written once the step before it ran, then run
            break
    return task_id


def board_ids(client, username: str) -> set[int]:
    data = client.get("/api/v1/supervision", headers=bearer(user_token(client, username))).get_json()
    return {t["id"] for t in data["tasks"]}


def test_each_body_sees_what_reached_it(client, factory, drain, intake_token):
    # a sub-district's task: 督办 by the committee's office, then the assessment office; never the bureau's squads
    task_id = escalated_task(client, factory, drain, intake_token, "XC-02", through_position=2)
    assert task_id in board_ids(client, "committee_office")
    assert task_id in board_ids(client, "assessment_office")
    assert not {"squad_lead", "supervisor", "bureau_lead"} & {u for u in ("squad_lead", "supervisor", "bureau_lead")
                                                              if task_id in board_ids(client, u)}
    with factory() as session:
        escalated_at = session.scalar(select(TaskStep.ran_at).where(TaskStep.task_id == task_id, TaskStep.position == 2))
    clock.set_clock(lambda: escalated_at)
    rows = client.get("/api/v1/supervision", headers=bearer(user_token(client, "assessment_office"))).get_json()["tasks"]
    row = next(t for t in rows if t["id"] == task_id)
    assert row["reached_by"] == "escalate" and row["overdue_seconds"] > 0  # 4 h past the 2-hour limit


def test_the_district_leader_s_board_gets_a_sub_district_s_third_rung_and_is_named(client, factory, drain,
                                                                                   intake_token, login):
    task_id = escalated_task(client, factory, drain, intake_token, "XC-02", through_position=3)
    assert task_id in board_ids(client, "district_leader") and task_id not in board_ids(client, "bureau_lead")
    login(client, "district_leader")
    assert "督查看板 · 分管区领导" in client.get("/supervision?lang=zh_Hans_CN").get_data(as_text=True)
    assert "Supervision board · District leader in charge" in client.get("/supervision?lang=en").get_data(as_text=True)


def test_an_order_is_answered_by_the_unit_once(client, factory, drain, intake_token):
    task_id = escalated_task(client, factory, drain, intake_token, "DC-02", through_position=2)
    supervisor = user_token(client, "supervisor")
    missing = client.post(f"/api/v1/tasks/{task_id}/supervisions", headers=bearer(supervisor),
                          json={"kind": "order", "message": "立即处置并回复"})
    assert missing.status_code == 422 and missing.get_json()["errors"][0]["field"] == "reply_within_hours"
    order = client.post(f"/api/v1/tasks/{task_id}/supervisions", headers=bearer(supervisor),
                        json={"kind": "order", "message": "立即处置并回复", "reply_within_hours": 4}).get_json()
    assert order["tier"] == 2 and order["reply_due_at"]
    dongcheng, xicheng = user_token(client, "dongcheng"), user_token(client, "xicheng")
    seen = client.get(f"/api/v1/tasks/{task_id}/supervisions", headers=bearer(dongcheng)).get_json()["supervisions"]
    assert [s["kind"] for s in seen] == ["order"]
    assert client.post(f"/api/v1/supervisions/{order['id']}/reply", headers=bearer(xicheng),
                       json={"reply": "不是我们的"}).status_code == 404
    answered = client.post(f"/api/v1/supervisions/{order['id']}/reply", headers=bearer(dongcheng),
                           json={"reply": "已清理现场"})
    assert answered.status_code == 200 and answered.get_json()["reply"] == "已清理现场"
    again = client.post(f"/api/v1/supervisions/{order['id']}/reply", headers=bearer(dongcheng), json={"reply": "x"})
    assert again.status_code == 422
    board = client.get("/api/v1/supervision", headers=bearer(supervisor)).get_json()["tasks"]
    assert next(t for t in board if t["id"] == task_id)["open_orders"] == 0


def test_a_public_listing_through_the_api_needs_a_reason(client, factory, drain, intake_token):
    task_id = escalated_task(client, factory, drain, intake_token, "NC-01", through_position=1)
    lead = user_token(client, "bureau_lead")
    refused = client.post(f"/api/v1/tasks/{task_id}/supervisions?lang=en", headers=bearer(lead),
                          json={"kind": "list_publicly", "message": ""})
    assert refused.status_code == 422
    [error] = refused.get_json()["errors"]
    assert error["field"] == "message" and "needs a reason" in error["message"]
    listed = client.post(f"/api/v1/tasks/{task_id}/supervisions", headers=bearer(lead),
                         json={"kind": "list_publicly", "message": "媒体曝光，局领导决定挂牌督办"})
    assert listed.status_code == 201 and listed.get_json()["kind"] == "list_publicly"


def test_field_units_have_no_board(client):
    assert client.get("/api/v1/supervision", headers=bearer(user_token(client, "dongcheng"))).status_code == 403


def test_the_board_page_lists_publicly_with_a_reason_and_the_unit_sees_it(app, client, factory, drain, intake_token,
                                                                            login):
    app.config["WTF_CSRF_ENABLED"] = True
    task_id = escalated_task(client, factory, drain, intake_token, "DC-01", through_position=2)  # level 5
    login(client, "assessment_office")
    page = client.get("/supervision", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert f"#{task_id}" in page and "督查" in page
    refused = client.post(f"/supervision/tasks/{task_id}", data={
        "kind": "list_publicly", "message": "", "csrf_token": csrf_from(page)}, follow_redirects=True,
        headers={"Accept-Language": "zh-CN"})
    assert "人工挂牌督办须写明理由" in refused.get_data(as_text=True)
    with factory() as session:
        assert session.scalar(select(Supervision.id).where(Supervision.task_id == task_id,
                                                           Supervision.kind == "list_publicly")) is None
    posted = client.post(f"/supervision/tasks/{task_id}", data={
        "kind": "list_publicly", "message": "挂牌督办：三日内整改到位", "csrf_token": csrf_from(page)})
    assert posted.status_code == 302
    assert "挂牌" in client.get("/supervision").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/").get_data(as_text=True))})
    login(client, "dongcheng")
    task_page = client.get(f"/tasks/{task_id}?lang=zh_Hans_CN").get_data(as_text=True)
    assert "挂牌督办：三日内整改到位" in task_page
    supervision = task_page[task_page.index("<h2>督查</h2>"):]
    assert "<strong>督考办</strong>" in supervision and "<strong>第 5 级" not in supervision  # the body, by name
