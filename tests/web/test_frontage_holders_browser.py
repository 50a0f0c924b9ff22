"""门前三包 in a real browser at desktop width: the sub-district's field unit opens a task at a holder's frontage,
is told next to the field what its notice lacks, issues the notice (告知书), sees it in the task's history, and
finds the report and the notice on the holder's page. Screenshots go to CIVICRULES_ARTIFACTS or tmp."""
from __future__ import annotations

from datetime import timedelta

from engine.core import clock
from tests.helpers import artifacts, bearer, event, local_time, user_token

AT_FRONTAGE = {"lat": 35.02505, "lon": 110.9950}  # 5 m from 老王烧烤's frontage on 解放路
DESKTOP = {"width": 1280, "height": 900}


def test_the_unit_issues_a_notice_to_the_holder_and_the_holders_page_shows_it(
        live_server, browser, client, intake_token, drain, tmp_path):
    shots = artifacts(tmp_path, "holders")
    # Ten days back: the live server commits, and the other holder tests' reports there (yesterday) must not join
    # this case (3 days' linking window).
    body = event("06029", hour=11, location=AT_FRONTAGE, occurred_at=local_time(11, days_ago=10))
    event_id = client.post("/api/v1/events", json=body, headers=bearer(intake_token)).get_json()["id"]
    drain()
    tasks = client.get(f"/api/v1/tasks?event={event_id}", headers=bearer(user_token(client, "admin"))).get_json()
    task = next(t for t in tasks["tasks"] if t["unit"]["code"] == "JD-DC")
    page = browser.new_context(viewport=DESKTOP, locale="en-US").new_page()
    page.goto(f"{live_server}/login?lang=en")
    page.fill("input[name=username]", "dongcheng")
    page.fill("input[name=password]", "civicrules-demo")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    page.goto(f"{live_server}/tasks/{task['id']}?lang=en")
    assert "老王烧烤" in page.locator("#holder-name").inner_text()
    for box in page.locator("#notice-form input[name=duties]").all():
        box.uncheck()  # the letter's duties are ticked to begin with
    page.fill("#notice-form textarea[name=text]", "门前油污，请清理")
    page.click("#notice-form button[type=submit]")
    page.wait_for_selector("#duties-errors")
    assert "choose at least one duty" in page.locator("#duties-errors").inner_text()
    assert "rectify" in page.locator("#rectify_by-errors").inner_text()
    assert page.locator("#notice-form textarea[name=text]").input_value() == "门前油污，请清理"  # kept
    page.screenshot(path=str(shots / "1-notice-refused.png"), full_page=True)
    page.check("#notice-form input[value=sanitation]")
    rectify = (clock.now() + timedelta(days=2)).astimezone().strftime("%Y-%m-%dT%H:%M")
    page.fill("#notice-form input[name=rectify_by]", rectify)
    page.click("#notice-form button[type=submit]")
    page.wait_for_selector(".flash-success")
    history = page.locator("#history").inner_text()
    assert "Notice GZS-" in history and "老王烧烤" in history and "sanitation" in history
    page.screenshot(path=str(shots / "2-notice-issued.png"), full_page=True)
    page.click("#holder-name a")
    page.wait_for_selector("#violations")
    assert page.locator("#violations tbody tr").count() >= 1
    assert "门前油污，请清理" in page.locator("#notices").inner_text()
    assert "王建国" in page.locator("#letter").inner_text()
    page.screenshot(path=str(shots / "3-holder-page.png"), full_page=True)
