"""Evidence and submissions through the API: photos checked by content, size and EXIF; the template's
form validated by its runtime WTForms class; every refusal leaves no row and no file behind."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from engine.core.models import Evidence, Task, TaskTemplate, TaskTransition
from tests.helpers import RESULT, bearer, jpeg, move, new_api_task, step, upload_photo, user_token


def evidence_rows(session, task_id: int) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Evidence).where(Evidence.task_id == task_id))


def stored_files(settings, task_id: int) -> set[str]:
    """The files in the task's evidence folder (files outlive a test's rolled-back rows: compare before/after)."""
    folder = settings.evidence.dir / str(task_id)
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


def handling_task(client, intake_token, drain) -> tuple[dict, str]:
    task = new_api_task(client, intake_token, drain)
    unit = user_token(client, "dongcheng")
    task = step(client, unit, task, "sign")
    return step(client, unit, task, "start"), unit


def test_a_submission_missing_a_required_field_or_photo_is_refused_and_writes_nothing(client, intake_token, drain,
                                                                                       session):
    task, unit = handling_task(client, intake_token, drain)
    before = session.scalar(select(func.count()).select_from(TaskTransition).where(TaskTransition.task_id == task["id"]))
    no_photo = move(client, unit, task["id"], "submit", task["version"], data=RESULT, lang="zh-CN")
    assert no_photo.status_code == 422
    assert [e["field"] for e in no_photo.get_json()["errors"]] == ["photos"]
    assert no_photo.get_json()["errors"][0]["message"] == "至少需要一张照片"
    assert upload_photo(client, unit, task["id"]).status_code == 201
    no_result = move(client, unit, task["id"], "submit", task["version"], data={"result": ""}, lang="en")
    assert no_result.status_code == 422
    assert no_result.get_json()["errors"][0]["field"] == "result"
    session.expire_all()
    assert session.get(Task, task["id"]).status == "handling"
    assert session.scalar(select(func.count()).select_from(TaskTransition).where(
        TaskTransition.task_id == task["id"])) == before
    done = move(client, unit, task["id"], "submit", task["version"], data=RESULT)
    assert done.status_code == 200 and done.get_json()["transitions"][-1]["data"]["result"] == "已清理现场"


def test_a_30_mb_upload_and_a_text_file_named_jpg_are_refused_and_nothing_is_kept(client, intake_token, drain,
                                                                                   session, settings):
    task, unit = handling_task(client, intake_token, drain)
    files = stored_files(settings, task["id"])
    huge = upload_photo(client, unit, task["id"], data=b"\xff\xd8\xff" + b"0" * (30 * 2**20), lang="zh-CN")
    assert huge.status_code == 413 and huge.mimetype == "application/problem+json"
    assert huge.get_json()["title"] == "请求过大"
    text = upload_photo(client, unit, task["id"], data=b"just some notes, not a photo\n", name="photo.jpg", lang="en")
    assert text.status_code == 422 and "not a photo" in text.get_json()["errors"][0]["message"]
    html = upload_photo(client, unit, task["id"], data=b"<html><script>alert(1)</script></html>", name="x.jpg")
    assert html.status_code == 422
    assert evidence_rows(session, task["id"]) == 0 and stored_files(settings, task["id"]) == files


def test_another_units_task_takes_no_photos_and_shows_none(client, intake_token, drain, session):
    task = new_api_task(client, intake_token, drain, grid="XC-01", unit="JD-XC")
    step(client, user_token(client, "xicheng"), task, "sign")
    outsider = user_token(client, "dongcheng")
    assert upload_photo(client, outsider, task["id"]).status_code == 404
    assert client.get(f"/api/v1/tasks/{task['id']}/evidence", headers=bearer(outsider)).status_code == 404
    assert evidence_rows(session, task["id"]) == 0


def test_exif_time_and_place_are_checked_against_the_templates_rules(client, intake_token, drain, session, settings):
    task, unit = handling_task(client, intake_token, drain)
    row = session.get(Task, task["id"])
    template = session.get(TaskTemplate, row.template_id)
    event = row.event
    template.evidence_rules = {"taken_after_dispatch": True, "within_metres": 200, "min_after": 1}
    event.lat, event.lon = 35.025, 110.995
    session.commit()
    files = stored_files(settings, task["id"])
    early = upload_photo(client, unit, task["id"], jpeg(taken_at=row.created_at - timedelta(hours=3)), lang="zh-CN")
    assert early.status_code == 422 and "早于任务派遣时间" in early.get_json()["errors"][0]["message"]
    far = upload_photo(client, unit, task["id"], jpeg(taken_at=row.created_at + timedelta(minutes=5),
                                                      gps=(35.035, 110.995)), lang="en")
    assert far.status_code == 422 and "m from the event" in far.get_json()["errors"][0]["message"]
    near = upload_photo(client, unit, task["id"], jpeg(taken_at=row.created_at + timedelta(minutes=5),
                                                       gps=(35.0251, 110.9951)))
    assert near.status_code == 201, near.get_json()
    body = near.get_json()
    assert body["lat"] == pytest_approx(35.0251) and body["taken_at"] is not None
    fetched = client.get(f"/api/v1/evidence/{body['id']}", headers=bearer(unit))
    assert fetched.status_code == 200 and fetched.mimetype == "image/jpeg"
    assert fetched.headers["X-Content-Type-Options"] == "nosniff"
    assert evidence_rows(session, task["id"]) == 1 and len(stored_files(settings, task["id"]) - files) == 1


def pytest_approx(value: float):
    import pytest

    return pytest.approx(value, abs=1e-4)


def test_a_template_with_a_choice_and_a_required_photo_builds_a_form_that_validates(app, session):
    from web.common.taskforms import form_class, validate_data

    template = TaskTemplate(code="stall-check", version=1, name_zh="摊点核查", name_en="Stall check", fields=[
        {"name": "outcome", "type": "choice", "zh": "处置结果", "en": "Outcome", "required": True,
         "options": [{"value": "removed", "zh": "已取缔", "en": "Removed"},
                     {"value": "warned", "zh": "已警告", "en": "Warned"}]},
        {"name": "count", "type": "number", "zh": "摊点数", "en": "Stalls", "min": 0},
        {"name": "scene", "type": "photo", "zh": "现场照片", "en": "Scene", "required": True}])
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        form = form_class(template, "zh")()
        assert [f.name for f in form] == ["outcome", "count"]  # photos arrive as evidence, not as inputs
        assert form.outcome.label.text == "处置结果" and form.outcome.choices[:2] == [("", "请选择…"), ("removed", "已取缔")]
        assert 'name="outcome"' in form.outcome() and "已警告" in form.outcome()
        clean, errors = validate_data(template, {"outcome": "burned", "count": "-1"}, "zh")
        assert set(errors) == {"outcome", "count"}
        clean, errors = validate_data(template, {"outcome": "warned", "count": 3}, "zh")
        assert errors == {} and clean == {"outcome": "warned", "count": 3.0}
