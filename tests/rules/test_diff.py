"""The bundle diff: rules, list rows, timeline steps, tiers and template versions, field by field, in both
languages; no change gives an empty diff."""
from __future__ import annotations

import copy

from rules.diff import diff, leaf_changes
from rules.lists import expand_row

ROW = {"key": "ZT-01", "title": {"zh": "夜间露天烧烤", "en": "Night barbecue"}, "categories": ["06029"],
       "conditions": [{"fact": "local_hour", "op": "between", "value": [20, 23]}], "assign": "grid_unit",
       "template": "night-patrol", "timeline": "zt-standard", "limit": {"value": 2, "unit": "urgent_hours"},
       "points": 2.0, "legal_basis": None, "enabled": True, "effective_from": None, "effective_to": None}
RULE = {"key": "custom.noise", "title": {"zh": "噪声", "en": "Noise"}, "version": 1, "enabled": True,
        "when": {"all": [{"fact": "category", "op": "eq", "value": "09014"},
                         {"fact": "local_hour", "op": "gte", "value": 22}]},
        "then": [{"do": "create_task", "template": "night-patrol", "assign": "grid_unit"}]}


def view() -> dict:
    return {"rules": {RULE["key"]: RULE, "zero_tolerance.zt-01": expand_row("zero_tolerance", ROW)},
            "lists": {"zero_tolerance": [ROW]},
            "timelines": {"zt-standard": {"name": {"zh": "零容忍标准", "en": "Zero tolerance standard"}, "steps": [
                {"position": 0, "after_minutes": 60.0, "time_mode": "working", "action": "remind",
                 "tier_level": None, "unless_state": "signed"},
                {"position": 1, "after_minutes": 120.0, "time_mode": "working", "action": "escalate",
                 "tier_level": 2, "unless_state": "closed"}]}},
            "tiers": [{"level": 1, "name": {"zh": "中队", "en": "Squad"}, "members": [{"user": "squad_dc"}]}],
            "templates": {"night-patrol": 1}}


def test_no_change_is_an_empty_diff():
    assert diff(view(), copy.deepcopy(view())) == []


def test_a_row_added_is_one_change_with_both_languages():
    new = view()
    added = dict(ROW, key="ZT-02", categories=["06011"])
    new["lists"]["zero_tolerance"] = [ROW, added]
    new["rules"]["zero_tolerance.zt-02"] = expand_row("zero_tolerance", added)
    changes = diff(view(), new)
    assert [(c.section, c.kind, c.subject, c.path) for c in changes] == [("lists", "added", "zero_tolerance/ZT-02", "")]
    assert changes[0].en == "List row ZT-02 (zero-tolerance list) added"
    assert changes[0].zh == "新增零容忍清单的清单行 ZT-02"


def test_a_category_added_to_a_row_names_the_field_and_the_category():
    new = view()
    row = dict(ROW, categories=["06029", "06011"])
    new["lists"]["zero_tolerance"] = [row]
    new["rules"]["zero_tolerance.zt-01"] = expand_row("zero_tolerance", row)
    changes = diff(view(), new)
    assert [(c.section, c.kind, c.path, c.new) for c in changes] == [("lists", "added", "categories", "06011")]
    assert "categories: added 06011" in changes[0].en and "新增 06011" in changes[0].zh


def test_a_steps_after_minutes_changed_shows_old_and_new():
    new = view()
    new["timelines"]["zt-standard"]["steps"][1]["after_minutes"] = 240.0
    changes = diff(view(), new)
    assert [(c.section, c.kind, c.subject, c.path, c.old, c.new) for c in changes] == [
        ("timelines", "changed", "zt-standard", "steps[1].after_minutes", 120.0, 240.0)]
    assert changes[0].en == "Timeline zt-standard, steps[1].after_minutes: 120.0 → 240.0"
    assert changes[0].zh == "时限流程 zt-standard 的 steps[1].after_minutes：120.0 → 240.0"


def test_a_step_added_and_a_rule_removed():
    new = view()
    new["timelines"]["zt-standard"]["steps"].append({"position": 2, "after_minutes": 480.0, "time_mode": "working",
                                                      "action": "list_publicly", "tier_level": 3,
                                                      "unless_state": "closed"})
    del new["rules"]["custom.noise"]
    changes = diff(view(), new)
    assert [(c.section, c.kind, c.subject, c.path) for c in changes] == [
        ("rules", "removed", "custom.noise", ""), ("timelines", "added", "zt-standard", "steps[2]")]
    assert changes[0].zh == "删除规则 custom.noise"


def test_rule_fields_by_json_path():
    new = view()
    rule = copy.deepcopy(RULE)
    rule["when"]["all"][1]["value"] = 23
    rule["then"][0]["template"] = "quick-fix"
    new["rules"]["custom.noise"] = rule
    assert [(c.path, c.old, c.new) for c in diff(view(), new)] == [
        ("when.all[1].value", 22, 23), ("then[0].template", "night-patrol", "quick-fix")]


def test_tiers_and_template_versions():
    new = view()
    new["tiers"][0]["members"] = [{"user": "squad_dc"}, {"unit": "JD-DC"}]
    new["tiers"].append({"level": 2, "name": {"zh": "督查科", "en": "Inspection"}, "members": []})
    new["templates"]["night-patrol"] = 3
    changes = diff(view(), new)
    assert [(c.section, c.kind, c.subject, c.path, c.new) for c in changes] == [
        ("tiers", "added", "1", "members", "unit:JD-DC"),
        ("tiers", "added", "2", "", {"name": {"zh": "督查科", "en": "Inspection"}, "members": []}),
        ("templates", "changed", "night-patrol", "version", 3)]
    assert changes[2].en == "Task template night-patrol, version: 1 → 3"
    assert changes[0].zh == "第 1 级督查层级 的 members：新增 unit:JD-DC"


def test_a_version_without_a_bundle_compares_its_rules_only():
    old = {"rules": view()["rules"]}
    assert diff(old, view()) == []
    assert diff(old, {**old, "timelines": None}) == []


def test_scalar_lists_of_equal_length_change_as_a_whole():
    assert list(leaf_changes({"value": [20, 23]}, {"value": [21, 23]})) == [("changed", "value", [20, 23], [21, 23])]
