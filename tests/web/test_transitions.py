"""POST /api/v1/tasks/<id>/transitions through Flask's test client: the lifecycle, refusals as
problem details in the caller's language, unit scope, and optimistic locking across threads."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from engine.core.models import TaskTransition, User
from tests.helpers import RESULT, bearer, move, new_api_task, step, upload_photo, user_token


def transitions_of(session, task_id: int) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(TaskTransition).where(TaskTransition.task_id == task_id))


def test_the_happy_path_through_the_api_with_rework(client, intake_token, drain, session):
    task = new_api_task(client, intake_token, drain)
    assert (task["status"], task["version"], task["rework_count"], task["extension_count"]) == ("dispatched", 1, 0, 0)
    unit, checker = user_token(client, "dongcheng"), user_token(client, "checker")
    for token, action, comment in [(unit, "sign", None), (unit, "start", None), (unit, "submit", "已清理"),
                                   (checker, "fail_check", "现场仍有烤炉"), (unit, "start", None),
                                   (unit, "submit", "已没收"), (checker, "pass_check", "合格")]:
        task = step(client, token, task, action, comment)
    assert (task["status"], task["version"], task["rework_count"]) == ("closed", 8, 1)
    ids = {u.username: u.id for u in session.scalars(select(User).where(User.username.in_(["dongcheng", "checker"])))}
    dc, ck = ids["dongcheng"], ids["checker"]
    assert [(t["from"], t["to"], t["action"], t["actor"]) for t in task["transitions"]] == [
        (None, "dispatched", "dispatch", None), ("dispatched", "signed", "sign", dc), ("signed", "handling", "start", dc),
        ("handling", "submitted", "submit", dc), ("submitted", "returned", "fail_check", ck),
        ("returned", "handling", "start", dc), ("handling", "submitted", "submit", dc),
        ("submitted", "closed", "pass_check", ck)]
    assert task["transitions"][4]["comment"] == "现场仍有烤炉"


def test_a_forbidden_transition_is_409_in_the_callers_language_and_writes_nothing(client, intake_token, drain, session):
    task = new_api_task(client, intake_token, drain)
    unit = user_token(client, "dongcheng")
    before = transitions_of(session, task["id"])
    zh = move(client, unit, task["id"], "submit", 1, lang="zh-CN,zh;q=0.9")
    assert zh.status_code == 409 and zh.mimetype == "application/problem+json"
    assert "待签收" in zh.get_json()["detail"] and zh.get_json()["task"] == {"id": task["id"], "status": "dispatched", "version": 1}
    en = move(client, unit, task["id"], "submit", 1, lang="en")
    assert en.status_code == 409 and "not allowed" in en.get_json()["detail"]
    assert transitions_of(session, task["id"]) == before
    unknown = move(client, unit, task["id"], "teleport", 1)
    assert unknown.status_code == 422 and unknown.get_json()["errors"][0]["field"] == "action"
    no_version = client.post(f"/api/v1/tasks/{task['id']}/transitions", json={"action": "sign"}, headers=bearer(unit))
    assert no_version.status_code == 422 and no_version.get_json()["errors"][0]["field"] == "version"
    no_reason = move(client, unit, task["id"], "send_back", 1, lang="zh-CN")
    assert no_reason.status_code == 422 and "理由" in no_reason.get_json()["errors"][0]["message"]
    assert transitions_of(session, task["id"]) == before


def test_a_field_unit_acting_on_another_units_task_gets_404(client, intake_token, drain):
    task = new_api_task(client, intake_token, drain, grid="XC-01", unit="JD-XC")
    response = move(client, user_token(client, "dongcheng"), task["id"], "sign", 1)
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    assert move(client, user_token(client, "dongcheng"), 999_999_999, "sign", 1).status_code == 404
    assert step(client, user_token(client, "xicheng"), task, "sign")["status"] == "signed"


def test_a_role_acting_outside_its_rights_gets_403(client, intake_token, drain):
    task = new_api_task(client, intake_token, drain)
    for username in ("checker", "dispatcher", "supervisor"):
        refused = move(client, user_token(client, username), task["id"], "sign", 1, lang="en")
        assert refused.status_code == 403 and "may not sign" in refused.get_json()["detail"]
    task = step(client, user_token(client, "dongcheng"), task, "sign")
    task = step(client, user_token(client, "dongcheng"), task, "start")
    task = step(client, user_token(client, "dongcheng"), task, "submit")
    assert move(client, user_token(client, "dispatcher"), task["id"], "pass_check", task["version"]).status_code == 403
    assert move(client, user_token(client, "dongcheng"), task["id"], "pass_check", task["version"]).status_code == 403
    assert step(client, user_token(client, "checker"), task, "pass_check")["status"] == "closed"


def test_the_collector_checks_and_the_shift_leader_decides_requests_as_the_checker_and_dispatcher_do(
        client, intake_token, drain):
    """监督员 check work on site (pass or fail); the 值班长 has the dispatcher's rights; neither acts as the unit."""
    unit, collector, leader = (user_token(client, name) for name in ("dongcheng", "collector", "shift_leader"))
    task = new_api_task(client, intake_token, drain)
    for token in (collector, leader):
        assert move(client, token, task["id"], "sign", 1, lang="en").status_code == 403
    task = step(client, unit, task, "sign")
    task = step(client, unit, task, "request_extension", "需协调")
    assert move(client, collector, task["id"], "approve_extension", task["version"]).status_code == 403
    task = step(client, leader, task, "approve_extension")
    assert (task["status"], task["extension_count"]) == ("signed", 1)
    task = step(client, unit, task, "start")
    task = step(client, unit, task, "submit")
    assert move(client, leader, task["id"], "fail_check", task["version"], "不合格").status_code == 403
    task = step(client, collector, task, "fail_check", "现场仍有垃圾")
    assert task["status"] == "returned"
    task = step(client, unit, task, "start")
    task = step(client, unit, task, "submit")
    assert step(client, collector, task, "pass_check")["status"] == "closed"


