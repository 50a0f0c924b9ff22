"""核实 and 立案 on a phone, in Chinese (issue 14, must-show): a hotline report of 店外经营 waits for DC-03's
collector, who verifies it with a photo from the case page; the shift leader then files it against its filing
condition and the sub-district gets the task. A verification without a photo is refused next to the field.
Screenshots are kept (CIVICRULES_ARTIFACTS or the test's tmp folder)."""
from __future__ import annotations

from sqlalchemy import select

from engine.core.models import Case, Event
from tests.helpers import artifacts, bearer, event, jpeg, no_sideways_scroll
from tests.helpers import phone_sign_in as sign_in

def test_a_collector_verifies_and_the_shift_leader_files_a_hotline_report_on_a_phone(
        live_server, browser, client, intake_token, drain, session, tmp_path):
    shots = artifacts(tmp_path, "case-stages")
    event_id = client.post("/api/v1/events", json=event("09005", "DC-03", hour=10, description="门店占道摆放货物"),
                           headers=bearer(intake_token)).get_json()["id"]
    drain()
    case_id = session.get(Event, event_id).case_id
    photo = tmp_path / "spot.jpg"
    photo.write_bytes(jpeg())

    collector = sign_in(browser, live_server, "collector")  # 吴敏, DC-03's 监督员
    home = collector.locator("#home-verify")
    assert "待核实" in home.inner_text() and "店外经营" in home.inner_text()
    collector.screenshot(path=str(shots / "1-collector-home-360.png"), full_page=True)
    collector.goto(f"{live_server}/cases/{case_id}")
    assert "待核实" in collector.locator("#case-stage").inner_text()
    assert "核实" in collector.locator("#clocks").inner_text() and "30" in collector.locator("#clocks").inner_text()
    collector.select_option("#finding", value="confirmed")
    collector.click("#verify-form button[type=submit]")  # no photo yet
    collector.wait_for_load_state()
    assert "请上传至少一张现场照片" in collector.locator("#verify-form").inner_text()
    assert "待核实" in collector.locator("#case-stage").inner_text()
    collector.select_option("#finding", value="confirmed")
    collector.set_input_files("#photo", str(photo))
    collector.fill("#verify-form textarea[name=note]", "现场确有店外摆放")
    collector.click("#verify-form button[type=submit]")
    collector.wait_for_load_state()
    assert "已核实" in collector.locator(".flash").first.inner_text()
    assert "待立案" in collector.locator("#case-stage").inner_text()
    assert "情况属实" in collector.locator("#verification").inner_text()
    assert collector.locator(".photos img").count() == 1 and no_sideways_scroll(collector)
    collector.screenshot(path=str(shots / "2-verified-360.png"), full_page=True)

    leader = sign_in(browser, live_server, "shift_leader")  # 孙丽, 值班长
    assert "店外经营" in leader.locator("#home-file").inner_text()
    leader.locator("#home-file a", has_text="店外经营").first.click()
    leader.wait_for_load_state()
    assert leader.locator("#file-form").count() == 1 and no_sideways_scroll(leader)
    leader.screenshot(path=str(shots / "3-filing-360.png"), full_page=True)
    leader.click("#file-button")
    leader.wait_for_load_state()
    assert "已立案" in leader.locator(".flash").first.inner_text()
    assert "已派遣" in leader.locator("#case-stage").inner_text()
    assert "东城街道办事处" in leader.locator("#tasks").inner_text()
    history = leader.locator("#history").inner_text()
    assert all(stage in history for stage in ("已受理", "待核实", "待立案", "已立案", "已派遣"))
    leader.screenshot(path=str(shots / "4-dispatched-360.png"), full_page=True)
    session.expire_all()
    assert session.get(Case, case_id).stage == "dispatched"
    assert session.scalar(select(Event.points).where(Event.id == event_id)) == 0


def test_an_english_case_page_fits_a_phone(live_server, browser, client, intake_token, drain, session, tmp_path):
    """The stage clocks' table scrolls inside its box: the English page no longer scrolls sideways at 360 px."""
    event_id = client.post("/api/v1/events", json=event("09005", "DC-03", hour=10, description="门店占道摆放货物"),
                           headers=bearer(intake_token)).get_json()["id"]
    drain()
    page = sign_in(browser, live_server, "shift_leader")
    page.goto(f"{live_server}/cases/{session.get(Event, event_id).case_id}?lang=en")
    assert "Stage clocks" in page.locator("#clocks").inner_text()
    page.screenshot(path=str(artifacts(tmp_path, "case-stages") / "5-english-360.png"), full_page=True)
    assert no_sideways_scroll(page), page.evaluate("document.documentElement.scrollWidth")
