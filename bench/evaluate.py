"""Rule-evaluation throughput, single process (= one core), without any database.

Scenarios (each runs in its own fresh subprocess, so one durable_rules Host and its background
dispatch threads never share a process with another scenario's):

  demo.ours    the demo pack (list rows + hand-written rules) through engine.durable.evaluator.Evaluator,
               in batches of --batch facts per evaluate() call, over a weighted mix of the pack's
               leaf categories
  demo.floor   rules.twin.matches over the same documents and facts, only the documents that can
               match the fact's category (bound to it, or to no category)
  gen60.ours   a generated 60-rule set (60 categories, each rule = category eq + one numeric
               condition) through the same Evaluator, same batches
  gen60.raw    plain durable_rules on the same 60 compiled rules in ONE ruleset: Host() +
               register_rulesets + assert_fact/retract_fact one fact at a time, a trivial
               one-argument action, and the same catch-all rule the Evaluator adds
  gen60.floor  rules.twin.matches over the same 60 documents, routed by category the same way
  gen60.scan   rules.twin.matches over all 60 documents for every fact (no routing), for reference
  gen2000.*    the same generator with 2,000 rules over 2,000 categories: ours (the Evaluator over the
               compiler's partitions of at most 200 rules), floor (the twin, routed), and rawpart:
               plain durable_rules one fact at a time into the one partition the fact's category
               routes to (one ruleset of 2,000 rules does not register: durable_rules hangs past
               about 500 rules per ruleset)
  *.capped     what-if, NOT engine code: the Evaluator's algorithm re-implemented here over the
               compiler's partitions with every rule compiled with durable_rules' `cap` option, so
               one action call receives all the facts of a batch that matched the rule (the engine
               adopted this in c050fce; see docs/BENCHMARKS.md, "Bottlenecks")
  *.packed     what-if, NOT engine code: as *.capped, but every rule (category-bound or not) in one
               partition (both sets are under the compiler's 200-rule partition limit), so a batch
               is one assert_facts call
  *.raw_batched  the engine's batched ceiling (issue 18): one plain durable_rules Host holding the very
               rulesets the Evaluator registers (engine.durable.evaluator.layout), every fact projected
               beforehand to the fields its ruleset reads and given its id, then per ruleset
               Host.assert_facts of 200 facts and Host.retract_facts of the same 200, with a recording
               one-argument action; no JSON encoding of our own, no routing, no result mapping inside the
               timed loop (durable_rules' own encoding and action dispatch are in it)

Before timing, every scenario's results are checked against the twin (same rules fired for
every fact), so a fast-but-wrong figure cannot be printed. The rule sets and facts are built by bench/scenarios.py.

    .venv/bin/python bench/evaluate.py            # ~70 s on a quiet machine
    .venv/bin/python bench/evaluate.py --quick    # ~25 s, every scenario (the *.raw_batched ceilings too)
    .venv/bin/python bench/evaluate.py --profile  # also cProfile demo.ours and print the top functions
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import code_version, cpu_model  # noqa: E402
from loops import _batches, _timed, run_raw, run_raw_batched, run_rawpart  # noqa: E402
from scenarios import routed_docs, ruleset, twin_expected  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

GOAL_PER_CORE = 60_000  # demo.ours, evaluations/s on one core (issue 18)
N_FACTS = 2000  # distinct fact dictionaries per scenario; timing loops over them (one pass = all)
SCENARIOS = ("demo.ours", "demo.floor", "demo.capped", "demo.packed",
             "gen60.ours", "gen60.raw", "gen60.floor", "gen60.scan", "gen60.capped", "gen60.packed",
             "gen2000.ours", "gen2000.rawpart", "gen2000.floor",
             "demo.raw_batched", "gen60.raw_batched", "gen2000.raw_batched")
CEILING_SHARE = 0.7  # goal: ours >= this share of the same rule set's raw_batched
FLAT_SHARE = 0.9  # goal: gen2000.ours >= this share of gen60.ours


def run_ours(set_name: str, budget: float, batch: int, n: int) -> dict[str, Any]:
    from engine.durable.evaluator import Evaluator

    docs, facts, compiled = ruleset(set_name, n)
    evaluator = Evaluator()
    batches = _batches(facts, batch)
    expected = twin_expected(docs, facts)
    got: dict[str, list[str]] = {}
    for b in batches:
        got.update(evaluator.evaluate("bench", compiled, b))
    mismatches = sum(1 for i, want in enumerate(expected) if set(got.get(str(i), [])) != want)
    fired = sum(len(v) for v in got.values())

    def one_pass() -> int:
        for b in batches:
            evaluator.evaluate("bench", compiled, b)
        return len(facts)

    return {**_timed(one_pass, budget), "rules": len(docs), "partitions": len(compiled.partitions),
            "batch": batch, "mismatches": mismatches, "fired_per_eval": fired / len(facts)}


def run_capped(set_name: str, budget: float, batch: int, n: int, packed: bool = False) -> dict[str, Any]:
    """What-if: the Evaluator's algorithm, but every rule carries durable_rules' `cap` so each rule's
    action runs once per assert_facts call with the list of matching facts, not once per fact.
    `packed`: one partition holding every rule instead of one partition per category."""
    import copy
    from collections import defaultdict

    import durable.engine as durable_engine

    docs, facts, compiled = ruleset(set_name, n)
    fired: list[tuple[str, str]] = []

    def recorder(rule_key: str):
        def record(closure) -> None:
            m = closure.m
            if isinstance(m, list):
                fired.extend((rule_key, one["id"]) for one in m)
            else:
                fired.append((rule_key, m["id"]))
        return record

    def ignore(_closure) -> None:
        return None

    class _Host(durable_engine.Host):
        def get_action(self, action_name: str):
            return ignore if action_name == "__seen__" else recorder(action_name)

    from rules.compiler import compile_rule
    from rules.facts import for_durable  # sets need their "" member, as in the Evaluator

    host = _Host()
    cap = max(batch, 1) * 2
    definitions = {}
    partitions = compiled.partitions
    partitions_for = compiled.partitions_for
    if packed:
        partitions = {"all": {d["key"]: compile_rule(d) for d in docs}}
        partitions_for = lambda _category: ["all"]  # noqa: E731
    for name, rules in partitions.items():
        rules = copy.deepcopy(rules)
        for rule in rules.values():
            rule["cap"] = cap
        rules["__seen__"] = {"all": [{"m": {"$ex": {"category": 1}}}], "cap": cap, "run": "__seen__"}
        definitions[f"b.{name}"] = rules
    host.register_rulesets(definitions)
    serial = [0]

    def evaluate(items):
        by_partition: dict[str, list[dict[str, Any]]] = defaultdict(list)
        owner: dict[str, str] = {}
        for item_id, f in items:
            for partition in partitions_for(str(f.get("category"))):
                serial[0] += 1
                fact_id = f"c.{serial[0]}"
                owner[fact_id] = item_id
                by_partition[partition].append({**for_durable(f), "id": fact_id})
        results: dict[str, list[str]] = defaultdict(list)
        for partition, pfacts in by_partition.items():
            del fired[:]
            try:
                host.assert_facts(f"b.{partition}", pfacts)
            except durable_engine.MessageObservedException:  # 32-bit message-id collision: as the Evaluator
                host.retract_facts(f"b.{partition}", pfacts)
                del fired[:]
                for one in pfacts:
                    host.assert_fact(f"b.{partition}", one)
                    host.retract_fact(f"b.{partition}", one)
            else:
                host.retract_facts(f"b.{partition}", pfacts)
            for rule_key, fact_id in fired:
                keys = results[owner[fact_id]]
                if rule_key not in keys:
                    keys.append(rule_key)
        return results

    batches = _batches(facts, batch)
    expected = twin_expected(docs, facts)
    got: dict[str, list[str]] = {}
    for b in batches:
        got.update(evaluate(b))
    mismatches = sum(1 for i, want in enumerate(expected) if set(got.get(str(i), [])) != want)

    def one_pass() -> int:
        for b in batches:
            evaluate(b)
        return len(facts)

    return {**_timed(one_pass, budget), "rules": len(docs), "batch": batch, "mismatches": mismatches}


def run_floor(set_name: str, budget: float, n: int, routed: bool) -> dict[str, Any]:
    from rules.twin import matches

    docs, facts, compiled = ruleset(set_name, n)
    routes = routed_docs(docs, [f["category"] for f in facts])
    per_fact = [routes[f["category"]] if routed else docs for f in facts]
    expected = twin_expected(docs, facts)
    mismatches = sum(1 for f, ds, want in zip(facts, per_fact, expected)
                     if {d["key"] for d in ds if matches(d, f)} != want)
    pairs = list(zip(facts, per_fact))

    def one_pass() -> int:
        for f, ds in pairs:
            [d["key"] for d in ds if matches(d, f)]
        return len(facts)

    return {**_timed(one_pass, budget), "rules": len(docs),
            "docs_per_eval": sum(len(ds) for ds in per_fact) / len(facts), "mismatches": mismatches}


def run_scenario(name: str, budget: float, batch: int, n: int) -> dict[str, Any]:
    set_name, kind = name.split(".")
    if kind == "ours":
        return run_ours(set_name, budget, batch, n)
    if kind in ("capped", "packed"):
        return run_capped(set_name, budget, batch, n, packed=(kind == "packed"))
    if kind == "raw":
        return run_raw(set_name, budget, n)
    if kind == "rawpart":
        return run_rawpart(set_name, budget, n)
    if kind == "raw_batched":
        return run_raw_batched(set_name, budget, n)
    return run_floor(set_name, budget, n, routed=(kind == "floor"))


def profile_ours(batch: int, n: int, seconds: float, set_name: str = "demo") -> None:
    import cProfile
    import pstats

    from engine.durable.evaluator import Evaluator

    _docs, facts, compiled = ruleset(set_name, n)
    evaluator = Evaluator()
    batches = _batches(facts, batch)
    for b in batches:
        evaluator.evaluate("bench", compiled, b)
    prof = cProfile.Profile()
    started = time.perf_counter()
    prof.enable()
    while time.perf_counter() - started < seconds:
        for b in batches:
            evaluator.evaluate("bench", compiled, b)
    prof.disable()
    pstats.Stats(prof, stream=sys.stdout).sort_stats("tottime").print_stats(15)


# --------------------------------------------------------------------------- driver and report

def _child(name: str, budget: float, batch: int, n: int, timeout: float) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--scenario", name, "--budget", str(budget),
           "--batch", str(batch), "--facts", str(n)]
    try:
        out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if out.returncode != 0 or not lines:
        return {"error": (out.stderr.strip().splitlines() or [f"exit {out.returncode}"])[-1]}
    return json.loads(lines[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="0.4 s per scenario and 500 facts instead of 3 s and 2,000")
    parser.add_argument("--batch", type=int, default=200, help="facts per Evaluator.evaluate() call (default 200)")
    parser.add_argument("--facts", type=int, default=N_FACTS, help="distinct fact dictionaries per scenario")
    parser.add_argument("--only", default="", help="comma-separated scenario names (default: all)")
    parser.add_argument("--profile", action="store_true", help="also cProfile demo.ours and print the top 15")
    parser.add_argument("--profile-set", default="demo", choices=("demo", "gen60", "gen2000"),
                        help="the rule set --profile runs (default demo)")
    parser.add_argument("--scenario", help=argparse.SUPPRESS)
    parser.add_argument("--budget", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.scenario:  # child process: one scenario, one JSON line
        print(json.dumps(run_scenario(args.scenario, args.budget, args.batch, args.facts)), flush=True)
        return 0

    names = [s for s in args.only.split(",") if s] or list(SCENARIOS)
    unknown = set(names) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    budget = 0.4 if args.quick else 3.0
    n = min(args.facts, 500) if args.quick else args.facts
    load_before = os.getloadavg()
    version = code_version()
    print(f"CivicRules evaluation benchmark (code {version}): {os.cpu_count()} cpu(s), {cpu_model()}, "
          f"Python {platform.python_version()}, batch {args.batch}, {n} distinct facts, "
          f"{budget:g} s per scenario (median of passes), one process per scenario, "
          f"load average {load_before[0]:.2f}", flush=True)

    started = time.perf_counter()
    results: dict[str, dict[str, Any]] = {}
    for name in names:
        results[name] = _child(name, budget, args.batch, n, timeout=60 + budget * 4)
        r = results[name]
        status = r.get("error") or f"{r['per_s']:,.0f}/s"
        print(f"  {name:<19} {status}", flush=True)

    def rate(name: str) -> float | None:
        r = results.get(name) or {}
        return r.get("per_s")

    def ratio(a: str, b: str) -> float | None:
        x, y = rate(a), rate(b)
        return x / y if x and y else None

    def cpu_ratio(a: str, b: str) -> float | None:
        """The same ratio over evaluations per CPU-second: what each process got of a core, whatever the load."""
        x, y = (results.get(a) or {}).get("per_cpu_s"), (results.get(b) or {}).get("per_cpu_s")
        return x / y if x and y else None

    print()
    print(f"{'scenario':<19} {'rules':>5} {'batch':>5} {'evals/s':>10} {'evals/CPU-s':>11} {'check':>9}  note")
    notes = {"demo.ours": "Evaluator.evaluate, demo pack", "demo.floor": "rules.twin.matches, routed",
             "demo.capped": "what-if: rules with durable `cap`",
             "gen60.ours": "Evaluator.evaluate, 60 rules / 60 categories",
             "gen60.raw": "durable_rules assert/retract_fact, 1 at a time",
             "gen60.floor": "rules.twin.matches, routed", "gen60.scan": "rules.twin.matches, all 60 docs",
             "gen60.capped": "what-if: rules with durable `cap`",
             "demo.packed": "what-if: `cap` + one partition", "gen60.packed": "what-if: `cap` + one partition",
             "gen2000.ours": "Evaluator.evaluate, 2,000 rules, rulesets by category",
             "gen2000.rawpart": "durable_rules 1 at a time into the routed partition",
             "gen2000.floor": "rules.twin.matches, routed",
             "demo.raw_batched": "ceiling: Host.assert_facts/retract_facts x200, prepared",
             "gen60.raw_batched": "ceiling: Host.assert_facts/retract_facts x200, prepared",
             "gen2000.raw_batched": "ceiling: Host.assert_facts/retract_facts x200, prepared"}
    for name in names:
        r = results[name]
        if "error" in r:
            print(f"{name:<19} {'':>5} {'':>5} {'ERROR':>10} {'':>11} {'':>9}  {r['error']}")
            continue
        check = "ok" if r["mismatches"] == 0 else f"{r['mismatches']} BAD"
        print(f"{name:<19} {r['rules']:>5} {r.get('batch', '-')!s:>5} {r['per_s']:>10,.0f} {r['per_cpu_s']:>11,.0f}"
              f" {check:>9}  {notes[name]}")
    ratios = {"demo ours/floor": ratio("demo.ours", "demo.floor"),
              "gen60 ours/raw": ratio("gen60.ours", "gen60.raw"),
              "gen60 ours/floor": ratio("gen60.ours", "gen60.floor"),
              "gen60 raw/floor": ratio("gen60.raw", "gen60.floor"),
              "demo capped/ours": ratio("demo.capped", "demo.ours"),
              "gen60 capped/ours": ratio("gen60.capped", "gen60.ours"),
              "demo packed/ours": ratio("demo.packed", "demo.ours"),
              "gen60 packed/ours": ratio("gen60.packed", "gen60.ours"),
              "gen2000 ours/rawpart": ratio("gen2000.ours", "gen2000.rawpart"),
              "gen2000 ours/floor": ratio("gen2000.ours", "gen2000.floor"),
              "demo ours/ceiling": ratio("demo.ours", "demo.raw_batched"),
              "gen60 ours/ceiling": ratio("gen60.ours", "gen60.raw_batched"),
              "gen2000 ours/ceiling": ratio("gen2000.ours", "gen2000.raw_batched"),
              "ours gen2000/gen60": ratio("gen2000.ours", "gen60.ours")}
    print()
    print("ratios: " + "   ".join(f"{k} {v:.2f}x" for k, v in ratios.items() if v is not None))
    cpu_ratios = {"demo ours/ceiling": cpu_ratio("demo.ours", "demo.raw_batched"),
                  "gen60 ours/ceiling": cpu_ratio("gen60.ours", "gen60.raw_batched"),
                  "gen2000 ours/ceiling": cpu_ratio("gen2000.ours", "gen2000.raw_batched"),
                  "ours gen2000/gen60": cpu_ratio("gen2000.ours", "gen60.ours")}
    print("per CPU-second: " + "   ".join(f"{k} {v:.2f}x" for k, v in cpu_ratios.items() if v is not None))
    goals: dict[str, bool] = {}
    cpu_goals: dict[str, bool] = {}
    for figures, table, per_s in ((ratios, goals, rate("demo.ours")),
                                  (cpu_ratios, cpu_goals, (results.get("demo.ours") or {}).get("per_cpu_s"))):
        if per_s:
            table[f"demo.ours >= {GOAL_PER_CORE:,}/s"] = per_s >= GOAL_PER_CORE
        for set_name in ("demo", "gen60", "gen2000"):
            share = figures[f"{set_name} ours/ceiling"]
            if share is not None:
                table[f"{set_name} ours/ceiling >= {CEILING_SHARE}"] = share >= CEILING_SHARE
        if figures["ours gen2000/gen60"] is not None:
            table[f"ours gen2000/gen60 >= {FLAT_SHARE}"] = figures["ours gen2000/gen60"] >= FLAT_SHARE
    for goal, met in goals.items():
        print(f"goal {goal}: {'met' if met else 'MISSED'} (wall); "
              f"{'met' if cpu_goals.get(goal) else 'MISSED'} per CPU-second")
    load_after = os.getloadavg()
    print(f"total {time.perf_counter() - started:.1f} s; 1-min load average {load_before[0]:.2f} before, "
          f"{load_after[0]:.2f} after (above ~1 means other processes shared the {os.cpu_count()} cores)")
    if args.profile:
        print(f"\ncProfile of {args.profile_set}.ours (top 15 by own time):")
        profile_ours(args.batch, n, 3.0, args.profile_set)

    summary = {"bench": "evaluate", "code": version, "quick": args.quick, "batch": args.batch,
               "cpus": os.cpu_count(), "cpu_model": cpu_model(), "python": platform.python_version(),
               "per_s": {k: round(v["per_s"]) for k, v in results.items() if "per_s" in v},
               "mismatches": {k: v["mismatches"] for k, v in results.items() if "mismatches" in v},
               "errors": {k: v["error"] for k, v in results.items() if "error" in v},
               "ratios": {k: round(v, 3) for k, v in ratios.items() if v is not None},
               "goal_per_core": GOAL_PER_CORE, "goals": goals, "goals_per_cpu_s": cpu_goals,
               "per_cpu_s": {k: round(v["per_cpu_s"]) for k, v in results.items() if "per_cpu_s" in v},
               "cpu_ratios": {k: round(v, 3) for k, v in cpu_ratios.items() if v is not None}, "loadavg": [round(load_before[0], 2), round(load_after[0], 2)]}
    print(json.dumps(summary, ensure_ascii=False))
    return 1 if summary["errors"] or any(summary["mismatches"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
