"""How a compiled version is registered in durable_rules: which rulesets, which rules each holds, which fields
each one's facts carry, and which rulesets an event of each category meets (docs/BENCHMARKS.md, issue 18).

durable_rules finds the alpha nodes a fact meets by hashing property *names* only: a fact is tested against
every `category == X` node at the root of its ruleset, one by one, so its cost per fact grows with the
categories in the ruleset, and rulesets had to stay small (60 rules), so a batch of 200 events met ~38
of them. Here every category of a ruleset gets a short path of marker properties ("~0.3", "~1.12", ...,
`_MARKERS`), tested before the rule's own condition and shared by the rules of that category; a fact carries
its category's markers, so a name lookup takes it straight to its category's rules whatever their number. A
version is then registered as a few large rulesets, grouped by category, and an event meets exactly one.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from rules.compiler import ANY_PARTITION, CompiledRuleset, categories_of
from rules.facts import FACTS, SET_FACTS

CATCH_ALL = "__seen__"
CAP = 1000  # an action receives up to this many matching facts at once (durable_rules' "cap")
_TEXT, _SET, _OTHER = 0, 1, 2
#: Rules per registered ruleset once every category has its marker path. Not larger: starting each action scans
#: every rule of the ruleset (durable_rules' getNextResultInState); gen2000 cost 68.7k, 67.3k, 72.0k and 73.6k
#: instructions per evaluation at 125, 250, 500 and 1,000 (callgrind).
RULESET_SIZE = 250
#: Rules per ruleset without markers (a stored version without its documents): the cost of a fact grows with the
#: category tests at the root, flat only up to about 60 rules.
PLAIN_RULESET_SIZE = 60
FANOUT = 16  # marker names per level: a level's names fall into distinct buckets of durable_rules' 32
ALIAS = "@"  # a rule bound to several categories is registered once per category as "<key>@<category>"


def _fnv1a(name: str) -> int:
    """durable_rules' hash of a property name (fnv1Hash32, which is FNV-1a); names here are ASCII."""
    value = 0x811C9DC5
    for byte in name.encode():
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value


def _level_names(level: int) -> tuple[str, ...]:
    """FANOUT names whose lookups start in distinct buckets (durable_rules' HASH_MASK is 0x1F) and not in those
    of `id` and `category`, which every fact carries: a name is then found in one or two probes."""
    taken = {_fnv1a(name) & 0x1F for name in ("id", "sid", "category")}
    names: list[str] = []
    serial = 0
    while len(names) < FANOUT:
        name = f"~{level}.{serial}"
        serial += 1
        if _fnv1a(name) & 0x1F not in taken:
            taken.add(_fnv1a(name) & 0x1F)
            names.append(name)
    return tuple(names)


_MARKERS = tuple(_level_names(level) for level in range(4))  # 16**4 categories per ruleset at most


@dataclass(frozen=True)
class Layout:
    """The rulesets a compiled version is registered as, the fact names each one's rules read, the marker
    properties of each category in each ruleset, and which rulesets an event of each category meets."""

    definitions: dict[str, dict[str, Any]]
    fields: dict[str, tuple[tuple[str, int], ...]]
    routes: dict[str, list[str]]
    unrouted: list[str]
    markers: dict[str, dict[str, dict[str, int]]]
    aliases: dict[str, str]

    def rulesets_for(self, category: str) -> list[str]:
        return self.routes.get(category, self.unrouted)

    def fact(self, ruleset: str, facts: dict[str, Any]) -> dict[str, Any]:
        """One event's fact as asserted in `ruleset` (without its id): the fields it reads and its category's markers."""
        fact = project(facts, self.fields[ruleset])
        marks = self.markers.get(ruleset)
        if marks:
            fact.update(marks.get(str(facts.get("category")), ()))
        return fact


def _read(cond: dict[str, Any], into: set[str]) -> None:
    for key in ("all", "any"):
        if key in cond:
            for child in cond[key]:
                _read(child, into)
            return
    if "not" in cond:
        _read(cond["not"], into)
    else:
        into.add(cond["fact"])


def _kind(name: str) -> int:
    return _SET if name in SET_FACTS else _TEXT if FACTS.get(name) and FACTS[name].type == "str" else _OTHER


def _finish(compiled: CompiledRuleset, rules: dict[str, Any]) -> tuple[dict[str, Any], tuple[tuple[str, int], ...]]:
    """A ruleset's definition with `cap` (one callback per rule and batch) and the catch-all, and the fields its
    rules read."""
    read = {"category"}
    for name, rule in rules.items():
        rule["cap"] = CAP
        doc = compiled.rules.get(name.split(ALIAS)[0])
        if doc is None:  # a stored version without its documents: send every catalogue fact
            read.update(FACTS)
        else:
            _read(doc["when"], read)
    # Without a rule every fact matches, a batch with one unmatched fact fires nothing at all;
    # "$ex id" hangs durable_rules, "$ex category" works.
    rules[CATCH_ALL] = {"all": [{"m": {"$ex": {"category": 1}}}], "run": CATCH_ALL, "cap": CAP}
    return rules, tuple((field, _kind(field)) for field in sorted(read))


