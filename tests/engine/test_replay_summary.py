"""The replay's per-unit summary counts the same differences its detail rows list."""
from __future__ import annotations

from collections import namedtuple
from datetime import datetime, timedelta, timezone

from engine.authoring.replay import Comparison, Outcome

Row = namedtuple("Row", "id occurred_at category_id grid_id")
AT = datetime(2026, 5, 4, 9, 0, tzinfo=timezone.utc)


def test_a_rule_change_with_a_new_deadline_is_counted_as_a_rule_change():
    """SM8 -> ZT7 also shortens the deadline: the summary's 规则变化 must still count it."""
    comparison = Comparison(limit=10)
    base = {7: Outcome("strict_management.sm8", AT + timedelta(hours=24), 2.0)}
    other = {7: Outcome("zero_tolerance.zt7", AT + timedelta(hours=2), 4.0)}
    comparison.add(Row(1, AT, 3, 5), base, other)
    comparison.add(Row(2, AT, 3, 5), {7: Outcome("a", AT, 1.0)}, {7: Outcome("a", AT + timedelta(hours=1), 1.0)})
    changed_rule = [d for d in comparison.differences if d["rule_before"] and d["rule_after"]
                    and d["rule_before"] != d["rule_after"]]
    assert comparison.units[7].rules == len(changed_rule) == 1
    assert [d["kind"] for d in comparison.differences] == ["rule", "deadline"]
    assert comparison.units[7].deadlines == 2  # both rows moved the deadline
