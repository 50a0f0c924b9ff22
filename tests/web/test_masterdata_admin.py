"""Master-data admin through HTTP with CSRF on: timelines with ordered steps, tiers with member users
and units, units with their duty list, frontage holders, campaigns with office hours as rows."""
from __future__ import annotations

import os
import re
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.core.models import (Campaign, Category, DutyItem, FrontageHolder, Grid, SupervisionTier, TierMember, Timeline, TimelineStep, Unit, User)
from tests.helpers import csrf_from


def _code(prefix: str) -> str:
    """A code no earlier run used: the browser tests commit (the live server reads what they write)."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture()
def admin(app, client, login):
    app.config["WTF_CSRF_ENABLED"] = True
    assert login(client, "admin").status_code == 302
    return client


def _post(client, form_url: str, data: dict, lang: str = "en"):
    """Open the form (for its CSRF token), then post it as the browser would."""
    sep = "&" if "?" in form_url else "?"
    page = client.get(f"{form_url}{sep}lang={lang}")
    assert page.status_code == 200, page.status_code
    return client.post(f"{form_url}{sep}lang={lang}", data={**data, "csrf_token": csrf_from(page.get_data(as_text=True))})


#: The campaign form's stage clocks (受理, 核实, 派遣, 核查), in minutes: the defaults a browser shows.
STAGE_CLOCKS = {"accept_minutes": "15", "verify_minutes": "30", "dispatch_minutes": "15", "check_minutes": "30"}


def _campaign_id(session) -> int:
    return session.scalar(select(Campaign.id).order_by(Campaign.id))


def _step(index: int, anchor: str, action: str, after: str = "", unit: str = "minutes", share: str = "",
          tier: str = "", unless: str = "", step_id: int | None = None, position: int | None = None) -> dict:
    prefix = f"steps-{index}-"
    data = {prefix + "anchor": anchor, prefix + "share": share, prefix + "after_minutes": after,
            prefix + "after_minutes-unit": unit, prefix + "action": action, prefix + "tier_level": tier,
            prefix + "unless_state": unless, prefix + "position": "" if position is None else str(position)}
    if step_id is not None:
        data[prefix + "id"] = str(step_id)
    return data


def _steps(session, timeline_id: int) -> list[tuple]:
    session.expire_all()
    return [(s.position, s.anchor, s.share, s.after_minutes, s.action, s.tier_level, s.unless_state) for s in
            session.scalars(select(TimelineStep).where(TimelineStep.timeline_id == timeline_id)
                            .order_by(TimelineStep.position))]


def _near(html: str, anchor: str, message: str, window: int = 1500) -> bool:
    """The message is shown right after the field named `anchor` (in its form group), not only in a banner."""
    at = html.find(f'name="{anchor}"')
    return at >= 0 and message in html[at:at + window]


def test_a_timeline_anchored_to_the_deadline_is_created_and_refuses_a_ladder_out_of_order(admin, session):
    code = "tl-test"
    data = {"campaign_id": str(_campaign_id(session)), "code": code, "name_zh": "测试流程", "name_en": "Test ladder",
            **_step(0, "share", "remind", share="0.8", unless="submitted", position=0),
            **_step(1, "at", "order", tier="1", unless="submitted", position=1),
            **_step(2, "after", "escalate", "1", "days", tier="2", unless="closed", position=2)}
    created = _post(admin, "/admin/timeline/new/", data)
    assert created.status_code == 302, created.get_data(as_text=True)[-2000:]
    listing = admin.get("/admin/timeline/?lang=en").get_data(as_text=True)
    assert "Saved to the draft. Publish it under Ruleset versions" in listing
    assert "at 80 % of the limit" in listing and "1 days overdue" in listing
    timeline = session.scalar(select(Timeline).where(Timeline.code == code))
    assert _steps(session, timeline.id) == [(0, "share", 0.8, 0, "remind", None, "submitted"),
                                            (1, "at", None, 0, "order", 1, "submitted"),
                                            (2, "after", None, 1440, "escalate", 2, "closed")]
    ids = [s.id for s in session.scalars(select(TimelineStep).where(TimelineStep.timeline_id == timeline.id)
                                         .order_by(TimelineStep.position))]
    stored = _steps(session, timeline.id)

    edit_url = f"/admin/timeline/edit/?id={timeline.id}"
    form = admin.get(edit_url + "&lang=en").get_data(as_text=True)
    assert "admin-rows.js" in form and 'name="steps-2-position"' in form
    assert re.search(r'name="steps-2-after_minutes" value="1"', form)
    assert re.search(r'name="steps-2-after_minutes-unit".*?<option value="days" selected>', form, re.S)

    # ↑ on the escalation: it would come before 督办 at the deadline; refused next to the step, nothing stored
    base = {k: v for k, v in data.items() if not k.startswith("steps-")}
    moved = {**base, **_step(0, "share", "remind", share="0.8", unless="submitted", step_id=ids[0], position=0),
             **_step(1, "at", "order", tier="1", unless="submitted", step_id=ids[1], position=2),
             **_step(2, "after", "escalate", "1", "days", tier="2", unless="closed", step_id=ids[2], position=1)}
    for lang, message in (("en", "step 3 is due before step 2: put the steps in the order they fall due"),
                          ("zh", "第 3 步早于第 2 步到期：请按到期先后排列各步")):
        refused = _post(admin, edit_url, moved, lang=lang)
        html = refused.get_data(as_text=True)
        assert refused.status_code == 200
        assert _near(html, "steps-1-anchor", message), html[html.find('name="steps-1-anchor"'):][:1500]
        assert _steps(session, timeline.id) == stored

    kept = {**base, **_step(0, "share", "remind", share="0.8", unless="submitted", step_id=ids[0], position=0),
            **_step(1, "at", "order", tier="1", unless="submitted", step_id=ids[1], position=1),
            **_step(2, "after", "escalate", "1", "days", tier="2", unless="closed", step_id=ids[2], position=2)}
    early = {**kept, **_step(3, "before", "list_publicly", "2", "hours", tier="3", position=3)}
    html = _post(admin, edit_url, early, lang="zh").get_data(as_text=True)
    assert _near(html, "steps-3-anchor", "第 4 步在期限前挂牌督办；时限流程只能在期限届满时或逾期后挂牌督办")
    assert _steps(session, timeline.id) == stored
    for lang, message in (("en", "Escalating and listing publicly need a tier level."), ("zh", "升级督办和挂牌督办须指定督查层级。")):
        bad = {**kept, **_step(3, "after", "escalate", "3", "days", position=3)}
        refused = _post(admin, edit_url, bad, lang=lang)
        html = refused.get_data(as_text=True)
        assert refused.status_code == 200
        assert _near(html, "steps-3-tier_level", message), html[html.find('name="steps-3-tier_level"'):][:1500]
        assert _steps(session, timeline.id) == stored  # nothing stored

    dropped = {**kept, "del-steps-0": "y"}  # the Delete? box of the first step
    assert _post(admin, edit_url, dropped).status_code == 302
    assert [(row[0], row[4]) for row in _steps(session, timeline.id)] == [(0, "order"), (1, "escalate")]
    restored = {**{k: v for k, v in kept.items() if not k.startswith("steps-0-")},
                **_step(3, "share", "remind", share="0.8", unless="submitted", position=0)}
    assert _post(admin, edit_url, restored).status_code == 302
    assert [row[4] for row in _steps(session, timeline.id)] == ["remind", "order", "escalate"]
    again = _post(admin, "/admin/timeline/new/", data, lang="zh").get_data(as_text=True)
    assert _near(again, "code", "该活动已有使用此代码的时限流程。")



def test_a_tier_has_a_user_member_and_a_unit_member_and_levels_are_unique(admin, session):
    campaign = _post(admin, "/admin/campaign/new/", {
        "code": "cp-tiers", "name_zh": "测试活动", "name_en": "Test campaign", "status": "draft",
        "timezone": "Asia/Shanghai", "office_hours": "rows", "office_hours-start": "08:30",
        "office_hours-end": "12:00", "digest_time": "06:40", **STAGE_CLOCKS})
    assert campaign.status_code == 302, campaign.get_data(as_text=True)[-1500:]
    campaign_id = session.scalar(select(Campaign.id).order_by(Campaign.id.desc()))
    user_id = session.scalar(select(User.id).where(User.username == "supervisor"))
    unit_id = session.scalar(select(Unit.id).where(Unit.code == "DCZD"))
    tier = {"campaign_id": str(campaign_id), "level": "2", "name_zh": "督察中队定向督查", "name_en": "Inspection squad",
            "members-0-user": str(user_id), "members-0-unit": "", "members-1-user": "", "members-1-unit": str(unit_id)}
    assert _post(admin, "/admin/supervisiontier/new/", tier).status_code == 302
    saved = session.scalar(select(SupervisionTier).where(SupervisionTier.campaign_id == campaign_id))
    members = session.scalars(select(TierMember).where(TierMember.tier_id == saved.id)).all()
    assert {(m.user_id, m.unit_id) for m in members} == {(user_id, None), (None, unit_id)}

    both = {**tier, "level": "3", "members-0-unit": str(unit_id)}
    html = _post(admin, "/admin/supervisiontier/new/", both).get_data(as_text=True)
    assert _near(html, "members-0-user", "Choose either a user or a unit for each member row, not both.")
    empty = {**tier, "level": "3", "members-2-user": "", "members-2-unit": "__None"}
    html = _post(admin, "/admin/supervisiontier/new/", empty).get_data(as_text=True)
    assert _near(html, "members-2-user", "Choose either a user or a unit for each member row, not both.")
    again = _post(admin, "/admin/supervisiontier/new/", tier, lang="zh").get_data(as_text=True)
    assert _near(again, "level", "该活动已有此层级的督查。")
    session.expire_all()
    assert session.scalars(select(SupervisionTier).where(SupervisionTier.campaign_id == campaign_id)).all() == [saved]


def test_a_unit_keeps_its_duty_list_in_order_and_lists_its_grids(admin, session):
    code = "U-duty"
    category = session.scalar(select(Category.id).where(Category.parent_id.is_not(None)))
    parent = session.scalar(select(Unit.id).where(Unit.code == "CGJ"))
    data = {"code": code, "name_zh": "测试单位", "name_en": "Test unit", "type": "department", "parent": str(parent),
            "contact": "张三 0571-0000",
            "duty_items-0-position": "1", "duty_items-0-text_zh": "负责占道经营整治", "duty_items-0-text_en": "Street vending",
            "duty_items-0-category": str(category),
            "duty_items-1-position": "0", "duty_items-1-text_zh": "负责门前三包检查", "duty_items-1-text_en": "",
            "duty_items-1-category": ""}
    assert _post(admin, "/admin/unit/new/", data).status_code == 302
    unit = session.scalar(select(Unit).where(Unit.code == code))
    assert (unit.type, unit.parent_id, unit.contact) == ("department", parent, "张三 0571-0000")
    assert [(d.position, d.text_zh, d.category_id) for d in session.scalars(
        select(DutyItem).where(DutyItem.unit_id == unit.id).order_by(DutyItem.position))] == [
        (0, "负责门前三包检查", None), (1, "负责占道经营整治", category)]
    bad_type = _post(admin, "/admin/unit/new/", {**data, "code": code + "x", "type": "castle"})
    assert bad_type.status_code == 200 and "Not a valid choice" in bad_type.get_data(as_text=True)

    dongcheng = session.scalar(select(Unit.id).where(Unit.code == "JD-DC"))
    details = admin.get(f"/admin/unit/details/?id={dongcheng}&lang=en").get_data(as_text=True)
    grid = session.scalar(select(Grid).where(Grid.unit_id == dongcheng))
    assert f"/admin/grid/details/?id={grid.id}" in details
    assert f"/admin/grid/details/?id={grid.id}" in admin.get(f"/admin/unit/edit/?id={dongcheng}").get_data(as_text=True)
    assert "Investigates goods displayed outside shops" in details  # the demo's duty list (seed 001), in English
    zh = admin.get(f"/admin/unit/details/?id={dongcheng}&lang=zh").get_data(as_text=True)
    assert "⑩承办区城管委交办的其他事项。" in zh and "日常巡查和问题处置" not in zh


def test_the_demo_tiers_have_member_users_and_units(admin, session):
    tier = session.scalar(select(SupervisionTier).where(SupervisionTier.campaign_id == _campaign_id(session),
                                                        SupervisionTier.level == 2))
    assert {(m.user.username if m.user else None, m.unit.code if m.unit else None) for m in tier.members} == {
        ("supervisor", None), (None, "DCZD")}
    listing = admin.get("/admin/supervisiontier/?lang=en").get_data(as_text=True)
    assert "supervisor" in listing and "DCZD" in listing


def test_a_frontage_holder_is_created_and_found_by_search(admin, session):
    shop = "测试面馆-test01"
    grid = session.scalar(select(Grid).where(Grid.code == "DC-01"))
    data = {"name": shop, "address": "东城路 1 号", "grid": str(grid.id), "unit": "", "contact": "138 0000 0000",
            "lat": "", "lon": ""}
    assert _post(admin, "/admin/frontageholder/new/", data).status_code == 302
    holder = session.scalar(select(FrontageHolder).where(FrontageHolder.name == shop))
    assert (holder.grid_id, holder.unit_id, holder.contact) == (grid.id, None, "138 0000 0000")
    found = admin.get("/admin/frontageholder/", query_string={"search": shop[-6:]}).get_data(as_text=True)
    assert shop in found
    other = admin.get("/admin/frontageholder/", query_string={"search": "no-such-shop"}).get_data(
        as_text=True)
    assert shop not in other
    listing = admin.get("/admin/frontageholder/?lang=zh").get_data(as_text=True)
    assert 'placeholder="登记编号, 商户或场所, 地址, 联系方式, 网格代码, 网格名称, 责任单位"' in listing  # what the search covers


def test_a_frontage_holder_keeps_its_position_and_refuses_one_off_the_globe(admin, session):
    grid = session.scalar(select(Grid).where(Grid.code == "DC-01"))
    shop = "测试坐标-test02"
    base = {"name": shop, "address": "东城路 2 号", "grid": str(grid.id), "unit": "", "contact": ""}
    assert _post(admin, "/admin/frontageholder/new/", {**base, "lat": "39.9087", "lon": "116.3975"}).status_code == 302
    holder = session.scalar(select(FrontageHolder).where(FrontageHolder.name == shop))
    assert (holder.lat, holder.lon) == (39.9087, 116.3975)
    for lang, lat_message, lon_message in (
            ("en", "Latitude must be between -90 and 90.", "Longitude must be between -180 and 180."),
            ("zh", "纬度须在 -90 到 90 之间。", "经度须在 -180 到 180 之间。")):
        refused_shop = shop + "-" + lang
        page = _post(admin, "/admin/frontageholder/new/", {**base, "name": refused_shop, "lat": "91", "lon": "-180.5"},
                     lang=lang)
        html = page.get_data(as_text=True)
        assert page.status_code == 200
        assert _near(html, "lat", lat_message) and _near(html, "lon", lon_message)
        assert html.index(lat_message) < html.index('name="lon"')  # under latitude, not only further down
        page = _post(admin, "/admin/frontageholder/new/", {**base, "name": refused_shop, "lat": "nan", "lon": "1"},
                     lang=lang)
        assert _near(page.get_data(as_text=True), "lat", lat_message)
        assert session.scalar(select(FrontageHolder).where(FrontageHolder.name == refused_shop)) is None
    labels = admin.get("/admin/frontageholder/new/?lang=zh").get_data(as_text=True)
    assert re.search(r'for="lat"[^>]*>\s*纬度', labels) and re.search(r'for="lon"[^>]*>\s*经度', labels), \
        re.findall(r'<label[^>]*for="l(?:at|on)".{0,80}', labels, re.S)


def test_campaign_status_office_hours_and_window_are_validated(admin, session):
    code = "cp-test"
    good = {"code": code, "name_zh": "校验活动", "name_en": "Validation campaign", "status": "active",
            "timezone": "Asia/Shanghai", "starts_on": "2026-12-01", "ends_on": "2027-01-31",
            "inspection_starts_at": "2026-12-10 09:00:00", "inspection_ends_at": "2026-12-20 18:00:00",
            "office_hours": "rows", "office_hours-start": ["13:30", "08:00", ""], "office_hours-end": ["17:00", "12:00", ""],
            "digest_time": "07:00", **STAGE_CLOCKS}
    cases = [({"status": "paused"}, "status", "Not a valid choice"),
             ({"office_hours-start": ["12:00", ""], "office_hours-end": ["08:00", ""]}, "office_hours",
              "A period must end after it starts (12:00–08:00)."),
             ({"office_hours-start": ["08:00", "11:00"], "office_hours-end": ["12:00", "14:00"]}, "office_hours",
              "Periods overlap at 11:00."),
             ({"office_hours-start": [""], "office_hours-end": [""]}, "office_hours",
              "Enter at least one period of the working day."),
             ({"ends_on": "2026-11-30"}, "ends_on", "Must be after"),
             ({"inspection_ends_at": "2026-12-09 09:00:00"}, "inspection_ends_at", "Must be after"),
             ({"timezone": "Mars/Olympus"}, "timezone", "Unknown time zone")]
    for change, field, message in cases:
        refused = _post(admin, "/admin/campaign/new/", {**good, **change})
        html = refused.get_data(as_text=True)
        assert refused.status_code == 200 and _near(html, field, message, window=4000), (change, message)
    session.expire_all()
    assert session.scalar(select(Campaign).where(Campaign.code == code)) is None

    zh = _post(admin, "/admin/campaign/new/", {**good, "office_hours-start": ["12:00"], "office_hours-end": ["08:00"]},
               lang="zh").get_data(as_text=True)
    assert _near(zh, "office_hours", "时段的结束时间须晚于开始时间（12:00–08:00）。", window=4000)

    assert _post(admin, "/admin/campaign/new/", good).status_code == 302
    campaign = session.scalar(select(Campaign).where(Campaign.code == code))
    assert campaign.status == "active"
    assert campaign.office_hours == [["08:00", "12:00"], ["13:30", "17:00"]]
    assert campaign.inspection_starts_at == datetime(2026, 12, 10, 1, 0, tzinfo=timezone.utc)  # 09:00 in Shanghai
    edit = admin.get(f"/admin/campaign/edit/?id={campaign.id}&lang=en").get_data(as_text=True)
    assert 'value="2026-12-10 09:00:00"' in edit and 'name="office_hours-start" value="13:30"' in edit
    details = admin.get(f"/admin/campaign/details/?id={campaign.id}&lang=en").get_data(as_text=True)
    assert "08:00–12:00, 13:30–17:00" in details and "2026-12-10 09:00" in details
    saved = _post(admin, f"/admin/campaign/edit/?id={campaign.id}", {**good, "status": "ended"})  # same unique code
    assert saved.status_code == 302, saved.get_data(as_text=True)[-1500:]
    session.expire_all()
    assert session.get(Campaign, campaign.id).status == "ended"


def test_a_category_parent_is_chosen_among_top_level_categories(admin, session):
    form = admin.get("/admin/category/new/?lang=en").get_data(as_text=True)
    choices = re.search(r'<select[^>]*name="parent".*?</select>', form, re.S).group(0)
    top = session.scalars(select(Category).where(Category.parent_id.is_(None))).all()
    sub = session.scalars(select(Category).where(Category.parent_id.is_not(None))).all()
    assert top and sub
    assert all(f'value="{c.id}"' in choices for c in top)
    assert not any(f'value="{c.id}"' in choices for c in sub)
    parent = next(c for c in top if any(s.parent_id == c.id for s in sub))
    other = next((c for c in top if c.id != parent.id), parent)
    refused = _post(admin, f"/admin/category/edit/?id={parent.id}", {
        "code": parent.code, "name_zh": parent.name_zh, "name_en": parent.name_en, "parent": str(other.id),
        "default_condition": parent.default_condition or ""})
    message = ("A category cannot be its own parent." if other is parent else
               "This category has sub-categories, so it must stay top-level.")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 200 and _near(html, "parent", message, window=4000)
    session.expire_all()
    assert session.get(Category, parent.id).parent_id is None


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, {"width": 390, "height": 844}],
                         ids=["desktop", "phone"])
def test_in_a_browser_steps_are_added_moved_and_a_bad_step_is_shown_next_to_its_field(
        live_server, browser, session, tmp_path, viewport, browser_login):
    from playwright.sync_api import expect

    shots = Path(os.environ.get("CIVICRULES_ARTIFACTS") or tmp_path) / "masterdata-admin"
    shots.mkdir(parents=True, exist_ok=True)
    size = "phone" if viewport["width"] < 600 else "desktop"
    code = _code("browser")
    page = browser.new_page(viewport=viewport, locale="zh-CN")
    browser_login(page, live_server)
    page.goto(f"{live_server}/admin/timeline/new/?lang=zh")
    page.fill("input[name=code]", code)
    page.fill("input[name=name_zh]", "浏览器测试流程")
    page.fill("input[name=name_en]", "Browser ladder")
    for index, (anchor, share, after, unit, action, tier) in enumerate([
            ("share", "0.8", "", "minutes", "remind", ""), ("after", "", "1", "days", "escalate", "2"),
            ("at", "", "", "minutes", "order", "1")]):
        page.click("#steps-button")
        page.select_option(f"select[name=steps-{index}-anchor]", anchor)
        page.fill(f"input[name=steps-{index}-share]", share)
        page.fill(f"input[name=steps-{index}-after_minutes]", after)
        page.select_option(f"select[name=steps-{index}-after_minutes-unit]", unit)
        page.select_option(f"select[name=steps-{index}-action]", action)
        page.select_option(f"select[name=steps-{index}-tier_level]", tier)
    expect(page.locator("#steps-2 [data-admin-row-up]")).to_be_visible()
    assert page.get_attribute("#steps-2 [data-admin-row-up]", "title") == "上移"
    page.click("#steps-2 [data-admin-row-up]")  # 督办 at the deadline moves before the overdue escalation
    order = page.eval_on_selector_all(".inline-field-list > .inline-field", "rows => rows.map(r => r.id)")
    assert order == ["steps-0", "steps-2", "steps-1"]
    positions = [page.input_value(f"input[name=steps-{i}-position]") for i in range(3)]
    assert positions == ["0", "2", "1"]
    page.screenshot(path=str(shots / f"timeline-steps-{size}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"] + 1  # no sideways scroll

    page.click("#steps-button")  # a fourth step that escalates without a tier
    page.select_option("select[name=steps-3-anchor]", "after")
    page.fill("input[name=steps-3-after_minutes]", "3")
    page.select_option("select[name=steps-3-after_minutes-unit]", "days")
    page.select_option("select[name=steps-3-action]", "escalate")
    page.click("input[type=submit].btn-primary")
    problem = page.locator("select[name=steps-3-tier_level] ~ .invalid-feedback")
    expect(problem).to_contain_text("升级督办和挂牌督办须指定督查层级。")
    expect(problem).to_be_visible()
    page.screenshot(path=str(shots / f"timeline-bad-step-{size}.png"), full_page=True)
    assert session.scalar(select(Timeline.id).where(Timeline.code == code)) is None

    page.select_option("select[name=steps-3-tier_level]", "3")
    page.click("input[type=submit].btn-primary")
    expect(page.locator(".alert-success")).to_be_visible()
    timeline = session.scalar(select(Timeline).where(Timeline.code == code))
    assert [(row[1], row[3], row[4], row[5]) for row in _steps(session, timeline.id)] == [
        ("share", 0, "remind", None), ("at", 0, "order", 1), ("after", 1440, "escalate", 2),
        ("after", 4320, "escalate", 3)]


def test_in_a_browser_office_hours_are_rows_added_and_removed(live_server, browser, session, tmp_path, browser_login):
    from playwright.sync_api import expect

    shots = Path(os.environ.get("CIVICRULES_ARTIFACTS") or tmp_path) / "masterdata-admin"
    shots.mkdir(parents=True, exist_ok=True)
    code = _code("hours")
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-US")
    browser_login(page, live_server)
    page.goto(f"{live_server}/admin/campaign/new/?lang=en")
    page.fill("input[name=code]", code)
    page.fill("input[name=name_zh]", "办公时段测试")
    page.fill("input[name=name_en]", "Office hours test")
    rows = page.locator("table[data-admin-rows=office_hours] tbody tr")
    expect(rows).to_have_count(3)  # the two default periods and a blank row
    page.click("[data-admin-rows-add=office_hours]")
    expect(rows).to_have_count(4)
    rows.nth(3).locator("input[name=office_hours-start]").fill("18:00")
    rows.nth(3).locator("input[name=office_hours-end]").fill("17:00")
    rows.nth(0).locator("[data-admin-row-remove]").click()  # drop 08:30–12:00
    expect(rows).to_have_count(3)
    page.click("input[type=submit].btn-primary")
    expect(page.locator("#office_hours ~ .invalid-feedback")).to_contain_text(
        "A period must end after it starts (18:00–17:00).")
    page.screenshot(path=str(shots / "office-hours-error.png"), full_page=True)
    page.locator("table[data-admin-rows=office_hours] input[name=office_hours-end]").nth(1).fill("20:00")
    page.click("input[type=submit].btn-primary")
    expect(page.locator(".alert-success")).to_be_visible()
    campaign = session.scalar(select(Campaign).where(Campaign.code == code))
    assert campaign.office_hours == [["14:00", "17:30"], ["18:00", "20:00"]]


def test_a_category_keeps_its_filing_conditions_and_a_default_among_them(admin, session):
    code = "testcat01"
    parent = session.scalar(select(Category).where(Category.code == "06"))
    data = {"code": code, "name_zh": "测试小类", "name_en": "Test sub-category", "parent": str(parent.id),
            "default_condition": "",
            "conditions-0-code": "A", "conditions-0-name_zh": "一般", "conditions-0-name_en": "Ordinary",
            "conditions-0-limit_value": "2", "conditions-0-limit_unit": "working_hours",
            "conditions-1-code": "B", "conditions-1-name_zh": "紧急", "conditions-1-name_en": "Urgent",
            "conditions-1-limit_value": "30", "conditions-1-limit_unit": "urgent_hours"}
    duplicate = _post(admin, "/admin/category/new/", {**data, "conditions-1-code": "A"}).get_data(as_text=True)
    assert _near(duplicate, "conditions-1-code", "Another condition of this category has this code.")
    zero = _post(admin, "/admin/category/new/", {**data, "conditions-0-limit_value": "0"}).get_data(as_text=True)
    assert _near(zero, "conditions-0-limit_value", "The time must be more than zero.")
    session.expire_all()
    assert session.scalar(select(Category).where(Category.code == code)) is None

    assert _post(admin, "/admin/category/new/", data).status_code == 302
    category = session.scalar(select(Category).where(Category.code == code))
    assert sorted((c.code, c.limit_value, c.limit_unit) for c in category.conditions) == [
        ("A", 2, "working_hours"), ("B", 30, "urgent_hours")]
    edit_url = f"/admin/category/edit/?id={category.id}"
    form = admin.get(edit_url + "&lang=en").get_data(as_text=True)
    choices = re.search(r'<select[^>]*name="default_condition".*?</select>', form, re.S).group(0)
    assert 'value="A"' in choices and 'value="B"' in choices
    ids = {c.code: c.id for c in category.conditions}
    chosen = {**data, "default_condition": "B", "conditions-0-id": str(ids["A"]), "conditions-1-id": str(ids["B"])}
    assert _post(admin, edit_url, chosen).status_code == 302
    session.expire_all()
    assert session.get(Category, category.id).default_condition == "B"
    assert len(session.get(Category, category.id).conditions) == 2
    details = admin.get(f"/admin/category/details/?id={category.id}&lang=zh").get_data(as_text=True)
    assert "30 小时（连续计时）" in details and "2 工作时" in details


def test_a_unit_cannot_be_put_under_itself_or_its_own_sub_unit(admin, session):
    """A cycle in the hierarchy would hang the engine's search for a responsible unit of a type."""
    top, child = "UP-test", "UC-test"
    base = {"name_zh": "上级", "name_en": "Upper", "type": "department", "contact": ""}
    assert _post(admin, "/admin/unit/new/", {**base, "code": top, "parent": ""}).status_code == 302
    top_id = session.scalar(select(Unit.id).where(Unit.code == top))
    assert _post(admin, "/admin/unit/new/", {**base, "code": child, "parent": str(top_id)}).status_code == 302
    child_id = session.scalar(select(Unit.id).where(Unit.code == child))
    for parent, lang, message in ((child_id, "en", "A unit cannot be placed under itself or one of its own sub-units."),
                                  (top_id, "zh", "单位不能隶属于自身或其下级单位。")):
        refused = _post(admin, f"/admin/unit/edit/?id={top_id}", {**base, "code": top, "parent": str(parent)}, lang)
        page = refused.get_data(as_text=True)
        field = page.find('name="parent"')
        end = page.find('class="form-group', field)  # the next field's group: the message sits before it
        assert refused.status_code == 200 and 0 <= field < end and message in page[field:end]
    session.expire_all()
    assert session.get(Unit, top_id).parent_id is None


