"""每日自查 over HTTP (issue 17 point 2): only the point's responsible person records its check, once a day; anyone
else of the unit is refused in the reader's language with nothing written; other units see nothing; the board is
for supervisors, the assessment office and administrators (a field unit sees its own points); the register's API
carries each point's readiness today."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from engine.core import clock
from engine.core.models import Case, ReadinessCheck
from engine.readiness.checklists import items_for, save_item
from tests.helpers import bearer, csrf_from, user_token

MORNING = datetime(2026, 11, 12, 6, 20, tzinfo=ZoneInfo("Asia/Shanghai"))
ITEMS = ("GEN-SC-A", "GEN-SC-B")


def checklist(session) -> dict[str, str]:
    """A generated checklist for school surroundings; every daily item passed, as the form sends it (a test that
    committed may have added items of its own)."""
    for i, code in enumerate(ITEMS):
        item = save_item(session, {"type": "school", "code": code, "text": f"检查项 {code}", "max_score": 3,
                                   "frequency": "daily", "position": i}, replace=True)
    session.commit()
    return {f"passed-{i.code}": "yes" for i in items_for(session, item.type_id, daily_only=True)}


def post(client, data: dict, lang: str = ""):
    """The check form as a browser sends it, with the page's CSRF token."""
    token = csrf_from(client.get("/readiness/points/CP-006").get_data(as_text=True))
    return client.post(f"/readiness/points/CP-006{lang}", data={**data, "csrf_token": token})


def written(session) -> tuple[int, int]:
    return (session.scalar(select(func.count()).select_from(ReadinessCheck)),
            session.scalar(select(func.count()).select_from(Case)))


def test_only_the_points_person_checks_it_once_a_day(app, session, login):
    all_passed = checklist(session)
    clock.set_clock(lambda: MORNING)
    before = written(session)
    unit = app.test_client()
    login(unit, "dongcheng")  # the point's unit, but not its responsible person
    refused = post(unit, all_passed)
    assert refused.status_code == 422
    assert "只有本点位的包点责任人可以进行每日自查" in refused.get_data(as_text=True)
    english = post(unit, all_passed, "?lang=en")
    assert "only the point&#39;s responsible person runs its daily check" in english.get_data(as_text=True)
    assert written(session) == before
    person = app.test_client()
    login(person, "dc_point")
    missing = post(person, {f"passed-{ITEMS[0]}": "no"})
    assert missing.status_code == 422 and "请逐项填写：合格或不合格" in missing.get_data(as_text=True)
    assert "不合格项须拍照上传" in missing.get_data(as_text=True)
    assert written(session) == before
    assert post(person, all_passed).status_code == 302
    again = post(person, all_passed)
    assert again.status_code == 422 and "该点位今天已完成自查" in again.get_data(as_text=True)
    assert written(session) == (before[0] + 1, before[1])


def test_who_sees_the_points_and_the_board(app, session, login, client):
    checklist(session)
    clock.set_clock(lambda: MORNING)
    other = app.test_client()
    login(other, "xicheng")
    assert other.get("/readiness/points/CP-006").status_code == 404
    own = other.get("/readiness/board").get_data(as_text=True)
    assert "CP-003" in own and "CP-006" not in own
    dispatcher = app.test_client()
    login(dispatcher, "dispatcher")
    assert dispatcher.get("/readiness/board").status_code == 403
    auditor = app.test_client()
    login(auditor, "auditor")
    board = auditor.get("/readiness/board").get_data(as_text=True)
    assert "CP-001" in board and "CP-006" in board and "待自查" in board
    token = user_token(client, "assessor")
    points = client.get("/api/v1/inspection-points?type=school", headers=bearer(token)).get_json()["points"]
    [school] = [p for p in points if p["code"] == "CP-006"]
    assert school["readiness"]["state"] in ("pending", "checked", "failed")
    assert school["readiness"]["day"] == "2026-11-12" and school["readiness"]["deadline"].startswith("2026-11-12T06:40")


def test_the_demo_checklist_items_are_marked_as_examples_with_their_source(app, login):
    clock.set_clock(lambda: MORNING)
    person = app.test_client()
    login(person, "dc_point")
    page = person.get("/readiness/points/CP-001").get_data(as_text=True)
    assert "路面干净整洁，无暴露垃圾、无积存垃圾渣土" in page and "沿道路步行查看" in page
    assert page.count('class="badge">示例</span>') == 3 and "非正式测评内容" in page
    assert "须于 2026-11-12 06:40 前完成自查" in page


def test_outside_the_inspection_window_a_point_asks_for_no_check(app, login):
    """The demo's window is November 2026; in December the page says 非测评期 and sets no time to check by."""
    clock.set_clock(lambda: datetime(2026, 12, 7, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    person = app.test_client()
    login(person, "dc_point")
    page = person.get("/readiness/points/CP-001").get_data(as_text=True)
    state = page[page.index('id="readiness-state"'):][:400]
    assert "非测评期" in state and "须于" not in state
