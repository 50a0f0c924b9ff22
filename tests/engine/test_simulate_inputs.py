"""The simulator names bad input instead of failing its engine job (found by fuzzing POST /api/v1/simulate)."""
from __future__ import annotations

import pytest

from rules.problems import InputError
from engine.authoring.simulate import simulate


@pytest.mark.parametrize("event_id", [2 ** 70, 2 ** 63, -1, 0, 999_999_999])
def test_an_event_id_that_names_no_stored_event_is_a_problem(session, demo, event_id):
    with pytest.raises(InputError) as refused:
        simulate(session, None, event_id, "active", "en")
    assert [(p.where, p.en, p.zh) for p in refused.value.problems] == [("event_id", "no such event", "无此事件")]


def test_a_timestamp_before_2000_is_a_problem(session, demo):
    with pytest.raises(InputError) as refused:
        simulate(session, {"category": "06029", "grid": "DC-01", "occurred_at": "0001-01-01T00:00:00+00:00"})
    assert [p.where for p in refused.value.problems] == ["occurred_at"]


@pytest.mark.parametrize(("body", "expected"), [
    ({"category": "09005", "grid": "DC-03"}, "verify"),  # a hotline report of a routine duty waits for 核实
    ({"category": "09005", "grid": "DC-03", "source_type": "patrol"}, "file"),
    ({"category": "06029", "grid": "DC-03"}, "file"),  # zero tolerance files at once from any source
])
def test_the_simulator_says_how_the_report_would_enter_its_case(session, demo, body, expected):
    result = simulate(session, body, None, "active", "zh")
    assert result["admission"] == expected and result["admission_name"]


def test_a_place_outside_every_grid_is_named_by_the_simulator(session, demo):
    with pytest.raises(InputError) as refused:
        simulate(session, {"category": "09005", "location": {"lat": 10.0, "lon": 10.0}})
    assert [p.where for p in refused.value.problems] == ["location"] and "待派遣" in refused.value.problems[0].zh
