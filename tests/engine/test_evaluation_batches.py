"""Big batches lose no firing: every fact of a 4,500-event batch (more than durable_rules' action cap per
rule) is reported for exactly the rules the plain-Python twin says match, run after run, while another
thread keeps the interpreter busy as a loaded worker would. durable_rules' own dispatch threads once ran
queued actions beside `evaluate` and dropped whole rules' firings of a batch (found by replay)."""
from __future__ import annotations

import random
import threading

from engine.durable.evaluator import CAP, evaluator
from rules import compile_ruleset, matches

RULES = [
    {"key": "zt", "title": {"zh": "零容忍", "en": "zero tolerance"}, "when": {"all": [
        {"fact": "category", "op": "in", "value": ["06029", "06001"]}]},
     "then": [{"do": "create_task", "template": "zt-clearance", "assign": "grid_unit"}]},
    {"key": "night", "title": {"zh": "夜间", "en": "night"}, "when": {"all": [
        {"fact": "category", "op": "in", "value": ["06029", "09006"]},
        {"fact": "local_hour", "op": "not_between", "value": [6, 21]}]},
     "then": [{"do": "create_task", "template": "night-patrol", "assign": "grid_unit"}]},
    {"key": "repeat", "title": {"zh": "高发", "en": "repeat"}, "when": {"all": [
        {"fact": "repeats_7d", "op": "gte", "value": 2}]},
     "then": [{"do": "create_task", "template": "hotspot-inspection", "assign": "grid_unit"}]},
]


def test_every_fact_of_a_batch_larger_than_the_cap_fires_its_rules_every_time():
    compiled = compile_ruleset(RULES)
    rng = random.Random(7)
    items = [(f"e{i}", {"category": rng.choice(["06029", "06001", "09006"]), "local_hour": rng.randrange(24),
                        "repeats_7d": rng.randrange(4), "grid": "DC-01"}) for i in range(4_500)]
    assert len(items) > CAP
    expected = {item_id: sorted(doc["key"] for doc in RULES if matches(doc, facts)) for item_id, facts in items}
    busy = threading.Event()

    def spin() -> None:
        while not busy.is_set():
            sum(range(2_000))

    spinner = threading.Thread(target=spin, daemon=True)
    spinner.start()
    try:
        for run in range(4):
            fired = evaluator().evaluate(f"batchtest_{compiled.content_hash[:8]}", compiled, items)
            got = {item_id: sorted(fired.get(item_id, [])) for item_id, _ in items}
            wrong = [item_id for item_id in expected if got[item_id] != expected[item_id]]
            assert not wrong, f"run {run}: {len(wrong)} events with wrong firings, e.g. {wrong[:3]}"
    finally:
        busy.set()
        spinner.join()
