"""Replay evaluates one event per signature: events that share one must fire the same rules in durable_rules, and
events a rule tells apart must not share one."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings, strategies as st

from rules import compile_ruleset, validate_rule
from rules.signature import Signature
from tests.helpers import EVENT_FACTS, INT_FACTS, RULE_CONDITIONS, TEXT_FACTS



def _leaves(cond) -> list[dict]:
    parts = cond.get("all") or cond.get("any") or ([cond["not"]] if "not" in cond else None)
    return [leaf for part in parts for leaf in _leaves(part)] if parts else [cond]


def _change(name: str, leaves: list[dict]) -> st.SearchStrategy:
    """One fact of an event changed (the events replay meets differ in a few facts at a time); a number often
    on, or next to, a rule's threshold."""
    if name not in INT_FACTS:
        return st.tuples(st.just(name), st.sampled_from(TEXT_FACTS[name]))
    near = sorted({c + d for leaf in leaves if leaf["fact"] == name
                   for c in (leaf["value"] if isinstance(leaf["value"], list) else [leaf["value"]]) for d in (-1, 0, 1)})
    return st.tuples(st.just(name), st.one_of(st.integers(-1, 24), *([st.sampled_from(near)] if near else [])))


def _ruleset(whens):
    docs = [{"key": f"s{i}", "title": {"zh": "生成", "en": "generated"}, "when": when,
             "then": [{"do": "notify", "to": "tier:1"}]} for i, when in enumerate(whens)]
    for doc in docs:
        validate_rule(doc)
    return compile_ruleset(docs)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(RULE_CONDITIONS, min_size=1, max_size=5), st.lists(RULE_CONDITIONS, min_size=1, max_size=3),
       st.lists(EVENT_FACTS, min_size=1, max_size=4), st.data())
def test_events_with_one_signature_fire_the_same_rules(whens, others, bases, data):
    from engine.durable.evaluator import evaluator

    leaves = [leaf for when in whens + others for leaf in _leaves(when)]
    read = sorted({leaf["fact"] for leaf in leaves} & (INT_FACTS.keys() | TEXT_FACTS.keys())) or ["grid"]
    changes = data.draw(st.lists(st.tuples(st.integers(0, 3), st.sampled_from(read).flatmap(
        lambda name: _change(name, leaves))), max_size=24))
    events = bases + [{**bases[i % len(bases)], name: value} for i, (name, value) in changes]
    compiled, other = _ruleset(whens), _ruleset(others)
    signature = Signature([compiled, other])
    for ruleset in (compiled, other):
        fired = evaluator().evaluate(f"sig{ruleset.content_hash[:16]}", ruleset,
                                     [(str(i), e) for i, e in enumerate(events)])
        seen: dict[tuple, set[str]] = {}
        for i, event in enumerate(events):
            keys = set(fired.get(str(i), []))
            assert seen.setdefault(signature.of(event), keys) == keys, (event, whens, others)


HOTSPOT = {"all": [{"fact": "repeats_7d", "op": "gte", "value": 2}, {"fact": "local_hour", "op": "not_between",
                                                                     "value": [6, 21]}]}


def test_numbers_count_only_by_their_side_of_each_threshold():
    signature = Signature([_ruleset([HOTSPOT])])
    night = {"category": "06029", "repeats_7d": 5, "local_hour": 23, "grid": "DC-01", "repeats_30d": 9}
    assert signature.of(night) == signature.of({**night, "repeats_7d": 40, "local_hour": 22, "grid": "XC-02",
                                                "repeats_30d": 1})
    assert signature.of(night) != signature.of({**night, "repeats_7d": 1})
    assert signature.of(night) != signature.of({**night, "repeats_7d": 2})  # on the threshold itself
    assert signature.of({**night, "local_hour": 21}) != signature.of({**night, "local_hour": 20})
    assert signature.of({**night, "local_hour": 6}) != signature.of({**night, "local_hour": 5})


def test_a_flag_is_never_taken_for_a_number_and_an_absent_fact_for_a_value():
    signature = Signature([_ruleset([{"fact": "zero_tolerance", "op": "eq", "value": True}])])
    assert signature.of({"category": "06029", "zero_tolerance": True}) != signature.of(
        {"category": "06029", "zero_tolerance": 1})
    assert signature.of({"category": "06029"}) != signature.of({"category": "06029", "zero_tolerance": False})
    assert signature.of({"category": "06029"}) != signature.of({"category": "06029", "zero_tolerance": None})


def test_a_version_without_its_documents_has_no_signature():
    compiled = _ruleset([HOTSPOT])
    compiled.rules.clear()  # as a stored version compiled before documents were kept
    assert Signature([compiled]).of({"category": "06029"}) is None
