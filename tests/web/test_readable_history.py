"""History reads as labelled fields: a list row added to the draft is shown field by field with Chinese
names (not a JSON blob), a new template version names the form fields it changed, and the change
history shows before and after as labelled values rather than Python dict dumps."""
from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import delete, select

from engine.audit.changelog import acting
from engine.authoring import templates as task_templates
from engine.core.models import Campaign, ListItem, RuleList, TaskTemplate
from tests.helpers import csrf_from


@pytest.fixture()
def campaign(session) -> Campaign:
    return session.scalar(select(Campaign).where(Campaign.code == "chuangcheng-2026"))


@pytest.fixture()
def admin_client(app, csrf_on, login):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = f"10.252.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 1}"
    assert login(client, "admin").status_code in (302, 303)
    return client


def _zt1(session, campaign) -> ListItem:
    return session.scalar(select(ListItem).join(RuleList).where(RuleList.campaign_id == campaign.id,
                                                               RuleList.kind == "zero_tolerance", ListItem.key == "ZT1"))


def test_an_added_list_row_is_shown_field_by_field_with_names(admin_client, session, campaign):
    zt1 = _zt1(session, campaign)
    rule_list = session.get(RuleList, zt1.list_id)
    session.add(ListItem(list_id=rule_list.id, position=99, key="ZT99", title_zh="历史可读测试", title_en="Readable",
                         categories=list(zt1.categories), conditions=[{"fact": "local_hour", "op": "between",
                                                                       "value": [8, 18]}],
                         assign=zt1.assign, template_code=zt1.template_code, points=3, enabled=True))
    session.commit()
    try:
        page = admin_client.get(f"/admin/versions/{campaign.id}/draft?lang=zh").get_data(as_text=True)
        row = page.split('data-subject="zero_tolerance/ZT99"')[1].split("</tr>")[0]
        assert '{"' not in row and "{'" not in row
        assert 'class="row mb-0 labelled-fields"' in row
        for field, label in (("title", "名称"), ("zh", "中文"), ("points", "扣分"), ("conditions", "条件"),
                             ("fact", "事实")):
            assert f'data-field="{field}">{label}</dt>' in row, field
        assert "历史可读测试" in row and "local_hour" in row and "8、18" in row
    finally:
        session.execute(delete(ListItem).where(ListItem.key == "ZT99"))
        session.commit()


def test_a_new_template_version_names_the_fields_it_changed(admin_client, session, campaign):
    code = _zt1(session, campaign).template_code
    before = task_templates.latest(session, code)
    spec = task_templates.spec_of(before)
    first = spec["fields"][0]
    spec["fields"] = [{**first, "zh": first["zh"] + "（已改）"}, *spec["fields"][1:],
                      {"name": "extra_note", "type": "text", "zh": "补充说明", "en": "Extra note"}]
    url = f"/admin/templates/edit/?code={code}&lang=zh"
    token = csrf_from(admin_client.get(url).get_data(as_text=True))
    try:
        saved = admin_client.post(url, data={"csrf_token": token, "design": json.dumps(spec)}, follow_redirects=True)
        flashed = saved.get_data(as_text=True)
        assert "变动的字段" in flashed and f"{first['zh']}（已改） (修改)" in flashed and "补充说明 (新增)" in flashed
        draft = admin_client.get(f"/admin/versions/{campaign.id}/draft?lang=zh").get_data(as_text=True)
        row = draft.split(f'data-subject="{code}"')[1].split("</tr>")[0]
        assert f'<li data-field="{first["name"]}">修改' in row and '<li data-field="extra_note">新增' in row
    finally:
        session.execute(delete(TaskTemplate).where(TaskTemplate.code == code, TaskTemplate.version > before.version))
        session.commit()


