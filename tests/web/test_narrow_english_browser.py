"""English runs longer than Chinese: a table of English headings or a select of English category names widened pages
past a phone's 360 px that fitted in Chinese. Every such page, in English at 360 px, in a real browser (Debian's
chromium through Playwright; skipped without it): wide tables scroll inside their own box, filters narrow, long
values (a content hash) break, and the page itself never scrolls sideways."""
from __future__ import annotations

from sqlalchemy import select

from engine.core.models import Firing, RulesetVersion
from tests.web.test_role_pages import placed_task

PHONE = {"width": 360, "height": 740}

#: The pages a reviewer found wider than 360 px in English (the administrator may open them all).
PAGES = ("/command", "/holders", "/inspection/coverage", "/plan/report", "/admin/changes/", "/admin/templates/edit/",
         "/admin/import/", "/admin/zones/", "/admin/firing/details/?id={firing}",
         "/admin/rulesetversion/details/?id={version}", "/admin/holiday/", "/admin/scenarios/")


def test_pages_with_wide_english_tables_and_filters_fit_a_phone(
        live_server, browser, browser_login, factory, drain, session):
    task = placed_task(factory, drain, session, spot=61)  # a firing with its event and rule to show in detail
    firing = session.scalar(select(Firing.id).where(Firing.task_id == task.id))
    version = session.scalar(select(RulesetVersion.id).order_by(RulesetVersion.id.desc()))
    page = browser.new_page(viewport=PHONE, locale="en-US")
    browser_login(page, live_server, "admin")
    too_wide = {}
    for path in (p.format(firing=firing, version=version) for p in PAGES):
        response = page.goto(live_server + path)
        assert response is not None and response.status == 200, path
        page.wait_for_load_state("load")
        assert page.locator("button", has_text="Log out").count() == 1, (path, "not in English")
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            too_wide[path] = width
    assert not too_wide, f"pages that scroll sideways at {PHONE['width']} px in English: {too_wide}"
