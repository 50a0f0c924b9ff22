"""Rule scenarios end to end in a real browser, in Chinese: an administrator saves a simulator result as a
scenario, edits the zero-tolerance list so that the scenario's unit changes, and the editor warns; publishing is
refused with the difference shown; the administrator reverts the change and publishes. An engine worker runs the
simulator's jobs."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from engine.authoring.drafts import rollback
from engine.core.models import Campaign, ListItem, RuleList, RulesetVersion, Scenario
from tests.helpers import start, stop

TITLE = "东城露天烧烤：街道两小时内处置（浏览器）"


@pytest.fixture()
def worker(env):
    proc = start(env, "worker")
    yield proc
    stop(proc)


def test_a_saved_scenario_guards_the_zero_tolerance_list(live_server, browser, session, worker, tmp_path,
                                                         browser_login):
    from playwright.sync_api import expect

    shots = Path(os.environ.get("CIVICRULES_ARTIFACTS") or tmp_path) / "scenarios"
    shots.mkdir(parents=True, exist_ok=True)
    campaign = session.scalar(select(Campaign).where(Campaign.code == "chuangcheng-2026"))
    zero = session.scalar(select(RuleList).where(RuleList.campaign_id == campaign.id, RuleList.kind == "zero_tolerance"))
    zt4 = session.scalar(select(ListItem).where(ListItem.list_id == zero.id, ListItem.key == "ZT4"))
    kept = (zt4.assign, zt4.legal_basis)
    before = session.get(RulesetVersion, campaign.published_version_id).number
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")

    def zt4_row():
        return page.locator("#list-rows tbody tr[data-key='ZT4']")

    def widget(field: str):
        row = zt4_row()
        return row.locator(f"[name='rows-{row.get_attribute('data-row')}-{field}']")

    try:
        browser_login(page, live_server)
        # 1. The simulator's outcome, saved as a scenario (its expectation filled in, a title added).
        page.goto(f"{live_server}/admin/simulator/")
        page.select_option("select[name=category]", "06029")
        page.select_option("select[name=grid]", "DC-03")
        page.fill("input[name=occurred_at]", "2026-05-12T09:30")
        page.click("#simulate-form button[type=submit]")
        page.locator("#result-active .save-as-scenario").click(timeout=60_000)
        expect(page.locator("textarea[name=tasks]")).to_have_value("JD-DC | zero_tolerance | 2 urgent_hours")
        expect(page.locator("input[name=local_time]")).to_have_value("2026-05-12 09:30")
        page.fill("input[name=title]", TITLE)
        page.click("#save-scenario")
        expect(page.locator(".alert-success")).to_be_visible()
        page.screenshot(path=str(shots / "1-saved.png"), full_page=True)

        # 2. ZT4 to the squads (and a new legal basis): the editor warns before anything is saved.
        page.goto(f"{live_server}/admin/lists/{zero.id}/")
        widget("assign_kind").select_option("unit_type")
        widget("assign_value").select_option("squad")
        widget("legal_basis").fill("《城市市容和环境卫生管理条例》第十四条（浏览器测试）")
        warning = page.locator(f"#scenario-warnings .scenario-warning[data-title='{TITLE}']")
        expect(warning).to_contain_text("给 ZD-DC 派了预期之外的 zero_tolerance 任务（来自 zero_tolerance.zt4）", timeout=20_000)
        page.screenshot(path=str(shots / "2-editor-warns.png"), full_page=True)
        page.click("#save")
        expect(page.locator("#save-status")).to_have_attribute("data-state", "saved")

        # 3. Publishing is refused, the difference shown with the rule that made it.
        page.goto(f"{live_server}/admin/versions/{campaign.id}/draft")
        page.fill("form#publish-form textarea[name=comment]", "ZT4 改由中队处置")
        page.click("#publish")
        failure = page.locator("#scenario-failures tr.scenario-difference", has_text=TITLE)
        expect(failure.first).to_be_visible()
        expect(page.locator("#scenario-failures")).to_contain_text("预期之外的 zero_tolerance 任务（来自 zero_tolerance.zt4）")
        page.screenshot(path=str(shots / "3-refused.png"), full_page=True)
        session.expire_all()
        assert session.get(Campaign, campaign.id).published_version_id == campaign.published_version_id

        # 4. Reverted (the legal basis stays): no warning, and the publish goes through.
        page.goto(f"{live_server}/admin/lists/{zero.id}/")
        widget("assign_kind").select_option("grid_unit")
        widget("legal_basis").fill(widget("legal_basis").input_value() + " ")
        expect(page.locator("#scenario-warnings")).to_be_hidden(timeout=20_000)
        page.click("#save")
        expect(page.locator("#save-status")).to_have_attribute("data-state", "saved")
        page.goto(f"{live_server}/admin/versions/{campaign.id}/draft")
        page.fill("form#publish-form textarea[name=comment]", "ZT4 法律依据更新")
        page.click("#publish")
        expect(page.locator(".alert-success")).to_be_visible()
        page.screenshot(path=str(shots / "4-published.png"), full_page=True)
        session.expire_all()
        assert session.get(RulesetVersion, session.get(Campaign, campaign.id).published_version_id).number > before
    finally:
        page.close()
        session.rollback()
        row = session.get(ListItem, zt4.id)
        row.assign, row.legal_basis = kept
        session.execute(delete(Scenario).where(Scenario.title == TITLE))
        campaign = session.get(Campaign, campaign.id)
        if session.get(RulesetVersion, campaign.published_version_id).number != before:
            rollback(session, campaign, before, comment="scenarios browser test")  # the suite's active content again
        session.commit()
