"""The fact catalogue: every fact a rule may test, with its type and its meaning in both languages.

Enrichment (engine/enrich.py) must supply exactly these names; validation refuses any other.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FactType = Literal["str", "int", "bool", "set"]


@dataclass(frozen=True)
class Fact:
    name: str
    type: FactType
    zh: str
    en: str
    choices: tuple[str, ...] = ()


SOURCE_TYPES = ("hotline", "patrol", "camera", "inspection", "media", "leader", "citizen", "readiness",
                "mock_evaluation", "official_evaluation")
#: Zone layers (DESIGN 16): 限制经营区, 严管街, 学校周边, 居住区.
ZONE_KINDS = ("restricted_business", "strict_street", "school_surroundings", "residential")
#: Permits (审批/备案) the seed lists turn on; night works is our own extension for SM4.
PERMIT_KINDS = ("temporary_market", "outdoor_ad", "road_occupation", "construction_waste", "recycling_site",
                "site_shed", "night_works")

#: Types of the national evaluation's points (测评点位), DESIGN 16/17: fact `inspection_point` is one of them.
POINT_TYPES = ("main_road", "back_street", "farmers_market", "construction_site", "park_square", "school",
               "hospital", "station", "community", "shopping_mall", "hotel_restaurant", "entertainment",
               "cultural_venue", "scenic_spot", "window_unit")

FACTS: dict[str, Fact] = {f.name: f for f in (
    Fact("category", "str", "问题类别代码", "category code"),
    Fact("category_parent", "str", "上级类别代码", "parent category code"),
    Fact("filing_condition", "str", "立案条件代码", "filing condition code"),
    Fact("source", "str", "来源系统", "intake source"),
    Fact("source_type", "str", "来源类型", "source type", SOURCE_TYPES),
    Fact("grid", "str", "网格代码", "grid code"),
    Fact("unit", "str", "网格责任单位代码", "responsible unit of the grid"),
    Fact("unit_type", "str", "网格责任单位类型", "type of the grid's responsible unit"),
    Fact("local_hour", "int", "发生时刻（当地小时，0–23）", "local hour of occurrence (0–23)"),
    Fact("weekday", "int", "星期（1=周一 … 7=周日）", "weekday (1 = Monday … 7 = Sunday)"),
    Fact("is_weekend", "bool", "是否周末", "falls on a weekend"),
    Fact("zero_tolerance", "bool", "命中零容忍清单某一条", "a zero-tolerance row matches the report"),
    Fact("strict_management", "bool", "命中严管理清单某一条", "a strict-management row matches the report"),
    Fact("repeats_7d", "int", "7日内同点位同类别此前事件数（同点位：类别关联距离内，默认50米；无定位时按同网格）",
         "earlier reports of this category at this spot within 7 days (within the category's linking distance, "
         "default 50 m; in this grid for a report without a place)"),
    Fact("repeats_30d", "int", "30日内同点位同类别此前事件数（无定位时按同网格）",
         "earlier reports of this category at this spot within 30 days (in this grid for a report without a place)"),
    Fact("nearby_7d", "int", "7日内200米范围同类别此前事件数（有定位时）",
         "earlier events of this category within 200 m in 7 days (events with a location)"),
    Fact("days_since_closed", "int", "距本点位同类别任务结案的天数（90日内；任一方无定位时按同网格）",
         "days since a task of this category was closed at this spot (within 90 days; same grid when either "
         "has no place)"),
    Fact("rebound_30d", "bool", "反弹：结案后30日内同点位同类别再次发生",
         "rebound: the same category at the same spot within 30 days after a task there was closed"),
    Fact("in_inspection_window", "bool", "处于测评期", "inside the campaign's inspection window"),
    Fact("in_zone", "set", "所在区域类型（可多个）", "the kinds of zone the place lies in (several at once)",
         ZONE_KINDS),
    Fact("permits_valid", "set", "该处有效审批/备案的种类", "the kinds of permit valid at the place and time",
         PERMIT_KINDS),
    Fact("inspection_point", "str", "所在测评点位类型（不在点位时为空）",
         "the type of evaluation point (测评点位) the place is at (empty when at none)", POINT_TYPES),
    Fact("at_designated_site", "bool", "位于有效建筑垃圾处置审批的指定消纳场所",
         "at the designated site of a valid construction-waste permit"),
    Fact("frontage_holder", "str", "门前三包责任单位（编号，无编号时为名称；不在任何门前三包范围内为空）",
         "the frontage holder (门前三包) whose frontage the place is at: its code, else its name (empty: none)"),
    Fact("frontage_holder_violations_90d", "int", "该门前三包责任单位此前90日内的违规次数（不含不予立案、作废）",
         "the frontage holder's earlier violations within 90 days (cases at its frontage, not counting those not "
         "filed or void; 0 when no holder)"),
)}


def complete(facts: dict) -> dict:
    """Give every text fact a value ("" when absent) and every set fact a list ([] when absent): durable_rules
    hangs on rules built from `$nex`, so `exists` compiles to a comparison with "" and no text fact may be missing."""
    missing = {name: "" for name in _TEXT_FACTS if facts.get(name) is None}
    missing.update((name, []) for name in SET_FACTS if facts.get(name) is None)
    return {**facts, **missing} if missing else facts


_TEXT_FACTS = tuple(name for name, fact in FACTS.items() if fact.type == "str")  # read once: complete() runs per event
SET_FACTS = tuple(name for name, fact in FACTS.items() if fact.type == "set")


def for_durable(facts: dict) -> dict:
    """The facts as asserted in durable_rules: complete, and every set with an extra "" member, because
    durable_rules' `$iall` is false on an empty array (probe in tests/rules/test_durable_sets.py), so
    `not has` would miss an event in no zone at all. No kind is "", so `has` and `has_any` never see it."""
    facts = complete(facts)
    return {**facts, **{name: [*facts[name], ""] for name in SET_FACTS}}
