"""List analysis for decision tables: which rows overlap an earlier row and which can never match.

Pure (no Flask, no database): the authoring page sends the rows it shows and gets one finding
list per row, each with an English and a Chinese reason, so a warning appears before saving.
Rows are the dicts of ListItem.as_row(), optionally with effective_from / effective_to (ISO dates).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Iterable

from rules.facts import FACTS
from rules.operators import OPERATORS

# Facts with a small closed domain, so an empty range among their conditions is detectable.
_DOMAINS: dict[str, frozenset[Any]] = {
    "local_hour": frozenset(range(24)),
    "weekday": frozenset(range(1, 8)),
}
_BOOL_DOMAIN = frozenset({True, False})


@dataclass(frozen=True)
class Finding:
    kind: str  # overlap | partial_overlap | never_matches | other_list_overlap
    en: str
    zh: str
    other: int | None = None  # index of the earlier row involved, for overlaps

    def as_dict(self, lang: str = "en") -> dict[str, Any]:
        return {"kind": self.kind, "message": self.zh if lang.startswith("zh") else self.en,
                "other": self.other}


@dataclass
class RowAnalysis:
    index: int
    key: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def can_match(self) -> bool:
        return not any(f.kind == "never_matches" for f in self.findings)


def _as_date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _allowed(fact: str, op: str, value: Any, domain: frozenset[Any]) -> frozenset[Any]:
    """The values of a closed-domain fact that satisfy one condition."""
    operator = OPERATORS.get(op) if isinstance(op, str) else None
    if operator is None or operator.operand == "flag":  # narrows no closed domain
        return domain
    return frozenset(v for v in domain if operator.holds(v, value))


def contradictions(conditions: Iterable[dict[str, Any]]) -> list[str]:
    """Facts whose conditions together admit no value (e.g. an hour range 22–6 written as between [22, 6])."""
    allowed: dict[str, frozenset[Any]] = {}
    for cond in conditions:
        name = cond.get("fact")
        fact = FACTS.get(name)
        if fact is None:
            continue
        domain = _DOMAINS.get(name) or (_BOOL_DOMAIN if fact.type == "bool" else None)
        if domain is None:
            if cond.get("op") in ("eq", "in"):
                values = [cond["value"]] if cond["op"] == "eq" else list(cond.get("value") or [])
                domain = frozenset(values) | allowed.get(name, frozenset(values))
            else:
                continue
        try:
            here = _allowed(name, cond.get("op"), cond.get("value"), domain)
        except (TypeError, ValueError):
            continue
        allowed[name] = here & allowed.get(name, domain)
    return [name for name, values in allowed.items() if not values]


def _signature(conditions: Iterable[dict[str, Any]]) -> str:
    return json.dumps(sorted(json.dumps(c, sort_keys=True, ensure_ascii=False) for c in conditions))


def analyse(rows: list[dict[str, Any]], today: date) -> list[RowAnalysis]:
    """One RowAnalysis per row, in order; `today` is injected so expiry never depends on the clock."""
    results: list[RowAnalysis] = []
    live: list[tuple[int, set[str], str]] = []  # earlier rows that can match: index, categories, signature
    for index, row in enumerate(rows):
        result = RowAnalysis(index, str(row.get("key") or index + 1))
        findings = result.findings
        raw_categories, raw_conditions = row.get("categories"), row.get("conditions")
        # Malformed input (the page posts what it shows) is the validator's to report; analysis skips it.
        categories = {str(c) for c in raw_categories} if isinstance(raw_categories, list) else set()
        conditions = [c for c in raw_conditions if isinstance(c, dict)] if isinstance(raw_conditions, list) else []
        if not categories:
            findings.append(Finding("never_matches", "covers no category", "未选择任何问题类别"))
        if not row.get("enabled", True):
            findings.append(Finding("never_matches", "disabled", "已停用"))
        start, end = _as_date(row.get("effective_from")), _as_date(row.get("effective_to"))
        if start and end and start > end:
            findings.append(Finding("never_matches", f"effective from {start} is after effective to {end}",
                                    f"生效日期 {start} 晚于失效日期 {end}"))
        elif end and end < today:
            findings.append(Finding("never_matches", f"expired on {end}", f"已于 {end} 失效"))
        for name in contradictions(conditions):
            fact = FACTS[name]
            findings.append(Finding("never_matches", f"the conditions on {fact.en} admit no value",
                                    f"关于“{fact.zh}”的条件互相矛盾，无值可满足"))
        signature = _signature(conditions)
        if result.can_match:
            for other, earlier, other_signature in live:
                if other_signature != signature or not categories & earlier:
                    continue
                label = rows[other].get("key") or other + 1
                if categories <= earlier:
                    findings.append(Finding("overlap", f"every category is already covered by row {label}",
                                            f"所有类别已被第 {label} 行覆盖", other))
                    break
                shared = ", ".join(sorted(categories & earlier))
                findings.append(Finding("partial_overlap", f"categories {shared} are also covered by row {label}",
                                        f"类别 {shared} 也被第 {label} 行覆盖", other))
            live.append((index, categories, signature))
        results.append(result)
    return results


_LIST_NAMES = {"zero_tolerance": ("zero-tolerance", "零容忍"), "strict_management": ("strict-management", "严管理"),
               "custom": ("custom", "自定义")}


def across_lists(rows: list[dict[str, Any]], others: dict[str, list[dict[str, Any]]]) -> list[list[Finding]]:
    """Per row, a warning for each enabled row of the campaign's other lists that covers some of its
    categories: both may fire on one report, and the hit policy (not the editor) decides which applies."""
    out: list[list[Finding]] = []
    for row in rows:
        raw = row.get("categories")
        categories = {str(c) for c in raw} if isinstance(raw, list) else set()
        found = []
        for kind, other_rows in others.items():
            en, zh = _LIST_NAMES.get(kind, (kind, kind))
            for other in other_rows:
                shared = sorted(categories & {str(c) for c in other.get("categories") or []})
                if shared and other.get("enabled", True):
                    found.append(Finding(
                        "other_list_overlap",
                        f"categories {', '.join(shared)} are also covered by row {other.get('key')} of the {en} list: "
                        "the hit policy decides which applies",
                        f"类别 {'、'.join(shared)} 也被{zh}清单第 {other.get('key')} 行覆盖，由命中策略决定适用哪一行"))
        out.append(found)
    return out
