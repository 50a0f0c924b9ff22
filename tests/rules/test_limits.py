"""A time limit the working-time calendar cannot count (infinite, not a number, over a year) is refused
before it is saved, in both languages, where the engine would otherwise fail on every matching event."""
from __future__ import annotations

import pytest

from rules.document import Catalog, validate_rule
from rules.problems import InputError

CATALOG = Catalog(categories={"06029"}, units={"JD-DC"}, unit_types={"subdistrict"}, templates={"zt-clearance"},
                  timelines={"zt-ladder"}, tiers={1, 2, 3})


def rule(limit) -> dict:
    return {"key": "limit-test", "title": {"zh": "时限", "en": "limit"},
            "when": {"all": [{"fact": "category", "op": "in", "value": ["06029"]}]},
            "then": [{"do": "create_task", "template": "zt-clearance", "assign": "grid_unit", "limit": limit}]}


@pytest.mark.parametrize("value,unit", [(float("inf"), "urgent_hours"), (float("nan"), "working_days"),
                                        (1e9, "urgent_days"), (2000, "working_days"), (9000, "urgent_hours")])
def test_limits_the_calendar_cannot_count_are_refused(value, unit):
    with pytest.raises(InputError) as refused:
        validate_rule(rule({"value": value, "unit": unit}), CATALOG)
    problem = next(p for p in refused.value.problems if p.where.endswith("limit"))
    assert problem.en and problem.zh and "时限" in problem.zh


def test_a_year_is_the_longest_limit():
    validate_rule(rule({"value": 366, "unit": "working_days"}), CATALOG)
    validate_rule(rule({"value": 2, "unit": "urgent_hours"}), CATALOG)
