"""Daily readiness (每日自查, issue 17 point 2) in a real browser at 360 px, on a generated checklist and an injected
clock: the responsible person of a school point (何平, 包点) runs the morning check before 06:40, is refused a
score above an item's maximum, then fails one item with a photo; the case is dispatched to the point's unit
(东城街道) and on its task list; the readiness board shows it; at 06:41 the escalation poller's readiness round
escalates the points nobody checked, and the unit's messages and the board say so. Screenshots are kept."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from engine.core import clock
from engine.core.models import InspectionPoint, OutboxMessage, ReadinessCheck, Task
from engine.delivery import inbox
from engine.readiness import daily
from engine.readiness.checklists import save_item
from tests.helpers import artifacts, jpeg, no_sideways_scroll, phone_sign_in

pytestmark = pytest.mark.usefixtures("messages_caught_up")  # the unit's inbox shows its own message

SHANGHAI = ZoneInfo("Asia/Shanghai")
#: A morning of the demo's inspection window that no other test uses: the live server commits.
MORNING = datetime(2026, 11, 10, 6, 5, tzinfo=SHANGHAI)
LATE = datetime(2026, 11, 10, 6, 41, tzinfo=SHANGHAI)
ITEMS = ("GEN-SCHOOL-1", "GEN-SCHOOL-2", "GEN-SCHOOL-3")


def school_checklist(session) -> None:
    """A generated checklist for school surroundings (the demo ships none for them)."""
    for i, code in enumerate(ITEMS):
        save_item(session, {"type": "school", "code": code, "text": f"校园周边检查项 {i + 1}", "method": "现场查看",
                            "max_score": 2, "frequency": "daily", "category_code": "06036", "position": i},
                  replace=True)
    session.commit()


def answer(page, code: str, passed: bool, score: str = "", note: str = "", photo: str | None = None) -> None:
    item = page.locator(f"#item-{code}")
    item.locator(f"input[value={'yes' if passed else 'no'}]").check()
    item.locator(f"input[name=score-{code}]").fill(score)
    item.locator(f"input[name=note-{code}]").fill(note)
    if photo:
        item.locator("input[type=file]").set_input_files([photo])


def test_the_morning_check_files_a_failed_item_and_a_point_not_checked_escalates(live_server, browser, session,
                                                                                tmp_path):
    shots = artifacts(tmp_path, "readiness")
    school_checklist(session)
    photo = tmp_path / "bins.jpg"
    photo.write_bytes(jpeg(size=120))
    clock.set_clock(lambda: MORNING)  # the live server runs in this process: it reads the same clock
    page = phone_sign_in(browser, live_server, "dc_point")
    page.goto(f"{live_server}/readiness")
    assert page.locator("#my-points li").count() == 3  # 何平 answers for CP-001, CP-002 and CP-006
    page.locator("#my-points a", has_text="CP-006").click()
    page.wait_for_load_state()
    assert "须于 2026-11-10 06:40" in page.locator("#readiness-state").inner_text()
    assert page.locator("#check-form fieldset.item").count() == 3
    answer(page, ITEMS[0], False, note="校门口垃圾桶满溢", photo=str(photo))
    answer(page, ITEMS[1], True, score="5")
    answer(page, ITEMS[2], True)
    page.locator("#check-form button[type=submit]").click()
    page.wait_for_load_state()
    assert "得分须在 0 至本项满分 2 之间" in page.locator(f"#item-{ITEMS[1]}-errors").inner_text()
    assert session.scalar(select(ReadinessCheck).where(ReadinessCheck.day == MORNING.date())) is None
    page.screenshot(path=str(shots / "1-score-above-maximum.png"), full_page=True)
    answer(page, ITEMS[0], False, note="校门口垃圾桶满溢", photo=str(photo))  # a refused form keeps no file
    answer(page, ITEMS[1], True, score="1.5")
    page.locator("#check-form button[type=submit]").click()
    page.wait_for_load_state()
    assert "1 项不合格，已立案派遣给东城街道办事处、教育局整改" in page.inner_text("main")
    assert page.locator("#results li.failed a.case-link[href^='/tasks/']").count() == 1  # a field unit's way in
    assert no_sideways_scroll(page)
    page.screenshot(path=str(shots / "2-checked-with-a-failed-item.png"), full_page=True)

    session.expire_all()
    school = session.scalar(select(InspectionPoint).where(InspectionPoint.code == "CP-006"))
    check = daily.check_of(session, school.id, MORNING.date())
    [failed] = [r for r in check.results if not r["passed"]]
    [task, department] = session.scalars(select(Task).where(Task.case_id == failed["case"]).order_by(Task.id)).all()
    assert task.unit.code == "JD-DC" and task.points == 0 and task.event.source_type == "readiness"
    assert department.unit.code == "JYJ", "the department in charge of schools (教育局) cooperates on the case"
    assert len(failed["photos"]) == 1
    unit_page = phone_sign_in(browser, live_server, "dongcheng")  # the unit's own account
    unit_page.goto(f"{live_server}/tasks")
    assert unit_page.locator(f"a[href='/tasks/{task.id}']").count() >= 1, "the case is on the unit's task list"

    board = phone_sign_in(browser, live_server, "supervisor")
    board.goto(f"{live_server}/readiness/board")
    row = board.locator("#board li[data-point='CP-006']")
    assert row.get_attribute("data-state") == "failed" and row.locator("a[href^='/cases/']").count() == 1
    assert board.locator("#board li[data-point='CP-001']").get_attribute("data-state") == "pending"
    board.screenshot(path=str(shots / "3-board-in-the-morning.png"), full_page=True)
    row.locator("a[href^='/cases/']").click()
    board.wait_for_load_state()
    picture = board.locator(".photos img").first  # the person's photo of the failed item is the case's
    picture.wait_for()
    assert board.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=picture.element_handle())
    assert "校门口垃圾桶满溢" in board.inner_text("main")
    board.goto(f"{live_server}/readiness/board")

    clock.set_clock(lambda: LATE)
    raised = daily.run_due(session)  # what the escalation poller's slow round runs
    active = session.scalar(select(func.count()).select_from(InspectionPoint).where(InspectionPoint.active.is_(True)))
    assert raised == active - 1, "every active point but the checked school"
    assert daily.run_due(session) == 0, "raised once a day"
    inbox.address_new(session, stragglers=True)
    session.commit()
    board.reload()
    missed = board.locator("#board li[data-point='CP-001']")
    assert missed.get_attribute("data-state") == "missed" and "逾时未自查" in missed.inner_text()
    assert "已于 2026-11-10 06:41" in missed.locator(".escalated").inner_text()
    assert board.locator("#board li[data-point='CP-006']").get_attribute("data-state") == "failed"
    assert no_sideways_scroll(board)
    board.screenshot(path=str(shots / "4-board-after-the-readiness-time.png"), full_page=True)
    unit_page.goto(f"{live_server}/inbox")
    assert "点位未按时自查" in unit_page.inner_text("main") and "CP-001" in unit_page.inner_text("main")
    key = f"readiness:{school.id}:{MORNING.date().isoformat()}"
    assert session.scalar(select(OutboxMessage).where(OutboxMessage.idempotency_key == key)) is None
