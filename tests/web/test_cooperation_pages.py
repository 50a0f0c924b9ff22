"""主办/协办 through the real interfaces (issue 14, point 6): garbage left two days in NC-02 is led by the
sub-district (JD-NC) with sanitation (HWZX) cooperating. Sanitation's task page says it cooperates and who leads;
its submission is its answer, shown on the lead's task page, on the case page and in the API; the shift leader
sees why the case cannot close yet and finds it in 待结案 once the rule allows. The admin chooses whether a
case's points are the lead's alone or shared."""
from __future__ import annotations

import re

from sqlalchemy import select

from engine.accounts.users import create_user
from engine.core.models import AssessmentConfig, Campaign
from tests.helpers import bearer, csrf_from, event, step, upload_photo, user_token, zone_spot

PASSWORD = "Passw0rd!Passw0rd"


def _case(client, patrol_token, drain, spot: int = 0) -> dict:
    """A new case in a residential area of NC-02; a different `spot` keeps it from joining an earlier one."""
    answer = client.post("/api/v1/events", json=event("06011", "NC-02", hour=10, filing_condition="over_2_days",
                                                      location=zone_spot("NC-02", spot)),
                         headers=bearer(patrol_token))
    assert answer.status_code == 202, answer.get_json()
    drain()
    admin = user_token(client, "admin")
    case_id = client.get(f"/api/v1/events/{answer.get_json()['id']}", headers=bearer(admin)).get_json()["case"]["id"]
    return _read(client, case_id)


def _read(client, case_id: int) -> dict:
    return client.get(f"/api/v1/cases/{case_id}",
                      headers={**bearer(user_token(client, "admin")), "Accept-Language": "zh-CN"}).get_json()


def _section(html: str, section: str) -> str:
    found = re.search(rf'<(?:section|p) id="{section}">(.*?)</(?:section|p)>', html, re.S)
    return found.group(1) if found else ""


def _handle(client, token: str, task: dict, comment: str, result: str, photo: bool = True) -> dict:
    """Sign, start and submit with the form's `result` (and the site photo the routine template asks for)."""
    for action in ("sign", "start"):
        task = step(client, token, task, action)
    if photo:
        assert upload_photo(client, token, task["id"]).status_code == 201
    return step(client, token, task, "submit", comment, {"result": result})


