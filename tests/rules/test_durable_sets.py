"""Set-valued facts (`in_zone`, `permits_valid`): the probe of durable_rules' array operators that the
compiler relies on, and every set operator against the twin on every subset, empty set included."""
from __future__ import annotations

import itertools
import subprocess
import sys
import textwrap

import pytest

from rules import compile_ruleset, matches, validate_rule
from rules.problems import InputError

KINDS = ["restricted_business", "school_surroundings", "residential"]

PROBE = textwrap.dedent("""
    import durable.engine as de
    fired = []
    class Host(de.Host):
        def get_action(self, name):
            return (lambda c: None) if name == "seen" else (lambda c: fired.extend(f["id"] for f in c.m))
        def _run(self):
            return None
    host = Host()
    host.register_rulesets({"probe": {
        "none": {"all": [{"m": {"$iall": {"zones": {"$neq": {"$i": "school"}}}}}], "run": "none", "cap": 10},
        "seen": {"all": [{"m": {"$ex": {"category": 1}}}], "run": "seen", "cap": 10}}})
    facts = [{"id": "empty", "category": "A", "zones": []}, {"id": "padded", "category": "A", "zones": [""]},
             {"id": "other", "category": "A", "zones": ["residential", ""]}]
    host.assert_facts("probe", facts)
    print(sorted(fired))
""")


def test_durable_rules_iall_is_false_on_an_empty_array_so_sets_are_padded():
    """The reason for rules.facts.for_durable: `$iall` over [] does not hold in durable_rules, over [""] it does.
    Run in a subprocess with a timeout: durable_rules has hung on other operators ($nex)."""
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "['other', 'padded']"


def _rule(key: str, cond: dict) -> dict:
    return {"key": key, "title": {"zh": "区域", "en": "zone"},
            "when": {"all": [{"fact": "category", "op": "eq", "value": "L0001"}, cond]},
            "then": [{"do": "notify", "to": "tier:1"}]}


CONDITIONS = [{"fact": "in_zone", "op": op, "value": value}
              for op, values in (("has", KINDS), ("not_has", KINDS),
                                 ("has_any", [KINDS[:1], KINDS[1:], KINDS]), ("has_none", [KINDS[:1], KINDS[1:]]))
              for value in values]
CONDITIONS += [{"not": c} for c in CONDITIONS[:4]]


def test_every_set_operator_agrees_with_the_twin_on_every_subset():
    from engine.durable.evaluator import evaluator

    docs = [_rule(f"z{i}", cond) for i, cond in enumerate(CONDITIONS)]
    for doc in docs:
        validate_rule(doc)
    subsets = [list(s) for n in range(len(KINDS) + 1) for s in itertools.combinations(KINDS, n)]
    events = [{"category": "L0001", "in_zone": s} for s in subsets] + [{"category": "L0001"}]  # absent: no zone
    compiled = compile_ruleset(docs)
    fired = evaluator().evaluate(f"sets{compiled.content_hash[:12]}", compiled,
                                 [(str(i), e) for i, e in enumerate(events)])
    for i, event in enumerate(events):
        expected = sorted(d["key"] for d in docs if matches(d, event))
        assert sorted(fired.get(str(i), [])) == expected, event
    none = [d["key"] for d in docs if matches(d, {"category": "L0001", "in_zone": []})]
    assert "z3" in none and "z0" not in none  # not_has holds, has does not, for a place in no zone


@pytest.mark.parametrize("cond, where", [
    ({"fact": "in_zone", "op": "eq", "value": "residential"}, "op"),
    ({"fact": "grid", "op": "has", "value": "DC-01"}, "op"),
    ({"fact": "in_zone", "op": "has", "value": "moon"}, "value"),
    ({"fact": "permits_valid", "op": "has_any", "value": []}, "value"),
])
def test_set_operators_and_set_facts_only_go_together(cond, where):
    with pytest.raises(InputError) as err:
        validate_rule(_rule("bad", cond))
    assert any(p.where.endswith(where) for p in err.value.problems), err.value.problems
    assert all(p.zh for p in err.value.problems)
