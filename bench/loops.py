"""The evaluation loops that bench/evaluate.py times, and the durable_rules ceilings it compares ours with:
plain durable_rules one fact at a time (`*.raw`, `*.rawpart`) and batched (`*.raw_batched`, issue 18)."""
from __future__ import annotations

import statistics
import time
from typing import Any, Callable

from scenarios import ruleset, twin_expected

CEILING_BATCH = 200  # facts per assert_facts call in *.raw_batched


def _timed(run_pass: Callable[[], int], budget: float) -> dict[str, float]:
    """Repeat full passes over the facts until `budget` seconds have passed (after one warm-up pass).

    The headline rate is the median of the per-pass rates, so a pass slowed down by another
    process on the machine does not drag the figure; the mean over all passes is kept as well."""
    run_pass()
    done, rates = 0, []
    wall0, cpu0 = time.perf_counter(), time.process_time()
    while True:
        t = time.perf_counter()
        k = run_pass()
        rates.append(k / (time.perf_counter() - t))
        done += k
        wall = time.perf_counter() - wall0
        if wall >= budget and len(rates) >= 3:
            break
    cpu = time.process_time() - cpu0
    return {"evaluations": done, "passes": len(rates), "seconds": wall, "cpu_seconds": cpu,
            "per_s": statistics.median(rates), "mean_per_s": done / wall, "best_per_s": max(rates),
            "per_cpu_s": done / cpu if cpu else 0.0}


def _batches(facts: list[dict[str, Any]], size: int) -> list[list[tuple[str, dict[str, Any]]]]:
    items = [(str(i), f) for i, f in enumerate(facts)]
    return [items[i:i + size] for i in range(0, len(items), size)]


def _counting_host():
    """A plain durable_rules Host whose every rule action counts one hit (the catch-all counts none).
    One-parameter actions: durable_rules runs them synchronously."""
    import durable.engine as durable_engine

    hits: dict[str, int] = {}

    def action(closure) -> None:
        hits["n"] = hits.get("n", 0) + 1

    def ignore(closure) -> None:
        return None

    class _Host(durable_engine.Host):
        def get_action(self, action_name: str):
            return ignore if action_name == "__seen__" else action

    return _Host(), hits


def run_raw(set_name: str, budget: float, n: int) -> dict[str, Any]:
    """durable_rules as its README uses it: one ruleset, one fact at a time, a one-argument action."""
    from rules.compiler import compile_rule

    docs, facts, _compiled = ruleset(set_name, n)
    host, hits = _counting_host()
    rules = {d["key"]: compile_rule(d) for d in docs}
    # Without a catch-all, a fact no rule matches raises MessageNotHandledException (and a catch-all on
    # "id" hangs durable_rules); the Evaluator adds this very rule, so raw does the same durable work.
    rules["__seen__"] = {"all": [{"m": {"$ex": {"category": 1}}}], "run": "__seen__"}
    host.register_rulesets({"raw": rules})
    serial = [0]

    def one_pass() -> int:
        for f in facts:
            serial[0] += 1
            fact = {**f, "id": f"r.{serial[0]}"}
            host.assert_fact("raw", fact)
            host.retract_fact("raw", fact)
        return len(facts)

    one_pass()
    expected_hits = sum(len(e) for e in twin_expected(docs, facts))
    mismatches = abs(hits.get("n", 0) - expected_hits)
    return {**_timed(one_pass, budget), "rules": len(docs), "batch": 1, "mismatches": mismatches}


