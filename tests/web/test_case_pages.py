"""The case pages' forms (issue 14): the shift leader closes a checked case against a closing condition from
待结案, a refused close names its field, the queues belong to their roles, and a bad filing condition is shown
next to its field with nothing written."""
from __future__ import annotations

import re

from sqlalchemy import select

from engine.core.models import Case, Event, Task, TaskTransition
from tests.helpers import bearer, csrf_from, event


def section(html: str, element_id: str) -> str:
    match = re.search(rf'<(\w+)[^>]*id="{element_id}"[^>]*>(.*?)</\1>', html, re.S)
    assert match, f"no #{element_id} on the page"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(2))).strip()


def test_the_shift_leader_closes_a_checked_case_from_the_closing_queue(app, client, csrf_on, login, patrol_token,
                                                                       drain, session):
    event_id = client.post("/api/v1/events", json=event("09005", "DC-03", hour=10),
                           headers=bearer(patrol_token)).get_json()["id"]
    drain()
    case = session.get(Event, event_id).case
    [task] = session.get(Event, event_id).tasks
    login(client, "shift_leader")
    page = client.get(f"/cases/{case.id}?lang=zh-CN").get_data(as_text=True)
    assert 'id="close-form"' not in page  # the unit's work has not passed the check yet
    task.status = "closed"
    session.add(TaskTransition(task_id=task.id, from_status="submitted", to_status="closed", action="pass_check",
                               at=task.created_at, comment="", data={}))
    session.commit()
    queue = client.get("/cases?queue=close&lang=zh-CN").get_data(as_text=True)
    assert f'id="case-{case.id}"' in queue and "待结案" in queue
    page = client.get(f"/cases/{case.id}?lang=zh-CN").get_data(as_text=True)
    assert "物品已收回店内" in section(page, "close-form")  # the closing condition's text (结案条件)
    refused = client.post(f"/cases/{case.id}/close?lang=zh-CN", data={"closing_condition": "over_2_days",
                                                                       "csrf_token": csrf_from(page)})
    assert refused.status_code == 422 and "不是本案件类别的结案条件" in section(refused.get_data(as_text=True),
                                                                               "close-form")
    session.expire_all()
    assert session.get(Case, case.id).stage == "dispatched"
    done = client.post(f"/cases/{case.id}/close?lang=zh-CN", data={"closing_condition": "default", "comment": "已整改",
                                                                    "csrf_token": csrf_from(page)},
                       follow_redirects=True)
    html = done.get_data(as_text=True)
    assert "已结案" in section(html, "case-stage") and "物品已收回店内" in section(html, "history")
    assert f'id="case-{case.id}"' not in client.get("/cases?queue=close").get_data(as_text=True)


def test_a_condition_of_another_category_is_named_next_to_the_field(app, client, csrf_on, login, intake_token, drain,
                                                                   session, tmp_path):
    from engine.cases.verification import Photo, verify
    from engine.core.models import User
    from tests.helpers import jpeg
    from zoneinfo import ZoneInfo
    event_id = client.post("/api/v1/events", json=event("09005", "DC-03", hour=10),
                           headers=bearer(intake_token)).get_json()["id"]
    drain()
    case = session.get(Event, event_id).case
    verify(session, case, session.scalar(select(User).where(User.username == "collector")), "confirmed", "", None,
           [Photo("a.jpg", jpeg())], tmp_path, 2**20, ZoneInfo("Asia/Shanghai"), case.opened_at)
    session.commit()
    login(client, "shift_leader")
    page = client.get(f"/cases/{case.id}?lang=zh-CN").get_data(as_text=True)
    refused = client.post(f"/cases/{case.id}/file?lang=zh-CN", data={
        "category": "09005", "filing_condition": "over_2_days", "csrf_token": csrf_from(page)})
    assert refused.status_code == 422
    assert "不是 09005 店外经营 的立案条件" in section(refused.get_data(as_text=True), "file-form")
    session.expire_all()
    assert session.get(Case, case.id).stage == "filing"
    assert session.scalar(select(Task.id).where(Task.case_id == case.id)) is None


def test_the_case_queues_belong_to_their_roles(client, login):
    login(client, "dongcheng")
    assert client.get("/cases").status_code == 403
    login(client, "collector")
    assert client.get("/cases?queue=file").status_code == 404  # the shift leader's queue
    assert client.get("/cases?queue=verify&lang=zh-CN").status_code == 200
