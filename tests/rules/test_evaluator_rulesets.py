"""The Evaluator registers the compiler's partitions as smaller rulesets, with category-free rules folded in and
each fact cut down to the fields its ruleset reads; whatever the layout, durable_rules must fire what the twin says."""
from __future__ import annotations

import random

from rules import compile_ruleset, matches, validate_rule


CATEGORIES = [f"C{i}" for i in range(40)]


def _rule(i: int, rng: random.Random) -> dict:
    numeric = {"fact": rng.choice(["local_hour", "repeats_7d", "days_since_closed"]), "op": rng.choice(["gte", "lt"]),
               "value": rng.randint(0, 12)}
    shape = i % 5
    if shape == 0:  # bound to no category: meets every event
        when = {"all": [numeric, {"fact": "grid", "op": "eq", "value": rng.choice(["G1", "G2"])}]}
    elif shape == 1:  # bound to two categories
        when = {"all": [{"fact": "category", "op": "in", "value": rng.sample(CATEGORIES, 2)}, numeric]}
    else:
        when = {"all": [{"fact": "category", "op": "eq", "value": rng.choice(CATEGORIES)}, numeric,
                        {"not": {"fact": "in_zone", "op": "has", "value": "school_surroundings"}}]}
    return {"key": f"r{i:03d}", "title": {"zh": "生成", "en": "generated"}, "when": when,
            "then": [{"do": "notify", "to": "tier:1"}]}


def _event(rng: random.Random) -> dict:
    event = {"category": rng.choice([*CATEGORIES, "C99"]), "grid": rng.choice(["G1", "G2", None]),
             "local_hour": rng.randint(0, 23), "repeats_7d": rng.randint(0, 12), "unit": "U1"}
    if rng.random() < 0.5:
        event["days_since_closed"] = rng.randint(0, 30)
    if rng.random() < 0.5:
        event["in_zone"] = rng.sample(["school_surroundings", "residential"], rng.randint(0, 2))
    return event


def _fired_as_the_twin_says(compiled, docs, events, tag: str) -> None:
    from engine.durable.evaluator import evaluator

    fired = evaluator().evaluate(f"{tag}{compiled.content_hash[:16]}", compiled,
                                 [(str(i), e) for i, e in enumerate(events)])
    assert sum(len(keys) for keys in fired.values()) > len(events)  # the rules do fire
    for i, event in enumerate(events):
        assert sorted(fired.get(str(i), [])) == sorted(d["key"] for d in docs if matches(d, event)), event


def test_many_rules_in_several_rulesets_fire_as_the_twin_says():
    """More rules than one ruleset holds: categories are grouped into rulesets behind their marker paths, a
    two-category rule sits with each of its categories, and an event meets exactly one category ruleset."""
    from engine.durable.layout import RULESET_SIZE, layout

    rng = random.Random(18)
    docs = [_rule(i, rng) for i in range(RULESET_SIZE * 2 + 30)]
    for doc in docs:
        validate_rule(doc)
    compiled = compile_ruleset(docs)
    plan = layout(compiled)
    assert max(len(rules) for rules in plan.definitions.values()) <= RULESET_SIZE + 1  # + the catch-all
    grouped = [name for name in plan.definitions if plan.markers.get(name)]
    assert len(grouped) > 1
    for category in CATEGORIES:
        assert len([name for name in plan.rulesets_for(category) if name in grouped]) == 1
    events = [_event(rng) for _ in range(400)]
    _fired_as_the_twin_says(compiled, docs, events, "layout")


def test_a_version_without_its_documents_fires_as_the_twin_says():
    """A stored version read without its documents registers the compiler's partitions: no markers, the same
    firings."""
    from rules.compiler import CompiledRuleset

    rng = random.Random(19)
    docs = [_rule(i, rng) for i in range(230)]
    compiled = compile_ruleset(docs)
    bare = CompiledRuleset.from_dict({}, compiled.as_dict(), "bare" + compiled.content_hash)
    _fired_as_the_twin_says(bare, docs, [_event(rng) for _ in range(400)], "bare")


def test_a_category_with_more_rules_than_a_ruleset_holds_is_cut_and_meets_every_piece():
    """600 rules on one category (the compiler cuts them at 200): pieces of at most RULESET_SIZE behind the same
    path, the category routed to each, every rule firing as the twin says."""
    from engine.durable.layout import RULESET_SIZE, layout

    rng = random.Random(20)
    docs = [{"key": f"big{i:03d}", "title": {"zh": "生成", "en": "generated"},
             "when": {"all": [{"fact": "category", "op": "eq", "value": "C1"},
                              {"fact": "repeats_7d", "op": "gte", "value": i % 13}]},
             "then": [{"do": "notify", "to": "tier:1"}]} for i in range(600)]
    docs += [_rule(i, rng) for i in range(40)]
    compiled = compile_ruleset(docs)
    plan = layout(compiled)
    assert max(len(rules) for rules in plan.definitions.values()) <= RULESET_SIZE + 1  # + the catch-all
    assert len([name for name in plan.rulesets_for("C1") if plan.markers.get(name)]) >= 3
    events = [{**_event(rng), "category": "C1"} for _ in range(60)] + [_event(rng) for _ in range(60)]
    _fired_as_the_twin_says(compiled, docs, events, "bigcat")


def test_the_checks_register_what_the_worker_registers():
    """The compile and firing checks' children get the rule documents, so they register the layout by category."""
    from engine.durable import firing_check

    rng = random.Random(21)
    docs = [_rule(i, rng) for i in range(120)]
    compiled = compile_ruleset(docs)
    assert "rules" in compiled.as_check() and compiled.as_check()["rules"] == compiled.rules
    events = [_event(rng) for _ in range(50)]
    fired = firing_check.fired(compiled.as_check(), [(str(i), e) for i, e in enumerate(events)])
    for i, event in enumerate(events):
        assert sorted(fired.get(str(i), [])) == sorted(d["key"] for d in docs if matches(d, event)), event


def test_a_text_fact_that_looks_like_a_fact_id_is_not_taken_for_one():
    """Firings are read from durable_rules' messages by our fact ids; a holder's name in quotes must not add one."""
    from engine.durable.evaluator import evaluator

    docs = [{"key": "holder", "title": {"zh": "门前三包", "en": "frontage"},
             "when": {"fact": "frontage_holder", "op": "exists", "value": True},
             "then": [{"do": "notify", "to": "tier:1"}]}]
    for doc in docs:
        validate_rule(doc)
    compiled = compile_ruleset(docs)
    events = [{"category": "C1", "frontage_holder": '店 "id": "1.1", "id":"2.2"'}, {"category": "C1"}]
    fired = evaluator().evaluate(f"quoted{compiled.content_hash[:16]}", compiled,
                                 [(str(i), e) for i, e in enumerate(events)])
    assert dict(fired) == {"0": ["holder"]}