def run_rawpart(set_name: str, budget: float, n: int) -> dict[str, Any]:
    """Plain durable_rules over the compiler's partitions: each fact asserted, one at a time, into the
    partition its category routes to (what raw durable_rules needs to hold 2,000 rules at all)."""
    import copy

    docs, facts, compiled = ruleset(set_name, n)
    host, hits = _counting_host()
    definitions = {}
    for name, rules in compiled.partitions.items():
        rules = copy.deepcopy(rules)
        rules["__seen__"] = {"all": [{"m": {"$ex": {"category": 1}}}], "run": "__seen__"}
        definitions[f"raw.{name}"] = rules
    host.register_rulesets(definitions)
    routed = [(f, [f"raw.{p}" for p in compiled.partitions_for(f["category"])]) for f in facts]
    serial = [0]

    def one_pass() -> int:
        for f, names in routed:
            for name in names:
                serial[0] += 1
                fact = {**f, "id": f"r.{serial[0]}"}
                host.assert_fact(name, fact)
                host.retract_fact(name, fact)
        return len(facts)

    one_pass()
    expected_hits = sum(len(e) for e in twin_expected(docs, facts))
    mismatches = abs(hits.get("n", 0) - expected_hits)
    return {**_timed(one_pass, budget), "rules": len(docs), "batch": 1, "mismatches": mismatches,
            "partitions": len(compiled.partitions)}


def run_raw_batched(set_name: str, budget: float, n: int) -> dict[str, Any]:
    """The ceiling: durable_rules' batched API over the Evaluator's rulesets, with every fact prepared beforehand."""
    import copy

    import durable.engine as durable_engine

    from engine.durable.evaluator import CATCH_ALL, layout

    docs, facts, compiled = ruleset(set_name, n)
    plan = layout(compiled)
    fired: list[tuple[str, str]] = []

    def recorder(rule_key: str):
        def record(closure) -> None:
            fired.extend((rule_key, one["id"]) for one in closure.m)
        return record

    def ignore(_closure) -> None:
        return None

    class _Host(durable_engine.Host):
        def get_action(self, action_name: str):
            return ignore if action_name == CATCH_ALL else recorder(action_name)

        def _run(self) -> None:  # no dispatch threads, as in the Evaluator
            return None

    host = _Host()
    host.register_rulesets({f"c.{name}": copy.deepcopy(rules) for name, rules in plan.definitions.items()})
    routed: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for i, f in enumerate(facts):
        for name in plan.rulesets_for(str(f.get("category"))):
            routed.setdefault(name, []).append((i, plan.fact(name, f)))
    asserts_per_eval = sum(len(v) for v in routed.values()) / len(facts)
    # Every call gets exactly CEILING_BATCH facts: a ruleset's facts are cycled (fresh ids) up to a multiple of it.
    per_ruleset: dict[str, list[dict[str, Any]]] = {}
    for name, pairs in routed.items():
        size = -(-len(pairs) // CEILING_BATCH) * CEILING_BATCH
        per_ruleset[name] = [{**pairs[k % len(pairs)][1], "id": f"{pairs[k % len(pairs)][0]}.{name}.{k}"}
                             for k in range(size)]
    chunks = [(f"c.{name}", pfacts[start:start + CEILING_BATCH]) for name, pfacts in per_ruleset.items()
              for start in range(0, len(pfacts), CEILING_BATCH)]
    per_pass = round(sum(len(v) for v in per_ruleset.values()) / asserts_per_eval)

    def one_pass() -> int:
        for name, chunk in chunks:
            host.assert_facts(name, chunk)
            host.retract_facts(name, chunk)
        del fired[:]
        return per_pass

    for name, chunk in chunks:  # one checked pass: the ceiling must fire what the twin says
        host.assert_facts(name, chunk)
        host.retract_facts(name, chunk)
    got: dict[int, set[str]] = {}
    for rule_key, fact_id in fired:
        got.setdefault(int(fact_id.split(".")[0]), set()).add(rule_key)
    expected = twin_expected(docs, facts)
    mismatches = sum(1 for i, want in enumerate(expected) if got.get(i, set()) != want)
    del fired[:]
    return {**_timed(one_pass, budget), "rules": len(docs), "batch": CEILING_BATCH, "mismatches": mismatches,
            "partitions": len(plan.definitions), "asserts_per_eval": asserts_per_eval}
