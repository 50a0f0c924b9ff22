"""The list facts say that a row of the list matches the report (rules.list_facts), exactly when durable_rules
fires one of that list's rows: the demo's ZT5 takes 06011 only as construction waste dumped outside its permit,
so ordinary garbage is not zero tolerance and 测评期内零容忍问题报局督查 does not fire for it."""
from __future__ import annotations

from typing import Any

import pytest

from rules import compile_ruleset
from rules.document import Catalog, validate_rule
from rules.facts import complete
from rules.list_facts import list_flags, rows_by_category
from rules.list_rows import blank_row, check_rows
from rules.lists import expand_row
from rules.packs import load_pack
from rules.problems import InputError

PACK = load_pack("demo")
DOCS = [expand_row(lst["kind"], row) for lst in PACK["lists"] for row in lst["rows"]] + PACK["rules"]

#: (category, other facts) -> (zero_tolerance, strict_management)
CASES: list[tuple[str, dict[str, Any], tuple[bool, bool]]] = [
    ("06011", {}, (False, False)),  # ordinary household garbage
    ("06011", {"filing_condition": "construction_waste"}, (True, False)),  # ZT5
    ("06011", {"filing_condition": "construction_waste", "permits_valid": ["construction_waste"]}, (False, False)),
    ("06011", {"filing_condition": "construction_waste", "at_designated_site": True}, (False, False)),
    ("06011", {"filing_condition": "over_2_days", "in_zone": ["residential"]}, (False, True)),  # SM7
    ("08005", {}, (True, False)),
    ("09002", {}, (False, False)),  # an approved market
    ("09002", {"filing_condition": "unapproved"}, (True, False)),  # ZT3
    ("09002", {"filing_condition": "unapproved", "permits_valid": ["temporary_market"]}, (False, False)),
    ("06036", {}, (False, False)),  # stacked sundries
    ("06036", {"filing_condition": "building_materials"}, (True, False)),  # ZT2
    ("08006", {}, (True, False)),
    ("08001", {"local_hour": 23}, (False, True)),  # SM4 at night
    ("08001", {"local_hour": 10}, (False, False)),
    ("06001", {}, (True, True)),  # ZT1 and SM1 both name it, without conditions
]


def report(category: str, facts: dict[str, Any]) -> dict[str, Any]:
    """A report during the inspection window, with its list facts as enrichment computes them (last)."""
    out = complete({"category": category, "in_inspection_window": True, "at_designated_site": False,
                    "local_hour": 10, "rebound_30d": False, **facts})
    return {**out, **list_flags(rows_by_category(DOCS), out)}


@pytest.mark.parametrize(("category", "facts", "expected"), CASES)
def test_a_list_fact_holds_only_when_a_row_of_that_list_matches(category, facts, expected):
    got = report(category, facts)
    assert (got["zero_tolerance"], got["strict_management"]) == expected


def test_the_list_facts_agree_with_the_rows_durable_rules_fires_and_the_inspection_alert_follows_them():
    from engine.durable.evaluator import evaluator

    compiled = compile_ruleset(DOCS)
    reports = [report(category, facts) for category, facts, _ in CASES]
    fired = evaluator().evaluate(f"listfacts{compiled.content_hash[:12]}", compiled,
                                 [(str(i), r) for i, r in enumerate(reports)])
    for i, facts in enumerate(reports):
        keys = set(fired.get(str(i), []))
        assert facts["zero_tolerance"] == any(k.startswith("zero_tolerance.") for k in keys), (facts, keys)
        assert facts["strict_management"] == any(k.startswith("strict_management.") for k in keys), (facts, keys)
        assert ("inspection-window-alert" in keys) == facts["zero_tolerance"], (facts, keys)


def test_a_disabled_row_makes_no_list_fact():
    rows = [{**doc, "enabled": False} if doc["key"] == "zero_tolerance.zt1" else doc for doc in DOCS]
    facts = complete({"category": "06001"})
    assert list_flags(rows_by_category(rows), facts) == {"zero_tolerance": False, "strict_management": True}


def test_a_list_row_cannot_test_the_list_facts_and_the_editor_says_so_at_its_conditions():
    row = {"key": "SM11", "title": {"zh": "非零容忍的乱堆物料"}, "categories": ["06036"], "template": "sm-rectify",
           "conditions": [{"not": {"fact": "zero_tolerance", "op": "eq", "value": True}}]}
    with pytest.raises(InputError) as err:
        validate_rule(expand_row("strict_management", row))
    [problem] = err.value.problems
    assert problem.where == "when.all[1].not.fact" and "命中零容忍清单某一条" in problem.zh
    assert "a zero-tolerance row matches the report" in problem.en
    alert = {"key": "alert", "title": {"zh": "提醒", "en": "alert"}, "then": [{"do": "notify", "to": "tier:3"}],
             "when": {"fact": "zero_tolerance", "op": "eq", "value": True}}
    validate_rule(alert)  # an ordinary rule may, as the demo's inspection-window alert does
    editor = {**blank_row("SM11"), "title_zh": "非零容忍的乱堆物料", "categories": ["06036"], "template": "sm-rectify",
              "conditions": row["conditions"]}
    _, problems = check_rows("strict_management", [editor], Catalog())
    assert [(p.where, p.row) for p in problems] == [("conditions", 0)]
