"""Reading the committee's limit (交办): a unit code or the wording of city standards, within the unit's range."""
from __future__ import annotations

import pytest

from engine.evaluation.handover import read_limit


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
