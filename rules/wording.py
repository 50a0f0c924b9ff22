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


def _test(leaf: dict[str, Any], i: int, names: Callable[[int, Any], str]) -> str:
    """'发生时刻（当地小时，0–23） 不在 6 至 21 之间': what a condition asks, without the value it met."""
    fact = FACTS[leaf["fact"]]
    operator, value = OPERATORS[leaf["op"]], leaf.get("value")
    if operator.phrase_false is not None:
        text = (operator.phrase if value else operator.phrase_false)[i]
    elif operator.operand == "pair":
        text = operator.phrase[i].format(lo=value[0], hi=value[1])
    else:
        text = operator.phrase[i].format(v=_value(value, i, names))
    return f"{fact.zh if i == 0 else fact.en} {text}"


def describe_condition(leaf: dict[str, Any], lang: str = "zh",
                       name_of: Callable[[int, Any], str] | None = None) -> str:
    """'发生时刻（当地小时，0–23） 不在 6 至 21 之间，实际为 23' and its English form."""
    i = 0 if lang.startswith("zh") else 1
    names = name_of or (lambda _lang, v: str(v))
    actual = leaf.get("actual")
    shown = _value(actual, i, names) if actual not in (None, "") else ("空" if i == 0 else "empty")
    return f"{_test(leaf, i, names)}，实际为 {shown}" if i == 0 else f"{_test(leaf, i, names)} (actual: {shown})"


#: How a compound condition joins its parts, (Chinese, English).
JOINS = {"all": (("全部满足：", "；"), ("all of: ", "; ")), "any": (("任一满足：", "；"), ("any of: ", "; "))}


def describe_when(cond: dict[str, Any], lang: str = "zh", name_of: Callable[[int, Any], str] | None = None) -> str:
    """A rule's or list row's condition, nested all/any/not included, in plain words: what it asks, not what an
    event met (describe_condition says that)."""
    i = 0 if lang.startswith("zh") else 1
    names = name_of or (lambda _lang, v: str(v))
    for key, words in JOINS.items():
        if key in cond:
            head, sep = words[i]
            parts = [describe_when(c, lang, names) for c in cond[key]]
            if len(parts) > 1:  # a nested all/any is bracketed, so the reader sees which parts it joins
                parts = [(f"（{p}）" if i == 0 else f"({p})") if "all" in c or "any" in c else p
                         for c, p in zip(cond[key], parts)]
            return head + sep.join(parts)
    if "not" in cond:
        return ("并非：" if i == 0 else "not: ") + describe_when(cond["not"], lang, names)
    return _test(cond, i, names)


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
