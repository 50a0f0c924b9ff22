"""Third-party widgets on Chinese pages speak Chinese, in a real browser (Debian's chromium through Playwright;
skipped without it): Leaflet's zoom and layers buttons on the command centre and the zone map, Leaflet.draw's tools
and hints, and in the admin Flask-Admin's date picker, select boxes, yes/no icons and menu button. Each library
ships its words in English only; web/common/widget_words.py hands them the reader's."""
from __future__ import annotations

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}


def _chinese_page(browser, browser_login, live_server: str, viewport: dict = DESKTOP):
    page = browser.new_page(viewport=viewport, locale="zh-CN")
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    browser_login(page, live_server, "admin")
    return page, errors


def test_the_maps_controls_and_drawing_tools_are_titled_in_chinese(live_server, browser, browser_login):
    from playwright.sync_api import expect

    page, errors = _chinese_page(browser, browser_login, live_server)
    for path in ("/command", "/admin/zones/"):
        page.goto(live_server + path)
        expect(page.locator("a.leaflet-control-zoom-in")).to_have_attribute("title", "放大")
        expect(page.locator("a.leaflet-control-zoom-out")).to_have_attribute("aria-label", "缩小")
        expect(page.locator("a.leaflet-control-layers-toggle")).to_have_attribute("title", "图层")
        expect(page.locator(".leaflet-control-attribution a").first).to_have_attribute(
            "title", "一个用于交互式地图的 JavaScript 库")
    expect(page.locator("a.leaflet-draw-draw-polygon")).to_have_attribute("title", "画多边形")
    expect(page.locator("a.leaflet-draw-draw-polyline")).to_have_attribute("title", "画线（街道）")
    expect(page.locator("a.leaflet-draw-edit-edit")).to_have_attribute("title", "编辑图形")
    page.click("a.leaflet-draw-draw-polygon")
    expect(page.locator(".leaflet-draw-actions a", has_text="取消")).to_have_attribute("title", "取消绘制")
    box = page.locator("#zone-map").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(page.locator(".leaflet-draw-tooltip")).to_have_text("点击开始绘制图形。")
    assert not errors, errors


def test_the_admins_date_picker_select_boxes_and_icons_speak_chinese(live_server, browser, browser_login):
    from playwright.sync_api import expect

    page, errors = _chinese_page(browser, browser_login, live_server)
    page.goto(f"{live_server}/admin/holiday/new/")
    page.click("input[name=day]")
    picker = page.locator(".daterangepicker").first
    expect(picker.locator("button.applyBtn")).to_have_text("确定")
    expect(picker.locator("button.cancelBtn")).to_have_text("取消")
    expect(picker.locator("thead tr").nth(1)).to_have_text("周一周二周三周四周五周六周日")
    expect(picker.locator("select.monthselect option").first).to_have_text("1月")

    page.goto(f"{live_server}/admin/grid/new/")
    page.click("#s2id_unit a.select2-choice")
    page.keyboard.type("不存在的单位")
    expect(page.locator(".select2-drop-active .select2-no-results")).to_have_text("没有找到匹配项")

    page.goto(f"{live_server}/admin/intakepolicy/")
    titles = set(page.locator("td span.fa[title]").evaluate_all("icons => icons.map(icon => icon.title)"))
    assert titles == {"先由网格监督员核实: 是", "先由网格监督员核实: 否"}, titles
    page.goto(f"{live_server}/admin/intakepolicy/details/?id=hotline")
    expect(page.locator("table.searchable tr", has_text="先由网格监督员核实").locator("td").nth(1)).to_have_text("是")
    assert not errors, errors


def test_the_admins_menu_button_is_named_in_chinese_on_a_phone(live_server, browser, browser_login):
    from playwright.sync_api import expect

    page, errors = _chinese_page(browser, browser_login, live_server, PHONE)
    page.goto(f"{live_server}/admin/")
    toggler = page.locator("button.navbar-toggler")
    expect(toggler).to_be_visible()
    expect(toggler).to_have_attribute("aria-label", "展开或收起导航菜单")
    assert not errors, errors


RANGE = """() => {
    // a range filter as Flask-Admin's filters.js makes one for a date column's "between": the value as the server
    // sent it back, then styled by form.js (no admin list has such a filter yet; this is the input one gets)
    const input = $('<input type="text" class="filter-val form-control" name="range">')
        .attr('data-date-format', 'YYYY-MM-DD').val('2026-10-01 to 2026-10-08').appendTo('#filter_form');
    faForm.applyStyle(input, 'daterangepicker');
    return input.data('daterangepicker').startDate.format('YYYY-MM-DD');
}"""


def test_a_date_ranges_two_dates_are_joined_in_the_readers_words_and_sent_as_the_filters_read_them(
        live_server, browser, browser_login):
    from playwright.sync_api import expect

    page, errors = _chinese_page(browser, browser_login, live_server)
    for lang, shown in (("zh_Hans_CN", "2026-10-01 至 2026-10-08"), ("en", "2026-10-01 to 2026-10-08")):
        page.goto(f"{live_server}/admin/event/?lang={lang}")
        assert page.evaluate(RANGE) == "2026-10-01"  # the picker reads the range it was given
        field = page.locator("input[name=range]")
        expect(field).to_have_value(shown)
        field.click()
        page.locator(".daterangepicker:visible button.applyBtn").click()
        expect(field).to_have_value(shown)
        page.evaluate("() => $('#filter_form').submit()")  # as form.js submits a filter on Enter
        page.wait_for_url("**range=2026-10-01+to+2026-10-08**")
    assert not errors, errors
