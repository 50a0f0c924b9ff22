"""validate_rule's messages: each kind of fault is named by the exact JSON path of the part at fault and
is worded in Chinese and in English (the guided editor shows it next to that part, in the user's language)."""
from __future__ import annotations

import re

import pytest

from rules import Catalog, validate_rule
from rules.problems import InputError
from rules.operators import OPERATORS_BY_TYPE
from rules.facts import FACTS

CJK = re.compile(r"[\u4e00-\u9fff]")
CATALOG = Catalog(categories={"06029", "09"}, units={"JD-DC"}, unit_types={"squad"}, templates={"night-patrol"},
                  timelines={"zt-ladder"}, tiers={1, 2, 3})


def rule(**over):
    doc = {"key": "msg-test", "title": {"zh": "测试", "en": "Test"},
           "when": {"all": [{"fact": "category", "op": "eq", "value": "06029"}]},
           "then": [{"do": "create_task", "template": "night-patrol", "assign": "grid_unit"}]}
    doc.update(over)
    return doc


def leaf(fact, op, *value):
    cond = {"fact": fact, "op": op}
    if value:
        cond["value"] = value[0]
    return rule(when={"all": [{"fact": "category", "op": "eq", "value": "06029"}, cond]})


def act(**action):
    return rule(then=[{"do": "notify", "to": "tier:1"}, action])


FAULTS = [
    # (what is wrong, document, the path named, a word the English says, a word the Chinese says)
    ("missing title", {k: v for k, v in rule().items() if k != "title"}, "title", "required", "缺少必填项"),
    ("empty Chinese title", rule(title={"zh": "", "en": "T"}), "title.zh", "empty", "不能为空"),
    ("unknown top-level field", rule(colour="red"), "colour", "unknown field", "未知的字段"),
    ("bad key", rule(key="Night Rule"), "key", "lowercase", "小写字母"),
    ("enabled not a boolean", rule(enabled="yes"), "enabled", "true or false", "布尔值"),
    ("no condition", rule(when={}), "when", "condition", "条件"),
    ("no action", rule(then=[]), "then", "action", "动作"),
    ("empty all", rule(when={"all": []}), "when.all", "non-empty", "非空"),
    ("empty any in a nested group", rule(when={"all": [{"any": []}]}), "when.all[0].any", "non-empty", "非空"),
    ("group with other keys", rule(when={"all": [{"fact": "grid", "op": "exists"}], "any": []}), "when",
     "stand alone", "不能含其他键"),
    ("unknown fact", leaf("colour", "eq", "red"), "when.all[1].fact", "unknown fact", "未知的事实"),
    ("no fact", rule(when={"all": [{"op": "eq", "value": 1}]}), "when.all[0].fact", "needs a fact", "须指定事实"),
    ("unknown operator", leaf("local_hour", "gtt", 3), "when.all[1].op", "unknown operator", "未知的运算符"),
    ("numeric operator on text", leaf("grid", "gt", 3), "when.all[1].op", "compares numbers", "数值比较"),
    ("exists on a number", leaf("local_hour", "exists"), "when.all[1].op", "'exists'", "只适用于文本"),
    ("missing value", leaf("grid", "eq"), "when.all[1].value", "needs a value", "需要取值"),
    ("text for a number", leaf("local_hour", "eq", "late"), "when.all[1].value", "is a int", "类型是 int"),
    ("number for yes/no", leaf("is_weekend", "eq", 1), "when.all[1].value", "is a bool", "类型是 bool"),
    ("reversed hour range", leaf("local_hour", "between", [22, 6]), "when.all[1].value", "low ≤ high", "下限 ≤ 上限"),
    ("empty list for in", leaf("category", "in", []), "when.all[1].value", "non-empty list", "非空列表"),
    ("unknown category in a list", leaf("category", "in", ["06029", "99999"]), "when.all[1].value[1]",
     "unknown category", "未知的问题类别"),
    ("unknown unit", leaf("unit", "eq", "NOPE"), "when.all[1].value", "unknown unit", "未知的单位"),
    ("source type outside its choices", leaf("source_type", "eq", "fax"), "when.all[1].value", "not one of",
     "不在可选值"),
    ("unknown action", act(do="explode"), "then[1].do", "unknown action", "未知的动作"),
    ("unknown action field", act(do="notify", to="tier:1", colour="red"), "then[1].colour", "has no field",
     "没有字段"),
    ("unknown template", act(do="create_task", template="nope", assign="grid_unit"), "then[1].template",
     "unknown task template", "未知的任务模板"),
    ("no template", act(do="create_task", assign="grid_unit"), "then[1].template", "template is required",
     "必须指定任务模板"),
    ("bad assignment", act(do="create_task", template="night-patrol", assign="everyone"), "then[1].assign",
     "assign must be", "责任单位"),
    ("unknown unit type", act(do="create_task", template="night-patrol", assign="unit_type:navy"), "then[1].assign",
     "unknown unit type", "未知的单位类型"),
    ("bad time limit", act(do="create_task", template="night-patrol", assign="grid_unit",
                           limit={"value": 0, "unit": "working_days"}), "then[1].limit", "time limit", "时限"),
    ("unknown timeline", act(do="create_task", template="night-patrol", assign="grid_unit", timeline="x"),
     "then[1].timeline", "unknown timeline", "未知的时限流程"),
    ("tier out of range", act(do="escalate", tier=7), "then[1].tier", "supervision tier", "督查层级"),
    ("list_publicly not a boolean", act(do="escalate", tier=2, list_publicly="yes"), "then[1].list_publicly",
     "true or false", "true 或 false"),
    ("unknown channel", act(do="notify", channel="fax", to="tier:1"), "then[1].channel", "unknown channel",
     "未知的通知渠道"),
    ("bad notify target", act(do="notify", to="everyone"), "then[1].to", "to must be", "通知对象"),
    ("negative points", rule(origin={"list": "custom", "points": -2}), "origin.points", "at least 0", "不能小于 0"),
]


