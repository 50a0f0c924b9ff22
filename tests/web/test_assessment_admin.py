"""Assessment configuration through the admin's widgets over HTTP with CSRF: weights as one number box per
indicator, peer groups as rows, points per happening, sanction rules by name; what is stored is what the
engine reads; bad values are refused next to their box in zh and en; readers see no inputs."""
from __future__ import annotations

import os
import re
import uuid
from html import unescape
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.assessment.indicators import HAPPENINGS, Indicators, points_for
from engine.core.models import AssessmentConfig, Campaign, ListItem, RuleList, SanctionRule, Unit
from engine.assessment.ranking import DEFAULT_WEIGHTS, config_for, rank, score, unit_groups
from tests.helpers import csrf_from


@pytest.fixture()
def admin(app, client, csrf_on, login):
    assert login(client, "admin").status_code == 302
    return client


@pytest.fixture()
def campaign_id(session) -> int:
    """A campaign of its own, under a code no earlier run used: the browser tests commit theirs."""
    campaign = Campaign(code=f"asm-{uuid.uuid4().hex[:8]}", name_zh="考核配置测试", name_en="Assessment config test")
    session.add(campaign)
    session.commit()
    return campaign.id


def _post(client, form_url: str, data: dict, lang: str = "en"):
    """Open the form (for its CSRF token), then post it as the browser would."""
    sep = "&" if "?" in form_url else "?"
    page = client.get(f"{form_url}{sep}lang={lang}")
    assert page.status_code == 200, page.status_code
    return client.post(f"{form_url}{sep}lang={lang}", data={**data, "csrf_token": csrf_from(page.get_data(as_text=True))})


def _near(html: str, anchor: str, message: str, window: int = 1200) -> bool:
    """The message is shown right after the input named `anchor`, not only in a banner."""
    at = html.find(f'name="{anchor}"')
    return at >= 0 and message in html[at:at + window]


def _group_box(html: str, index: int) -> str:
    """Peer group `index`'s part of the form: from its name box to the next group's (its unit types are a list of
    checkboxes, which grows with the unit types the campaign knows)."""
    at = html.find(f'name="peer_groups-{index}-name"')
    end = html.find(f'name="peer_groups-{index + 1}-name"', at)
    return html[at:end if end > 0 else html.find("</form>", at)] if at >= 0 else ""


def _visible_feedback(html: str, anchor: str) -> str:
    """The text of the visible error box that follows the input named `anchor` (empty if none)."""
    at = html.find(f'name="{anchor}"')
    match = re.compile(r'<div class="invalid-feedback d-block">([^<]*)</div>').search(html, at)
    return unescape(match.group(1)) if at >= 0 and match and match.start() - at < 1200 else ""


def _config(session, campaign_id: int) -> AssessmentConfig | None:
    session.expire_all()
    return session.scalar(select(AssessmentConfig).where(AssessmentConfig.campaign_id == campaign_id))


def _weights(**values: str) -> dict:
    boxes = {f"weights-{key}": "" for key in DEFAULT_WEIGHTS}
    boxes.update({f"weights-{key}": value for key, value in values.items()})
    return {"weights": "boxes", **boxes}


def _groups(*rows: tuple[int, str, list[str]]) -> dict:
    data: dict = {"peer_groups": "rows"}
    for index, name, kinds in rows:
        data[f"peer_groups-{index}-name"] = name
        data[f"peer_groups-{index}-types"] = kinds
    return data


def test_new_configuration_form_has_a_box_per_indicator_and_group_rows(admin, session):
    html = admin.get("/admin/assessmentconfig/new/?lang=en").get_data(as_text=True)
    for key, label in (("handling_rate", "Handling rate"), ("overdue_unhandled_rate", "Overdue-unhandled rate"),
                       ("points_lost", "Points lost (per point)"), ("rebounds", "Rebounds (per rebound)")):
        assert re.search(rf'<label[^>]*for="weights-{key}">{re.escape(label)}</label>\s*<input type="number"', html)
    assert 'name="weights-handling_rate" value="30"' in html  # a new configuration starts from the defaults
    assert 'name="peer_groups-0-name" value="subdistricts"' in html
    assert re.search(r'name="peer_groups-0-types" value="subdistrict" checked', html)
    assert "Sub-district office" in html and 'data-peer-group-add="peer_groups"' in html
    assert "/static/assessment-admin.js" in html
    assert '<textarea' not in html.split('id="weights"')[1].split("</form>")[0]
    zh = admin.get("/admin/assessmentconfig/new/?lang=zh_Hans_CN").get_data(as_text=True)
    assert "处置率" in zh and "组名" in zh


