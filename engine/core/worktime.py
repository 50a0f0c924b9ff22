"""The working-time calendar: office hours, weekends, statutory holidays and make-up working days.

"N 工作时" counts N hours inside office hours on working days; "N 工作日" counts N times the day's
office hours (7 h with the default 08:30–12:00 and 14:00–17:30) the same way. Urgent limits
(紧急) count continuous time. Holidays live in the database, seeded from `chinese-calendar`;
a year without data counts Monday–Friday and is reported, never raised.
"""
from __future__ import annotations

import time as _time
from dataclasses import dataclass, field
from functools import cached_property
from datetime import date, datetime, time, timedelta
from typing import Iterable
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core import clock
from engine.core.models import CalendarYear, Holiday
from rules.limits import LIMIT_UNIT_TABLE
import chinese_calendar

DEFAULT_OFFICE_HOURS = (("08:30", "12:00"), ("14:00", "17:30"))
CONTINUOUS_UNITS = {"urgent_hours": 60, "urgent_days": 24 * 60}
MAX_DAYS = 3 * 366
#: How many start instants a calendar remembers answers for (a batch has its `now` and a few deadlines).
RECENT_STARTS = 64


def _parse(hhmm: str) -> time:
    hours, minutes = hhmm.split(":")
    return time(int(hours), int(minutes))


@dataclass
class WorkCalendar:
    """Working days and office periods in one time zone; holidays and make-up days by date."""

    timezone: ZoneInfo
    periods: tuple[tuple[time, time], ...] = tuple((_parse(a), _parse(b)) for a, b in DEFAULT_OFFICE_HOURS)
    days: dict[date, str] = field(default_factory=dict)  # date -> "holiday" | "workday"
    covered_years: frozenset[int] = frozenset()
    #: recent starts' results by minutes, by the start object's identity: a batch's tasks share `now` and, for each
    #: limit, the deadline object its ladder's later steps count from
    _recent: dict[int, tuple[datetime, dict[float, datetime]]] = field(default_factory=dict, init=False, repr=False,
                                                                        compare=False)

    @classmethod
    def build(cls, timezone: str, office_hours: Iterable[Iterable[str]] | None, days: dict[date, str],
              covered_years: Iterable[int]) -> "WorkCalendar":
        periods = tuple((_parse(a), _parse(b)) for a, b in (office_hours or DEFAULT_OFFICE_HOURS))
        return cls(ZoneInfo(timezone), periods, days, frozenset(covered_years))

    @cached_property
    def day_minutes(self) -> float:  # read per working-day deadline: computed once
        return sum((datetime.combine(date.min, b) - datetime.combine(date.min, a)).total_seconds() / 60
                   for a, b in self.periods)

    def is_working_day(self, day: date) -> bool:
        kind = self.days.get(day)
        if kind is not None:
            return kind == "workday"
        return day.isoweekday() <= 5

    def is_office_time(self, instant: datetime) -> bool:
        """Whether `instant` falls in an office period of a working day (not a night, weekend or holiday)."""
        local = instant.astimezone(self.timezone)
        return self.is_working_day(local.date()) and any(opens <= local.time() < closes
                                                         for opens, closes in self.periods)

    def uncovered_years(self, start: datetime, end: datetime) -> list[int]:
        return [y for y in range(start.astimezone(self.timezone).year, end.astimezone(self.timezone).year + 1)
                if y not in self.covered_years]

    def add_working_minutes(self, start: datetime, minutes: float) -> datetime:
        """The instant when `minutes` of office time have passed after `start`; remembered for the very same `start`
        object only (its time zone is the answer's), so a calendar whose days change never answers from before."""
        held = self._recent.get(id(start))
        if held is None or held[0] is not start:  # the entry holds its start, so an id is never reused while held
            if len(self._recent) >= RECENT_STARTS:
                self._recent.clear()
            held = self._recent[id(start)] = (start, {})
        found = held[1].get(minutes)
        if found is None:
            found = held[1][minutes] = self._add_working_minutes(start, minutes)
        return found

    def _add_working_minutes(self, start: datetime, minutes: float) -> datetime:
        local = start.astimezone(self.timezone)
        remaining = timedelta(minutes=minutes)
        day = local.date()
        for _ in range(MAX_DAYS):
            if self.is_working_day(day):
                for opens, closes in self.periods:
                    begin = max(datetime.combine(day, opens, self.timezone), local)
                    end = datetime.combine(day, closes, self.timezone)
                    if begin >= end:
                        continue
                    if end - begin >= remaining:
                        return (begin + remaining).astimezone(start.tzinfo)
                    remaining -= end - begin
            day += timedelta(days=1)
        raise ValueError("time limit longer than three years of working time")

    def working_minutes_between(self, start: datetime, end: datetime) -> float:
        """Office time between two instants (0 if end is not after start): how much of a limit is used."""
        if end <= start:
            return 0.0
        local_start, local_end = start.astimezone(self.timezone), end.astimezone(self.timezone)
        total, day = 0.0, local_start.date()
        while day <= local_end.date():
            if self.is_working_day(day):
                for opens, closes in self.periods:
                    begin = max(datetime.combine(day, opens, self.timezone), local_start)
                    finish = min(datetime.combine(day, closes, self.timezone), local_end)
                    if finish > begin:
                        total += (finish - begin).total_seconds() / 60
            day += timedelta(days=1)
        return total

    def deadline(self, start: datetime, value: float, unit: str, continuous: bool = False) -> datetime:
        """The deadline of a limit started at `start`; urgent units (or `continuous`) count clock time."""
        if unit in CONTINUOUS_UNITS:
            return start + timedelta(minutes=value * CONTINUOUS_UNITS[unit])
        minutes = value * (60 if unit == "working_hours" else self.day_minutes)
        if continuous:
            return start + timedelta(minutes=value * (60 if unit == "working_hours" else 24 * 60))
        return self.add_working_minutes(start, minutes)


