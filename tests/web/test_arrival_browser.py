"""到达现场 on a 360 px phone (issue 15 point 6): on a secure page (localhost) the phone's location fills the
arrival and the first-response indicator counts it; on a page that is not secure (simulated: the browser reports
no secure context) the page says so, a missing position is named next to its field with nothing written, and a
typed position is recorded as entered by hand. Screenshots go to CIVICRULES_ARTIFACTS or the test's tmp folder."""
from __future__ import annotations

from sqlalchemy import select

from engine.core.models import TaskTransition
from tests.helpers import PHONE, artifacts, new_api_task, no_sideways_scroll
from tests.web.test_arrival import first_response

WANGFUJING = {"latitude": 39.9139, "longitude": 116.4103, "accuracy": 8}


def phone(browser, base: str, username: str, secure: bool = True):
    """A Chinese 360 px phone signed in; it grants geolocation, or plays a page served without HTTPS."""
    context = browser.new_context(viewport=PHONE, locale="zh-CN", geolocation=WANGFUJING,
                                  permissions=["geolocation"])
    if not secure:
        context.add_init_script("Object.defineProperty(window, 'isSecureContext', {get: () => false});")
    page = context.new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "civicrules-demo")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def arrivals(session, task_id: int) -> list[TaskTransition]:
    session.expire_all()
    return list(session.scalars(select(TaskTransition).where(TaskTransition.task_id == task_id,
                                                             TaskTransition.action == "arrive")))


def test_the_phone_records_its_arrival_with_its_location(live_server, browser, client, intake_token, drain,
                                                         session, demo, tmp_path):
    shots = artifacts(tmp_path, "arrival")
    before = first_response(session, demo)
    task = new_api_task(client, intake_token, drain)
    page = phone(browser, live_server, "dongcheng")
    page.goto(f"{live_server}/tasks/{task['id']}")
    assert page.locator("#location-insecure").is_hidden()
    assert no_sideways_scroll(page)
    page.screenshot(path=str(shots / "1-arrival-form-360.png"), full_page=True)
    page.click("#arrive-button")
    page.wait_for_selector("#arrived")
    assert "已登记到达现场" in page.locator(".flash").first.inner_text()
    arrived = page.locator("#arrived").inner_text()
    assert "手机定位" in arrived and "39.91390, 116.41030" in arrived and "± 8 m" in arrived
    assert "已到达现场" in page.locator("#history").inner_text()
    assert page.locator("#arrival-form").count() == 0 and no_sideways_scroll(page)
    page.screenshot(path=str(shots / "2-arrived-360.png"), full_page=True)
    [row] = arrivals(session, task["id"])
    assert row.data == {"lat": 39.9139, "lon": 116.4103, "accuracy": 8.0, "source": "device"}
    assert first_response(session, demo).arrived_in_time == before.arrived_in_time + 1


def test_a_page_without_https_says_so_and_takes_a_typed_position(live_server, browser, client, intake_token, drain,
                                                                session, tmp_path):
    shots = artifacts(tmp_path, "arrival")
    task = new_api_task(client, intake_token, drain)
    page = phone(browser, live_server, "dongcheng", secure=False)
    page.goto(f"{live_server}/tasks/{task['id']}")
    assert "HTTPS" in page.locator("#location-insecure").inner_text()
    assert page.locator("#arrival-source").input_value() == "manual"
    page.click("#arrive-button")
    page.wait_for_load_state()
    assert "纬度" in page.locator("#lat-errors").inner_text()
    assert page.locator("#arrival-lat").get_attribute("aria-invalid") == "true"
    assert arrivals(session, task["id"]) == []
    page.screenshot(path=str(shots / "3-no-position-360.png"), full_page=True)
    page.fill("#arrival-lat", "39.9300")
    page.fill("#arrival-lon", "116.4200")
    page.click("#arrive-button")
    page.wait_for_selector("#arrived")
    assert "手动标注" in page.locator("#arrived").inner_text() and no_sideways_scroll(page)
    [row] = arrivals(session, task["id"])
    assert row.data["source"] == "manual" and row.data["lat"] == 39.93