def test_weights_and_peer_groups_saved_through_the_widgets_are_what_the_ranking_reads(admin, session, campaign_id):
    data = {"campaign": str(campaign_id), **_weights(handling_rate="50", rework_rate="12.5", points_lost="2"),
            # rows as the page sends them after adding a group and removing another: indexes with a gap, a blank row
            **_groups((0, "subdistricts", ["subdistrict"]), (1, "", []), (3, "departments", ["department", "bureau"]))}
    saved = _post(admin, "/admin/assessmentconfig/new/", data)
    assert saved.status_code == 302, saved.get_data(as_text=True)[-3000:]
    config = _config(session, campaign_id)
    assert config.weights == {"handling_rate": 50, "rework_rate": 12.5, "points_lost": 2}
    assert config.peer_groups == {"subdistrict": "subdistricts", "department": "departments", "bureau": "departments"}

    campaign = session.get(Campaign, campaign_id)
    weights, peer_groups = config_for(session, campaign)
    assert weights == {**DEFAULT_WEIGHTS, "handling_rate": 50, "rework_rate": 12.5, "points_lost": 2}
    groups = unit_groups(session, peer_groups)
    bureau = session.scalar(select(Unit.id).where(Unit.type == "bureau"))
    squad = session.scalar(select(Unit.id).where(Unit.type == "squad"))
    assert groups[bureau] == "departments" and squad not in groups  # squads are in no group now: not ranked
    worked = Indicators(bureau, due=4, handled=2, due_to_close=2, reworked=1, points_lost=1.5)  # rework: 1 of 2
    # 50·0.5 + 20·1 (on-time: 0 of 4 → 0) ... computed by the engine from the stored weights:
    assert score(worked, weights) == round(50 * 0.5 + 20 * 0 + 12.5 * (1 - 0.5) + 20 * 1 + 10 * 1 - 2 * 1.5, 2)
    assert {r.group for r in rank({bureau: worked}, groups, weights)} == {"subdistricts", "departments"}

    listing = admin.get("/admin/assessmentconfig/?lang=en").get_data(as_text=True)
    assert "Handling rate 50" in listing and "Departments: Department, Bureau" in listing
    assert '"handling_rate"' not in listing

    edit = admin.get(f"/admin/assessmentconfig/edit/?id={config.id}&lang=en").get_data(as_text=True)
    assert 'name="weights-handling_rate" value="50"' in edit and 'name="weights-closure_rate" value=""' in edit
    assert 'placeholder="30"' in edit  # an empty box shows the default that applies
    again = _post(admin, "/admin/assessmentconfig/new/", {"campaign": str(campaign_id), **_weights(),
                                                         **_groups((0, "all", ["squad"]))})
    assert _near(again.get_data(as_text=True), "campaign", "already has its weights and peer groups")


@pytest.mark.parametrize("lang, negative, not_number, no_name, unknown, twice", [
    ("en", "Enter a number of at least 0.", "Enter a number.", "Enter the group's name.",
     "Unknown unit type: spaceship.", "is already in group subdistricts"),
    ("zh_Hans_CN", "请输入不小于 0 的数。", "请输入数字。", "请输入同类组名称。", "未知的单位类型：spaceship。",
     "已在同类组 subdistricts 中"),
])
def test_bad_values_are_refused_next_to_their_box_and_nothing_is_stored(admin, session, campaign_id, lang, negative,
                                                                        not_number, no_name, unknown, twice):
    data = {"campaign": str(campaign_id), **_weights(handling_rate="-1", rework_rate="lots", points_lost="1"),
            **_groups((0, "subdistricts", ["subdistrict"]), (1, "", ["department"]), (2, "odd", ["spaceship"]),
                      (3, "again", ["subdistrict"]))}
    refused = _post(admin, "/admin/assessmentconfig/new/", data, lang=lang)
    assert refused.status_code == 200
    html = refused.get_data(as_text=True)
    assert _visible_feedback(html, "weights-handling_rate") == negative
    assert _visible_feedback(html, "weights-rework_rate") == not_number
    assert _visible_feedback(html, "weights-points_lost") == ""
    assert 'name="weights-rework_rate" value="lots"' in html  # what was typed comes back to be fixed
    assert _visible_feedback(html, "peer_groups-1-name") == no_name
    assert unknown in _group_box(html, 2) and unknown not in _group_box(html, 1) + _group_box(html, 3)
    assert twice in _group_box(html, 3) and twice not in _group_box(html, 2)
    assert _config(session, campaign_id) is None


