"""Rule documents: validation names the offending part; compilation follows the documented semantics."""
from __future__ import annotations

import pytest

from rules import Catalog, compile_rule, compile_ruleset, negation_normal_form, validate_rule
from rules.problems import InputError
from rules.lists import expand_row
from rules.packs import load_pack


def rule(when, then=None, key="r1"):
    return {"key": key, "title": {"zh": "测试", "en": "Test"}, "when": when,
            "then": then or [{"do": "create_task", "template": "t", "assign": "grid_unit"}]}


def problems_of(doc, catalog=None):
    with pytest.raises(InputError) as info:
        validate_rule(doc, catalog)
    return {p.where: p for p in info.value.problems}


def test_unknown_operator_is_named_with_its_path():
    found = problems_of(rule({"all": [{"fact": "category", "op": "eq", "value": "06029"},
                                      {"fact": "local_hour", "op": "gtt", "value": 3}]}))
    assert "when.all[1].op" in found
    assert "gtt" in found["when.all[1].op"].en and "未知的运算符" in found["when.all[1].op"].zh


def test_unknown_fact_and_wrong_value_type_are_both_reported():
    found = problems_of(rule({"any": [{"fact": "colour", "op": "eq", "value": "red"},
                                      {"fact": "local_hour", "op": "eq", "value": "late"}]}))
    assert set(found) == {"when.any[0].fact", "when.any[1].value"}


def test_numeric_operator_on_a_text_fact_is_refused():
    found = problems_of(rule({"fact": "category", "op": "gt", "value": 3}))
    assert "when.op" in found


def test_between_needs_an_ordered_pair():
    found = problems_of(rule({"fact": "local_hour", "op": "between", "value": [22, 6]}))
    assert "when.value" in found


def test_unknown_category_template_and_unit_against_the_catalogue():
    catalog = Catalog(categories={"06029"}, templates={"zt-clearance"}, units={"JD-DC"}, unit_types={"squad"})
    doc = rule({"fact": "category", "op": "in", "value": ["06029", "12345"]},
               [{"do": "create_task", "template": "nope", "assign": "unit:XX"}])
    found = problems_of(doc, catalog)
    assert set(found) == {"when.value[1]", "then[0].template", "then[0].assign"}


def test_a_valid_rule_passes_and_compiles_to_durable_json():
    doc = rule({"all": [{"fact": "category", "op": "in", "value": ["06029", "09006"]},
                        {"fact": "local_hour", "op": "not_between", "value": [6, 21]}]})
    assert validate_rule(doc) is doc
    assert compile_rule(doc) == {"all": [{"m": {"$and": [
        {"$or": [{"category": "06029"}, {"category": "09006"}]},
        {"$or": [{"$lt": {"local_hour": 6}}, {"$gt": {"local_hour": 21}}]}]}}], "run": "r1"}


def test_not_is_pushed_to_the_leaves():
    cond = {"not": {"all": [{"fact": "local_hour", "op": "gt", "value": 5},
                            {"fact": "category", "op": "in", "value": ["a"]},
                            {"fact": "filing_condition", "op": "exists"}]}}
    assert negation_normal_form(cond) == {"any": [
        {"fact": "local_hour", "op": "lte", "value": 5},
        {"fact": "category", "op": "not_in", "value": ["a"]},
        {"fact": "filing_condition", "op": "exists", "value": False}]}


def test_the_demo_pack_validates_and_partitions_by_category():
    pack = load_pack()
    docs = [expand_row(l["kind"], r) for l in pack["lists"] for r in l["rows"]] + pack["rules"]
    assert len([d for d in docs if d["origin"]["list"] == "zero_tolerance"] if False else
               [d for d in docs if (d.get("origin") or {}).get("list") == "zero_tolerance"]) == 6
    assert len([d for d in docs if (d.get("origin") or {}).get("list") == "strict_management"]) == 10
    codes = {c["code"] for c in pack["categories"]}
    for doc in docs:
        validate_rule(doc, Catalog(categories=codes))
    compiled = compile_ruleset(docs)
    # The demo's category rules fit one packed partition; an event meets it and the category-free one.
    assert compiled.partitions_for("06001") == ["p0", "any.0"]
    assert {"zero_tolerance.zt1", "strict_management.sm1"} <= set(compiled.partitions["p0"])
    assert "repeat-hotspot" in compiled.partitions["any.0"] and "repeat-hotspot" not in compiled.partitions["p0"]


def test_partitions_stay_under_the_size_limit():
    from rules.compiler import MAX_RULES_PER_RULESET

    docs = [rule({"all": [{"fact": "category", "op": "eq", "value": f"C{i % 300:03d}"},
                          {"fact": "local_hour", "op": "gte", "value": i % 24}]}, key=f"r{i}") for i in range(900)]
    compiled = compile_ruleset(docs)
    assert all(len(p) <= MAX_RULES_PER_RULESET for p in compiled.partitions.values())
    assert sum(len(p) for p in compiled.partitions.values()) == 900
    for i in (0, 299):
        [partition] = compiled.partitions_for(f"C{i:03d}")[:1]
        assert {f"r{j}" for j in range(i, 900, 300)} <= set(compiled.partitions[partition])


def test_duplicate_keys_are_refused_at_compile_time():
    with pytest.raises(ValueError, match="duplicate rule keys: r1"):
        compile_ruleset([rule({"fact": "category", "op": "eq", "value": "a"})] * 2)