def before_inspection(due: datetime, start: datetime, inspection_starts_at: datetime | None) -> datetime:
    """A deadline at an inspection point (测评点位) brought forward to the inspection's start when it would fall
    after it (seed 003: 所有测评点在3月22日之前整改到位); a task set once the inspection began keeps its own."""
    if inspection_starts_at is not None and start < inspection_starts_at < due:
        return inspection_starts_at
    return due


def describe_limit(value: float, unit: str, lang: str = "zh") -> str:
    """'2 工作时', '1 个工作日', '2 小时（连续计时）' and their English forms."""
    return LIMIT_UNIT_TABLE[unit].amount_in(value, lang)


_cache: tuple[float, dict[date, str], frozenset[int]] | None = None
CACHE_SECONDS = 30.0


def holiday_table(session: Session, fresh: bool = False) -> tuple[dict[date, str], frozenset[int]]:
    """Holidays and covered years from the database, cached for 30 s per process."""
    global _cache
    if not fresh and _cache is not None and _time.monotonic() - _cache[0] < CACHE_SECONDS:
        return _cache[1], _cache[2]
    days = {row.day: row.kind for row in session.scalars(select(Holiday))}
    years = frozenset(session.scalars(select(CalendarYear.year)))
    _cache = (_time.monotonic(), days, years)
    return days, years


def calendar_for(session: Session, timezone: str, office_hours=None) -> WorkCalendar:
    days, years = holiday_table(session)
    return WorkCalendar.build(timezone, office_hours, days, years)


#: chinese-calendar names its holidays in English only; the 国务院办公厅 notices name them so in Chinese.
HOLIDAY_NAMES_ZH = {"New Year's Day": "元旦", "Spring Festival": "春节", "Tomb-sweeping Day": "清明节",
                    "Labour Day": "劳动节", "Dragon Boat Festival": "端午节", "National Day": "国庆节",
                    "Mid-autumn Festival": "中秋节",
                    "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日"}


def holiday_name(name: str, lang: str = "zh") -> str:
    """A holiday's name in the reader's language; a name an administrator typed is shown as typed."""
    return HOLIDAY_NAMES_ZH.get(name, name) if lang == "zh" else name


def seed_holidays(session: Session) -> list[int]:
    """Copy chinese-calendar's holidays and make-up days for years not yet recorded; return those years."""
    known = set(session.scalars(select(CalendarYear.year)))
    existing = set(session.scalars(select(Holiday.day)))
    data_years = {d.year for d in chinese_calendar.holidays} | {d.year for d in chinese_calendar.workdays}
    added = sorted(data_years - known)
    for day, name in list(chinese_calendar.holidays.items()) + list(chinese_calendar.workdays.items()):
        if day.year in added and day not in existing:
            kind = "workday" if day in chinese_calendar.workdays else "holiday"
            session.add(Holiday(day=day, kind=kind, name=str(name or ""), source="chinese-calendar"))
            existing.add(day)
    for year in added:
        session.add(CalendarYear(year=year, source="chinese-calendar", recorded_at=clock.now()))
    session.flush()
    return added


def missing_years_ahead(session: Session, years_ahead: int = 1) -> list[int]:
    """Years from now to `years_ahead` on without holiday data (shown as a warning to administrators)."""
    _, covered = holiday_table(session, fresh=True)
    this_year = clock.now().year
    return [y for y in range(this_year, this_year + years_ahead + 1) if y not in covered]
