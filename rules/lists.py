"""List rows (zero-tolerance, strict-management, custom lists) expanded to rule documents.

A list is a decision table: each row names the categories it covers, optional extra
conditions, who handles it, the template and the time limit. Expansion makes each row an
ordinary rule document, so one compiler and one twin serve rows and hand-written rules alike.
"""
from __future__ import annotations

from datetime import date
from typing import Any

# Lower rank wins in the hit policy: zero tolerance beats strict management beats custom rules.
LIST_RANK = {"zero_tolerance": 0, "strict_management": 1, "custom": 2}


def row_rule_key(kind: str, row_key: str) -> str:
    return f"{kind}.{row_key}".lower()


def in_effect(row: dict[str, Any], today: date) -> bool:
    """Whether `today` lies in the row's effective window (inclusive; a missing end is open)."""
    start, end = row.get("effective_from"), row.get("effective_to")
    return (not start or date.fromisoformat(str(start)) <= today) and (not end or today <= date.fromisoformat(str(end)))


def expand_row(kind: str, row: dict[str, Any], today: date | None = None) -> dict[str, Any]:
    """One list row -> one rule document whose origin points back at the row.

    The effective window is applied when the bundle is built (publish): given `today`, a row
    outside its window expands disabled, so the frozen version and the twin agree without a
    date fact in the catalogue. A window that opens or closes after publishing takes effect
    at the next publish; the authoring page's analysis warns about expired rows.
    """
    conditions = [{"fact": "category", "op": "in", "value": list(row["categories"])}]
    conditions += list(row.get("conditions") or [])
    action: dict[str, Any] = {"do": "create_task", "template": row["template"],
                              "assign": row.get("assign", "grid_unit")}
    if row.get("timeline"):
        action["timeline"] = row["timeline"]
    if row.get("limit"):
        action["limit"] = row["limit"]
    origin: dict[str, Any] = {"list": kind, "item": row["key"], "points": float(row.get("points") or 0)}
    if row.get("legal_basis"):
        origin["legal_basis"] = row["legal_basis"]
    return {
        "key": row_rule_key(kind, row["key"]),
        "title": {"zh": row["title"]["zh"], "en": row["title"].get("en") or row["title"]["zh"]},  # English optional
        "enabled": row.get("enabled", True) and (today is None or in_effect(row, today)),
        "origin": origin,
        "when": {"all": conditions},
        "then": [action] + list(row.get("also") or []),
    }
