"""Property test: the plain-Python twin and durable_rules agree on generated rules and events,
and anything that validates also compiles and evaluates."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings, strategies as st

from rules import compile_ruleset, matches, validate_rule

CATEGORIES = ["06029", "06001", "09006", "08001"]
TEXT_FACTS = {"category": CATEGORIES, "grid": ["DC-01", "XC-02"], "source_type": ["hotline", "patrol", "camera"]}
INT_FACTS = {"local_hour": (0, 23), "repeats_7d": (0, 5), "weekday": (1, 7)}
BOOL_FACTS = ["zero_tolerance", "is_weekend"]


def leaf():
    text = st.sampled_from(sorted(TEXT_FACTS)).flatmap(lambda f: st.one_of(
        st.builds(lambda v, op: {"fact": f, "op": op, "value": v}, st.sampled_from(TEXT_FACTS[f]),
                  st.sampled_from(["eq", "ne"])),
        st.builds(lambda v, op: {"fact": f, "op": op, "value": v},
                  st.lists(st.sampled_from(TEXT_FACTS[f]), min_size=1, max_size=3, unique=True),
                  st.sampled_from(["in", "not_in"]))))
    number = st.sampled_from(sorted(INT_FACTS)).flatmap(lambda f: st.one_of(
        st.builds(lambda v, op: {"fact": f, "op": op, "value": v}, st.integers(*INT_FACTS[f]),
                  st.sampled_from(["eq", "ne", "gt", "gte", "lt", "lte"])),
        st.builds(lambda a, b, op: {"fact": f, "op": op, "value": sorted([a, b])}, st.integers(*INT_FACTS[f]),
                  st.integers(*INT_FACTS[f]), st.sampled_from(["between", "not_between"]))))
    flag = st.builds(lambda f, v: {"fact": f, "op": "eq", "value": v}, st.sampled_from(BOOL_FACTS), st.booleans())
    exists = st.builds(lambda f, v: {"fact": f, "op": "exists", "value": v},
                       st.sampled_from(["filing_condition", "category_parent"]), st.booleans())
    return st.one_of(text, number, flag, exists)


conditions = st.recursive(leaf(), lambda inner: st.one_of(
    st.builds(lambda xs: {"all": xs}, st.lists(inner, min_size=1, max_size=3)),
    st.builds(lambda xs: {"any": xs}, st.lists(inner, min_size=1, max_size=3)),
    st.builds(lambda x: {"not": x}, inner)), max_leaves=6)

facts = st.fixed_dictionaries(
    {"category": st.sampled_from(CATEGORIES), "grid": st.sampled_from(TEXT_FACTS["grid"]),
     "source_type": st.sampled_from(TEXT_FACTS["source_type"]), "local_hour": st.integers(0, 23),
     "repeats_7d": st.integers(0, 5), "weekday": st.integers(1, 7), "zero_tolerance": st.booleans(),
     "is_weekend": st.booleans()},
    optional={"filing_condition": st.sampled_from(["built", "building"])})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(conditions, min_size=1, max_size=5), st.lists(facts, min_size=1, max_size=8))
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
