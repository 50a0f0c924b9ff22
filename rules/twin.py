"""The plain-Python twin of the compiled rules: same semantics, but it says which conditions held.

durable_rules reports that a rule fired, not why. The twin evaluates the same negation-normal
form, so a firing can be explained with the fact values that satisfied each condition.
A condition about a number or flag the event lacks is false (even when negated); an absent text
fact reads as "" (see rules.facts.complete), and `exists` tests for a non-empty value.
"""
from __future__ import annotations

from typing import Any

from rules.compiler import negation_normal_form
from rules.facts import complete
from rules.operators import OPERATORS


def _leaf(leaf: dict[str, Any], facts: dict[str, Any]) -> bool:
    operator, actual = OPERATORS[leaf["op"]], facts.get(leaf["fact"])
    if actual is None and operator.operand != "flag":
        return False
    return operator.holds(actual, leaf.get("value"))


def _walk(cond: dict[str, Any], facts: dict[str, Any], matched: list[dict[str, Any]]) -> bool:
    if "all" in cond:
        found: list[dict[str, Any]] = []
        if all(_walk(c, facts, found) for c in cond["all"]):
            matched.extend(found)
            return True
        return False
    if "any" in cond:
        for c in cond["any"]:
            found = []
            if _walk(c, facts, found):
                matched.extend(found)
                return True
        return False
    if _leaf(cond, facts):
        matched.append({"fact": cond["fact"], "op": cond["op"], "value": cond.get("value"),
                        "actual": facts.get(cond["fact"])})
        return True
    return False


def explain(doc: dict[str, Any], facts: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The conditions (with the actual fact values) that made the rule match, or None if it does not."""
    matched: list[dict[str, Any]] = []
    return matched if _walk(negation_normal_form(doc["when"]), complete(facts), matched) else None


def matches(doc: dict[str, Any], facts: dict[str, Any]) -> bool:
    return explain(doc, facts) is not None


def holds(cond: dict[str, Any], facts: dict[str, Any]) -> bool:
    """Whether a condition already in negation-normal form holds on complete facts: for a condition
    prepared once and tested on every event (the list facts, rules.list_facts)."""
    return _walk(cond, facts, [])


def trace(doc: dict[str, Any], facts: dict[str, Any]) -> list[dict[str, Any]]:
    """Every condition of the rule (negation pushed to the leaves) with the fact value and whether it held:
    the simulator's "why" and "why not"."""
    facts = complete(facts)
    leaves: list[dict[str, Any]] = []

    def walk(cond: dict[str, Any]) -> None:
        for key in ("all", "any"):
            if key in cond:
                for child in cond[key]:
                    walk(child)
                return
        leaves.append({"fact": cond["fact"], "op": cond["op"], "value": cond.get("value"),
                       "actual": facts.get(cond["fact"]), "held": _leaf(cond, facts)})

    walk(negation_normal_form(doc["when"]))
    return leaves