def layout(compiled: CompiledRuleset) -> Layout:
    """Category-bound rules grouped by category into rulesets of up to RULESET_SIZE rules (a larger category cut
    into pieces, each behind the same path), each category behind its marker path; category-free rules join every
    ruleset they fit in, so an event is usually asserted once."""
    any_parts = compiled.routes.get(ANY_PARTITION, [])
    any_rules = {k: r for name in any_parts for k, r in compiled.partitions[name].items()}
    bound: dict[str, dict[str, Any]] = {}  # category -> {durable rule name: compiled rule}
    for name, rules in compiled.partitions.items():
        if name in any_parts:
            continue
        for key, rule in rules.items():
            doc = compiled.rules.get(key)
            cats = categories_of(doc) if doc is not None else None
            if cats is None:  # no documents (or not bound after all): the compiler's partitions, cut small
                return _plain(compiled)
            for category in cats:
                bound.setdefault(category, {})[key if len(cats) == 1 else f"{key}{ALIAS}{category}"] = rule
    pieces: list[tuple[str, dict[str, Any]]] = []  # a category with more than RULESET_SIZE rules is cut
    for category in sorted(bound):
        names = list(bound[category])
        for start in range(0, len(names), RULESET_SIZE):
            pieces.append((category, {n: bound[category][n] for n in names[start:start + RULESET_SIZE]}))
    groups: list[list[tuple[str, dict[str, Any]]]] = []
    size = 0
    for category, category_rules in pieces:
        if not groups or size + len(category_rules) > RULESET_SIZE:
            groups.append([])
            size = 0
        groups[-1].append((category, category_rules))
        size += len(category_rules)
    definitions: dict[str, dict[str, Any]] = {}
    fields: dict[str, tuple[tuple[str, int], ...]] = {}
    markers: dict[str, dict[str, dict[str, int]]] = {}
    routes: dict[str, list[str]] = {}
    aliases: dict[str, str] = {}
    for name in any_parts:
        definitions[name], fields[name] = _finish(compiled, copy.deepcopy(compiled.partitions[name]))
    unfolded: set[str] = set()  # categories met by a ruleset without the category-free rules
    for index, group in enumerate(groups):
        name = f"c{index}"
        rules: dict[str, Any] = {}
        marks: dict[str, dict[str, int]] = {}
        levels = 1
        while FANOUT ** levels < len(group):
            levels += 1
        for position, (category, category_rules) in enumerate(group):
            path = [_MARKERS[level][position // FANOUT ** level % FANOUT] for level in range(levels)]
            marks[category] = dict.fromkeys(path, 1)
            for rule_name, rule in category_rules.items():
                rules[rule_name] = _behind(path, rule)
                if ALIAS in rule_name:
                    aliases[rule_name] = rule_name.split(ALIAS)[0]
        folded = bool(any_rules) and len(rules) + len(any_rules) <= RULESET_SIZE
        if folded:
            rules.update(copy.deepcopy(any_rules))
        definitions[name], fields[name] = _finish(compiled, rules)
        markers[name] = marks
        for category, _ in group:
            routes.setdefault(category, []).append(name)
            if not folded:
                unfolded.add(category)
    for category in unfolded:  # a category-free rule met twice (folded and apart) fires once: firings are per key
        routes[category] += [part for part in any_parts if part not in routes[category]]
    return Layout(definitions, fields, routes, list(any_parts), markers, aliases)


def _behind(path: list[str], rule: dict[str, Any]) -> dict[str, Any]:
    """A compiled rule whose condition is tested only after its category's marker path."""
    rule = copy.deepcopy(rule)  # durable_rules deletes "run" from what it is given
    cond = rule["all"][0]["m"]
    rule["all"][0]["m"] = {"$and": [{marker: 1} for marker in path] + (cond["$and"] if "$and" in cond else [cond])}
    return rule


def _plain(compiled: CompiledRuleset) -> Layout:
    """Without the rule documents the categories are unknown: the compiler's partitions cut into rulesets of at
    most PLAIN_RULESET_SIZE rules, each category routed to every piece of its partitions (and "any")."""
    any_parts = compiled.routes.get(ANY_PARTITION, [])
    definitions: dict[str, dict[str, Any]] = {}
    fields: dict[str, tuple[tuple[str, int], ...]] = {}
    pieces_of: dict[str, list[str]] = {}
    for name, rules in compiled.partitions.items():
        keys = list(rules)
        cut = [keys] if name in any_parts else [keys[i:i + PLAIN_RULESET_SIZE]
                                                for i in range(0, len(keys), PLAIN_RULESET_SIZE)]
        for index, piece in enumerate(cut):
            piece_name = name if len(cut) == 1 else f"{name}/{index}"
            pieces_of.setdefault(name, []).append(piece_name)
            definitions[piece_name], fields[piece_name] = _finish(
                compiled, {key: copy.deepcopy(rules[key]) for key in piece})
    routes = {category: [piece for part in parts for piece in pieces_of[part]] + list(any_parts)
              for category, parts in compiled.routes.items() if category != ANY_PARTITION}
    return Layout(definitions, fields, routes, list(any_parts), {}, {})


def project(facts: dict[str, Any], fields: tuple[tuple[str, int], ...]) -> dict[str, Any]:
    """The facts a ruleset reads, as durable_rules needs them (rules.facts.for_durable, in one pass):
    a missing text fact is "", every set gets an extra "" member; other facts only when present."""
    out: dict[str, Any] = {}
    for name, kind in fields:
        value = facts.get(name)
        if kind == _TEXT:
            out[name] = "" if value is None else value
        elif kind == _SET:
            out[name] = [*(value or ()), ""]
        elif value is not None or name in facts:
            out[name] = value
    return out
