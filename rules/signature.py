"""Which events a set of rulesets cannot tell apart: the signature of an event's facts.

Evaluation reads only the facts some rule names, and a number only through comparisons with the rules'
constants (eq, in, gt, between and their negations). Two events whose facts agree on every fact read —
numbers on the same side of, or equal to, each constant — fire the same rules, so replay evaluates one
event per signature. Values keep their type (True is not 1) and an absent fact differs from every value.
"""
from __future__ import annotations

import bisect
from typing import Any, Iterable

from rules.compiler import CompiledRuleset, negation_normal_form

#: Operators whose outcome on a number depends only on its order against the rule's constants.
ORDERED = frozenset({"eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "between", "not_between"})
_ABSENT = ("absent",)
_TRUE, _FALSE, _EMPTY = ("bool", True), ("bool", False), ("list", ())


def _leaves(cond: dict[str, Any]) -> Iterable[dict[str, Any]]:
    for key in ("all", "any"):
        if key in cond:
            for child in cond[key]:
                yield from _leaves(child)
            return
    yield cond


def _number(value: Any) -> bool:
    return type(value) in (int, float)


def _constants(leaf: dict[str, Any]) -> list[Any] | None:
    """The numbers a leaf compares its fact with, or None when its outcome is not a matter of order."""
    value = leaf.get("value")
    values = value if leaf.get("op") in ("in", "not_in", "between", "not_between") else [value]
    if leaf.get("op") not in ORDERED or not isinstance(values, list) or not all(_number(v) for v in values):
        return None
    return list(values)


def _frozen(value: Any) -> Any:
    """A hashable stand-in that keeps the type: lists become tuples, a non-text value is paired with its type."""
    if type(value) is str:
        return value
    if isinstance(value, (list, tuple)):
        return ("list", tuple(_frozen(v) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple(sorted((k, _frozen(v)) for k, v in value.items())))
    return (type(value).__name__, value)


class Signature:
    """The facts the rulesets read, and for numbers read only by order, the constants they are compared with."""

    def __init__(self, rulesets: Iterable[CompiledRuleset]) -> None:
        read: set[str] = {"category"}
        constants: dict[str, set[Any]] = {}
        unordered: set[str] = set()
        self.complete = True
        for compiled in rulesets:
            keys = {key for rules in compiled.partitions.values() for key in rules}
            if not keys <= compiled.rules.keys():  # a stored version without its documents: nothing is known
                self.complete = False
            for doc in compiled.rules.values():
                for leaf in _leaves(negation_normal_form(doc["when"])):
                    name = leaf["fact"]
                    read.add(name)
                    found = _constants(leaf)
                    if found is None:
                        unordered.add(name)
                    else:
                        constants.setdefault(name, set()).update(found)
        self.fields = tuple(sorted(read))
        self.order = {name: sorted(values) for name, values in constants.items() if name not in unordered}

    def of(self, facts: dict[str, Any]) -> tuple | None:
        """The signature of one event's facts; None when the rulesets' documents are not all known. Runs per event:
        text, flags and empty sets are taken as they are (flags as their own markers, never equal to 0 or 1)."""
        if not self.complete:
            return None
        out = []
        add = out.append
        order = self.order
        for name in self.fields:
            value = facts.get(name, _ABSENT)
            kind = type(value)
            if kind is str:
                add(value)
            elif kind is bool:
                add(_TRUE if value else _FALSE)
            elif (kind is int or kind is float) and name in order:
                bounds = order[name]
                at = bisect.bisect_left(bounds, value)
                add(4 * at + 2 * (at < len(bounds) and bounds[at] == value) + (kind is float))
            elif kind is list and not value:
                add(_EMPTY)
            else:
                add(value if value is _ABSENT else _frozen(value))
        return tuple(out)
