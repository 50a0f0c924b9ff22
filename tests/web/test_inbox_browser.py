"""The messages page on a 360 px phone (chromium through Playwright): a supervisor's urge is in the unit's
消息 with the task's category and unit by name, the header's badge counts it, marking it read lowers the
badge, the message's link opens its task, and nothing scrolls sideways."""
from __future__ import annotations

import re

import pytest

from engine.core.models import Event
from tests.helpers import artifacts, bearer, event, no_sideways_scroll, phone_sign_in, user_token

pytestmark = pytest.mark.usefixtures("messages_caught_up")


def test_the_unit_reads_an_urge_on_its_phone(live_server, browser, client, factory, intake_token, drain, tmp_path):
    shots = artifacts(tmp_path, "inbox")
    event_id = client.post("/api/v1/events", json=event("06029", "DC-02", hour=15),
                           headers=bearer(intake_token)).get_json()["id"]
    drain()
    with factory() as session:
        task_id = next(t.id for t in session.get(Event, event_id).tasks if t.list_kind == "zero_tolerance")
    posted = client.post(f"/api/v1/tasks/{task_id}/supervisions", headers=bearer(user_token(client, "supervisor")),
                         json={"kind": "urge", "message": "群众再次反映，请半小时内到场处置并回复现场照片"})
    assert posted.status_code == 201

    page = phone_sign_in(browser, live_server, "dongcheng")
    page.goto(f"{live_server}/inbox")
    badge = int(page.locator("#unread-count").inner_text())
    message = page.locator(".message", has_text="群众再次反映").first
    assert "催办" in message.inner_text() and "东城街道办事处" in message.inner_text()
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", message.locator(".when").inner_text())
    assert no_sideways_scroll(page)
    page.screenshot(path=str(shots / "inbox-360.png"), full_page=True)
    message.locator("button.mark-read").click()
    page.wait_for_load_state()
    assert int(page.locator("#unread-count").inner_text() or 0) == badge - 1 if badge > 1 else \
        page.locator("#unread-count").count() == 0
    read = page.locator(".message", has_text="群众再次反映").first
    assert "read" in read.get_attribute("class").split() and read.locator("button.mark-read").count() == 0
    read.locator(f"a[href='/tasks/{task_id}']").click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/tasks/{task_id}")
    assert no_sideways_scroll(page)