@pytest.fixture()
def list_row(session, campaign_id) -> int:
    rule_list = RuleList(campaign_id=campaign_id, kind="zero_tolerance", name_zh="零容忍", name_en="Zero tolerance")
    row = ListItem(rule_list=rule_list, position=0, key="P-test", title_zh="测试行",
                   title_en="Test row", categories=["06029"], template_code="t", points=2)
    session.add_all([rule_list, row])
    session.commit()
    return row.id


def test_points_per_happening_are_boxes_and_stored_as_points_for_reads_them(admin, session, list_row):
    url = f"/admin/assessment_points/edit/?id={list_row}"
    form = admin.get(f"{url}&lang=en").get_data(as_text=True)
    for kind, label in zip(HAPPENINGS, ("Task overdue", "Failed check", "Rebound", "Inspection finding")):
        assert re.search(rf'for="point_rules-{kind}">{label}</label>\s*<input type="number"[^>]*placeholder="2"',
                         form)
    saved = _post(admin, url, {"points": "2.5", "point_rules": "boxes", "point_rules-overdue": "3",
                               "point_rules-failed_check": "", "point_rules-rebound": "0",
                               "point_rules-inspection": "0.5"})
    assert saved.status_code == 302, saved.get_data(as_text=True)[-3000:]
    session.expire_all()
    row = session.get(ListItem, list_row)
    assert row.point_rules == {"overdue": 3, "rebound": 0, "inspection": 0.5}
    assert row.points == 2.5
    assert points_for(row.point_rules, row.points) == {"overdue": 3.0, "failed_check": 2.5, "rebound": 0.0,
                                                        "inspection": 0.5}
    listing = admin.get("/admin/assessment_points/?lang=en").get_data(as_text=True)
    assert "Task overdue 3 · Rebound 0 · Inspection finding 0.5" in listing

    for lang, message in (("en", "Enter a number of at least 0."), ("zh_Hans_CN", "请输入不小于 0 的数。")):
        refused = _post(admin, url, {"points": "2", "point_rules": "boxes", "point_rules-overdue": "-3"}, lang=lang)
        assert _visible_feedback(refused.get_data(as_text=True), "point_rules-overdue") == message
        refused = _post(admin, url, {"points": "-1", "point_rules": "boxes", "point_rules-overdue": "1"}, lang=lang)
        assert _near(refused.get_data(as_text=True), "points", message)
    session.expire_all()
    assert session.get(ListItem, list_row).point_rules == {"overdue": 3, "rebound": 0, "inspection": 0.5}


