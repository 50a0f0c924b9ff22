"""Saving lists and rules without a page: rows with problems change nothing, a save based on rows or a
rule someone has changed since is refused, and one campaign_for names the same campaign everywhere."""
from __future__ import annotations


import pytest
from sqlalchemy import select

from engine.authoring.campaigns import campaign_for
from engine.authoring.lists import editor_rows, save_list, save_rows, start_list
from engine.authoring.rules import save_rule
from engine.authoring.stamps import StaleEdit, list_stamp, rule_stamp
from engine.core.models import Campaign, ListItem, Rule
from rules.problems import InputError


def _campaign(session, status: str = "draft", code: str = "authoring-test") -> Campaign:
    campaign = Campaign(code=code, name_zh="编辑测试", name_en="Authoring test", status=status)
    session.add(campaign)
    session.flush()
    return campaign


def _listed(session, campaign: Campaign):
    """A zero-tolerance list with one row (ZT1, outdoor barbecue, 3 points)."""
    rule_list, started = start_list(session, campaign, "zero_tolerance")
    assert started
    rule_list.items = [ListItem(position=0, key="ZT1", title_zh="露天烧烤", title_en="Outdoor barbecue",
                                categories=["06029"], conditions=[], assign="grid_unit", template_code="zt-clearance",
                                points=3, enabled=True)]
    session.flush()
    return rule_list


def _stored(session, rule_list) -> list[tuple[str, str, float]]:
    session.expire(rule_list, ["items"])
    return [(item.key, item.title_en, float(item.points)) for item in rule_list.items]


def _doc(key: str, title_en: str) -> str:
    return (f'{{"key": "{key}", "title": {{"zh": "周末烧烤", "en": "{title_en}"}}, "enabled": true, '
            '"when": {"all": [{"fact": "category", "op": "in", "value": ["06029"]}]}, '
            '"then": [{"do": "create_task", "template": "zt-clearance", "assign": "grid_unit"}]}')


def test_rows_with_problems_are_refused_and_nothing_is_written(session, demo):
    rule_list = _listed(session, _campaign(session))
    before = _stored(session, rule_list)
    rows = editor_rows(rule_list)
    changed = {**rows[0], "title_en": "Renamed", "points": 5}
    broken = {**rows[0], "id": None, "key": "ZT2", "categories": [], "template": "no-such-template"}
    with pytest.raises(InputError) as refused:
        save_rows(session, rule_list, [changed, broken])
    assert refused.value.problems and {p.row for p in refused.value.problems} == {1}
    assert {p.where for p in refused.value.problems} >= {"categories", "template"}
    session.flush()
    assert _stored(session, rule_list) == before


def test_a_list_save_based_on_rows_changed_since_is_refused(session, demo):
    rule_list = _listed(session, _campaign(session))
    opened = list_stamp(rule_list)
    rows = editor_rows(rule_list)
    saved = save_list(session, rule_list.id, opened, [{**rows[0], "title_en": "First editor"}])
    assert saved is rule_list and list_stamp(rule_list) != opened
    with pytest.raises(StaleEdit) as late:
        save_list(session, rule_list.id, opened, [{**rows[0], "title_en": "Late editor"}])
    assert not late.value.unstamped
    with pytest.raises(StaleEdit) as unstamped:
        save_list(session, rule_list.id, "", [{**rows[0], "title_en": "No stamp"}])
    assert unstamped.value.unstamped
    assert _stored(session, rule_list) == [("ZT1", "First editor", 3.0)]
    assert save_list(session, 999_999_999, opened, rows) is None


def test_a_rule_save_based_on_a_rule_changed_since_is_refused(session, demo):
    campaign = _campaign(session)
    rule = save_rule(session, campaign, _doc("weekend-bbq", "Weekend barbecue"), None, None)
    opened = rule_stamp(rule)
    assert save_rule(session, campaign, _doc("weekend-bbq", "First editor"), "weekend-bbq", opened).version == 2
    with pytest.raises(StaleEdit) as late:
        save_rule(session, campaign, _doc("weekend-bbq", "Late editor"), "weekend-bbq", opened)
    assert not late.value.unstamped
    with pytest.raises(StaleEdit) as unstamped:
        save_rule(session, campaign, _doc("weekend-bbq", "No stamp"), "weekend-bbq", None)
    assert unstamped.value.unstamped
    stored = session.scalar(select(Rule).where(Rule.campaign_id == campaign.id, Rule.key == "weekend-bbq"))
    assert (stored.version, stored.document["title"]["en"]) == (2, "First editor")
    with pytest.raises(InputError) as malformed:
        save_rule(session, campaign, "{not json", "weekend-bbq", rule_stamp(stored))
    assert [p.where for p in malformed.value.problems] == ["(json)"]


def test_without_a_code_the_oldest_active_campaign_is_meant_else_the_newest(session, demo):
    named = _campaign(session)
    assert campaign_for(session, named.code) is named
    assert campaign_for(session, "no-such-campaign") is None
    active = session.scalars(select(Campaign).where(Campaign.status == "active").order_by(Campaign.id)).all()
    later = _campaign(session, status="active", code="authoring-later")
    assert campaign_for(session, None) is (active[0] if active else later)
    for campaign in [*active, later]:
        campaign.status = "ended"
    session.flush()
    assert campaign_for(session, None) is later


def test_a_rule_without_an_english_title_is_saved_with_the_chinese_one_for_english_pages(session, demo):
    campaign = _campaign(session, code="authoring-no-english")
    rule = save_rule(session, campaign, _doc("weekend-bbq", ""), None, None)
    assert rule.document["title"] == {"zh": "周末烧烤", "en": "周末烧烤"}
