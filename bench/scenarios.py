"""The rule sets and facts bench/evaluate.py times: the demo pack with a realistic mix of facts, and
generated single-category rule sets (gen60, gen2000), each with what the twin says must fire."""
from __future__ import annotations

import random
from typing import Any

SEED = 20261122
HOURS_WEIGHTS = [1, 1, 1, 1, 1, 2, 3, 5, 8, 9, 9, 9, 8, 8, 9, 9, 8, 8, 7, 6, 5, 4, 3, 2]  # day-heavy


def demo_docs() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    from rules.lists import expand_row
    from rules.packs import load_pack

    pack = load_pack("demo")
    docs = [expand_row(lst["kind"], row) for lst in pack["lists"] for row in lst["rows"]] + pack["rules"]
    return pack, docs


GEN_FACTS = [("local_hour", "gte", lambda i: 6 + i % 15),       # fires for hours >= threshold
             ("repeats_7d", "gte", lambda i: 1 + i % 2),
             ("repeats_30d", "gt", lambda i: 1 + i % 3),
             ("weekday", "lte", lambda i: 3 + i % 4)]


def gen60_docs(n: int = 60) -> list[dict[str, Any]]:
    """n single-category rules: category eq G0001.. plus one numeric condition (cycling over 4 facts)."""
    docs = []
    for i in range(n):
        fact, op, threshold = GEN_FACTS[i % len(GEN_FACTS)]
        docs.append({
            "key": f"gen.r{i:03d}",
            "title": {"zh": f"生成规则 {i}", "en": f"generated rule {i}"},
            "when": {"all": [{"fact": "category", "op": "eq", "value": f"G{i:04d}"},
                             {"fact": fact, "op": op, "value": threshold(i)}]},
            "then": [{"do": "create_task", "template": "sm-rectify", "assign": "grid_unit"}],
        })
    return docs


def _complete(facts: dict[str, Any]) -> dict[str, Any]:
    """What engine.evaluation.enrich.facts_for returns: only catalogue facts, text facts the event lacks completed
    (rules.facts.complete, where the engine has it)."""
    from rules.facts import FACTS

    facts = {k: v for k, v in facts.items() if k in FACTS}
    try:
        from rules.facts import complete
    except ImportError:  # an engine without fact completion
        return facts
    return complete(facts)


def _base_facts(rng: random.Random, pack: dict[str, Any]) -> dict[str, Any]:
    """A fact dictionary shaped like engine.evaluation.enrich.facts_for's (every catalogue fact but category)."""
    units = {u["code"]: u for u in pack["units"]}
    grid = rng.choice(pack["grids"])
    weekday = rng.randint(1, 7)
    repeats_30d = min(int(rng.expovariate(0.8)), 12)
    closed = rng.random() < 0.15  # a task of this category in this grid was closed within 90 days
    days_since_closed = rng.randint(0, 89)
    facts: dict[str, Any] = {
        "source": rng.choice(["hotline-12345", "patrol-app"]),
        "source_type": rng.choices(["hotline", "patrol", "camera", "citizen"], [6, 3, 1, 1])[0],
        "grid": grid["code"],
        "unit": grid["unit"],
        "unit_type": units[grid["unit"]]["type"],
        "local_hour": rng.choices(range(24), HOURS_WEIGHTS)[0],
        "weekday": weekday,
        "is_weekend": weekday >= 6,
        "repeats_7d": min(repeats_30d, int(rng.expovariate(1.2))),
        "repeats_30d": repeats_30d,
        "in_inspection_window": rng.random() < 0.3,
        "rebound_30d": closed and days_since_closed <= 30,
        "at_designated_site": False,  # enrichment always gives it; a report at a designated waste site is rare
    }
    if closed:
        facts["days_since_closed"] = days_since_closed
    return facts


def demo_facts(pack: dict[str, Any], docs: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """A realistic mix: the pack's leaf categories with Zipf-like weights (a few categories dominate)."""
    from rules.compiler import categories_of

    rng = random.Random(SEED)
    leaves = [c for c in pack["categories"] if c.get("conditions")]
    rng.shuffle(leaves)
    weights = [1.0 / (rank + 1) ** 0.8 for rank in range(len(leaves))]
    listed: dict[str, set[str]] = {}
    for doc in docs:
        kind = (doc.get("origin") or {}).get("list")
        if kind:
            listed.setdefault(kind, set()).update(categories_of(doc) or set())
    try:
        from rules.list_facts import list_flags, rows_by_category
        rows = rows_by_category(docs)
    except ImportError:  # an engine whose list facts were the category's being on the list
        rows = None
    facts = []
    for _ in range(n):
        cat = rng.choices(leaves, weights)[0]
        f = {"category": cat["code"], **_base_facts(rng, pack),
             "zero_tolerance": cat["code"] in listed.get("zero_tolerance", ()),
             "strict_management": cat["code"] in listed.get("strict_management", ())}
        if cat.get("parent"):
            f["category_parent"] = cat["parent"]
        if cat.get("default_condition"):
            f["filing_condition"] = cat["default_condition"]
        f = _complete(f)
        if rows is not None:  # a row of the list matches, not merely the category is on it (as enrichment does)
            f.update(list_flags(rows, f))
        facts.append(f)
    return facts


def gen60_facts(pack: dict[str, Any], n: int, n_rules: int = 60) -> list[dict[str, Any]]:
    rng = random.Random(SEED + 60)
    facts = []
    for _ in range(n):
        f = {"category": f"G{rng.randrange(n_rules):04d}", "category_parent": "G", **_base_facts(rng, pack),
             "zero_tolerance": False, "strict_management": False}
        facts.append(_complete(f))
    return facts


def ruleset(name: str, n: int):
    """(docs, facts, compiled) of one rule set: 'demo' or 'gen60'."""
    from rules.compiler import compile_ruleset

    pack, docs = demo_docs()
    if name == "demo":
        facts = demo_facts(pack, docs, n)
    else:
        n_rules = int(name[3:])  # gen60, gen2000: that many generated single-category rules
        docs = gen60_docs(n_rules)
        facts = gen60_facts(pack, n, n_rules)
    return docs, facts, compile_ruleset(docs)


def routed_docs(docs: list[dict[str, Any]], categories) -> dict[str, list[dict[str, Any]]]:
    """category -> the documents that can match it: those bound to that category plus those bound to
    none (rules.compiler.categories_of). This is the least work any evaluator must do, whatever
    partitioning the compiler chooses."""
    from rules.compiler import categories_of

    bound = [(categories_of(d), d) for d in docs]
    return {c: [d for cats, d in bound if cats is None or c in cats] for c in set(categories)}


def twin_expected(docs: list[dict[str, Any]], facts: list[dict[str, Any]]) -> list[set[str]]:
    from rules.twin import matches

    return [{d["key"] for d in docs if matches(d, f)} for f in facts]
