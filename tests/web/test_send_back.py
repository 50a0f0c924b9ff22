"""退单 (issue 14): a unit sends an order back before signing, with grounds from a fixed list and a reason,
on the task page and through the API; bad grounds are named next to the field (or as a 422) and nothing is
written; after signing it is refused; the history and the dispatcher who reroutes read the grounds."""
from __future__ import annotations

import html as markup
import re

from sqlalchemy import func, select

from engine.core.models import Task, TaskTransition
from tests.helpers import bearer, csrf_from, move, new_api_task, step, user_token


def transitions(session, task_id: int) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(TaskTransition).where(TaskTransition.task_id == task_id))


def section(html: str, element_id: str) -> str:
    match = re.search(rf'<(\w+)[^>]*id="{element_id}"[^>]*>(.*?)</\1>', html, re.S)
    assert match, f"no #{element_id} on the page"
    return markup.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", match.group(2))).strip())


def test_the_api_sends_an_order_back_with_its_grounds(client, intake_token, drain):
    task = new_api_task(client, intake_token, drain)
    unit = user_token(client, "dongcheng")
    response = client.post(f"/api/v1/tasks/{task['id']}/transitions", headers=bearer(unit), json={
        "action": "send_back", "version": task["version"], "comment": "该点位属西城街道", "grounds": "outside_area"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "sent_back"
    last = body["transitions"][-1]
    assert (last["action"], last["comment"], last["data"]) == ("send_back", "该点位属西城街道", {"grounds": "outside_area"})
    other = new_api_task(client, intake_token, drain)
    inside = step(client, unit, other, "send_back", "重复派单", {"grounds": "duplicate"})  # grounds inside `data`
    assert inside["transitions"][-1]["data"] == {"grounds": "duplicate"}


def test_the_api_refuses_unknown_grounds_with_422_and_writes_nothing(client, intake_token, drain, session):
    task = new_api_task(client, intake_token, drain)
    unit = user_token(client, "dongcheng")
    before = transitions(session, task["id"])
    for grounds in ("not_my_problem", 7, None):
        refused = client.post(f"/api/v1/tasks/{task['id']}/transitions",
                              headers={**bearer(unit), "Accept-Language": "zh-CN"},
                              json={"action": "send_back", "version": 1, "comment": "不归我们", "grounds": grounds})
        assert refused.status_code == 422, refused.get_json()
        [error] = refused.get_json()["errors"]
        assert error["field"] == "grounds" and "退单依据" in error["message"] and "不在本单位辖区" in error["message"]
    english = move(client, unit, task["id"], "send_back", 1, "not ours", lang="en")
    assert [e["field"] for e in english.get_json()["errors"]] == ["grounds"]
    message = english.get_json()["errors"][0]["message"]  # names, as the page shows them; the codes are in OpenAPI
    assert "not this unit's duty" in message and "not_our_duty" not in message
    assert transitions(session, task["id"]) == before and session.get(Task, task["id"]).version == 1


def test_the_api_refuses_to_send_back_a_signed_order(client, intake_token, drain, session):
    task = new_api_task(client, intake_token, drain)
    unit = user_token(client, "dongcheng")
    task = step(client, unit, task, "sign")
    before = transitions(session, task["id"])
    refused = move(client, unit, task["id"], "send_back", task["version"], "不属于我们", {"grounds": "not_our_duty"},
                   lang="zh-CN")
    assert refused.status_code == 409
    assert "已签收" in refused.get_json()["detail"] and "退单须在签收前提出" in refused.get_json()["detail"]
    assert transitions(session, task["id"]) == before


def test_the_task_page_names_bad_grounds_next_to_the_field_then_sends_back(
        app, client, csrf_on, login, intake_token, drain, session):
    task = new_api_task(client, intake_token, drain)
    login(client, "dongcheng")
    page = client.get(f"/tasks/{task['id']}").get_data(as_text=True)
    form = section(page, "action-send_back")
    assert "退单依据" in form and "不属于本单位职责" in form and "信息不全无法处置" in form
    before = transitions(session, task["id"])
    wrong = client.post(f"/tasks/{task['id']}/send-back", data={
        "grounds": "bored", "comment": "不归我们管", "version": "1", "csrf_token": csrf_from(page)})
    assert wrong.status_code == 422
    html = wrong.get_data(as_text=True)
    assert "须选择退单依据" in section(html, "grounds-errors")
    assert "不归我们管</textarea>" in html  # what was typed comes back
    no_reason = client.post(f"/tasks/{task['id']}/send-back", data={
        "grounds": "duplicate", "comment": " ", "version": "1", "csrf_token": csrf_from(page)})
    assert no_reason.status_code == 422 and "须填写理由" in section(no_reason.get_data(as_text=True), "comment-errors")
    assert transitions(session, task["id"]) == before and session.get(Task, task["id"]).status == "dispatched"
    done = client.post(f"/tasks/{task['id']}/send-back", data={
        "grounds": "outside_area", "comment": "该点位属西城街道", "version": "1", "csrf_token": csrf_from(page)},
        follow_redirects=True)
    html = done.get_data(as_text=True)
    assert "已退单，交回调度员。" in html
    history = section(html, "history")
    assert "退单 → 已退单" in history and "退单依据：不在本单位辖区" in history and "该点位属西城街道" in history
    english = section(client.get(f"/tasks/{task['id']}?lang=en").get_data(as_text=True), "history")
    assert "Grounds: outside this unit's area" in english


def test_a_signed_order_has_no_send_back_form_and_a_late_one_is_refused_in_chinese(
        app, client, login, intake_token, drain, session):
    task = new_api_task(client, intake_token, drain)
    step(client, user_token(client, "dongcheng"), task, "sign")
    login(client, "dongcheng")
    page = client.get(f"/tasks/{task['id']}").get_data(as_text=True)
    assert 'id="action-send_back"' not in page
    before = transitions(session, task["id"])
    late = client.post(f"/tasks/{task['id']}/send-back", data={"grounds": "not_our_duty", "comment": "不归我们",
                                                              "version": "2", "csrf_token": csrf_from(page)},
                       follow_redirects=True)
    assert "退单须在签收前提出" in late.get_data(as_text=True)
    assert transitions(session, task["id"]) == before


def test_the_dispatcher_reads_the_grounds_before_rerouting(app, client, login, intake_token, drain, session):
    task = new_api_task(client, intake_token, drain)
    step(client, user_token(client, "dongcheng"), task, "send_back", "重复派单", {"grounds": "duplicate"})
    login(client, "dispatcher")
    queue = client.get("/dispatch").get_data(as_text=True)
    assert "退单依据：重复派遣 · 重复派单" in section(queue, f"grounds-{task['id']}")
    page = client.get(f"/tasks/{task['id']}").get_data(as_text=True)
    assert "重复派遣" in section(page, "sent-back-grounds") and "东城" in section(page, "sent-back-grounds")
    assert "Grounds: dispatched twice" in section(client.get("/dispatch?lang=en").get_data(as_text=True),
                                                  f"grounds-{task['id']}")
    rerouted = client.post(f"/tasks/{task['id']}/act", data={"action": "reroute", "unit": "JD-XC", "version": "2",
                                                             "comment": "改派西城", "csrf_token": csrf_from(page)},
                           follow_redirects=True)
    assert rerouted.status_code == 200
    session.expire_all()
    assert session.get(Task, task["id"]).unit.code == "JD-XC"