def test_a_stale_version_is_409_with_the_current_status_and_version(client, intake_token, drain):
    task = new_api_task(client, intake_token, drain)
    unit = user_token(client, "dongcheng")
    step(client, unit, task, "sign")
    stale = move(client, unit, task["id"], "start", task["version"], lang="en")
    assert stale.status_code == 409
    body = stale.get_json()
    assert body["type"].endswith("/version-conflict") and body["status"] == 409
    assert body["task"] == {"id": task["id"], "status": "signed", "version": 2}


def test_extensions_through_the_api_stop_at_two(client, intake_token, drain):
    task = new_api_task(client, intake_token, drain)
    unit, dispatcher = user_token(client, "dongcheng"), user_token(client, "dispatcher")
    task = step(client, unit, task, "sign")
    for n in (1, 2):
        task = step(client, unit, task, "request_extension", "需协调")
        assert task["status"] == "ext_requested"
        task = step(client, dispatcher, task, "approve_extension")
        assert (task["status"], task["extension_count"]) == ("signed", n)
        assert task["transitions"][-1]["data"]["deadline_to"] == task["deadline"]
    third = move(client, unit, task["id"], "request_extension", task["version"], "再延", lang="zh-CN")
    assert third.status_code == 409 and "延期" in third.get_json()["detail"]


@pytest.mark.commits  # two threads, two connections: each must see what the other committed
def test_two_threads_submitting_the_same_version_one_wins(app, intake_token, drain, session):
    setup = app.test_client()
    task = new_api_task(setup, intake_token, drain)
    unit = user_token(setup, "dongcheng")
    task = step(setup, unit, task, "sign")
    task = step(setup, unit, task, "start")
    assert upload_photo(setup, unit, task["id"]).status_code == 201
    barrier, codes = threading.Barrier(2), []

    def submit() -> None:
        client = app.test_client()
        barrier.wait(timeout=10)
        response = move(client, unit, task["id"], "submit", task["version"], "完成", RESULT)
        codes.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(code for code, _ in codes) == [200, 409]
    loser = next(body for code, body in codes if code == 409)
    assert loser["task"]["status"] == "submitted" and loser["task"]["version"] == task["version"] + 1
    session.expire_all()
    submits = session.scalar(select(func.count()).select_from(TaskTransition).where(
        TaskTransition.task_id == task["id"], TaskTransition.action == "submit"))
    assert submits == 1
