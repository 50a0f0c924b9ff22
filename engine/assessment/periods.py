"""Assessment periods (week, month, quarter) in a campaign's time zone: what a label such as 2026-W47 means."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from engine.core.models import DEFAULT_TIMEZONE

_PERIOD = re.compile(r"^(\d{4})-(?:W(\d{2})|Q([1-4])|(\d{2}))$")


class PeriodError(ValueError):
    """A period label that is not YYYY-Www, YYYY-MM or YYYY-Qn."""


@dataclass(frozen=True)
class Period:
    """A week, month or quarter in a campaign's time zone, as [start, end) in UTC."""

    kind: str  # week | month | quarter
    label: str
    start: datetime
    end: datetime
    first_day: date

    def previous(self, tz: str) -> Period:
        return period_containing(self.kind, datetime.combine(self.first_day - timedelta(days=1),
                                                             datetime.min.time(), ZoneInfo(tz)), tz)


def _local_midnight(day: date, tz: str) -> datetime:
    return datetime.combine(day, datetime.min.time(), ZoneInfo(tz))


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def parse_period(label: str, tz: str = DEFAULT_TIMEZONE) -> Period:
    """'2026-W47' (ISO week), '2026-11' (month) or '2026-Q4' (quarter) in the time zone `tz`."""
    match = _PERIOD.match(label or "")
    if not match:
        raise PeriodError(label)
    year, week, quarter, month = match.groups()
    try:
        if week:
            first = date.fromisocalendar(int(year), int(week), 1)
            kind, last = "week", first + timedelta(days=7)
        elif quarter:
            first = date(int(year), 3 * int(quarter) - 2, 1)
            kind, last = "quarter", _add_months(first, 3)
        else:
            first = date(int(year), int(month), 1)
            kind, last = "month", _add_months(first, 1)
    except ValueError:
        raise PeriodError(label) from None
    return Period(kind, label, _local_midnight(first, tz), _local_midnight(last, tz), first)


def period_containing(kind: str, instant: datetime, tz: str) -> Period:
    """The week, month or quarter (in `tz`) that contains `instant`."""
    day = instant.astimezone(ZoneInfo(tz)).date()
    if kind == "week":
        year, week, _ = day.isocalendar()
        return parse_period(f"{year}-W{week:02d}", tz)
    if kind == "quarter":
        return parse_period(f"{day.year}-Q{(day.month - 1) // 3 + 1}", tz)
    return parse_period(f"{day.year}-{day.month:02d}", tz)