@pytest.mark.parametrize("doc, path, en_word, zh_word", [f[1:] for f in FAULTS], ids=[f[0] for f in FAULTS])
def test_each_fault_names_its_path_in_both_languages(doc, path, en_word, zh_word):
    with pytest.raises(InputError) as info:
        validate_rule(doc, CATALOG)
    found = {p.where: p for p in info.value.problems}
    assert path in found, f"expected a problem at {path}, got {sorted(found)}"
    problem = found[path]
    assert en_word in problem.en and not CJK.search(problem.en.replace("≤", ""))
    assert zh_word in problem.zh and CJK.search(problem.zh)
    assert problem.message("zh") == problem.zh and problem.message("en") == problem.en
    assert problem.as_dict("zh") == {"field": path, "message": problem.zh}


def test_a_missing_field_is_reported_once_each():
    with pytest.raises(InputError) as info:
        validate_rule({}, CATALOG)
    assert [p.where for p in info.value.problems] == ["key", "title", "when", "then"]


def test_every_schema_message_has_its_own_chinese():
    """No schema fault falls back to jsonschema's English inside the Chinese text."""
    for _name, doc, *_ in FAULTS:
        try:
            validate_rule(doc, CATALOG)
        except InputError as err:
            assert all("格式错误" not in p.zh for p in err.problems), err.problems


@pytest.mark.parametrize("name", sorted(FACTS))
def test_every_operator_an_editor_offers_is_valid_for_the_fact(name):
    fact = FACTS[name]
    sample = {"str": fact.choices[0] if fact.choices else "06029", "int": 3, "bool": True,
              "set": fact.choices[0] if fact.choices else "x"}[fact.type]
    for op in OPERATORS_BY_TYPE[fact.type]:
        value = ({"exists": True, "in": [sample], "not_in": [sample], "has_any": [sample], "has_none": [sample],
                  "between": [1, 5],
                  "not_between": [1, 5]}.get(op, sample))
        cond = {"fact": name, "op": op, "value": value}
        validate_rule(rule(when={"all": [cond]}), Catalog())