def test_the_change_history_shows_labelled_before_and_after(app, login, session, campaign):
    zt1 = _zt1(session, campaign)
    old = list(zt1.conditions or [])
    with acting("cli", None, "history-test"):
        zt1.conditions = [{"fact": "local_hour", "op": "between", "value": [6, 9]}]
        session.commit()
        zt1.conditions = old
        session.commit()
    client = app.test_client()
    assert login(client, "auditor").status_code in (302, 303)
    page = client.get("/admin/changes/?object_type=ListItem&user=history-test&lang=zh").get_data(as_text=True)
    entry = page.split('data-field="conditions"')[1].split("</tr>")[0]
    assert "{'" not in entry and '{"' not in entry
    assert "条件" in page.split('data-field="conditions"')[1][:200]
    assert 'data-field="fact"' in entry and "local_hour" in entry and "6、9" in entry


def test_the_change_history_names_the_unit_a_changed_record_points_at(app, login, session):
    from engine.core.models import Unit, User

    account = session.scalar(select(User).where(User.username == "xicheng"))
    dongcheng = session.scalar(select(Unit).where(Unit.code == "JD-DC"))
    before = account.unit_id
    with acting("cli", None, "history-names"):
        account.unit_id = dongcheng.id
        session.commit()
        account.unit_id = before
        session.commit()
    client = app.test_client()
    assert login(client, "admin").status_code in (302, 303)
    page = client.get("/admin/changes/?object_type=User&user=history-names&lang=zh").get_data(as_text=True)
    entry = page.split('data-field="unit_id"')[1].split("</tr>")[0]
    assert "东城街道办事处（JD-DC）" in entry and f">{dongcheng.id}<" not in entry


def _changes(page: str, field: str) -> list[tuple[str, str]]:
    """Each entry's before and after of a changed field, newest first, as text (tags and spaces dropped)."""
    import re

    def text(cell: str) -> str:
        return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", cell)).strip()
    rows = re.findall(rf'<tr data-field="{field}">.*?<td class="before">(.*?)</td><td class="after">(.*?)</td>', page,
                      re.S)
    return [(text(before), text(after)) for before, after in rows]


def test_the_change_history_names_languages_ladder_actions_tiers_and_minutes(app, login, session, campaign):
    """It read "语言 zh_Hans_CN → en", "操作 list_publicly", "层级 2", "之后（分钟） 60.0" and 职务 for a step's place."""
    from engine.core.models import SupervisionTier, Timeline, TimelineStep, User

    account = session.scalar(select(User).where(User.username == "xicheng"))
    step = session.scalar(select(TimelineStep).join(Timeline).where(Timeline.campaign_id == campaign.id,
                                                                     TimelineStep.action == "order"))
    before = (account.language, step.action, step.tier_level, step.after_minutes)
    with acting("cli", None, "history-codes"):
        account.language = "zh_Hans_CN"
        session.commit()
        account.language = "en"
        step.action, step.tier_level, step.after_minutes = "list_publicly", 2, 60.0
        session.commit()
        account.language, step.action, step.tier_level, step.after_minutes = before
        session.commit()
    tier = session.scalar(select(SupervisionTier).where(SupervisionTier.campaign_id == campaign.id,
                                                        SupervisionTier.level == 2))
    client = app.test_client()
    assert login(client, "auditor").status_code in (302, 303)
    users = client.get("/admin/changes/?object_type=User&user=history-codes&lang=zh").get_data(as_text=True)
    assert ("中文", "English") in _changes(users, "language")
    steps = client.get("/admin/changes/?object_type=TimelineStep&user=history-codes&lang=zh").get_data(as_text=True)
    assert _changes(steps, "action")[0] == ("挂牌督办", "督办")
    assert _changes(steps, "tier_level")[0][0] == f"第 2 级：{tier.name_zh}"
    assert _changes(steps, "after_minutes")[0][0] == "1 小时"
    english = client.get("/admin/changes/?object_type=TimelineStep&user=history-codes&lang=en").get_data(as_text=True)
    assert _changes(english, "action")[0][0] == "list publicly" and _changes(english, "after_minutes")[0][0] == "1 h"
    versions = client.get("/admin/changes/?object_type=RulesetVersion&lang=zh").get_data(as_text=True)
    assert "职务" not in versions and 'data-field="position"' in versions
    assert ">rung<" not in versions and "inspection_squad" not in versions and "承接的督办级别" in versions
    assert '<dd class="col-7 mb-1">80%</dd>' in versions  # a ladder step at 0.8 of the limit
