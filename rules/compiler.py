"""Compilation of validated rule documents to durable_rules JSON rulesets.

Negations are pushed down to the leaves first (durable_rules has no `not` over one fact), so
the compiled rule and the plain-Python twin read the same normalised condition. Rules are
partitioned by the categories they can match, keeping every durable_rules ruleset far below
the ~500-rule size where registration hangs.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from rules.operators import OPERATORS, joined

MAX_RULES_PER_RULESET = 200
ANY_PARTITION = "any"


def negation_normal_form(cond: dict[str, Any], negate: bool = False) -> dict[str, Any]:
    """Return the condition with every `not` pushed into the leaves (De Morgan)."""
    if "not" in cond:
        return negation_normal_form(cond["not"], not negate)
    for key, dual in (("all", "any"), ("any", "all")):
        if key in cond:
            return {dual if negate else key: [negation_normal_form(c, negate) for c in cond[key]]}
    leaf = dict(cond)
    if leaf["op"] in OPERATORS and OPERATORS[leaf["op"]].negation is None:
        leaf["value"] = bool(leaf.get("value", True)) != negate
    elif negate:
        leaf["op"] = OPERATORS[leaf["op"]].negation
    return leaf


def _to_durable(cond: dict[str, Any]) -> dict[str, Any]:
    if "all" in cond:
        return joined("$and", [_to_durable(c) for c in cond["all"]])
    if "any" in cond:
        return joined("$or", [_to_durable(c) for c in cond["any"]])
    return OPERATORS[cond["op"]].durable(cond["fact"], cond.get("value"))


def compile_rule(doc: dict[str, Any]) -> dict[str, Any]:
    """One rule document -> one durable_rules rule; its action is named by the rule key."""
    return {"all": [{"m": _to_durable(negation_normal_form(doc["when"]))}], "run": doc["key"]}


def categories_of(doc: dict[str, Any]) -> set[str] | None:
    """The category codes a rule can match, or None when it is not bound to categories."""
    cond = negation_normal_form(doc["when"])
    leaves = cond["all"] if "all" in cond else [cond]
    found: set[str] | None = None
    for leaf in leaves:
        if leaf.get("fact") == "category" and leaf.get("op") in ("eq", "in"):
            codes = {leaf["value"]} if leaf["op"] == "eq" else set(leaf["value"])
            found = codes if found is None else found & codes
    return found


@dataclass
class CompiledRuleset:
    """A frozen ruleset version: the rule documents, their durable_rules partitions, its hash."""

    rules: dict[str, dict[str, Any]]
    partitions: dict[str, dict[str, Any]]
    routes: dict[str, list[str]] = field(default_factory=dict)
    content_hash: str = ""

    def partitions_for(self, category: str) -> list[str]:
        return self.routes.get(category, []) + self.routes.get(ANY_PARTITION, [])

    def as_dict(self) -> dict[str, Any]:
        return {"partitions": self.partitions, "routes": self.routes}

    def as_check(self) -> dict[str, Any]:
        """What the compile and firing checks' child processes take: with the rule documents, so they register
        the same layout (rulesets by category) as the evaluation worker."""
        return {**self.as_dict(), "rules": self.rules}

    @classmethod
    def from_dict(cls, rules: dict[str, Any], compiled: dict[str, Any], content_hash: str) -> "CompiledRuleset":
        return cls(rules=rules, partitions=compiled["partitions"], routes=compiled["routes"],
                   content_hash=content_hash)


def content_hash(rules: list[dict[str, Any]]) -> str:
    blob = json.dumps(sorted(rules, key=lambda r: r["key"]), sort_keys=True, ensure_ascii=False,
                      separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def compile_ruleset(rules: list[dict[str, Any]]) -> CompiledRuleset:
    """Compile enabled, validated rule documents into category partitions of bounded size."""
    enabled = [r for r in rules if r.get("enabled", True)]
    keys = [r["key"] for r in enabled]
    if len(set(keys)) != len(keys):
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        raise ValueError(f"duplicate rule keys: {', '.join(dupes)}")
    buckets: dict[str, list[dict[str, Any]]] = {}
    for doc in sorted(enabled, key=lambda r: r["key"]):
        cats = categories_of(doc)
        for bucket in (sorted(cats) if cats is not None else [ANY_PARTITION]):
            buckets.setdefault(bucket, []).append(doc)
    partitions: dict[str, dict[str, Any]] = {}
    routes: dict[str, list[str]] = {}
    # Category buckets are packed together up to the size limit: an event then meets one or two
    # rulesets (its packed partition and "any"), so a batch is a few assert_facts calls, not dozens.
    # Every rule keeps its own category condition, so packing never changes what fires.
    current: dict[str, Any] = {}
    members: list[str] = []

    def close() -> None:
        if current:
            name = f"p{len([n for n in partitions if n.startswith('p')])}"
            partitions[name] = dict(current)
            for category in members:
                routes[category] = [name]
            current.clear()
            members.clear()

    for bucket, docs in sorted(buckets.items()):
        if bucket == ANY_PARTITION:
            continue
        if len(docs) > MAX_RULES_PER_RULESET:  # one huge category: chunks of its own
            close()
            for start in range(0, len(docs), MAX_RULES_PER_RULESET):
                name = f"{bucket}.{start // MAX_RULES_PER_RULESET}"
                partitions[name] = {d["key"]: compile_rule(d) for d in docs[start:start + MAX_RULES_PER_RULESET]}
                routes.setdefault(bucket, []).append(name)
            continue
        new = [d for d in docs if d["key"] not in current]
        if len(current) + len(new) > MAX_RULES_PER_RULESET:
            close()
            new = docs
        current.update({d["key"]: compile_rule(d) for d in new})
        members.append(bucket)
    close()
    docs = buckets.get(ANY_PARTITION, [])
    for start in range(0, len(docs), MAX_RULES_PER_RULESET):
        name = f"{ANY_PARTITION}.{start // MAX_RULES_PER_RULESET}"
        partitions[name] = {d["key"]: compile_rule(d) for d in docs[start:start + MAX_RULES_PER_RULESET]}
        routes.setdefault(ANY_PARTITION, []).append(name)
    return CompiledRuleset(rules={r["key"]: r for r in enabled}, partitions=partitions, routes=routes,
                           content_hash=content_hash(enabled))