def test_pickers_and_columns_name_records_in_the_users_language(app, admin, session):
    """The engine names tiers, units, grids, categories and duty items in Chinese (__str__); the admin does not."""
    from admin.base import shown_label

    dczd = session.scalar(select(Unit).where(Unit.code == "DCZD"))
    category = session.scalar(select(Category).where(Category.parent_id.is_not(None)).order_by(Category.code))
    child = session.scalar(select(Unit).where(Unit.parent_id.is_not(None)).order_by(Unit.code))
    assert dczd.name_en and dczd.name_en != dczd.name_zh and category.name_en != category.name_zh
    assert child.parent.name_en != child.parent.name_zh
    tier = session.scalar(select(SupervisionTier).where(SupervisionTier.campaign_id == _campaign_id(session),
                                                        SupervisionTier.level == 2))

    def options(html: str, name: str) -> list[str]:
        select_tag = re.search(rf'<select[^>]*name="{re.escape(name)}".*?</select>', html, re.S).group(0)
        return [label.strip() for label in re.findall(r"<option[^>]*>([^<]*)</option>", select_tag)]

    for lang in ("en", "zh"):
        name, category_name = (dczd.name_en, category.name_en) if lang == "en" else (dczd.name_zh, category.name_zh)
        tier_form = admin.get(f"/admin/supervisiontier/edit/?id={tier.id}&lang={lang}").get_data(as_text=True)
        member_pickers = re.findall(r'name="(members-\d+-unit)"', tier_form)
        assert member_pickers and all(f"DCZD {name}" in options(tier_form, p) for p in member_pickers)
        unit_form = admin.get(f"/admin/unit/new/?lang={lang}").get_data(as_text=True)
        assert f"DCZD {name}" in options(unit_form, "parent")
        holder_form = admin.get(f"/admin/frontageholder/new/?lang={lang}").get_data(as_text=True)
        assert f"DCZD {name}" in options(holder_form, "unit")
        tiers = admin.get(f"/admin/supervisiontier/?lang={lang}").get_data(as_text=True)
        assert f"DCZD {name}" in tiers
        units = admin.get(f"/admin/unit/?lang={lang}&search={child.code}").get_data(as_text=True)
        parent = child.parent
        assert f"{parent.code} {parent.name_en if lang == 'en' else parent.name_zh}" in units  # a relation column
        with app.test_request_context(f"/admin/?lang={lang}"):
            assert shown_label(category) == f"{category.code} {category_name}"

    duty = DutyItem(text_zh="负责测试", text_en="Tests things")
    with app.test_request_context("/admin/?lang=en"):
        assert shown_label(tier) == f"Tier 2: {tier.name_en}" and shown_label(duty) == "Tests things"
    with app.test_request_context("/admin/?lang=zh"):
        assert shown_label(tier) == f"第 2 级：{tier.name_zh}" and shown_label(duty) == "负责测试"


