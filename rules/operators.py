"""The operators of the rule language, one row each: its negation, the Python test the twin runs, the
durable_rules form the compiler emits, the fact types an editor offers it for, and its words in both languages.

Validation, compilation, the twin, list analysis, explanation cards and the editors all read this table, so
an operator means the same everywhere. The twin's test and the durable_rules form must agree: the property
test in tests/rules/test_twin_agreement.py runs both on generated rules and events.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Literal

#: What an operator's value is: one value, a non-empty list, a number, [low, high], or true/false.
Operand = Literal["one", "list", "number", "pair", "flag"]


@dataclass(frozen=True)
class Operator:
    name: str
    negation: str | None  # None: `not` flips its true/false value instead
    operand: Operand
    types: tuple[str, ...]  # the fact types an editor offers it for
    holds: Callable[[Any, Any], bool]  # (the fact's value, the rule's value); only a flag operator sees None
    durable: Callable[[str, Any], dict[str, Any]]  # (fact name, the rule's value) -> durable_rules condition
    label: tuple[str, str]  # zh, en: the editor's picker
    phrase: tuple[str, str]  # zh, en: a sentence part with {v}, or {lo} and {hi} for a pair
    phrase_false: tuple[str, str] | None = None  # zh, en: the sentence part when a flag operator's value is false

    @property
    def numeric(self) -> bool:
        """It compares numbers, so it applies to whole-number facts only."""
        return self.operand in ("number", "pair")

    def label_in(self, lang: str) -> str:
        return self.label[0 if lang.startswith("zh") else 1]

    def as_dict(self, lang: str) -> dict[str, Any]:
        """What an editor needs to offer it: its label in `lang`, its value's shape, its negation."""
        return {"name": self.name, "label": self.label_in(lang), "operand": self.operand, "negation": self.negation}


def joined(op: str, parts: list[dict[str, Any]]) -> dict[str, Any]:
    """A durable_rules `$and` / `$or` of the parts; one part stands alone."""
    return parts[0] if len(parts) == 1 else {op: parts}


def _number(actual: Any) -> bool:
    return isinstance(actual, (int, float))


def _between(actual: Any, value: Any) -> bool:
    low, high = value
    return _number(actual) and low <= actual <= high


def _outside(actual: Any, value: Any) -> bool:
    low, high = value
    return _number(actual) and (actual < low or actual > high)


def _has(name: str, value: Any) -> dict[str, Any]:
    return {"$iany": {name: {"$i": value}}}


def _has_not(name: str, value: Any) -> dict[str, Any]:
    # `$iall` is false on an empty array: rules.facts.for_durable gives every set a "" member
    return {"$iall": {name: {"$neq": {"$i": value}}}}


def _has_any(name: str, value: Any) -> dict[str, Any]:
    return {"$iany": {name: joined("$or", [{"$i": x} for x in value])}}


def _has_none(name: str, value: Any) -> dict[str, Any]:
    return {"$iall": {name: joined("$and", [{"$neq": {"$i": x}} for x in value])}}


def _members(actual: Any) -> set[Any]:
    return set(actual) if isinstance(actual, (list, tuple, set, frozenset)) else set()


def _exists(name: str, value: Any) -> dict[str, Any]:
    # text facts are completed with "" (see rules.facts.complete): durable_rules hangs on `$nex`
    return {"$neq": {name: ""}} if value else {name: ""}


def _range(name: str, value: Any) -> dict[str, Any]:
    low, high = value
    return {"$and": [{"$gte": {name: low}}, {"$lte": {name: high}}]}


def _outside_range(name: str, value: Any) -> dict[str, Any]:
    low, high = value
    return {"$or": [{"$lt": {name: low}}, {"$gt": {name: high}}]}


_ANY = ("str", "int", "bool")
_SET = ("set",)
_LISTED = ("str", "int")
_NUMBER = ("int",)

OPERATORS: dict[str, Operator] = {o.name: o for o in (
    Operator("eq", "ne", "one", _ANY, lambda a, v: a == v,
             lambda n, v: {n: v}, ("等于", "is"), ("等于 {v}", "is {v}")),
    Operator("ne", "eq", "one", _ANY, lambda a, v: a != v,
             lambda n, v: {"$neq": {n: v}}, ("不等于", "is not"), ("不等于 {v}", "is not {v}")),
    Operator("in", "not_in", "list", _LISTED, lambda a, v: a in v,
             lambda n, v: joined("$or", [{n: x} for x in v]), ("属于", "is one of"), ("属于 {v}", "is one of {v}")),
    Operator("not_in", "in", "list", _LISTED, lambda a, v: a not in v,
             lambda n, v: joined("$and", [{"$neq": {n: x}} for x in v]), ("不属于", "is none of"),
             ("不属于 {v}", "is none of {v}")),
    Operator("gt", "lte", "number", _NUMBER, lambda a, v: _number(a) and a > v,
             lambda n, v: {"$gt": {n: v}}, ("大于", "is more than"), ("大于 {v}", "is more than {v}")),
    Operator("gte", "lt", "number", _NUMBER, lambda a, v: _number(a) and a >= v,
             lambda n, v: {"$gte": {n: v}}, ("不少于", "is at least"), ("不少于 {v}", "is at least {v}")),
    Operator("lt", "gte", "number", _NUMBER, lambda a, v: _number(a) and a < v,
             lambda n, v: {"$lt": {n: v}}, ("小于", "is less than"), ("小于 {v}", "is less than {v}")),
    Operator("lte", "gt", "number", _NUMBER, lambda a, v: _number(a) and a <= v,
             lambda n, v: {"$lte": {n: v}}, ("不超过", "is at most"), ("不超过 {v}", "is at most {v}")),
    Operator("between", "not_between", "pair", _NUMBER, _between, _range, ("在区间内", "is between"),
             ("在 {lo} 至 {hi} 之间", "is between {lo} and {hi}")),
    Operator("not_between", "between", "pair", _NUMBER, _outside, _outside_range, ("不在区间内", "is outside"),
             ("不在 {lo} 至 {hi} 之间", "is outside {lo} to {hi}")),
    Operator("has", "not_has", "one", _SET, lambda a, v: v in _members(a), _has,
             ("包含", "includes"), ("包含 {v}", "includes {v}")),
    Operator("not_has", "has", "one", _SET, lambda a, v: v not in _members(a), _has_not,
             ("不包含", "does not include"), ("不包含 {v}", "does not include {v}")),
    Operator("has_any", "has_none", "list", _SET, lambda a, v: bool(_members(a) & set(v)), _has_any,
             ("包含任一", "includes any of"), ("包含 {v} 中任一", "includes any of {v}")),
    Operator("has_none", "has_any", "list", _SET, lambda a, v: not _members(a) & set(v), _has_none,
             ("均不包含", "includes none of"), ("不包含 {v} 中任何一项", "includes none of {v}")),
    Operator("exists", None, "flag", ("str",), lambda a, v: (a not in (None, "")) == bool(v), _exists,
             ("是否有值", "has a value"), ("有值", "is given"), ("无值", "is not given")),
)}

#: The operators an editor offers per fact type: each passes validate_rule for a fact of that type.
OPERATORS_BY_TYPE: dict[str, tuple[str, ...]] = {
    kind: tuple(name for name, o in OPERATORS.items() if kind in o.types) for kind in (*_ANY, *_SET)}


def operators_for_editor(lang: str) -> dict[str, dict[str, Any]]:
    """Every operator as an editor page receives it, labelled in `lang`."""
    return {name: o.as_dict(lang) for name, o in OPERATORS.items()}
