"""Admin lists name what they show in the reader's language: a routine task's list and rule, a token's kind and
source type, templates, the change history's record types and fields, holidays; the id column is 编号."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import inspect, select

from admin.field_labels import field_label
from engine.audit.changelog import TRACKED, acting
from engine.core.models import Category
from tests.helpers import bearer, event

ZH = {"Accept-Language": "zh-CN"}


def page(client, url: str) -> str:
    shown = client.get(url, headers=ZH)
    assert shown.status_code == 200
    return shown.get_data(as_text=True)


def cells(html: str) -> list[str]:
    return [re.sub(r"<[^>]+>|\s+", " ", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", html, re.S)]


def test_a_routine_task_names_its_list_and_every_id_column_is_numbered(client, login, patrol_token, drain):
    client.post("/api/v1/events", json=event("09005", "DC-02", hour=14), headers=bearer(patrol_token))
    drain()
    login(client, "admin")
    tasks = page(client, "/admin/task/?sort=0&desc=1")
    assert "routine" not in " ".join(cells(tasks)) and "常规派遣（职责清单）" in tasks
    for view in ("event", "task", "firing", "rulesetversion", "failed_delivery"):
        headers = re.findall(r"<th[^>]*>(.*?)</th>", page(client, f"/admin/{view}/"), re.S)
        assert not any(re.search(r"\bId\b", h) for h in headers), view
        assert any("编号" in h for h in headers), view


def test_tokens_templates_and_holidays_are_named(client, login):
    login(client, "security_admin")
    tokens = " ".join(cells(page(client, "/admin/token/")))
    assert "受理接口令牌" in tokens or "用户令牌" in tokens  # page 1 holds the newest: earlier files' tokens come first
    assert not re.search(r"(?<![\w-])(intake|hotline|patrol)(?![\w-])", tokens)  # source codes (hotline-12345) stay
    login(client, "auditor")
    templates = page(client, "/admin/templates/")
    assert "零容忍问题整治" in templates
    holidays = " ".join(cells(page(client, "/admin/holiday/")))
    assert re.search("元旦|春节|清明节|劳动节|端午节|中秋节|国庆节", holidays)  # page 1: whatever year comes first
    assert not re.search("New Year|Spring Festival|Tomb|Labour Day|Dragon Boat|Mid-autumn|National Day", holidays)


def test_the_change_history_names_record_types_and_fields(client, login):
    login(client, "auditor")
    changes = page(client, "/admin/changes/?object_type=Shift")
    options = re.findall(r"<option value=\"(\w+)\"[^>]*>(.*?)</option>", changes)
    named = dict(options)
    assert named["DutyItem"] == "职责事项" and named["AssessmentConfig"] == "权重与同类组"
    fields = re.findall(r'<tr data-field="(\w+)"><td>(.*?)</td>', changes)
    assert fields and ("starts_at", "开始时间") in fields and all(label != name for name, label in fields)


def test_the_change_history_labels_a_record_s_fields_as_its_admin_page_does(client, login):
    """A field the shared labels miss takes the label of the record's own admin page (a campaign's time zone)."""
    login(client, "auditor")
    changes = page(client, "/admin/changes/?object_type=Campaign")
    fields = dict(re.findall(r'<tr data-field="(\w+)"><td>(.*?)</td>', changes))
    assert fields["timezone"] == "时区" and fields["published_version_id"] == "已发布版本"
    assert all(re.search(r"[^\x00-\x7f]", label) for label in fields.values()), fields


@pytest.mark.parametrize("lang", ["zh_Hans_CN", "en"])
def test_the_change_history_labels_every_field_of_every_record_type(app, lang):
    """Whatever record type an entry is about, each field it lists is named for readers: in Chinese with Chinese
    words, in English without the column's snake_case name (a category's link_metres, a ruleset version's bundle)."""
    with app.test_request_context(f"/admin/changes/?lang={lang}"):
        raw = [f"{model.__name__}.{attr.key}: {field_label(attr.key, model.__name__)}"
               for model in TRACKED for attr in inspect(model).column_attrs
               if field_label(attr.key, model.__name__) == attr.key
               or (lang == "zh_Hans_CN" and not re.search(r"[\u4e00-\u9fff]", field_label(attr.key, model.__name__)))]
    assert not raw, raw


def test_a_categorys_case_linking_change_is_labelled(client, login, session):
    category = session.scalar(select(Category).where(Category.code == "06029"))
    with acting("admin", username="admin"):
        category.link_metres, category.standard_ref = 80.0, "0629"
        session.flush()
    login(client, "auditor")
    for lang, labels in (("zh-CN", ("并案距离（米）", "旧标准编码")),
                         ("en", ("Joins an open case within (metres)", "Code in the older standard"))):
        changes = client.get(f"/admin/changes/?object_type=Category&lang={lang}").get_data(as_text=True)
        fields = dict(re.findall(r'<tr data-field="(\w+)"><td>(.*?)</td>', changes))
        assert (fields["link_metres"], fields["standard_ref"]) == labels


def test_the_change_history_names_the_interface_a_change_came_through(client, login, session):
    category = session.scalar(select(Category).where(Category.code == "06029"))
    with acting("cli", username="admin"):
        category.link_days = 3.0
        session.flush()
    login(client, "auditor")
    for lang, named in (("zh-CN", ("命令行", "管理后台")), ("en", ("Command line", "Administration pages"))):
        changes = client.get(f"/admin/changes/?object_type=Category&interface=cli&lang={lang}").get_data(as_text=True)
        shown = {cell.strip() for cell in re.findall(r'<td class="interface">(.*?)</td>', changes)}
        options = dict(re.findall(r'<option value="(\w+)"[^>]*>(.*?)</option>', changes.split('name="interface"')[1]))
        assert shown == {named[0]} and options["admin"] == named[1], (shown, options)
