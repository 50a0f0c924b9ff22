"""The command centre in a real browser (issue 17, must-show): the dispatcher opens /command at 1280 px, sees the
grids drawn on the map with their counts and the overdue board; the injected clock moves past a task's deadline and
the board, the grid's count and the "updated at" local time change without a reload. At 360 px the page scrolls
only downwards, and so does the task list's search. Screenshots are kept."""
from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from engine.core import clock
from engine.core.models import Event, Task, Unit
from engine.core.states import TERMINAL, TaskStatus
from tests.helpers import PHONE, artifacts, bearer, event, no_sideways_scroll

DESKTOP = {"width": 1280, "height": 900}
SHANGHAI = ZoneInfo("Asia/Shanghai")


def overdue_of(session, unit_id: int, now) -> int:
    return session.scalar(select(func.count()).select_from(Task).where(
        Task.unit_id == unit_id, Task.deadline_at < now, Task.status.not_in([*TERMINAL, TaskStatus.PARKED])))


def test_the_board_updates_without_a_reload_when_a_task_goes_overdue(live_server, browser, browser_login, client,
                                                                      intake_token, drain, session, tmp_path):
    from playwright.sync_api import expect

    shots = artifacts(tmp_path, "command")
    answer = client.post("/api/v1/events", json=event("06029", "DC-03", hour=23), headers=bearer(intake_token))
    assert answer.status_code == 202, answer.get_json()
    drain()
    session.expire_all()
    task = session.scalar(select(Task).where(Task.event_id == answer.get_json()["id"]).order_by(Task.deadline_at))
    unit = session.get(Unit, task.unit_id)
    before, after = task.deadline_at - timedelta(seconds=30), task.deadline_at + timedelta(seconds=30)
    clock.set_clock(lambda: before)  # the live server runs in this process: it reads the same clock
    expected_before, expected_after = overdue_of(session, unit.id, before), overdue_of(session, unit.id, after)
    assert expected_after > expected_before

    page = browser.new_context(viewport=DESKTOP, locale="zh-CN").new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    browser_login(page, live_server, "dispatcher")
    page.goto(f"{live_server}/command?unit={unit.id}")
    expect(page.locator("#updated-at")).to_have_text(before.astimezone(SHANGHAI).strftime("%H:%M:%S"))
    expect(page.locator(".grid-count", has_text="DC-03")).to_be_visible()  # the grids, drawn with their counts
    assert page.locator("#command-map path.leaflet-interactive").count() >= 1
    row = page.locator(f"#overdue-board tr[data-unit='{unit.id}'] td.total")
    if expected_before:
        expect(row).to_have_text(str(expected_before))
    else:
        expect(page.locator("#board-empty")).to_be_visible()
    page.screenshot(path=str(shots / "before.png"), full_page=True)
    grid_before = page.locator("#grid-table tr[data-grid='DC-03'] td.overdue").inner_text()
    people = page.locator("#grid-table tr[data-grid='DC-03'] td.people")  # seed 004: who answers for the grid
    expect(people).to_contain_text("严斌 (责任人, 13900000")
    expect(people).to_contain_text("吴敏 (监督员")
    assert page.locator("#area-list tr[data-area='ST-DC-03']").inner_text().startswith("道路 · 和平路")

    clock.set_clock(lambda: after)  # the task's deadline passes; nobody reloads the page
    expect(row).to_have_text(str(expected_after), timeout=15_000)
    expect(page.locator("#updated-at")).to_have_text(after.astimezone(SHANGHAI).strftime("%H:%M:%S"))
    assert int(page.locator("#grid-table tr[data-grid='DC-03'] td.overdue").inner_text()) > int(grid_before)
    header = page.locator("#overdue-board thead").inner_text()
    assert "未上报" in header and unit.name_zh in page.locator("#overdue-board tbody").inner_text()
    assert re.search(r"\d+", page.locator("#total-overdue").inner_text())
    page.screenshot(path=str(shots / "after.png"), full_page=True)

    phone = browser.new_context(viewport=PHONE, locale="zh-CN").new_page()
    browser_login(phone, live_server, "dispatcher")
    phone.goto(f"{live_server}/command")
    expect(phone.locator(".grid-count", has_text="DC-03")).to_be_visible()
    expect(phone.locator("#overdue-board tbody tr").first).to_be_attached()
    assert no_sideways_scroll(phone)
    phone.screenshot(path=str(shots / "phone.png"), full_page=True)
    phone.goto(f"{live_server}/tasks?mine=0")  # the task list's search and filters fit the phone too
    phone.fill("input[name=q]", f"#{task.id}")
    phone.click("#task-filters button[type=submit]")
    expect(phone.locator(f"a[href='/tasks/{task.id}']")).to_be_visible()
    expect(phone.locator("#task-total")).to_contain_text("1 个任务")
    assert no_sideways_scroll(phone)
    phone.screenshot(path=str(shots / "tasks-phone.png"), full_page=True)
    assert not errors, errors
    assert session.scalar(select(Event.id).where(Event.id == answer.get_json()["id"]))
