"""A real browser (Debian's chromium through Playwright) logs in as a field unit on a phone-sized
screen and sees its tasks in Chinese. Skipped, with the reason, where chromium is not installed."""
from __future__ import annotations

from tests.helpers import bearer, event


def test_field_unit_logs_in_on_a_phone_and_sees_its_tasks_in_chinese(live_server, browser, client, intake_token,
                                                                      drain, tmp_path):

    client.post("/api/v1/events", json=event("06029", "DC-04", hour=23), headers=bearer(intake_token))
    drain()
    page = browser.new_page(viewport={"width": 360, "height": 740}, locale="zh-CN")
    page.goto(f"{live_server}/tasks")
    assert "/login" in page.url
    assert page.locator("h1").inner_text() == "登录"
    page.fill("input[name=username]", "dongcheng")
    page.fill("input[name=password]", "civicrules-demo")
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)  # signed in before the next page is asked for
    page.goto(f"{live_server}/tasks")
    assert page.locator("h1").inner_text() == "任务"
    rows = page.locator(".task-row")
    assert rows.count() >= 1
    assert "露天烧烤" in page.content()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360 + 1
    page.locator(".task-row", has_text="露天烧烤").first.locator("a").first.click()
    page.wait_for_load_state("load")
    assert "任务由来" in page.content()
    page.screenshot(path=str(tmp_path / "task-360.png"), full_page=True)
