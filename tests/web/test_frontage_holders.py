"""Holders (issue 16, point 5, through HTTP): a report at a holder's address names the holder, and the holder's
history shows it; the unit's notice (告知书) is a step on the task, refused next to its field when wrong; the list of
repeat offenders; a sub-district sees only its own holders."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine.core import clock
from engine.core.models import FrontageHolder
from tests.helpers import bearer, csrf_from, event, user_token

AT_FRONTAGE = {"lat": 35.02505, "lon": 110.9950}  # 5 m from 老王烧烤's frontage on 解放路


def shop(session) -> FrontageHolder:
    return session.scalar(select(FrontageHolder).where(FrontageHolder.code == "MQ-DC-001"))


def report(client, intake_token, drain, category: str = "06029", **where) -> dict:
    """A report at 11:00 yesterday through the API (a barbecue by default), evaluated; the event as an
    administrator reads it."""
    body = event(category, hour=11, **where)
    if "address" in where:
        body.pop("grid")
    answer = client.post("/api/v1/events", json=body, headers=bearer(intake_token))
    assert answer.status_code in (200, 201, 202), answer.get_json()
    drain()
    return client.get(f"/api/v1/events/{answer.get_json()['id']}", headers=bearer(user_token(client, "admin"))).get_json()


def unit_task(client, token: str, event_id: int, unit: str = "JD-DC") -> dict:
    tasks = client.get(f"/api/v1/tasks?event={event_id}", headers=bearer(token)).get_json()["tasks"]
    return next(t for t in tasks if t["unit"]["code"] == unit)


def test_a_report_at_a_holders_address_names_the_holder_and_the_holders_history_shows_it(
        client, intake_token, drain, session):
    found = report(client, intake_token, drain, address="东城区解放路12号")
    holder = shop(session)
    dongcheng = user_token(client, "dongcheng")
    task = unit_task(client, dongcheng, found["id"])
    assert task["frontage_holder"]["name"] == "老王烧烤" and task["frontage_holder"]["code"] == "MQ-DC-001"
    history = client.get(f"/api/v1/frontage-holders/{holder.id}", headers=bearer(dongcheng)).get_json()
    assert found["case"]["id"] in [v["case"] for v in history["violation_history"]]
    assert history["letter"]["signer"] == "王建国" and history["letter"]["in_force"] in (True, False)
    assert [d["key"] for d in history["letter"]["duties"]] == ["appearance", "sanitation", "greenery"]
    case = client.get(f"/api/v1/cases/{found['case']['id']}", headers=bearer(dongcheng)).get_json()
    assert case["frontage_holder"]["id"] == holder.id


def test_a_report_located_at_the_frontage_names_the_holder_too(client, intake_token, drain, session):
    found = report(client, intake_token, drain, location=AT_FRONTAGE)
    task = unit_task(client, user_token(client, "admin"), found["id"])
    assert task["frontage_holder"]["id"] == shop(session).id


def test_the_unit_issues_a_notice_refused_next_to_its_fields_when_wrong(client, intake_token, drain, session):
    found = report(client, intake_token, drain, location=AT_FRONTAGE)
    dongcheng = user_token(client, "dongcheng")
    task = unit_task(client, dongcheng, found["id"])
    url = f"/api/v1/tasks/{task['id']}/holder-notice"
    past = (clock.now() - timedelta(hours=1)).isoformat()
    wrong = client.post(url, json={"duties": ["appearance", "parking"], "rectify_by": past, "text": ""},
                        headers={**bearer(dongcheng), "Accept-Language": "zh"})
    assert wrong.status_code == 422
    errors = {e["field"]: e["message"] for e in wrong.get_json()["errors"]}
    assert set(errors) == {"duties", "rectify_by", "text"} and "parking" in errors["duties"]
    assert "整改期限须晚于当前时间" in errors["rectify_by"]
    rectify = (clock.now() + timedelta(days=2)).astimezone().strftime("%Y-%m-%dT%H:%M")
    done = client.post(url, json={"duties": ["sanitation"], "rectify_by": rectify, "text": "门前油污，请于期限内清理。"},
                       headers=bearer(dongcheng))
    assert done.status_code == 201, done.get_json()
    assert done.get_json()["rectify_by"].endswith("+08:00")  # the campaign's local time
    history = client.get(f"/api/v1/frontage-holders/{shop(session).id}", headers=bearer(dongcheng)).get_json()
    [notice] = [n for n in history["notice_history"] if n["task"] == task["id"]]
    assert notice["duties"][0]["key"] == "sanitation" and notice["text"] == "门前油污，请于期限内清理。"
    detail = client.get(f"/api/v1/tasks/{task['id']}", headers=bearer(dongcheng)).get_json()
    assert [x for x in detail["transitions"] if x["action"] == "holder_notice"]
    xicheng = user_token(client, "xicheng")
    assert client.post(url, json={"duties": ["sanitation"], "rectify_by": rectify, "text": "x"},
                       headers=bearer(xicheng)).status_code == 404  # not its task


def test_the_notice_form_on_the_task_page(client, login, intake_token, drain, session):
    found = report(client, intake_token, drain, location=AT_FRONTAGE)
    task = unit_task(client, user_token(client, "admin"), found["id"])
    login(client, "dongcheng")
    page = client.get(f"/tasks/{task['id']}?lang=zh_Hans_CN").get_data(as_text=True)
    assert 'id="notice-form"' in page and "老王烧烤" in page
    refused = client.post(f"/tasks/{task['id']}/holder-notice", data={
        "csrf_token": csrf_from(page), "duties": ["bogus"], "rectify_by": "", "text": "请整改"})
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert 'id="duties-errors"' in text and 'id="rectify_by-errors"' in text and 'id="text-errors"' not in text
    rectify = (clock.now() + timedelta(days=1)).astimezone().strftime("%Y-%m-%dT%H:%M")
    issued = client.post(f"/tasks/{task['id']}/holder-notice", data={
        "csrf_token": csrf_from(page), "duties": ["appearance", "greenery"], "rectify_by": rectify,
        "text": "请整改门前秩序"}, follow_redirects=True)
    assert issued.status_code == 200
    shown = issued.get_data(as_text=True)
    assert "GZS-" in shown and "老王烧烤" in shown
    holder_page = client.get(f"/holders/{shop(session).id}").get_data(as_text=True)
    assert f'id="violation-{found["case"]["id"]}"' in holder_page and "请整改门前秩序" in holder_page


def test_repeat_offenders_are_listed_and_a_sub_district_sees_its_own_holders(client, intake_token, drain, session):
    report(client, intake_token, drain, location=AT_FRONTAGE)
    report(client, intake_token, drain, "09006", location={"lat": 35.02495, "lon": 110.9948})  # the same frontage
    admin = user_token(client, "admin")
    repeat = client.get("/api/v1/frontage-holders?repeat=1", headers=bearer(admin)).get_json()
    assert "MQ-DC-001" in [h["code"] for h in repeat["holders"]] and repeat["repeat_rule"]["days"] == 90
    assert all(h["repeat_offender"] for h in repeat["holders"])
    xicheng = user_token(client, "xicheng")
    theirs = client.get("/api/v1/frontage-holders", headers=bearer(xicheng)).get_json()["holders"]
    assert {h["code"] for h in theirs} == {"MQ-XC-001"}
    assert client.get(f"/api/v1/frontage-holders/{shop(session).id}", headers=bearer(xicheng)).status_code == 404


def test_the_bulletin_shows_the_sub_districts_frontage_performance(client, login, intake_token, drain):
    from engine.assessment.indicators import period_containing

    report(client, intake_token, drain, location=AT_FRONTAGE)
    login(client, "assessor")
    label = period_containing("month", clock.now(), "Asia/Shanghai").label
    page = client.get(f"/assessment/bulletins/{label}?lang=zh_Hans_CN").get_data(as_text=True)
    assert 'id="frontage"' in page and "门前三包" in page
    table = page[page.index('id="frontage-table"'):]
    row = table[table.index("JD-DC"):table.index("</tr>", table.index("JD-DC"))]
    assert "<td>2</td>" in row  # 东城's two holders, both with letters in force


def test_the_case_page_names_the_holder(client, login, intake_token, drain):
    found = report(client, intake_token, drain, location=AT_FRONTAGE)
    login(client, "shift_leader")
    page = client.get(f"/cases/{found['case']['id']}?lang=zh-CN").get_data(as_text=True)
    holder = page[page.index('id="case-holder"'):]
    assert "老王烧烤" in holder[:400] and "MQ-DC-001" in holder[:400]
