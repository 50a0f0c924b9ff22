"""The facts `zero_tolerance` and `strict_management`: a row of that list matches the report.

A list row is a category plus conditions (ZT5: 06011 only as construction waste dumped outside its permit),
so the flag is not "the category is on the list" but "one of the list's rows holds" — which is what
durable_rules decides when it fires the row's rule, so the twin evaluates the rows' own documents.
The rows are indexed by category once per compiled version: per event, one lookup and the few rows of
its category.
"""
from __future__ import annotations

from typing import Any, Iterable

from rules.compiler import categories_of, negation_normal_form
from rules.twin import holds

LIST_FACTS = ("zero_tolerance", "strict_management")

#: list fact -> category code -> the conditions (negation-normal form) of that list's rows naming the category
ListRows = dict[str, dict[str, tuple[dict[str, Any], ...]]]


def rows_by_category(docs: Iterable[dict[str, Any]]) -> ListRows:
    """The enabled rule documents that are rows of a listed list, by the categories each row names."""
    found: dict[str, dict[str, list[dict[str, Any]]]] = {name: {} for name in LIST_FACTS}
    for doc in docs:
        kind = (doc.get("origin") or {}).get("list")
        if kind in found and doc.get("enabled", True):
            when = negation_normal_form(doc["when"])
            for code in sorted(categories_of(doc) or ()):
                found[kind].setdefault(code, []).append(when)
    return {kind: {code: tuple(conds) for code, conds in rows.items()} for kind, rows in found.items()}


def list_flags(rows: ListRows, facts: dict[str, Any]) -> dict[str, bool]:
    """Each list fact for complete facts (rules.facts.complete); no row reads a list fact (rules.document refuses
    it), so flags already among the facts (stored before, or stale) do not change the answer."""
    category = facts.get("category")
    return {name: any(holds(cond, facts) for cond in rows.get(name, {}).get(category, ())) for name in LIST_FACTS}
