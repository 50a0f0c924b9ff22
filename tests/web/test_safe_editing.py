"""Safe editing in the list editor: a row covering another list's categories is warned about and still
saved (the hit policy decides), an empty key is made for the user and an empty English title shows the
Chinese one; editors warn before leaving unsaved changes, and at 1280 px the table, its analysis and
its save bar fit without scrolling sideways or covering a row."""
from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import select

from engine.core.models import ListItem, RuleList
from tests.web.test_list_editor import editor, new_row, post, stored, table  # noqa: F401 (fixture)


def _strict_list(factory, campaign_id: int) -> None:
    """A strict-management list beside the test campaign's zero-tolerance one, its SM8 on category 09006."""
    with factory() as session:
        rule_list = RuleList(campaign_id=campaign_id, kind="strict_management", name_zh="严管理", name_en="Strict")
        rule_list.items = [ListItem(position=0, key="SM8", title_zh="占道经营", title_en="Street vending",
                                    categories=["09006"], conditions=[], assign="grid_unit",
                                    template_code="zt-clearance", points=1, enabled=True)]
        session.add(rule_list)
        session.commit()


def test_a_row_covering_another_lists_row_is_warned_about_and_saved(app, client, factory, table, login):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        _strict_list(factory, table["campaign"])
        login(client, "admin")
        rows, token, _ = editor(client, table["list"])
        rows.append(new_row(key="ZT7"))  # covers 09006, as SM8 does
        analysis = post(client, table["list"], "analyse", rows, token).get_json()
        warned = [f for f in analysis["rows"][2]["findings"] if f["kind"] == "other_list_overlap"]
        assert len(warned) == 1 and "严管理清单第 SM8 行" in warned[0]["message"] and "命中策略" in warned[0]["message"]
        saved = post(client, table["list"], "save", rows, token)
        assert saved.status_code == 200, saved.get_json()
        assert [key for _, key, _ in stored(factory, table["list"])] == ["ZT1", "ZT2", "ZT7"]
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_an_empty_key_is_made_and_an_empty_english_title_shows_the_chinese_one(app, client, factory, table, login):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        login(client, "admin")
        rows, token, _ = editor(client, table["list"])
        rows.append(new_row(key="", title_en=""))
        saved = post(client, table["list"], "save", rows, token)
        assert saved.status_code == 200, saved.get_json()
        assert saved.get_json()["rows"][2]["key"] == "ZT3"  # after ZT1 and ZT2
        with factory() as session:
            item = session.scalar(select(ListItem).where(ListItem.list_id == table["list"], ListItem.key == "ZT3"))
            assert (item.title_zh, item.title_en) == ("夜间占道经营", "")
        auditor = app.test_client()
        login(auditor, "auditor")
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    page = auditor.get(f"/admin/lists/{table['list']}/?lang=en").get_data(as_text=True)
    row = page.split('data-key="ZT3"')[1].split("</tr>")[0]
    assert '<td data-label="Title">夜间占道经营</td>' in row


def test_editors_carry_the_unsaved_changes_warning(client, table, login):
    login(client, "admin")
    _, _, page = editor(client, table["list"])
    assert 'data-warn-unsaved="script"' in page and "unsaved.js" in page
    template = client.get("/admin/templates/edit/?code=zt-clearance").get_data(as_text=True)
    assert 'id="template-editor" data-warn-unsaved data-dirty=""' in template and "unsaved.js" in template


def test_in_a_browser_the_list_editor_fits_1280_px_and_warns_before_leaving(live_server, browser, factory, table,
                                                                           browser_login, tmp_path):
    from playwright.sync_api import expect

    with factory() as session:  # enough rows that the page scrolls and the save bar meets the last row
        rule_list = session.get(RuleList, table["list"])
        for n in range(3, 9):
            rule_list.items.append(ListItem(position=n, key=f"ZT{n}", title_zh=f"测试行{n}", title_en="",
                                            categories=[f"0600{n}"], conditions=[], assign="grid_unit",
                                            template_code="zt-clearance", points=1, enabled=True))
        session.commit()
    page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    browser_login(page, live_server)
    page.goto(f"{live_server}/admin/lists/{table['list']}/")
    expect(page.locator("#list-rows tbody tr[data-row]")).to_have_count(8)
    sizes = page.evaluate("""() => { const wrap = document.querySelector('.list-table-wrap');
        return {page: document.documentElement.scrollWidth, view: document.documentElement.clientWidth,
                wrap: wrap.scrollWidth, wrapView: wrap.clientWidth}; }""")
    assert sizes["page"] <= sizes["view"] and sizes["wrap"] <= sizes["wrapView"], sizes
    analysis = page.locator('tr[data-row="0"] td.analysis-cell').bounding_box()
    assert analysis["x"] + analysis["width"] <= 1280
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    last = page.locator("#list-rows tbody tr[data-row]").last.bounding_box()
    bar = page.locator(".list-actions").bounding_box()
    assert last["y"] + last["height"] <= bar["y"] + 1, (last, bar)
    shots = Path(os.environ.get("CIVICRULES_ARTIFACTS") or tmp_path) / "list-editor"
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "fits-1280.png"), full_page=True)

    assert page.evaluate("document.querySelector('#list-editor').dataset.dirty") == ""
    page.locator('[name="rows-0-title_zh"]').fill("露天烧烤（改）")
    assert page.evaluate("document.querySelector('#list-editor').dataset.dirty") == "1"
    seen = []
    page.on("dialog", lambda dialog: (seen.append(dialog.type), dialog.accept()))
    page.goto(f"{live_server}/admin/lists/")  # leaving asks first; accepting it leaves
    assert seen == ["beforeunload"]
    expect(page.locator("h1")).not_to_have_text("")
    page.close()


def test_a_template_without_english_shows_chinese_on_english_pages(app, session):
    from flask_wtf import FlaskForm

    from engine.authoring import templates as task_templates
    from engine.core.models import TaskTemplate
    from web.common.taskforms import form_class

    spec = {"code": "no-english-test", "name_zh": "无英文模板", "name_en": "",
            "fields": [{"name": "result", "type": "textarea", "zh": "处置情况", "en": ""}]}
    assert task_templates.check(spec) == []
    try:
        row = task_templates.save_version(session, spec)
        assert row.name_en == "无英文模板"
        with app.test_request_context("/?lang=en"):
            form = form_class(row, "en", FlaskForm)(meta={"csrf": False})
            assert form.result.label.text == "处置情况"
    finally:
        session.rollback()
        assert session.scalar(select(TaskTemplate).where(TaskTemplate.code == "no-english-test")) is None