def test_the_cooperating_units_answer_reaches_the_lead_and_opens_the_way_to_closing(app, client, session, login,
                                                                                   patrol_token, drain):
    create_user(session, "nanchang-web", "field_unit", PASSWORD, "JD-NC")
    session.commit()
    case = _case(client, patrol_token, drain)
    lead = next(t for t in case["tasks"] if t["unit"]["code"] == "JD-NC")
    helper = next(t for t in case["tasks"] if t["unit"]["code"] == "HWZX")
    assert (lead["role"], helper["role"]) == ("lead", "cooperating")
    assert case["cooperating"] == [{"unit": {"code": "HWZX", "name": "环卫中心"}, "task": helper["id"],
                                    "status": "dispatched", "answered": False, "answer": None, "answered_at": None}]

    login(client, "sanitation")
    own = client.get(f"/tasks/{helper['id']}?lang=zh-CN").get_data(as_text=True)
    role = _section(own, "task-role")
    assert "协办" in role and "主办单位" in role and "南城街道办事处" in role
    assert 'id="cooperating"' not in own  # a cooperating task answers; it is not answered

    nanchang, sanitation = user_token(client, "nanchang-web", PASSWORD), user_token(client, "sanitation")
    lead = step(client, user_token(client, "checker"), _handle(client, nanchang, lead, "已清运", "清运完毕",
                                                                photo=False),
                "pass_check")
    login(client, "shift_leader")
    page = client.get(f"/cases/{case['id']}?lang=zh-CN").get_data(as_text=True)
    assert "协办单位尚未向主办单位反馈：环卫中心" in _section(page, "not-closable") and 'id="close-form"' not in page
    assert "尚未反馈" in _section(page, "cooperating")
    assert f'id="case-{case["id"]}"' not in client.get("/cases?queue=close&lang=zh-CN").get_data(as_text=True)

    _handle(client, sanitation, helper, "已配合清运垃圾约2吨", "调派清运车一辆")
    [answer] = _read(client, case["id"])["cooperating"]
    assert answer["answered"] and answer["status"] == "submitted" and answer["answered_at"]
    assert answer["answer"] == "已配合清运垃圾约2吨；处置情况：调派清运车一辆"

    login(client, "admin")
    lead_page = client.get(f"/tasks/{lead['id']}?lang=zh-CN").get_data(as_text=True)
    shown = _section(lead_page, "cooperating")
    assert "协办单位反馈" in shown and "环卫中心" in shown and "已反馈" in shown and "调派清运车一辆" in shown
    assert "主办" in _section(lead_page, "task-role")
    english = _section(client.get(f"/tasks/{lead['id']}?lang=en").get_data(as_text=True), "cooperating")
    assert "Cooperating units' answers" in english and "Sanitation Centre" in english and "Answered" in english

    login(client, "shift_leader")
    page = client.get(f"/cases/{case['id']}?lang=zh-CN").get_data(as_text=True)
    assert 'id="close-form"' in page and 'id="not-closable"' not in page and "调派清运车一辆" in page
    assert f'id="case-{case["id"]}"' in client.get("/cases?queue=close&lang=zh-CN").get_data(as_text=True)
    closed = client.post(f"/cases/{case['id']}/close", data={"closing_condition": "over_2_days", "comment": "",
                                                         "csrf_token": csrf_from(page)})
    assert closed.status_code == 302, closed.get_data(as_text=True)[-1500:]
    assert _read(client, case["id"])["stage"] == "closed"


def test_the_admin_chooses_shared_points_and_the_next_case_splits_them(app, client, session, login, csrf_on,
                                                                        patrol_token, drain):
    login(client, "admin")
    config = session.scalar(select(AssessmentConfig).join(Campaign).where(Campaign.status == "active"))
    url = f"/admin/assessmentconfig/edit/?id={config.id}"
    form = client.get(f"{url}&lang=zh_Hans_CN").get_data(as_text=True)
    assert "主办/协办案件的分值" in form and "仅计入主办单位" in form and "主办与协办单位均分" in form
    english = client.get(f"{url}&lang=en").get_data(as_text=True)
    assert "the lead unit only" in english and "shared equally by the lead and cooperating units" in english
    assert re.search(r'<option selected value="lead">|<option value="lead" selected>', english)

    lead_only = {t["unit"]["code"]: t["points"] for t in _case(client, patrol_token, drain)["tasks"]}
    assert lead_only == {"JD-NC": 1.0, "HWZX": 0.0}

    data = {"campaign": str(config.campaign_id), "weights": "boxes", "peer_groups": "rows",
            "cooperation_points": "shared", "csrf_token": csrf_from(english)}
    for key, value in (config.weights or {}).items():
        data[f"weights-{key}"] = str(value)
    for index, group in enumerate(sorted(set((config.peer_groups or {}).values()))):
        data[f"peer_groups-{index}-name"] = group
        data[f"peer_groups-{index}-types"] = [k for k, g in config.peer_groups.items() if g == group]
    saved = client.post(f"{url}&lang=en", data=data)
    assert saved.status_code == 302, saved.get_data(as_text=True)[-2000:]
    session.expire_all()
    assert session.get(AssessmentConfig, config.id).cooperation_points == "shared"
    assert "shared equally" in client.get("/admin/assessmentconfig/?lang=en").get_data(as_text=True)

    shared = {t["unit"]["code"]: t["points"] for t in _case(client, patrol_token, drain, spot=5)["tasks"]}
    assert shared == {"JD-NC": 0.5, "HWZX": 0.5}
