"""Reading the committee's limit (交办): a unit code or the wording of city standards, within the unit's range."""
from __future__ import annotations

import pytest

from engine.evaluation.handover import limit_problem, read_limit


@pytest.mark.parametrize(("value", "unit", "read"), [
    ("2", "urgent_hours", (2.0, "urgent_hours")), (3, "working_days", (3.0, "working_days")),
    ("2", "紧急工作时", (2.0, "urgent_hours")), ("3", "天", (3.0, "working_days")), ("4", "工作时", (4.0, "working_hours")),
    ("1", "紧急工作日", (1.0, "urgent_days")), ("三", "个工作日", (3.0, "working_days")),
])
def test_a_limit_reads_from_a_code_or_a_chinese_unit(value, unit, read):
    assert read_limit(value, unit) == read


@pytest.mark.parametrize(("value", "unit"), [("soon", "working_days"), ("0", "天"), ("-1", "working_days"),
                                             ("400", "working_days"), ("2", "weeks"), (None, "天"), ("2", None),
                                             (True, "working_days")])
def test_a_limit_that_cannot_be_read_is_none(value, unit):
    assert read_limit(value, unit) is None


@pytest.mark.parametrize(("value", "unit"), [("3 working days", "working_days"), ("3 工作日", "working_days"),
                                             ("3 个工作日", "working_days"), ("1 working day", "working_days"),
                                             ("2 days (continuous)", "urgent_days")])
def test_the_chosen_units_name_after_the_number_is_read(value, unit):
    assert read_limit(value, unit) == (float(value.split()[0]), unit)


def test_a_refused_limit_says_why_in_each_language_alone():
    """0 and -2 are out of range, not unreadable; a unit typed that is not the one chosen is no number."""
    assert limit_problem("0", "working_days").zh == limit_problem("-2", "working_days").zh == "须大于 0 且不超过 366 工作日"
    assert limit_problem("-2", "working_days").en == "more than 0 and at most 366 working days"
    wrong = limit_problem("3 天", "urgent_hours")
    assert wrong.en == ("enter a number, e.g. 3, and choose the unit beside it; more than 0 and at most 8784 hours "
                        "(continuous)")
    assert wrong.zh.startswith("请填写数字，例如 3，单位在旁边选择")
    assert limit_problem("3", "weeks").en == ("choose the unit of the limit: urgent_hours, working_hours, working_days "
                                              "or urgent_days")