def test_a_frontage_holders_letter_and_frontage_are_saved_and_bad_ones_refused_next_to_the_field(admin, session):
    grid = session.scalar(select(Grid).where(Grid.code == "DC-01"))
    shop = "测试责任书-test03"
    line = '{"type": "LineString", "coordinates": [[110.991, 35.021], [110.9915, 35.021]]}'
    base = {"name": shop, "address": "东城路 3 号", "grid": str(grid.id), "unit": "", "contact": "", "lat": "",
            "lon": "", "code": "MQ-T-003", "frontage": line, "reach_metres": "10", "letter_number": "T-2026-3",
            "letter_signed_on": "2026-03-01", "letter_signer": "测试人", "letter_duties": ["appearance", "sanitation"],
            "letter_valid_from": "2026-03-01", "letter_valid_until": "2027-02-28"}
    for lang, period, duty in (("en", "period ends before it starts", "unknown duty parking"),
                               ("zh", "责任书有效期的结束日期早于开始日期", "未知的责任 parking")):
        page = _post(admin, "/admin/frontageholder/new/", {
            **base, "name": shop + lang, "letter_valid_until": "2026-02-01",
            "letter_duties": ["appearance", "parking"],
            "frontage": '{"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}'}, lang=lang)
        html = page.get_data(as_text=True)
        assert page.status_code == 200
        assert _near(html, "letter_valid_until", period) and _near(html, "letter_duties", duty)
        assert _near(html, "frontage", "多边形边线自相交" if lang == "zh" else "the polygon crosses itself")
        assert session.scalar(select(FrontageHolder).where(FrontageHolder.name == shop + lang)) is None
    assert _post(admin, "/admin/frontageholder/new/", base).status_code == 302
    holder = session.scalar(select(FrontageHolder).where(FrontageHolder.name == shop))
    assert holder.letter_duties == ["appearance", "sanitation"] and holder.frontage["type"] == "LineString"
    assert (holder.letter_signer, holder.reach_metres, holder.updated_at is not None) == ("测试人", 10.0, True)
    edit = admin.get(f"/admin/frontageholder/edit/?id={holder.id}&lang=zh").get_data(as_text=True)
    assert "LineString" in edit and "市容（appearance）" in edit
