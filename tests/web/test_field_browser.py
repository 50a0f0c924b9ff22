"""The field workflow in a real browser on a 360×740 phone screen (Debian's chromium through Playwright):
a field unit signs a task, fills the template's form, uploads two photos and submits; a checker fails
the check with a reason; the unit sees it returned, fixes and resubmits; the checker closes it. The
task's history then shows every step with actor and time. Screenshots are kept (CIVICRULES_ARTIFACTS
or the test's tmp folder)."""
from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import select

from engine.core.models import Task
from tests.helpers import bearer, event, jpeg

PHONE = {"width": 360, "height": 740}


def artifacts(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("CIVICRULES_ARTIFACTS") or tmp_path) / "field-workflow"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def log_in(browser, base: str, username: str):
    page = browser.new_page(viewport=PHONE, locale="zh-CN")
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "civicrules-demo")
    page.click("button[type=submit]")
    return page


def act(page, action: str, comment: str | None = None) -> None:
    form = page.locator(f"#action-{action}")
    if comment is not None:
        form.locator("textarea[name=comment]").fill(comment)
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()


def test_sign_fill_photograph_submit_fail_fix_resubmit_close(live_server, browser, client, intake_token, drain, session,
                                                             tmp_path):
    shots = artifacts(tmp_path)
    event_id = client.post("/api/v1/events", json=event("06029", "DC-04", hour=14),
                           headers=bearer(intake_token)).get_json()["id"]
    drain()
    task = session.scalar(select(Task).where(Task.event_id == event_id, Task.list_kind == "zero_tolerance"))
    photos = []
    for n in (1, 2):
        path = tmp_path / f"site-{n}.jpg"
        path.write_bytes(jpeg(size=320 + n))
        photos.append(str(path))

    unit = log_in(browser, live_server, "dongcheng")
    unit.goto(f"{live_server}/tasks?q={task.id}")  # the list pages by 50: the suite's other tasks come first
    row = unit.locator(".task-row", has=unit.locator(f"a[href='/tasks/{task.id}']"))
    assert row.locator(".light").count() == 1 and "light-" in row.get_attribute("class")
    assert "剩余" in row.inner_text() or "超期" in row.inner_text()
    assert unit.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
    unit.screenshot(path=str(shots / "1-list.png"), full_page=True)
    row.locator("a").click()
    act(unit, "sign")
    act(unit, "start")
    unit.locator("#photo-form select[name=stage]").select_option("after")  # asked, never preselected
    unit.locator("#photo-form input[type=file]").set_input_files(photos)
    unit.locator("#photo-form button[type=submit]").click()
    unit.wait_for_load_state()
    assert unit.locator(".photos img").count() == 2
    unit.fill("#action-submit textarea[name=result]", "已劝离摊主，清理现场")
    unit.screenshot(path=str(shots / "2-form-and-photos.png"), full_page=True)
    act(unit, "submit", "已处置")
    assert "待核查" in unit.locator("#task-state").inner_text()
    assert unit.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1

    checker = log_in(browser, live_server, "checker")
    checker.goto(f"{live_server}/check")
    checker.locator(f"a[href='/tasks/{task.id}']").click()
    act(checker, "fail_check", "现场仍有烤炉未清走")
    assert "返工" in checker.locator("#task-state").inner_text()
    checker.screenshot(path=str(shots / "3-check-failed.png"), full_page=True)

    unit.goto(f"{live_server}/tasks/{task.id}")
    assert "返工" in unit.locator("#task-state").inner_text()
    assert "现场仍有烤炉未清走" in unit.locator("#history").inner_text()
    act(unit, "start")
    unit.fill("#action-submit textarea[name=result]", "烤炉已没收，现场清理完毕")
    act(unit, "submit", "已整改")

    checker.goto(f"{live_server}/tasks/{task.id}")
    act(checker, "pass_check", "合格")
    assert "结案" in checker.locator("#task-state").inner_text()
    history = checker.locator("#history li")
    lines = [history.nth(i).inner_text() for i in range(history.count())]
    checker.screenshot(path=str(shots / "4-closed-history.png"), full_page=True)

    steps = [("签收", "dongcheng"), ("开始处置", "dongcheng"), ("提交处置结果", "dongcheng"), ("核查不通过", "checker"),
             ("开始处置", "dongcheng"), ("提交处置结果", "dongcheng"), ("核查通过", "checker")]
    assert len(lines) == 1 + len(steps)  # the dispatch, then every step
    for line, (action, actor) in zip(lines[1:], steps):
        assert action in line and actor in line, line
        assert line[:4].isdigit() and ":" in line[:17]  # local date and time first
    session.expire_all()
    assert session.get(Task, task.id).status == "closed" and session.get(Task, task.id).rework_count == 1
