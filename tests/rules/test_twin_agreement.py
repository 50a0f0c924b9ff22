"""Property test: the plain-Python twin and durable_rules agree on generated rules and events,
and anything that validates also compiles and evaluates."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings, strategies as st

from rules import compile_ruleset, matches, validate_rule
from tests.helpers import EVENT_FACTS, RULE_CONDITIONS


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(RULE_CONDITIONS, min_size=1, max_size=5), st.lists(EVENT_FACTS, min_size=1, max_size=8))
def test_twin_and_durable_rules_agree(whens, events):
    from engine.durable.evaluator import evaluator

    docs = [{"key": f"g{i}", "title": {"zh": "生成", "en": "generated"}, "when": when,
             "then": [{"do": "notify", "to": "tier:1"}]} for i, when in enumerate(whens)]
    for doc in docs:
        validate_rule(doc)
    compiled = compile_ruleset(docs)
    fired = evaluator().evaluate(f"prop{compiled.content_hash[:16]}", compiled,
                                 [(str(i), e) for i, e in enumerate(events)])
    for i, event in enumerate(events):
        expected = sorted(d["key"] for d in docs if matches(d, event))
        assert sorted(fired.get(str(i), [])) == expected, (event, docs)