def test_sanction_rules_are_chosen_and_listed_by_name(admin, session, campaign_id):
    form = admin.get("/admin/sanctionrule/new/?lang=en").get_data(as_text=True)
    assert '<option value="consecutive_months">Bottom N in K consecutive months</option>' in form
    assert '<option value="interview">Interview</option>' in form
    assert re.search(r'<select[^>]*name="peer_group"', form) and '<option value="">All groups</option>' in form
    zh = admin.get("/admin/sanctionrule/new/?lang=zh_Hans_CN").get_data(as_text=True)
    assert '<option value="consecutive_months">连续K个月排名后N位</option>' in zh and ">约谈</option>" in zh

    session.add(AssessmentConfig(campaign_id=campaign_id, weights={}, peer_groups={"subdistrict": "subdistricts"}))
    session.commit()
    rule = {"campaign": str(campaign_id), "code": "xian-2", "kind": "consecutive_months", "bottom_n": "3",
            "periods": "2", "peer_group": "subdistricts", "sanction": "interview", "enabled": "y"}
    for lang, zero, group in (("en", "Enter a whole number of at least 1.", "has no peer group"),
                              ("zh_Hans_CN", "请输入不小于 1 的整数。", "没有同类组")):
        refused = _post(admin, "/admin/sanctionrule/new/", {**rule, "bottom_n": "0", "peer_group": "squads"}, lang)
        html = refused.get_data(as_text=True)
        assert _near(html, "bottom_n", zero) and _near(html, "peer_group", group, window=2500), html[-4000:]
    assert session.scalar(select(func.count()).select_from(SanctionRule)
                          .where(SanctionRule.campaign_id == campaign_id)) == 0

    assert _post(admin, "/admin/sanctionrule/new/", rule).status_code == 302
    none = _post(admin, "/admin/sanctionrule/new/", {**rule, "code": "all-month", "kind": "month", "peer_group": ""})
    assert none.status_code == 302
    session.expire_all()
    stored = {r.code: (r.kind, r.periods, r.peer_group, r.sanction) for r in
              session.scalars(select(SanctionRule).where(SanctionRule.campaign_id == campaign_id))}
    assert stored == {"xian-2": ("consecutive_months", 2, "subdistricts", "interview"),
                      "all-month": ("month", 2, None, "interview")}
    listing = admin.get("/admin/sanctionrule/?lang=en").get_data(as_text=True)
    assert "Bottom 3 in 2 consecutive months" in listing and "Sub-districts" in listing and "All groups" in listing
    assert not re.search(r">\s*consecutive_months\s*<", listing)
    zh = admin.get("/admin/sanctionrule/?lang=zh_Hans_CN").get_data(as_text=True)
    assert re.search(r">\s*连续2个月排名后3位\s*<", zh) and re.search(r">\s*约谈\s*<", zh)


@pytest.mark.parametrize("role", ["assessor", "auditor"])
def test_readers_see_the_configuration_by_name_and_no_inputs(app, session, role, login):
    client = app.test_client()
    login(client, role)
    config = session.scalar(select(AssessmentConfig).order_by(AssessmentConfig.id))
    row = session.scalar(select(ListItem).order_by(ListItem.id))
    for page in ("/admin/assessmentconfig/", f"/admin/assessmentconfig/details/?id={config.id}",
                 "/admin/assessment_points/", f"/admin/assessment_points/details/?id={row.id}",
                 "/admin/sanctionrule/", "/admin/sanctiondue/"):
        response = client.get(f"{page}{'&' if '?' in page else '?'}lang=en")
        assert response.status_code == 200, page
        html = response.get_data(as_text=True)
        assert not re.search(r'name="(weights|peer_groups|point_rules)-', html), page
        assert "/edit/" not in html and "/new/" not in html, page
    assert "Handling rate" in client.get("/admin/assessmentconfig/?lang=en").get_data(as_text=True)
    for page in (f"/admin/assessmentconfig/edit/?id={config.id}", "/admin/assessmentconfig/new/",
                 f"/admin/assessment_points/edit/?id={row.id}", "/admin/sanctionrule/new/"):
        assert client.get(page).status_code == 403, page
        assert client.post(page, data={"weights": "boxes"}).status_code in (400, 403), page
    session.expire_all()
    assert session.get(AssessmentConfig, config.id).weights == config.weights


