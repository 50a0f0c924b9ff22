"""The task page on a 360 px phone (Debian's chromium through Playwright): with the unit's answers, the checker's
fail reasons, the place's map links and the request forms, nothing scrolls sideways."""
from __future__ import annotations

import os
from pathlib import Path

from tests.helpers import upload_photo, user_token
from tests.web.test_role_pages import act, placed_task, to_handling

PHONE = {"width": 360, "height": 740}


def test_the_task_page_fits_a_phone_for_the_checker_and_the_unit(
        live_server, browser, browser_login, client, login, factory, drain, session, tmp_path):
    shots = Path(os.environ.get("CIVICRULES_ARTIFACTS") or tmp_path) / "role-pages"
    shots.mkdir(parents=True, exist_ok=True)
    task = placed_task(factory, drain, session, stall=True)
    to_handling(client, login, session, task.id)
    unit = user_token(client, "dongcheng")
    for stage in ("before", "after"):
        assert upload_photo(client, unit, task.id, field="scene", stage=stage).status_code == 201
    assert act(client, session, task.id, "submit", outcome="removed", told="y", checklist=["0"],
               result="摊点已清走，占道物品已清理，现场已恢复整洁").status_code == 302
    login(client, "checker")
    assert act(client, session, task.id, "fail_check", comment="现场仍有烤炉，请于今日下班前清走并拍照上传").status_code == 302
    for username in ("checker", "dongcheng"):
        page = browser.new_page(viewport=PHONE, locale="zh-CN")
        browser_login(page, live_server, username)
        page.goto(f"{live_server}/tasks/{task.id}")
        assert page.locator("#fail-reasons").is_visible() and page.locator("#task-address a").count() == 2
        page.screenshot(path=str(shots / f"task-{username}.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1, username
