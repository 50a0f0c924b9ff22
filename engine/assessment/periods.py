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

    @property
    def last_day(self) -> date:
        """The period's last calendar day: readers count a week as Monday to Sunday, not up to next midnight."""
        return self.end.date() - timedelta(days=1)

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


#: A quarter's ordinal as Chinese writes it (第四季度, not 第4季度).
_CHINESE_ORDINALS = ("一", "二", "三", "四")
#: English month names, whatever the process's locale.
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")


def period_name(label: str, lang: str) -> str:
    """A period as a reader says it, 2026年第50周 / week 50 of 2026, 2026年第四季度 / Q4 2026: the ISO code
    (2026-W50) is for URLs; a label that is no period is shown as it is."""
    match = _PERIOD.match(label or "")
    if not match:
        return label or ""
    year, week, quarter, month = match.groups()
    zh = lang.startswith("zh")
    if week:
        return f"{year}年第{int(week)}周" if zh else f"week {int(week)} of {year}"
    if quarter:
        return f"{year}年第{_CHINESE_ORDINALS[int(quarter) - 1]}季度" if zh else f"Q{quarter} {year}"
    if zh:
        return f"{year}年{int(month)}月"
    return f"{_MONTHS[int(month) - 1]} {year}"


def day_span(first: date | str, last: date | str, lang: str) -> str:
    """Two calendar days, the last one inclusive, as 2026-12-07 至 2026-12-13 / 2026-12-07 to 2026-12-13."""
    return f"{first} 至 {last}" if lang.startswith("zh") else f"{first} to {last}"
