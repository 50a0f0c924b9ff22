"""交办 through the API: the committee's item becomes one event, one dispatched case and a task per chosen unit
with the limit it was given; bad input is named per field and leaves nothing written."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from engine.core import clock
from engine.core.models import Case, Event, Task
from tests.helpers import bearer, csrf_from, user_token

NOW = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)  # a Thursday, 10:00 in Yuncheng


def _item(**change) -> dict:
    item = {"title": "清理东城老街积存杂物", "description": "城管委例会督办：老街两侧杂物三日内清理完毕",
            "grid": "DC-01", "lead": "JD-DC", "cooperating": ["HWZX"], "limit": {"value": 2, "unit": "紧急工作时"},
            "address": "东城老街"}
    return item | change


def _counts(session) -> tuple[int, int, int]:
    return tuple(session.scalar(select(func.count()).select_from(model)) for model in (Event, Case, Task))


def test_a_handover_makes_one_event_one_case_and_a_task_per_unit_with_its_limit(client, session, login):
    clock.set_clock(lambda: NOW)
    before = _counts(session)
    answer = client.post("/api/v1/handovers", json=_item(), headers=bearer(user_token(client, "shift_leader")))
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    assert _counts(session) == (before[0] + 1, before[1] + 1, before[2] + 2)
    assert body["stage"] == "dispatched" and body["lead_unit"]["code"] == "JD-DC" and body["report_count"] == 1
    assert [s["to"] for s in body["stages"]] == ["reported", "filed", "dispatched", "dispatched"]
    assert body["stages"][-1]["actor"] is not None and "城管委交办" in body["stages"][-1]["comment"]  # who handed it
    event = session.get(Event, body["event"])
    assert (event.source, event.source_type, event.status, event.case_id) == ("committee", "leader", "evaluated",
                                                                              body["id"])
    assert event.category.code == "L0008" and event.points == 0
    tasks = [session.get(Task, task_id) for task_id in body["task_ids"]]
    assert [t.unit.code for t in tasks] == ["JD-DC", "HWZX"]
    for task in tasks:
        assert (task.limit_value, task.limit_unit, task.points, task.case_id) == (2, "urgent_hours", 0, body["id"])
        assert task.deadline_at == NOW + timedelta(hours=2) and task.rule_key == "handover"

    login(client, "dongcheng")  # the lead unit reads what it was handed, title and description
    page = client.get(f"/tasks/{tasks[0].id}?lang=zh-CN").get_data(as_text=True)
    assert "清理东城老街积存杂物" in page and "老街两侧杂物三日内清理完毕" in page


def test_working_days_and_a_grid_outside_the_leads_area_are_fine(client, session):
    clock.set_clock(lambda: NOW)
    answer = client.post("/api/v1/handovers", headers=bearer(user_token(client, "dispatcher")),
                         json=_item(grid="XC-01", cooperating=[], limit={"value": 3, "unit": "working_days"}))
    assert answer.status_code == 201, answer.get_json()
    [task] = [session.get(Task, t) for t in answer.get_json()["task_ids"]]
    assert (task.unit.code, task.limit_value, task.limit_unit) == ("JD-DC", 3, "working_days")
    assert task.deadline_at > NOW + timedelta(days=2)


def test_bad_input_is_named_per_field_and_nothing_is_written(client, session):
    clock.set_clock(lambda: NOW)
    dispatcher = {**bearer(user_token(client, "dispatcher")), "Accept-Language": "zh-CN"}
    before = _counts(session)
    cases = {"title": _item(title="  "), "lead": _item(lead="NOPE"), "cooperating": _item(cooperating=["JD-DC"]),
             "limit": _item(limit={"value": "soon", "unit": "weeks"}), "grid": _item(grid="ZZ-99")}
    for field, item in cases.items():
        answer = client.post("/api/v1/handovers", json=item, headers=dispatcher)
        assert answer.status_code == 422, (field, answer.get_json())
        assert [e["field"] for e in answer.get_json()["errors"]] == [field], answer.get_json()
    everything = client.post("/api/v1/handovers", headers=dispatcher, json=_item(
        title="", lead="NOPE", cooperating=["HWZX", "GONE"], limit={"value": 0, "unit": "天"}, grid="ZZ-99"))
    errors = {e["field"]: e["message"] for e in everything.get_json()["errors"]}
    assert set(errors) == {"title", "lead", "cooperating", "limit", "grid"} and "没有该单位：GONE" in errors["cooperating"]
    assert _counts(session) == before


def test_a_field_unit_may_not_hand_over(client, session):
    before = _counts(session)
    answer = client.post("/api/v1/handovers", json=_item(), headers=bearer(user_token(client, "dongcheng")))
    assert answer.status_code == 403 and _counts(session) == before


def _form(page: str, **change) -> dict:
    data = {"csrf_token": csrf_from(page), "title": "清理东城老街积存杂物", "description": "三日内清理完毕",
            "grid": "DC-01", "address": "", "lat": "", "lon": "", "lead": "JD-DC", "cooperating": ["HWZX"],
            "limit_value": "3", "limit_unit": "working_days"}
    return data | change


def test_the_dispatcher_hands_over_through_the_page(app, client, session, login):
    clock.set_clock(lambda: NOW)
    app.config["WTF_CSRF_ENABLED"] = True
    login(client, "dispatcher")
    queue = client.get("/dispatch?lang=zh-CN").get_data(as_text=True)
    assert 'id="handover-link"' in queue and "交办" in queue
    page = client.get("/handovers/new?lang=zh-CN").get_data(as_text=True)
    assert "东城街道" in page and "城乡综合管理委员会" in page and "工作日" in page  # names, not codes only
    before = _counts(session)
    bad = client.post("/handovers/new", data=_form(page, title="", cooperating=["JD-DC"], limit_value="很快"))
    shown = bad.get_data(as_text=True)
    assert bad.status_code == 422 and _counts(session) == before
    for field, message in (("title", "必填"), ("cooperating", "已是主办单位"), ("limit_value", "请填写数字")):
        block = shown.split(f'id="field-{field}"')[1].split('id="field-')[0]
        assert message in block, field
    no_csrf = client.post("/handovers/new", data=_form(page) | {"csrf_token": "forged"})
    assert no_csrf.status_code in (400, 422) and _counts(session) == before
    done = client.post("/handovers/new", data=_form(page))
    assert done.status_code == 302 and _counts(session) == (before[0] + 1, before[1] + 1, before[2] + 2)
    task = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "清理东城老街积存杂物" in task and "三日内清理完毕" in task
    login(client, "dongcheng")
    assert client.get("/handovers/new").status_code == 403


def test_a_nul_byte_in_a_field_is_named_not_a_server_error(client, session):
    """PostgreSQL refuses NUL in text: the hand-over names the field before any query (the fuzz run found it)."""
    token = user_token(client, "dispatcher")
    answer = client.post("/api/v1/handovers", headers=bearer(token),
                         json={"title": "交办", "grid": "DC-01", "lead": "JD-DC\u0000", "cooperating": ["HW\u0000"],
                               "limit": {"value": 2, "unit": "工作日"}})
    assert answer.status_code == 422
    assert {e["field"] for e in answer.get_json()["errors"]} == {"lead", "cooperating[0]"}  # the request guard names the element


def test_the_page_names_the_forms_and_the_engines_problems_at_once(client, session, login):
    """A too-long address (the form's check) no longer hides the missing grid, lead unit and unreadable limit."""
    clock.set_clock(lambda: NOW)
    login(client, "dispatcher")
    page = client.get("/handovers/new?lang=zh-CN").get_data(as_text=True)
    before = _counts(session)
    bad = client.post("/handovers/new?lang=zh-CN", data=_form(page, address="路" * 301, grid="", lead="",
                                                               lat="北纬", lon="", limit_value="很快"))
    shown = bad.get_data(as_text=True)
    assert bad.status_code == 422 and _counts(session) == before
    for field, message in (("address", "300"), ("grid", "必填"), ("lead", "必填"), ("limit_value", "请填写数字"),
                           ("lat", "")):
        block = shown.split(f'id="field-{field}"')[1].split('id="field-')[0]
        assert 'class="field-error"' in block and message in block, field
    lat = shown.split('id="field-lat"')[1].split('id="field-')[0]
    assert lat.count('class="field-error"') == 1  # the form's own word on it, not the engine's as well


def _shown_error(page: str, field: str) -> str:
    block = page.split(f'id="field-{field}"')[1].split('id="field-')[0]
    return " ".join(part.split(">", 1)[1].split("</div>")[0] for part in block.split('class="field-error"')[1:])


def test_the_forms_limit_and_point_are_explained_in_the_readers_own_words(client, session, login):
    """The limit: a number whose unit is chosen beside it, and its range; a point: the ranges of both coordinates,
    and a box holding no number named as such, never WTForms' "Not a valid float value"."""
    clock.set_clock(lambda: NOW)
    login(client, "dispatcher")
    expected = {"zh-CN": ("须大于 0 且不超过 366 工作日", "请填写数字，例如 3，单位在旁边选择",
                          "纬度须在 -90～90 之间，经度须在 -180～180 之间", "请填写数字形式的经度。"),
                "en": ("more than 0 and at most 366 working days",
                       "enter a number, e.g. 3, and choose the unit beside it",
                       "latitude from -90 to 90 and longitude from -180 to 180", "Enter the longitude as a number.")}
    before = _counts(session)
    for lang, (range_, number, place, lon) in expected.items():
        page = client.get(f"/handovers/new?lang={lang}").get_data(as_text=True)
        for value in ("0", "-2"):
            shown = client.post(f"/handovers/new?lang={lang}", data=_form(page, limit_value=value))
            assert range_ in _shown_error(shown.get_data(as_text=True), "limit_value"), (lang, value)
        shown = client.post(f"/handovers/new?lang={lang}", data=_form(page, limit_value="soon", lat="999", lon="500"))
        text = shown.get_data(as_text=True)
        assert number in _shown_error(text, "limit_value") and place in _shown_error(text, "lat")
        assert "or neither" not in text and "或都不填" not in text
        english = _shown_error(text, "limit_value") + _shown_error(text, "lat")
        assert (lang == "en") != any("\u4e00" <= ch <= "\u9fff" for ch in english), english  # each in its own words
        answer = client.post(f"/handovers/new?lang={lang}", data=_form(page, lat="39.9", lon="abc"))
        text = answer.get_data(as_text=True)
        assert _shown_error(text, "lon") == lon and _shown_error(text, "lat") == ""
    assert _counts(session) == before
    for lang, typed in (("en", "3 working days"), ("zh-CN", "3 工作日")):
        page = client.get(f"/handovers/new?lang={lang}").get_data(as_text=True)
        done = client.post(f"/handovers/new?lang={lang}", data=_form(page, limit_value=typed))
        assert done.status_code == 302, _shown_error(done.get_data(as_text=True), "limit_value")
        task = session.get(Task, int(done.headers["Location"].rstrip("/").split("/")[-1]))
        assert (task.limit_value, task.limit_unit) == (3, "working_days")