def test_field_units_have_no_access(app, login):
    client = app.test_client()
    login(client, "dongcheng")
    assert client.get("/admin/assessmentconfig/").status_code == 403


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, {"width": 390, "height": 844}])
def test_in_a_browser_groups_are_added_and_removed_and_a_bad_weight_is_shown_next_to_its_box(
        live_server, browser, session, campaign_id, tmp_path, viewport, browser_login):
    from playwright.sync_api import expect

    config = AssessmentConfig(campaign_id=campaign_id, weights={}, peer_groups={"subdistrict": "subdistricts"})
    session.add(config)
    session.commit()
    shots = Path(os.environ.get("CIVICRULES_ARTIFACTS") or tmp_path) / "assessment-admin"
    shots.mkdir(parents=True, exist_ok=True)
    size = "phone" if viewport["width"] < 600 else "desktop"
    page = browser.new_page(viewport=viewport, locale="zh-CN")
    browser_login(page, live_server)
    page.goto(f"{live_server}/admin/assessmentconfig/edit/?id={config.id}&lang=zh")
    expect(page.locator("label[for=weights-handling_rate]")).to_have_text("处置率")
    page.fill("input[name=peer_groups-1-name]", "departments")
    page.check("#peer_groups-1-types-department")
    page.click("[data-peer-group-add=peer_groups]")
    expect(page.locator("input[name=peer_groups-2-name]")).to_be_focused()
    page.fill("input[name=peer_groups-2-name]", "squads")
    page.check("#peer_groups-2-types-squad")
    page.click("[data-peer-row='0'] [data-peer-group-remove]")
    expect(page.locator("[data-peer-row]")).to_have_count(2)
    page.fill("input[name=weights-handling_rate]", "-5")  # the box itself refuses it before anything is sent
    assert page.eval_on_selector("input[name=weights-handling_rate]", "box => box.validity.rangeUnderflow")
    page.fill("input[name=weights-handling_rate]", "40")
    page.click("[data-peer-group-add=peer_groups]")
    page.fill("input[name=peer_groups-3-name]", "nobody")  # a group without unit types: refused by the server
    page.screenshot(path=str(shots / f"peer-groups-{size}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"] + 1  # no sideways scroll
    page.click("input[type=submit].btn-primary")
    problem = page.locator("[data-peer-row='2'] .invalid-feedback")
    expect(problem).to_have_text("请至少选择一种单位类型。")
    expect(problem).to_be_visible()
    page.screenshot(path=str(shots / f"bad-group-{size}.png"), full_page=True)
    assert _config(session, campaign_id).peer_groups == {"subdistrict": "subdistricts"}
    expect(page.locator("input[name=weights-handling_rate]")).to_have_value("40")  # what was typed stays

    page.click("[data-peer-row='2'] [data-peer-group-remove]")
    page.click("input[type=submit].btn-primary")
    expect(page.locator(".alert-success")).to_be_visible()
    stored = _config(session, campaign_id)
    assert (stored.weights, stored.peer_groups) == ({"handling_rate": 40}, {"department": "departments",
                                                                            "squad": "squads"})


def _detail_cells(page: str) -> dict[str, str]:
    rows = re.findall(r"<td>\s*<b>(.*?)</b>\s*</td>\s*<td>(.*?)</td>", page, re.S)
    return {label.strip(): re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", value))).strip()
            for label, value in rows}


def test_a_list_rows_points_page_reads_its_condition_unit_template_and_ladder_by_name(client, login, session):
    """条件 was a Python dict, 责任单位 "grid_unit", 任务模板 "zt-clearance", 时限流程 "zt-ladder", the position 职务."""
    login(client, "admin")
    row = session.scalar(select(ListItem).where(ListItem.key == "ZT2"))
    cells = _detail_cells(client.get(f"/admin/assessment_points/details/?id={row.id}").get_data(as_text=True))
    assert "职务" not in cells and cells["序号"] == str(row.position)
    assert cells["条件"].startswith("任一满足：问题类别代码 等于 ") and "建筑" in cells["条件"] and "{" not in cells["条件"]
    assert "building_materials）" in cells["条件"]  # the filing condition named, its code after it
    assert cells["责任单位"] == "网格责任单位"
    assert cells["任务模板"] == "零容忍问题整治（zt-clearance）"
    assert cells["时限流程"] == "零容忍督办流程（zt-ladder）"
    assert "（08006）" in cells["覆盖的问题类别"]
    english = _detail_cells(client.get(f"/admin/assessment_points/details/?id={row.id}&lang=en").get_data(as_text=True))
    assert english["Responsible unit"] == "the grid's responsible unit"
    assert english["Timeline"] == "Zero-tolerance escalation (zt-ladder)"
    assert english["Conditions"].startswith("any of: category code is ")
