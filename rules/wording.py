"""Plain-language wording of conditions and firings, in Chinese and English, for explanation cards."""
from __future__ import annotations

from typing import Any, Callable

from rules.facts import FACTS
from rules.operators import OPERATORS

BOOL = {True: ("是", "yes"), False: ("否", "no")}
LISTS = {"zero_tolerance": ("零容忍清单", "zero-tolerance list"),
         "strict_management": ("严管理清单", "strict-management list"), "custom": ("自定义规则", "custom rule")}


def _value(value: Any, lang: int, name_of: Callable[[str, Any], str]) -> str:
    if isinstance(value, bool):
        return BOOL[value][lang]
    if isinstance(value, list):
        return "、".join(_value(v, lang, name_of) for v in value) if lang == 0 else ", ".join(
            _value(v, lang, name_of) for v in value)
    return name_of(lang, value)


def describe_condition(leaf: dict[str, Any], lang: str = "zh",
                       name_of: Callable[[int, Any], str] | None = None) -> str:
    """'发生时刻（当地小时，0–23） 不在 6 至 21 之间，实际为 23' and its English form."""
    i = 0 if lang.startswith("zh") else 1
    fact = FACTS[leaf["fact"]]
    label = fact.zh if i == 0 else fact.en
    names = name_of or (lambda _lang, v: str(v))
    operator, value, actual = OPERATORS[leaf["op"]], leaf.get("value"), leaf.get("actual")
    if operator.phrase_false is not None:
        text = (operator.phrase if value else operator.phrase_false)[i]
    elif operator.operand == "pair":
        text = operator.phrase[i].format(lo=value[0], hi=value[1])
    else:
        text = operator.phrase[i].format(v=_value(value, i, names))
    shown = _value(actual, i, names) if actual not in (None, "") else ("空" if i == 0 else "empty")
    return f"{label} {text}，实际为 {shown}" if i == 0 else f"{label} {text} (actual: {shown})"


def describe_origin(origin: dict[str, Any] | None, lang: str = "zh") -> str:
    """Which list row a rule came from, with its legal basis and points."""
    origin = origin or {}
    i = 0 if lang.startswith("zh") else 1
    kind = LISTS.get(origin.get("list", "custom"), LISTS["custom"])[i]
    if not origin.get("item"):
        return kind
    parts = [f"{kind} {origin['item']}"]
    if origin.get("legal_basis"):
        parts.append(("依据 " if i == 0 else "basis: ") + origin["legal_basis"])
    if origin.get("points"):
        parts.append((f"扣 {origin['points']:g} 分") if i == 0 else f"{origin['points']:g} points")
    return "；".join(parts) if i == 0 else "; ".join(parts)
