"""The field unit's traffic light: the share of a task's limit used, counted as the limit counts (office time for
working-time limits, clock time for urgent ones), green under 80 %, yellow from 80 %, red once overdue."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from engine.core.models import Task
from engine.core.worktime import WorkCalendar
from engine.handling.urgency import urgency

SHANGHAI = ZoneInfo("Asia/Shanghai")
CALENDAR = WorkCalendar.build("Asia/Shanghai", None, {}, [2026])
MONDAY_9 = datetime(2026, 12, 7, 9, 0, tzinfo=SHANGHAI)  # office hours 08:30-12:00 and 14:00-17:30


def task(status="signed", limit_unit="working_hours", hours=4.0, created=MONDAY_9):
    """A task created Monday 09:00 whose deadline is `hours` of its limit's own time later."""
    deadline = CALENDAR.add_working_minutes(created, hours * 60) if limit_unit == "working_hours" \
        else created + timedelta(hours=hours)
    return Task(status=status, limit_unit=limit_unit, created_at=created, deadline_at=deadline)


@pytest.mark.parametrize("at, light, share", [
    (datetime(2026, 12, 7, 11, 0, tzinfo=SHANGHAI), "green", 0.5),  # 2 of 4 office hours
    (datetime(2026, 12, 7, 13, 30, tzinfo=SHANGHAI), "green", 0.75),  # the lunch break does not count
    (datetime(2026, 12, 7, 14, 15, tzinfo=SHANGHAI), "yellow", 0.8125),
])
def test_a_working_time_limit_counts_office_time_only(at, light, share):
    found = urgency(task(), at, CALENDAR)
    assert found.light == light and found.share_used == pytest.approx(share)
    assert found.remaining == task().deadline_at - at


def test_an_urgent_limit_counts_the_clock_through_lunch_and_the_night():
    urgent = task(limit_unit="urgent_hours", hours=10)
    found = urgency(urgent, MONDAY_9 + timedelta(hours=8), CALENDAR)
    assert (found.light, found.share_used) == ("yellow", pytest.approx(0.8))
    # a campaign on continuous time counts every limit by the clock (its deadlines were set that way too)
    clock_time = Task(status="signed", limit_unit="working_hours", created_at=MONDAY_9,
                      deadline_at=MONDAY_9 + timedelta(hours=10))
    lunch = urgency(clock_time, MONDAY_9 + timedelta(hours=4), CALENDAR, continuous=True)
    assert lunch.share_used == pytest.approx(0.4)
    assert urgency(clock_time, MONDAY_9 + timedelta(hours=4), CALENDAR).share_used == pytest.approx(3 / 6.5)


def test_overdue_is_red_and_parked_or_finished_tasks_have_no_share():
    late = urgency(task(), task().deadline_at + timedelta(minutes=30), CALENDAR)
    assert late.light == "red" and late.share_used > 1 and late.remaining == timedelta(minutes=-30)
    assert (urgency(task("parked"), MONDAY_9, CALENDAR).light, urgency(task("closed"), MONDAY_9, CALENDAR).light) \
        == ("paused", "done")
    assert urgency(task("parked"), MONDAY_9, CALENDAR).share_used is None


def test_no_holiday_table_on_a_saturday_still_counts_no_office_time():
    saturday = datetime(2026, 12, 12, 10, 0, tzinfo=SHANGHAI)
    assert date(2026, 12, 12).weekday() == 5
    found = urgency(task(created=saturday), saturday + timedelta(hours=3), CALENDAR)
    assert found.share_used == 0 and found.light == "green"
