"""The only module that imports durable_rules: one Host per process, compiled versions cached.

Evaluation is stateless per event: each enriched event is asserted as a fact with a unique id on
one long-lived sid, the rules that fired are collected, and the fact is retracted at once
(`delete_state` while other sids live segfaults; see docs/ARCHITECTURE.md). Actions only record
which rule fired for which fact; deciding what that means happens afterwards, in Python.

A compiled version is registered as the rulesets of `engine.durable.layout` (grouped by category, each category
behind its marker path), and each fact carries only the fields its ruleset reads and its category's markers;
bench/evaluate.py's `*.raw_batched` ceiling uses the same layout (docs/BENCHMARKS.md, issue 18).
"""
from __future__ import annotations

import json
import os
import re
import threading
from collections import defaultdict
from typing import Any, Iterable

from engine.durable.layout import CAP, CATCH_ALL, Layout, layout, project
from rules.compiler import CompiledRuleset

__all__ = ["CATCH_ALL", "Evaluator", "Layout", "evaluator", "layout", "project"]


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
        self._layouts: dict[str, Layout] = {}
        self._handles: dict[str, dict[str, int]] = {}  # tag -> ruleset -> the C engine's handle
        self._serial = 0
        self.pid = os.getpid()

    def _ensure(self, tag: str, compiled: CompiledRuleset) -> Layout:
        known = self._layouts.get(tag)
        if known is not None:
            return known
        plan = layout(compiled)
        if plan.definitions:
            self._host.register_rulesets({f"{tag}.{name}": rules for name, rules in plan.definitions.items()})
        self._handles[tag] = {name: self._host.get_ruleset(f"{tag}.{name}")._handle for name in plan.definitions}
        self._layouts[tag] = plan
        return plan

    def prepare(self, tag: str, compiled: CompiledRuleset) -> None:
        """Register a version ahead of its first event, so a warm process answers the first one quickly."""
        self._ensure(tag, compiled)

    @property
    def tags(self) -> set[str]:
        return set(self._layouts)

    def retain(self, tags: set[str]) -> None:
        """Delete the rulesets of every version not in `tags`: a long-lived process keeps only the active
        versions in its Host, so its memory stays flat however many versions are published."""
        for tag in set(self._layouts) - tags:
            self._handles.pop(tag, None)
            for name in self._layouts.pop(tag).definitions:
                ruleset = self._host._ruleset_directory.pop(f"{tag}.{name}", None)
                if ruleset is not None:
                    self._host._ruleset_list.remove(ruleset)
                    self._durable.durable_rules_engine.delete_ruleset(ruleset._handle)

    def evaluate(self, tag: str, compiled: CompiledRuleset,
                 items: Iterable[tuple[str, dict[str, Any]]]) -> dict[str, list[str]]:
        """Evaluate (item id, facts) pairs against one ruleset version; return the rule keys fired per item."""
        plan = self._ensure(tag, compiled)
        handles = self._handles[tag]
        by_partition: dict[str, list[dict[str, Any]]] = defaultdict(list)
        owner: dict[str, str] = {}
        routes, unrouted, fields, markers = plan.routes, plan.unrouted, plan.fields, plan.markers
        prefix, serial = f"{self.pid}.", self._serial
        for item_id, facts in items:
            category = str(facts.get("category"))
            for partition in routes.get(category, unrouted):
                serial += 1
                fact_id = f"{prefix}{serial}"
                owner[fact_id] = item_id
                fact = project(facts, fields[partition])
                marks = markers.get(partition)
                if marks and category in marks:
                    fact.update(marks[category])
                fact["id"] = fact_id
                by_partition[partition].append(fact)
        self._serial = serial
        results: dict[str, list[str]] = defaultdict(list)
        chunks = ((partition, facts[start:start + CAP]) for partition, facts in by_partition.items()
                  for start in range(0, len(facts), CAP))
        aliases = plan.aliases
        for partition, facts in chunks:
            del self._fired[:]
            self._assert_and_retract(f"{tag}.{partition}", handles[partition], facts)
            stray = [fact_id for _, fact_id in self._fired if fact_id not in owner]
            if stray:  # never seen, but a firing must not be attributed to the wrong event or lost silently
                del self._fired[:]
                raise RuntimeError(f"durable_rules reported facts of another call: {stray[:3]}")
            for rule_name, fact_id in self._fired:
                rule_key = aliases.get(rule_name, rule_name)
                keys = results[owner[fact_id]]
                if rule_key not in keys:  # an "any" with several true branches fires once per branch
                    keys.append(rule_key)
            del self._fired[:]
        return results

    def _assert_and_retract(self, ruleset: str, handle: int, facts: list[dict[str, Any]]) -> None:
        """Host.assert_facts and retract_facts, but the batch is JSON-encoded once for both calls."""
        engine = self._durable.durable_rules_engine
        payload = _encode(facts)
        code, state = engine.assert_facts(handle, payload)
        if code:
            try:
                state = self._host.get_ruleset(ruleset)._handle_result((code, state), facts)
            except self._durable.MessageObservedException:
                # Message ids are 32-bit hashes: on a rare collision, assert one at a time.
                self._assert_one_by_one(ruleset, facts)
                return
        self._record_actions(engine, handle, state)
        code, state = engine.retract_facts(handle, payload)
        if code:
            state = self._host.get_ruleset(ruleset)._handle_result((code, state), facts)
        self._record_actions(engine, handle, state)

    def _record_actions(self, engine: Any, handle: int, state: Any) -> None:
        """durable_rules' action loop (Ruleset.do_actions) without its per-action Closure, Content and state
        re-encoding: each queued action is read, its fact ids recorded, and the action completed. The
        catch-all's message, every fact of the batch, is never decoded."""
        started = engine.start_action_for_state(handle, state)
        if not started:
            return
        message = started[1]
        try:
            while message:
                if not message.startswith(_CATCH_ALL_MESSAGE):
                    self._fired.extend(_firings(message))
                message = engine.complete_and_start_action(handle, state)
        except BaseException:
            engine.abandon_action(handle, state)
            raise

    def _assert_one_by_one(self, ruleset: str, facts: list[dict[str, Any]]) -> None:
        self._host.retract_facts(ruleset, facts)
        del self._fired[:]
        for fact in facts:
            self._host.assert_fact(ruleset, fact)
            self._host.retract_fact(ruleset, fact)


_CATCH_ALL_MESSAGE = f'{{"{CATCH_ALL}":'  # how the engine's message for the catch-all starts


_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode  # one encoder, not one per call
_FACT_ID = re.compile(r'"id": ?"(\d+\.\d+)"')


def _firings(message: str) -> list[tuple[str, str]]:
    """(rule key, fact id) of one action's message, {"<rule key>": [{"m": fact}, ...]}, without decoding the facts:
    the ids are ours ("<pid>.<serial>"), and a fact's text values cannot hold an unescaped quote."""
    end = message.find('"', 2)
    rule_key = message[2:end] if message.startswith('{"') and end > 2 else ""
    if not rule_key or "\\" in rule_key:  # never seen: any other shape, or an escaped key, is decoded properly
        decoded = json.loads(message)
        return [(key, (one.get("m", one) if isinstance(one, dict) else one)["id"])
                for key, matched in decoded.items() if key != CATCH_ALL
                for one in (matched if isinstance(matched, list) else [matched])]
    return [(rule_key, fact_id) for fact_id in _FACT_ID.findall(message)]


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
