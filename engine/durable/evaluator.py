"""The only module that imports durable_rules: one Host per process, compiled versions cached.

Evaluation is stateless per event: each enriched event is asserted as a fact with a unique id on
one long-lived sid, the rules that fired are collected, and the fact is retracted at once
(`delete_state` while other sids live segfaults; see docs/ARCHITECTURE.md). Actions only record
which rule fired for which fact; deciding what that means happens afterwards, in Python.
"""
from __future__ import annotations

import copy
import os
import threading
from collections import defaultdict
from typing import Any, Iterable

from rules.compiler import CompiledRuleset
from rules.facts import for_durable

CATCH_ALL = "__seen__"
CAP = 1000  # an action receives up to this many matching facts at once (durable_rules' "cap")


class Evaluator:
    """Holds the process's durable_rules Host and the ruleset versions registered in it."""

    def __init__(self) -> None:
        import durable.engine as durable_engine  # imported here so web processes never load the C engine

        self._durable = durable_engine
        self._fired: list[tuple[str, str]] = []
        fired = self._fired

        class _Host(durable_engine.Host):
            def get_action(self, action_name: str):
                if action_name == CATCH_ALL:
                    return _ignore
                return _recorder(fired, action_name)

            def _run(self) -> None:
                """No dispatch threads: durable_rules' pollers run queued actions on their own thread, racing
                `evaluate` (firings of a batch were lost under load); every action here runs inside
                assert_facts, which is handed at most CAP facts, and no rule uses durable_rules timers."""
                return None

        self._host = _Host()
        self._registered: set[str] = set()
        self._serial = 0
        self.pid = os.getpid()

    def _ensure(self, tag: str, compiled: CompiledRuleset) -> None:
        if tag in self._registered:
            return
        definitions = {}
        for name, rules in compiled.partitions.items():
            rules = copy.deepcopy(rules)  # durable_rules deletes "run" from what it is given
            for rule in rules.values():
                rule["cap"] = CAP  # one Python callback per rule and batch, not per fact
            # Without a rule every fact matches, a batch with one unmatched fact fires nothing at all;
            # "$ex id" hangs durable_rules, "$ex category" works.
            rules[CATCH_ALL] = {"all": [{"m": {"$ex": {"category": 1}}}], "run": CATCH_ALL, "cap": CAP}
            definitions[f"{tag}.{name}"] = rules
        if definitions:
            self._host.register_rulesets(definitions)
        self._registered.add(tag)

    def evaluate(self, tag: str, compiled: CompiledRuleset,
                 items: Iterable[tuple[str, dict[str, Any]]]) -> dict[str, list[str]]:
        """Evaluate (item id, facts) pairs against one ruleset version; return the rule keys fired per item."""
        self._ensure(tag, compiled)
        by_partition: dict[str, list[dict[str, Any]]] = defaultdict(list)
        owner: dict[str, str] = {}
        for item_id, facts in items:
            for partition in compiled.partitions_for(str(facts.get("category"))):
                self._serial += 1
                fact_id = f"{self.pid}.{self._serial}"
                owner[fact_id] = item_id
                by_partition[partition].append({**for_durable(facts), "id": fact_id})
        results: dict[str, list[str]] = defaultdict(list)
        chunks = ((partition, facts[start:start + CAP]) for partition, facts in by_partition.items()
                  for start in range(0, len(facts), CAP))
        for partition, facts in chunks:
            ruleset = f"{tag}.{partition}"
            del self._fired[:]
            try:
                self._host.assert_facts(ruleset, facts)
            except self._durable.MessageObservedException:
                # Message ids are 32-bit hashes: on a rare collision, assert one at a time.
                self._assert_one_by_one(ruleset, facts)
            else:
                self._host.retract_facts(ruleset, facts)
            stray = [fact_id for _, fact_id in self._fired if fact_id not in owner]
            if stray:  # never seen, but a firing must not be attributed to the wrong event or lost silently
                del self._fired[:]
                raise RuntimeError(f"durable_rules reported facts of another call: {stray[:3]}")
            for rule_key, fact_id in self._fired:
                keys = results[owner[fact_id]]
                if rule_key not in keys:  # an "any" with several true branches fires once per branch
                    keys.append(rule_key)
            del self._fired[:]
        return results

    def _assert_one_by_one(self, ruleset: str, facts: list[dict[str, Any]]) -> None:
        self._host.retract_facts(ruleset, facts)
        del self._fired[:]
        for fact in facts:
            self._host.assert_fact(ruleset, fact)
            self._host.retract_fact(ruleset, fact)


def _ignore(_closure) -> None:
    return None


def _recorder(fired: list[tuple[str, str]], rule_key: str):
    """An action taking exactly one argument: durable_rules treats two-argument actions as asynchronous."""
    def record(closure) -> None:
        matched = closure.m
        if isinstance(matched, list):  # capped rules hand over every matching fact of the batch
            fired.extend((rule_key, fact["id"]) for fact in matched)
        else:
            fired.append((rule_key, matched["id"]))
    return record


_local = threading.local()


def evaluator() -> Evaluator:
    """The process's Evaluator, rebuilt after fork (a forked child inherits the Host but not its threads)."""
    current = getattr(_local, "evaluator", None)
    if current is None or current.pid != os.getpid():
        current = _local.evaluator = Evaluator()
    return current
