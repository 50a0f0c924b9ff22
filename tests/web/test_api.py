"""The JSON API through Flask's test client: intake, errors as problem details, scoping, reference data."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sqlalchemy import func, select, update

from engine.core.models import Event, Task
from tests.helpers import bearer, event, unique, user_token


def count_events(session, source_event_id: str) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Event).where(Event.source_event_id == source_event_id))


def test_post_event_then_read_its_firings_and_tasks(client, intake_token, drain):
    body = event("06029", "DC-01", hour=23)
    response = client.post("/api/v1/events", json=body, headers=bearer(intake_token))
    assert response.status_code == 202
    assert response.get_json()["status"] == "pending"
    event_id = response.get_json()["id"]
    drain()
    data = client.get(f"/api/v1/events/{event_id}", headers=bearer(intake_token)).get_json()
    assert data["status"] == "evaluated"
    zt = next(f for f in data["firings"] if f["rule"] == "zero_tolerance.zt4")
    assert zt["matched"] == [{"fact": "category", "op": "in", "value": ["06029"], "actual": "06029"}]
    assert zt["ruleset_version"]["number"] >= 1 and len(zt["ruleset_version"]["content_hash"]) == 64
    task = next(t for t in data["tasks"] if t["unit"]["code"] == "JD-DC")
    assert task["limit"] == {"value": 2.0, "unit": "urgent_hours", "text": "2 小时（连续计时）"} and task["list"] == "zero_tolerance"


def test_a_repeat_returns_the_original_event(client, intake_token):
    body = event()
    first = client.post("/api/v1/events", json=body, headers=bearer(intake_token))
    again = client.post("/api/v1/events", json=body, headers=bearer(intake_token))
    assert first.status_code == 202 and again.status_code == 200
    assert again.get_json()["id"] == first.get_json()["id"] and again.get_json()["duplicate"] is True


def test_malformed_json_is_a_problem_and_stores_nothing(client, intake_token, session):
    response = client.post("/api/v1/events", data='{"source_event_id": "x"', content_type="application/json",
                           headers=bearer(intake_token))
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 400


def test_bad_fields_are_named_in_the_users_language_and_nothing_is_stored(client, intake_token, session):
    body = event("99999", "NO-SUCH-GRID")
    body["occurred_at"] = "2026-11-21T23:00:00"
    response = client.post("/api/v1/events", json=body, headers={**bearer(intake_token), "Accept-Language": "zh-CN,zh;q=0.9"})
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    errors = {e["field"]: e["message"] for e in response.get_json()["errors"]}
    assert set(errors) == {"category", "grid", "occurred_at"}
    assert "未知的问题类别" in errors["category"] and "时区" in errors["occurred_at"]
    assert count_events(session, body["source_event_id"]) == 0
    english = client.post("/api/v1/events", json=body, headers={**bearer(intake_token), "Accept-Language": "en"})
    assert "unknown category" in {e["field"]: e["message"] for e in english.get_json()["errors"]}["category"]


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+00:00", "1999-12-31T23:59:59+08:00"])
def test_a_timestamp_before_2000_is_refused_not_failed(client, intake_token, session, when):
    """Found by fuzzing the simulator: year 1 overflowed the 30-day history window inside the engine."""
    body = {**event(), "occurred_at": when}
    response = client.post("/api/v1/events", json=body, headers={**bearer(intake_token), "Accept-Language": "zh-CN"})
    assert response.status_code == 422
    assert {e["field"]: e["message"] for e in response.get_json()["errors"]}["occurred_at"] == "时间早于 2000 年"
    assert count_events(session, body["source_event_id"]) == 0  # the simulator parses events the same way


def test_an_event_given_up_reads_failed_with_its_error(client, intake_token, session):
    event_id = client.post("/api/v1/events", json=event(), headers=bearer(intake_token)).get_json()["id"]
    session.execute(update(Event).where(Event.id == event_id).values(status="failed", last_error="engine crashed"))
    session.commit()
    data = client.get(f"/api/v1/events/{event_id}", headers=bearer(intake_token)).get_json()
    assert (data["status"], data["error"]) == ("failed", "engine crashed")
    schema = client.get("/openapi.json").get_json()["components"]["schemas"]["Event"]
    assert schema["properties"]["status"]["enum"] == ["pending", "evaluated", "failed"]


def test_a_missing_field_is_named(client, intake_token):
    body = event()
    del body["source_event_id"]
    response = client.post("/api/v1/events", json=body, headers=bearer(intake_token))
    assert response.status_code == 422
    assert [e["field"] for e in response.get_json()["errors"]] == ["source_event_id"]


@pytest.mark.parametrize("field, value", [("category", 123), ("source_event_id", ["a"]), ("source_event_id", True),
                                          ("filing_condition", ["A"])])
def test_a_value_of_the_wrong_type_is_named_as_such_not_as_missing(client, intake_token, session, field, value):
    body = {**event(description=f"wrong type {unique()}"), field: value}
    for language, message in (("zh-CN,zh;q=0.9", "须为文本代码"), ("en", "must be a text code")):
        headers = {**bearer(intake_token), "Accept-Language": language}
        response = client.post("/api/v1/events", json=body, headers=headers)
        assert response.status_code == 422 and response.mimetype == "application/problem+json"
        assert {e["field"]: e["message"] for e in response.get_json()["errors"]} == {field: message}
    assert session.scalar(select(func.count()).select_from(Event).where(Event.description == body["description"])) == 0


def test_a_location_resolves_to_its_grid_and_outside_every_grid_waits_for_the_dispatcher(client, intake_token, drain):
    body = event()
    del body["grid"]
    body["location"] = {"lat": 35.025, "lon": 110.995}
    response = client.post("/api/v1/events", json=body, headers=bearer(intake_token))
    assert response.status_code == 202
    data = client.get(f"/api/v1/events/{response.get_json()['id']}", headers=bearer(intake_token)).get_json()
    assert data["grid"] == "DC-01"
    far = dict(body, source_event_id=unique(), location={"lat": 39.9, "lon": 116.4})
    kept = client.post("/api/v1/events", json=far, headers=bearer(intake_token))
    assert kept.status_code == 202  # accepted, never lost: its case waits in 待派遣
    drain()
    data = client.get(f"/api/v1/events/{kept.get_json()['id']}", headers=bearer(intake_token)).get_json()
    assert data["status"] == "evaluated" and data["grid"] is None and data["case"]["stage"] == "awaiting_dispatch"


def test_batch_items_stand_alone(client, intake_token, session):
    good, bad = event(), event(category="nope")
    response = client.post("/api/v1/events/batch", json={"events": [good, bad]}, headers=bearer(intake_token))
    assert response.status_code == 207
    data = response.get_json()
    assert (data["accepted"], data["refused"]) == (1, 1)
    assert data["results"][1]["errors"][0]["field"] == "category"
    assert count_events(session, good["source_event_id"]) == 1
    assert count_events(session, bad["source_event_id"]) == 0


def test_tokens_are_required_and_scoped(client, intake_token, patrol_token):
    assert client.post("/api/v1/events", json=event()).status_code == 401
    assert client.post("/api/v1/events", json=event(), headers=bearer("cri_forged")).status_code == 401
    created = client.post("/api/v1/events", json=event(), headers=bearer(intake_token)).get_json()["id"]
    # another source's intake token cannot read this event, and intake tokens cannot list tasks
    assert client.get(f"/api/v1/events/{created}", headers=bearer(patrol_token)).status_code == 404
    assert client.get("/api/v1/tasks", headers=bearer(intake_token)).status_code == 403
    # a user token cannot post events
    admin = user_token(client, "admin")
    assert client.post("/api/v1/events", json=event(), headers=bearer(admin)).status_code == 403


def test_a_field_unit_sees_only_its_own_units_tasks(client, intake_token, drain):
    dc = client.post("/api/v1/events", json=event("06029", "DC-02", hour=23), headers=bearer(intake_token)).get_json()["id"]
    xc = client.post("/api/v1/events", json=event("06029", "XC-01", hour=23), headers=bearer(intake_token)).get_json()["id"]
    drain()
    dongcheng = user_token(client, "dongcheng")
    tasks = client.get("/api/v1/tasks?limit=200", headers=bearer(dongcheng)).get_json()["tasks"]
    units = {t["unit"]["code"] for t in tasks}
    assert units <= {"JD-DC", "ZD-DC"} and "JD-DC" in units  # its own unit and the squad under it
    admin = user_token(client, "admin")
    xc_task = client.get(f"/api/v1/tasks?event={xc}", headers=bearer(admin)).get_json()["tasks"][0]
    assert xc_task["unit"]["code"] in ("JD-XC", "ZD-XC")
    assert client.get(f"/api/v1/tasks/{xc_task['id']}", headers=bearer(dongcheng)).status_code == 404
    assert client.get(f"/api/v1/events/{xc}", headers=bearer(dongcheng)).status_code == 404
    own = client.get(f"/api/v1/events/{dc}", headers=bearer(dongcheng)).get_json()
    assert own["tasks"] and all(t["unit"]["code"] in ("JD-DC", "ZD-DC") for t in own["tasks"])
    detail = client.get(f"/api/v1/tasks/{own['tasks'][0]['id']}", headers=bearer(dongcheng)).get_json()
    assert detail["firings"] and detail["transitions"][0]["to"] == "dispatched"
    card = client.get(f"/api/v1/tasks/{own['tasks'][0]['id']}", headers={**bearer(dongcheng), "Accept-Language": "en"}
                      ).get_json()["explanation"][0]
    assert card["title"] and card["rule_version"] >= 1
    assert any("Outdoor barbecue (06029)" in line for line in card["conditions"])


def test_wrong_password_gets_no_token(client):
    response = client.post("/api/v1/auth/token", json={"username": "admin", "password": "wrong-password"})
    assert response.status_code == 401 and response.mimetype == "application/problem+json"


def test_reference_data(client, intake_token):
    categories = client.get("/api/v1/categories", headers=bearer(intake_token)).get_json()["categories"]
    barbecue = next(c for c in categories if c["code"] == "06029")
    assert barbecue["name"] == {"zh": "露天烧烤", "en": "Outdoor barbecue"}
    assert barbecue["filing_conditions"][0]["limit"] == {"value": 2.0, "unit": "urgent_hours"}
    units = {u["code"]: u for u in client.get("/api/v1/units", headers=bearer(intake_token)).get_json()["units"]}
    assert units["ZD-DC"]["parent"] == "JD-DC"
    grids = client.get("/api/v1/grids", headers=bearer(intake_token)).get_json()["grids"]
    assert len(grids) == 17 and grids[0]["boundary"]["type"] == "Polygon"
    assert {"code", "name", "unit", "boundary", "responsible", "collector"} <= set(grids[0])  # issue 13 adds people


def test_healthz_checks_database_and_redis(client):
    assert client.get("/healthz").get_json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


def test_login_page_needs_csrf_and_gates_roles(app, client):
    app.config["WTF_CSRF_ENABLED"] = True
    page = client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert "登录" in page.get_data(as_text=True)
    refused = client.post("/login", data={"username": "admin", "password": "civicrules-demo"})
    assert refused.status_code == 400  # no CSRF token
    import re
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    ok = client.post("/login", data={"username": "dongcheng", "password": "civicrules-demo", "csrf_token": token})
    assert ok.status_code == 302
    assert client.get("/tasks").status_code == 200
    assert client.get("/admin/").status_code == 403  # a field unit is not an administrator


def test_the_overdue_filter_lists_late_tasks_but_not_parked_ones(client, intake_token, drain, session, login):
    event_id = client.post("/api/v1/events", json=event("06029", "DC-01", hour=23),
                           headers=bearer(intake_token)).get_json()["id"]
    drain()
    late, parked = session.scalars(select(Task.id).where(Task.event_id == event_id).order_by(Task.id)).all()[:2]
    long_ago = datetime(2001, 1, 1, tzinfo=UTC)
    session.execute(update(Task).where(Task.id.in_([late, parked])).values(deadline_at=long_ago))
    session.execute(update(Task).where(Task.id == parked).values(status="parked"))
    session.commit()
    login(client, "admin")
    page = client.get("/tasks?state=all&overdue=1")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'href="/tasks/{late}"' in html and f'href="/tasks/{parked}"' not in html


def test_unauthenticated_pages_redirect_to_login(client):
    response = client.get("/tasks")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
