"""The operator and time-limit unit tables: what `not` turns each operator into, how each reads in both
languages, and how each unit is named and counted."""
from __future__ import annotations

import pytest

from rules import matches, negation_normal_form
from rules.facts import FACTS
from rules.limits import LIMIT_UNIT_TABLE, limit_units_for_editor
from rules.operators import OPERATORS, OPERATORS_BY_TYPE, operators_for_editor
from rules.wording import describe_condition

VALUES = {"one": 3, "list": [3, 4], "number": 3, "pair": [2, 4], "flag": True}


@pytest.mark.parametrize("name", sorted(OPERATORS))
def test_not_is_the_opposite_on_every_value(name):
    operator = OPERATORS[name]
    fact = "local_hour" if "int" in operator.types else "filing_condition"
    leaf = {"fact": fact, "op": name, "value": VALUES[operator.operand]}
    doc = {"key": "k", "when": leaf}
    negated = {"key": "k", "when": {"not": leaf}}
    samples = [{"local_hour": h} for h in range(24)] if fact == "local_hour" else [
        {"filing_condition": v} for v in ("", "built")]
    for facts in samples:
        assert matches(doc, facts) != matches(negated, facts), (name, facts)
    flipped = negation_normal_form({"not": leaf})
    assert flipped["op"] == (operator.negation or name)


@pytest.mark.parametrize("name", sorted(OPERATORS))
def test_every_operator_reads_in_both_languages(name):
    operator = OPERATORS[name]
    fact = "local_hour" if "int" in operator.types else "filing_condition"
    leaf = {"fact": fact, "op": name, "value": VALUES[operator.operand], "actual": 3}
    zh, en = describe_condition(leaf, "zh"), describe_condition(leaf, "en")
    assert FACTS[fact].zh in zh and "实际为 3" in zh
    assert FACTS[fact].en in en and "(actual: 3)" in en
    assert operators_for_editor("zh")[name]["label"] != operators_for_editor("en")[name]["label"]


def test_an_editor_offers_text_facts_exists_and_numbers_the_comparisons():
    assert "exists" in OPERATORS_BY_TYPE["str"] and "gt" not in OPERATORS_BY_TYPE["str"]
    assert "between" in OPERATORS_BY_TYPE["int"] and "exists" not in OPERATORS_BY_TYPE["int"]
    assert OPERATORS_BY_TYPE["bool"] == ("eq", "ne")
    assert operators_for_editor("en")["not_between"] == {"name": "not_between", "label": "is outside",
                                                         "operand": "pair", "negation": "between"}


def test_each_limit_unit_has_one_name_per_language_and_counts_an_amount():
    assert [u["label"] for u in limit_units_for_editor("en")] == [
        "hours (continuous)", "working hours", "working days", "days (continuous)"]
    assert [u["label"] for u in limit_units_for_editor("zh")] == ["小时（连续计时）", "工作小时", "工作日", "天（连续计时）"]
    assert LIMIT_UNIT_TABLE["working_days"].amount_in(1.0, "zh") == "1 个工作日"
    assert LIMIT_UNIT_TABLE["urgent_days"].amount_in(1.5, "en") == "1.5 day(s) (continuous)"
    assert set(LIMIT_UNIT_TABLE) == {"urgent_hours", "working_hours", "working_days", "urgent_days"}
