"""Arrival on site (到达现场, issue 15 point 6): the task's own unit records the instant and its position through
the API; the first-response indicator (dispatch → sign, dispatch → arrival) counts it and the assessment page
shows it; a missing position, a foreign unit or the wrong role get clear errors and nothing is written."""
from __future__ import annotations

from io import BytesIO

from openpyxl import load_workbook
from sqlalchemy import func, select

from engine.assessment.indicators import for_period, period_containing
from engine.core import clock
from engine.core.models import Campaign, Task, TaskTransition, Unit
from tests.helpers import bearer, jpeg, new_api_task, step, upload_photo, user_token

HERE = {"lat": 39.9289, "lon": 116.4162, "accuracy": 12, "source": "device"}


def arrive(client, token: str, task_id: int, body: object, lang: str = "zh"):
    return client.post(f"/api/v1/tasks/{task_id}/arrival", json=body,
                       headers={**bearer(token), "Accept-Language": lang})


def arrivals(session, task_id: int) -> int:
    return session.scalar(select(func.count()).select_from(TaskTransition).where(
        TaskTransition.task_id == task_id, TaskTransition.action == "arrive"))


def first_response(session, demo) -> dict:
    campaign = session.scalar(select(Campaign).where(Campaign.code == demo["campaign"]))
    now = clock.now()
    unit_id = session.scalar(select(Unit.id).where(Unit.code == "JD-DC"))
    indicators = for_period(session, campaign, period_containing("week", now, campaign.timezone), now, [unit_id])
    return indicators[unit_id]


def test_the_unit_records_its_arrival_and_the_first_response_indicator_counts_it(client, intake_token, drain,
                                                                                 session, demo, login):
    before = first_response(session, demo)
    task = new_api_task(client, intake_token, drain)
    dongcheng = user_token(client, "dongcheng")
    step(client, dongcheng, task, "sign")
    response = arrive(client, dongcheng, task["id"], {**HERE, "comment": "已到达现场"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    last = body["transitions"][-1]
    assert last["action"] == "arrive" and last["comment"] == "已到达现场"
    assert last["data"] == {"lat": 39.9289, "lon": 116.4162, "accuracy": 12.0, "source": "device"}
    assert body["status"] == "signed"  # not a move of state
    session.expire_all()
    after = first_response(session, demo)
    # Not yet due in the running week, so not in D (issue 17); signed, so its first response counts.
    assert after.responding == before.responding + 1
    assert after.signed_in_time == before.signed_in_time + 1
    assert after.arrived_in_time == before.arrived_in_time + 1
    rates = after.first_response()
    assert rates["arrival_in_time_rate"] is not None and rates["arrival_median_minutes"] is not None
    login(client, "assessor")
    week = period_containing("week", clock.now(), "Asia/Shanghai").label
    page = client.get(f"/assessment/bulletins/{week}?lang=en").get_data(as_text=True)
    assert "First response" in page and "On-site-within-60-min rate" in page
    chinese = client.get(f"/assessment/bulletins/{week}?lang=zh_Hans_CN").get_data(as_text=True)
    assert "首次响应" in chinese and "60 分钟到场率" in chinese
    sheets = load_workbook(BytesIO(client.get(f"/assessment/bulletins/{week}.xlsx?lang=zh_Hans_CN").data)).sheetnames
    assert "首次响应" in sheets


def test_an_arrival_without_a_position_is_422_naming_the_fields_and_writes_nothing(client, intake_token, drain,
                                                                                  session):
    task = new_api_task(client, intake_token, drain)
    dongcheng = user_token(client, "dongcheng")
    for lang, words in (("en", "latitude"), ("zh", "纬度")):
        response = arrive(client, dongcheng, task["id"], {"source": "device"}, lang)
        assert response.status_code == 422
        errors = {e["field"]: e["message"] for e in response.get_json()["errors"]}
        assert set(errors) == {"lat", "lon"} and words in errors["lat"]
    for bad in ({"lat": 95, "lon": 116}, {"lat": "north", "lon": 116}, {"lat": float("nan"), "lon": 1},
                {**HERE, "source": "guess"}, {**HERE, "accuracy": -3}, {**HERE, "lat": True}):
        assert arrive(client, dongcheng, task["id"], bad).status_code == 422, bad
    exif = arrive(client, dongcheng, task["id"], {"source": "exif"}, "en")
    assert exif.status_code == 422 and "EXIF" in exif.get_json()["errors"][0]["message"]
    assert arrive(client, dongcheng, task["id"], [1, 2]).status_code == 422
    assert client.post(f"/api/v1/tasks/{task['id']}/arrival", data="x", headers=bearer(dongcheng)).status_code == 415
    assert arrivals(session, task["id"]) == 0


def test_only_the_tasks_own_unit_records_an_arrival(client, intake_token, drain, session):
    task = new_api_task(client, intake_token, drain, grid="DC-01")  # assigned to 张伟 of squad ZD-DC
    assert arrive(client, user_token(client, "xicheng"), task["id"], HERE).status_code == 404
    leader = arrive(client, user_token(client, "squad_dc"), task["id"], HERE, "en")
    assert leader.status_code == 403 and "Only the task's own unit" in leader.get_json()["detail"]
    for role in ("admin", "dispatcher", "supervisor"):
        assert arrive(client, user_token(client, role), task["id"], HERE).status_code == 403
    assert arrivals(session, task["id"]) == 0
    assert arrive(client, user_token(client, "zhangwei"), task["id"], HERE).status_code == 201
    session.expire_all()
    assert session.get(Task, task["id"]).status == "dispatched" and arrivals(session, task["id"]) == 1


def test_a_photo_of_the_task_gives_the_position_recorded_as_exif(client, intake_token, drain, session):
    task = new_api_task(client, intake_token, drain)
    dongcheng = user_token(client, "dongcheng")
    step(client, dongcheng, task, "sign")
    assert upload_photo(client, dongcheng, task["id"], jpeg(clock.now(), gps=(39.93, 116.42))).status_code == 201
    response = arrive(client, dongcheng, task["id"], {"source": "exif"})
    assert response.status_code == 201, response.get_json()
    data = response.get_json()["transitions"][-1]["data"]
    assert data["source"] == "exif" and abs(data["lat"] - 39.93) < 1e-3 and abs(data["lon"] - 116.42) < 1e-3
