"""Property tests for rule documents in general: whatever validates also compiles and evaluates (in the
twin and in durable_rules); whatever does not validate is refused with a message in both languages,
never with another exception. Documents are generated as well-formed rules, then damaged at random."""
from __future__ import annotations

import copy

from hypothesis import HealthCheck, given, settings, strategies as st

from rules import compile_ruleset, matches, validate_rule
from rules.problems import InputError
from tests.helpers import EVENT_FACTS, RULE_CONDITIONS

JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=False),
                         st.text(max_size=12))
JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)), max_leaves=8)
ACTIONS = st.sampled_from([
    {"do": "notify", "to": "tier:1"},
    {"do": "create_task", "template": "t", "assign": "grid_unit"},
    {"do": "escalate", "tier": 2},
])


def document(when, action):
    return {"key": "p1", "title": {"zh": "生成", "en": "generated"}, "when": when, "then": [action]}


@st.composite
def damaged(draw):
    """A valid document kept, or with one part replaced, removed, swapped or added at a random place."""
    doc = copy.deepcopy(document(draw(RULE_CONDITIONS), draw(ACTIONS)))  # drawn values are shared: never mutate them
    node, path = doc, []
    while isinstance(node, (dict, list)) and node and draw(st.booleans()):
        key = draw(st.sampled_from(sorted(node) if isinstance(node, dict) else list(range(len(node)))))
        if not isinstance(node[key], (dict, list)):
            break
        node, path = node[key], path + [key]
    if isinstance(node, dict) and node:
        key = draw(st.sampled_from(sorted(node)))
        choice = draw(st.sampled_from(["keep", "replace", "remove", "add", "swap"]))
        if choice == "keep":
            pass
        elif choice == "replace":
            node[key] = draw(JSON_VALUES)
        elif choice == "swap":  # another well-formed part in its place: often still a valid rule
            node[key] = draw(RULE_CONDITIONS) if key in ("when", "not") else node[key]
        elif choice == "remove":
            del node[key]
        else:
            node[draw(st.text(min_size=1, max_size=8))] = draw(JSON_VALUES)
    elif isinstance(node, list):
        node.append(draw(JSON_VALUES))
    return doc


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damaged(), st.lists(EVENT_FACTS, min_size=1, max_size=4))
def test_a_document_either_validates_and_runs_or_is_refused_with_messages(doc, events):
    try:
        validate_rule(doc)
    except InputError as err:
        assert err.problems, "a refusal must name at least one problem"
        for problem in err.problems:
            assert problem.where and problem.en.strip() and problem.zh.strip(), problem
        return
    from engine.durable.evaluator import evaluator

    compiled = compile_ruleset([doc])
    fired = evaluator().evaluate(f"dp{compiled.content_hash[:16]}", compiled,
                                 [(str(i), e) for i, e in enumerate(events)])
    for i, event in enumerate(events):
        assert ("p1" in fired.get(str(i), [])) == matches(doc, event), (doc, event)


@settings(max_examples=200, deadline=None)
@given(JSON_VALUES)
def test_anything_that_is_not_a_rule_is_refused_with_a_message(value):
    try:
        validate_rule(value)
    except InputError as err:
        assert err.problems and all(p.en and p.zh for p in err.problems)
    else:
        raise AssertionError(f"accepted as a rule: {value!r}")
