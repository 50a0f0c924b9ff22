"""Next year's calendar (issue 15, point 8): an administrator enters the State Council's holiday notice as a
table, which replaces that year's calendar at once; a file with a bad row changes nothing; administrators and
the daily digest are warned, 60 days ahead, of the first day the calendar has no data for. chinese-calendar's
data stops at 2026 and no 2027 data is invented: the tests import a synthetic year (2031)."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import extract, func, select

from engine.core.holiday_notice import first_uncounted_day, import_notice
from engine.core.models import CalendarYear, Digest, Holiday, OutboxMessage
from engine.core.tables import Table
from engine.core.worktime import WorkCalendar, holiday_table
from engine.delivery import digest
from engine.intake.events import IntakeSource, accept_event
from rules.problems import InputError
from tests.helpers import event

SHANGHAI = ZoneInfo("Asia/Shanghai")
HEADERS = ["日期", "结束日期", "类型", "名称"]


def days_of(session, year: int) -> int:
    return session.scalar(select(func.count()).select_from(Holiday).where(extract("year", Holiday.day) == year))


def test_a_notice_replaces_the_years_calendar_and_marks_the_year_known(session):
    notice = Table(HEADERS, [["2031-01-01", "", "放假", "元旦"], ["2031/1/22", "2031/1/28", "放假", "春节"],
                             ["2031年1月18日", None, "上班", "春节调休"], [date(2031, 10, 1), date(2031, 10, 7), "holiday", "国庆节"]])
    report = import_notice(session, 2031, notice)
    assert (report.holidays, report.workdays) == (15, 1)
    assert session.get(CalendarYear, 2031).source == "notice"
    days, years = holiday_table(session, fresh=True)
    calendar = WorkCalendar.build("Asia/Shanghai", None, days, years)
    assert not calendar.is_working_day(date(2031, 1, 22))  # a Wednesday of 春节
    assert calendar.is_working_day(date(2031, 1, 18))  # a Saturday worked in exchange (调休上班)
    assert calendar.is_working_day(date(2031, 1, 29))
    again = import_notice(session, 2031, Table(HEADERS, [["2031-01-01", "", "放假", "元旦"]]))
    assert (again.holidays, again.workdays, days_of(session, 2031)) == (1, 0, 1)  # a new notice replaces the old


@pytest.mark.parametrize("row", [["01.01.2031", "", "放假", "元旦"],  # an unknown date format
                                 ["2030-12-31", "", "放假", "元旦"],  # another year
                                 ["2031-01-01", "2031-03-01", "放假", "too long"],
                                 ["2031-01-01", "", "休息吧", "元旦"]])  # an unknown kind
def test_a_file_with_a_bad_row_names_it_and_changes_nothing(session, row):
    with pytest.raises(InputError) as refused:
        import_notice(session, 2031, Table(HEADERS, [["2031-05-01", "", "放假", "劳动节"], row]))
    assert "第 3 行" in refused.value.problems[0].zh
    assert days_of(session, 2031) == 0 and session.get(CalendarYear, 2031) is None


def test_the_first_uncounted_day_is_named_sixty_days_ahead(session):
    assert first_uncounted_day(session, date(2026, 12, 6)) == date(2027, 1, 1)  # the demo's data ends with 2026
    assert first_uncounted_day(session, date(2026, 10, 1)) is None  # 2027 is more than 60 days away
    assert first_uncounted_day(session, date(2027, 3, 1)) == date(2027, 3, 1)


def test_the_daily_digest_carries_the_calendar_warning(factory, drain, session):
    with factory() as s:
        accept_event(s, event("06029", "NC-03", hour=23), IntakeSource("notice-digest-tests"))
        s.commit()
    drain()
    for day, expected in ((date(2026, 12, 10), "2027-01-01"), (date(2026, 6, 10), None)):
        with factory() as s:
            assert digest.run_due(s, now=datetime(day.year, day.month, day.day, 6, 45, tzinfo=SHANGHAI)) > 0
        row = session.scalar(select(Digest).where(Digest.day == day).limit(1))
        message = session.scalar(select(OutboxMessage).where(
            OutboxMessage.idempotency_key == f"digest:{row.campaign_id}:{row.unit_id}:{day.isoformat()}"))
        assert message.payload.get("calendar_gap") == expected


def test_the_digest_message_says_from_when_the_calendar_counts_wrongly():
    from engine.delivery.channels import Context, render
    ctx = Context("digest", "digest:1:2:2026-12-10", "unit:2", {"open": 3, "overdue": 1, "calendar_gap": "2027-01-01"})
    assert "自 2027-01-01 起工作日历没有节假日数据" in render(ctx, "zh").text
    assert "from 2027-01-01 the working calendar has no holiday data" in render(ctx, "en").text
    assert "2027" not in render(Context("digest", "k", "unit:2", {"open": 3, "overdue": 1}), "zh").text
