"""Admin lists and forms show a stored code by the label its form offers, in the reader's language: a recipient's
scope, channel and language, an inspection plan's tier, frequency and scope, a campaign's stage clocks; and a
category's code and parent are checked before they are saved."""
from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import select

from engine.core.models import Campaign, Category, Person, Recipient
from tests.helpers import csrf_from


@pytest.fixture()
def admin(app, client, login):
    app.config["WTF_CSRF_ENABLED"] = True
    assert login(client, "admin").status_code == 302
    return client


def _row(html: str, text: str) -> str:
    """The list row that shows `text`, tags stripped and spaces collapsed."""
    rows = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", r)) for r in re.findall(r"<tr[^>]*>.*?</tr>", html, re.S)]
    shown = [r for r in rows if text in r]
    assert shown, text
    return shown[0]


@pytest.mark.parametrize("lang, shown", [
    ("en", ("A person's own (on duty)", "E-mail", "Chinese")),
    ("zh_Hans_CN", ("个人渠道（值班）", "电子邮件", "中文"))])
def test_recipients_are_listed_by_scope_channel_and_language_names(admin, session, lang, shown):
    name = f"labels-{uuid.uuid4().hex[:8]}"
    person = session.scalar(select(Person).order_by(Person.id))
    session.add(Recipient(name=name, scope="person", person_id=person.id, channel="email",
                          address="duty@example.org", language="zh", enabled=True))
    session.commit()
    row = _row(admin.get(f"/admin/recipient/?search={name}&lang={lang}").get_data(as_text=True), name)
    assert all(label in row.replace("&#39;", "'") for label in shown), row
    assert not re.search(r" (person|email|zh) ", row), row


@pytest.mark.parametrize("lang, targeted, special, frequency, worklists, grid, street", [
    ("en", "Inspection squad targeted inspection", "Weekly", "Daily", "Work lists: Hotspot list, Overdue task list",
     "DC-01 Dongcheng Sub-district grid 1", "ST-DC-01 Dongfeng Road"),
    ("zh_Hans_CN", "督察中队定向督查", "每周", "每日", "工作清单：热点问题清单、超期任务清单", "DC-01 东城街道第1网格",
     "ST-DC-01 东风路")])
def test_inspection_plans_show_tiers_frequencies_and_scopes_by_name(admin, lang, targeted, special, frequency,
                                                                     worklists, grid, street):
    listing = admin.get(f"/admin/inspectionplan/?lang={lang}").get_data(as_text=True)
    targeted_row, daily_row = _row(listing, "DCZD-TARGETED"), _row(listing, "ZD-DC-DAILY")
    assert f"2 {targeted}" in targeted_row and frequency in targeted_row and worklists in targeted_row
    assert grid in daily_row and street in daily_row
    assert special in _row(listing, "JLD-SPECIAL")
    assert not re.search(r"worklists:|grids:|streets:|categories:| daily | weekly |hotspots, overdue", listing)
    form = admin.get(f"/admin/inspectionplan/new/?lang={lang}").get_data(as_text=True)
    assert f'<option value="2">2 {targeted}</option>' in form
    assert re.search(rf'<option[^>]*value="daily"[^>]*>{frequency}</option>', form)
    assert "每日 daily" not in form


@pytest.mark.parametrize("lang, shown, other", [
    ("en", ("Acceptance clock (minutes)", "Verification clock (minutes)", "Dispatch clock (minutes)",
            "Check clock (minutes)"), "受理"),
    ("zh_Hans_CN", ("受理时限（分钟）", "核实时限（分钟）", "派遣时限（分钟）", "核查时限（分钟）"), "clock (minutes)")])
def test_the_campaign_form_names_its_stage_clocks_in_one_language(admin, lang, shown, other):
    form = admin.get(f"/admin/campaign/new/?lang={lang}").get_data(as_text=True)
    assert all(label in form for label in shown)
    labels = " ".join(re.findall(r"<label[^>]*>(.*?)</label>", form, re.S))
    assert other not in labels
    assert re.search(r'name="check_minutes"[^>]*value="30"', form)  # 核查: R1's 30 minutes by default


@pytest.mark.parametrize("lang, message", [("en", "Number must be between 1 and 10080."), ("zh_Hans_CN", "数值大小必须介于 1 到 10080 之间。")])
def test_a_check_clock_out_of_range_is_refused_next_to_its_field(admin, session, lang, message):
    data = {"code": f"cp-check-{lang}", "name_zh": "核查时限测试", "name_en": "Check clock test", "status": "draft",
            "timezone": "Asia/Shanghai", "office_hours": "rows", "office_hours-start": "08:30",
            "office_hours-end": "12:00", "digest_time": "06:40", "accept_minutes": "15", "verify_minutes": "30",
            "dispatch_minutes": "15"}
    refused = _post(admin, "/admin/campaign/new/", {**data, "check_minutes": "0"}, lang).get_data(as_text=True)
    assert _near(refused, "check_minutes", message), refused[refused.find('name="check_minutes"'):][:800]
    assert session.scalar(select(Campaign).where(Campaign.code == data["code"])) is None
    assert _post(admin, "/admin/campaign/new/", {**data, "check_minutes": "60"}, lang).status_code == 302
    assert session.scalar(select(Campaign.check_minutes).where(Campaign.code == data["code"])) == 60


def _post(client, url: str, data: dict, lang: str):
    page = client.get(f"{url}?lang={lang}")
    return client.post(f"{url}?lang={lang}", data={**data, "csrf_token": csrf_from(page.get_data(as_text=True))})


def _near(html: str, anchor: str, message: str, window: int = 2500) -> bool:
    at = html.find(f'name="{anchor}"')
    return at >= 0 and message in html[at:at + window]


@pytest.mark.parametrize("lang, bad_code, bad_parent", [
    ("en", "A category code is digits (06, 0601, 06029)", "No top-level category has this number"),
    ("zh_Hans_CN", "类别代码须为数字（06、0601、06029）", "没有这个编号的大类")])
def test_a_category_code_must_read_as_a_catalogue_code_and_its_parent_must_exist(admin, session, lang, bad_code,
                                                                               bad_parent):
    data = {"name_zh": "格式测试", "name_en": "Format test", "parent": "", "default_condition": ""}
    refused = _post(admin, "/admin/category/new/", {**data, "code": "abc def!"}, lang).get_data(as_text=True)
    assert _near(refused, "code", bad_code)
    refused = _post(admin, "/admin/category/new/", {**data, "code": "L9901", "parent": "99999"}, lang)
    assert _near(refused.get_data(as_text=True), "parent", bad_parent)
    session.expire_all()
    assert session.scalars(select(Category).where(Category.code.in_(["abc def!", "L9901"]))).all() == []
    assert _post(admin, "/admin/category/new/", {**data, "code": "L9901"}, lang).status_code == 302
