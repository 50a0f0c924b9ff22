"""An auditor in a real browser (Debian's chromium through Playwright): filters the firing history, opens a
firing, sees the explanation card with the fact values, follows it to the rule version it ran under, and
downloads the month's XLSX bulletin. Screenshots go to CIVICRULES_ARTIFACTS or the test's tmp folder."""
from __future__ import annotations

import os
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import select

from engine.core import clock
from engine.core.models import Category, Grid
from tests.helpers import bearer, event


def test_auditor_filters_opens_a_firing_follows_the_rule_and_downloads_the_bulletin(
        live_server, browser, client, intake_token, drain, session, tmp_path, browser_login):
    from playwright.sync_api import expect

    shots = Path(os.environ.get("CIVICRULES_ARTIFACTS") or tmp_path) / "audit"
    shots.mkdir(parents=True, exist_ok=True)
    client.post("/api/v1/events", json=event("06029", "NC-02", hour=23), headers=bearer(intake_token))
    drain()
    category = session.scalar(select(Category).where(Category.code == "06029"))
    grid = session.scalar(select(Grid).where(Grid.code == "NC-02"))
    month = clock.now().strftime("%Y-%m")
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN", accept_downloads=True)
    browser_login(page, live_server, "auditor")
    page.goto(f"{live_server}/admin/history/")
    page.select_option("#history-filters select[name=category_id]", str(category.id))
    page.select_option("#history-filters select[name=grid_id]", str(grid.id))
    page.fill("#history-filters input[name=rule]", "zero_tolerance.zt4")
    page.click("#history-filters button[type=submit]")
    rows = page.locator("#firings tr td a")
    expect(rows.first).to_be_visible()
    page.screenshot(path=str(shots / "1-filtered.png"), full_page=True)
    rows.first.click()
    card = page.locator("#explanation")
    expect(card).to_contain_text("实际为")
    expect(card).to_contain_text("露天烧烤")
    page.screenshot(path=str(shots / "2-card.png"), full_page=True)
    page.click("#rule-version-link")
    expect(page.locator("#rule-version")).to_contain_text("zero_tolerance.zt4")
    expect(page.locator("pre")).to_contain_text("06029")
    page.screenshot(path=str(shots / "3-rule-version.png"), full_page=True)
    page.goto(f"{live_server}/assessment/bulletins/{month}")
    with page.expect_download() as download:
        page.click("text=下载 XLSX")
    path = tmp_path / "bulletin.xlsx"
    download.value.save_as(str(path))
    book = load_workbook(path, read_only=True)
    assert book.sheetnames and book.worksheets[0].max_row >= 2
