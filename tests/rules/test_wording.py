"""Explanation cards speak plainly in both languages, naming categories rather than codes."""
from __future__ import annotations

from rules.wording import describe_condition, describe_origin

NAMES = {"06029": ("露天烧烤", "Outdoor barbecue")}


def name_of(lang: int, value):
    return f"{NAMES[value][lang]}（{value}）" if value in NAMES else str(value)


def test_conditions_in_words_with_the_actual_value():
    leaf = {"fact": "local_hour", "op": "not_between", "value": [6, 21], "actual": 23}
    assert describe_condition(leaf, "zh") == "发生时刻（当地小时，0–23） 不在 6 至 21 之间，实际为 23"
    assert describe_condition(leaf, "en") == "local hour of occurrence (0–23) is outside 6 to 21 (actual: 23)"
    category = {"fact": "category", "op": "in", "value": ["06029"], "actual": "06029"}
    assert describe_condition(category, "zh", name_of) == "问题类别代码 属于 露天烧烤（06029），实际为 露天烧烤（06029）"
    flag = {"fact": "zero_tolerance", "op": "eq", "value": True, "actual": True}
    assert describe_condition(flag, "en").endswith("is yes (actual: yes)")


def test_the_list_row_is_named_with_its_basis_and_points():
    origin = {"list": "zero_tolerance", "item": "ZT4", "points": 3.0, "legal_basis": "《大气污染防治法》第一百一十八条"}
    assert describe_origin(origin, "zh") == "零容忍清单 ZT4；依据 《大气污染防治法》第一百一十八条；扣 3 分"
    assert describe_origin(origin, "en") == "zero-tolerance list ZT4; basis: 《大气污染防治法》第一百一十八条; 3 points"
    assert describe_origin(None, "en") == "custom rule"
