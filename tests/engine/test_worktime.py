"""The working-time calendar against the 2026 National Day schedule (holidays 1–7 October,
make-up working days Sunday 20 September and Saturday 10 October), with an explicit clock."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from engine.core.worktime import WorkCalendar, calendar_for, describe_limit, missing_years_ahead

TZ = "Asia/Shanghai"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text + "+08:00")


@pytest.fixture()
def calendar(session) -> WorkCalendar:
    return calendar_for(session, TZ)


def test_seeded_days_know_the_national_day_schedule(calendar):
    assert not calendar.is_working_day(date(2026, 10, 1))
    assert calendar.is_working_day(date(2026, 10, 10))  # Saturday, make-up working day
    assert not calendar.is_working_day(date(2026, 10, 11))  # an ordinary Sunday
    assert calendar.day_minutes == 7 * 60


def test_four_working_hours_from_the_last_afternoon_before_the_holiday(calendar):
    # 16:30–17:30 on Wednesday 30 September, then 08:30–11:30 on Thursday 8 October.
    assert calendar.deadline(at("2026-09-30T16:30:00"), 4, "working_hours") == at("2026-10-08T11:30:00")


def test_three_working_days_count_the_make_up_saturday(calendar):
    # Friday 9, Saturday 10 (make-up day), Monday 12 October: 3 × 7 working hours.
    assert calendar.deadline(at("2026-10-09T08:30:00"), 3, "working_days") == at("2026-10-12T17:30:00")


def test_lunch_break_and_evenings_are_not_counted(calendar):
    assert calendar.deadline(at("2026-11-18T11:00:00"), 2, "working_hours") == at("2026-11-18T15:00:00")
    assert calendar.deadline(at("2026-11-18T20:00:00"), 1, "working_hours") == at("2026-11-19T09:30:00")


def test_urgent_limits_run_straight_through_the_holiday(calendar):
    assert calendar.deadline(at("2026-09-30T16:30:00"), 2, "urgent_hours") == at("2026-09-30T18:30:00")
    assert calendar.deadline(at("2026-09-30T16:30:00"), 2, "urgent_days") == at("2026-10-02T16:30:00")


def test_continuous_time_switch_for_an_inspection_window(calendar):
    assert calendar.deadline(at("2026-09-30T16:30:00"), 4, "working_hours", continuous=True) == at("2026-09-30T20:30:00")


def test_a_year_without_data_counts_weekdays_and_is_reported(calendar, session):
    # 2027 has no published schedule in chinese-calendar 1.11: from Thursday 31 December 2026 16:30, two
    # working hours end on Friday 1 January 2027, New Year's Day, counted as a plain weekday until entered.
    assert 2027 not in calendar.covered_years
    assert calendar.deadline(at("2026-12-31T16:30:00"), 2, "working_hours") == at("2027-01-01T09:30:00")
    assert calendar.uncovered_years(at("2026-12-31T16:30:00"), at("2027-01-01T09:30:00")) == [2027]
    from engine.core import clock
    clock.set_clock(lambda: at("2026-11-22T10:00:00"))
    assert missing_years_ahead(session) == [2027]


def test_limits_are_described_with_their_unit():
    assert describe_limit(2, "working_hours") == "2 工作时"
    assert describe_limit(1, "working_days") == "1 个工作日"
    assert describe_limit(2.0, "urgent_hours") == "2 小时（连续计时）"
    assert describe_limit(2, "urgent_hours", "en") == "2 h (continuous)"
