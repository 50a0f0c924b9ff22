"""The on-call roster (值班表): who answers for a unit at any hour, day or night, workday or holiday.

A week is entered as a pattern (a day and a night person for each weekday, one person for the whole
day on statutory holidays) and may repeat for following weeks; it is stored as concrete shifts, so
"who is on duty at 02:00 on 1 October" is one indexed query, and a gap tonight is easy to see.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Optional
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from engine.core.models import Holiday, Person, Shift, Unit
from engine.people.staff import unit_and_below
from rules.problems import InputError, Problem

KINDS = {"day": ("白班", "Day"), "night": ("夜班", "Night"), "holiday": ("节假日全天", "Holiday (all day)")}
MAX_WEEKS = 26
DAY_STARTS, NIGHT_STARTS = time(8, 0), time(18, 0)


@dataclass
class WeekPattern:
    """One week of a unit's roster as entered: person ids per weekday (0 = Monday), None for nobody."""

    unit_id: int
    monday: date
    day: list[Optional[int]] = field(default_factory=lambda: [None] * 7)
    night: list[Optional[int]] = field(default_factory=lambda: [None] * 7)
    holiday: Optional[int] = None
    weeks: int = 1
    day_starts: time = DAY_STARTS
    night_starts: time = NIGHT_STARTS


def check_shift(session: Session, unit_id: int, person: Optional[Person], starts_at: Optional[datetime],
                ends_at: Optional[datetime], where: str = "") -> list[Problem]:
    """A shift ends after it starts and is held by a person of the unit (or a unit under it)."""
    problems = []
    if starts_at is None or ends_at is None or ends_at <= starts_at:
        problems.append(Problem(f"{where}ends_at", "a shift ends after it starts", "班次的结束时间须晚于开始时间"))
    if person is None:
        problems.append(Problem(f"{where}person", "choose the person on duty", "请选择值班人员"))
    elif not person.active:
        problems.append(Problem(f"{where}person", f"{person.name} is no longer active", f"{person.name}已不在岗"))
    elif person.unit_id not in unit_and_below(session, unit_id):
        unit = session.get(Unit, unit_id)
        problems.append(Problem(f"{where}person", f"{person.name} belongs to {person.unit.name_en}, not to "
                                                  f"{unit.name_en}", f"{person.name}属于「{person.unit.name_zh}」，"
                                                                     f"不属于「{unit.name_zh}」"))
    return problems


def add_shift(session: Session, unit_id: int, person: Optional[Person], starts_at: Optional[datetime],
              ends_at: Optional[datetime], kind: str = "day") -> Shift:
    problems = check_shift(session, unit_id, person, starts_at, ends_at)
    if kind not in KINDS:
        problems.append(Problem("kind", f"one of {', '.join(KINDS)}", f"须为 {'、'.join(z for z, _ in KINDS.values())} 之一"))
    if problems:
        raise InputError(problems)
    shift = Shift(unit_id=unit_id, person_id=person.id, starts_at=starts_at, ends_at=ends_at, kind=kind)
    session.add(shift)
    session.flush()
    return shift


def _holidays(session: Session, first: date, last: date) -> set[date]:
    return set(session.scalars(select(Holiday.day).where(Holiday.kind == "holiday", Holiday.day >= first,
                                                         Holiday.day <= last)))


def save_week(session: Session, pattern: WeekPattern, tz: str) -> list[Shift]:
    """Replace the unit's shifts starting in the pattern's weeks with the pattern's; flushes, never commits.

    Every problem of every cell is reported at once (`day.3`, `night.6`, `holiday`); nothing is written then.
    """
    zone = ZoneInfo(tz)
    problems: list[Problem] = []
    if pattern.monday.weekday() != 0:
        problems.append(Problem("monday", "a week starts on a Monday", "每周从星期一开始"))
    if not 1 <= pattern.weeks <= MAX_WEEKS:
        problems.append(Problem("weeks", f"repeat for 1–{MAX_WEEKS} weeks", f"重复周数须为 1–{MAX_WEEKS}"))
    if pattern.night_starts <= pattern.day_starts:
        problems.append(Problem("night_starts", "the night shift starts after the day shift",
                                "夜班开始时间须晚于白班开始时间"))
    people = {p.id: p for p in session.scalars(select(Person).where(
        Person.id.in_({pid for pid in [*pattern.day, *pattern.night, pattern.holiday] if pid is not None})))}
    scope = unit_and_below(session, pattern.unit_id)
    cells = [(f"day.{i}", pid) for i, pid in enumerate(pattern.day)] + \
            [(f"night.{i}", pid) for i, pid in enumerate(pattern.night)] + [("holiday", pattern.holiday)]
    for where, pid in cells:
        if pid is None:
            continue
        person = people.get(pid)
        if person is None:
            problems.append(Problem(where, "unknown person", "未知的人员"))
        elif not person.active:
            problems.append(Problem(where, f"{person.name} is no longer active", f"{person.name}已不在岗"))
        elif person.unit_id not in scope:
            unit = session.get(Unit, pattern.unit_id)
            problems.append(Problem(where, f"{person.name} belongs to {person.unit.name_en}, not to {unit.name_en}",
                                    f"{person.name}属于「{person.unit.name_zh}」，不属于「{unit.name_zh}」"))
    if problems:
        raise InputError(problems)
    first = pattern.monday
    last = first + timedelta(days=7 * pattern.weeks)
    holidays = _holidays(session, first, last)

    def at(day: date, moment: time) -> datetime:
        return datetime.combine(day, moment, zone).astimezone(timezone.utc)

    session.execute(delete(Shift).where(Shift.unit_id == pattern.unit_id, Shift.starts_at >= at(first, time(0)),
                                        Shift.starts_at < at(last, time(0))))
    shifts = []
    for offset in range(7 * pattern.weeks):
        day = first + timedelta(days=offset)
        following = day + timedelta(days=1)
        weekday = day.weekday()
        if day in holidays and pattern.holiday is not None:
            shifts.append(Shift(unit_id=pattern.unit_id, person_id=pattern.holiday, kind="holiday",
                                starts_at=at(day, pattern.day_starts), ends_at=at(following, pattern.day_starts)))
            continue
        if pattern.day[weekday] is not None:
            shifts.append(Shift(unit_id=pattern.unit_id, person_id=pattern.day[weekday], kind="day",
                                starts_at=at(day, pattern.day_starts), ends_at=at(day, pattern.night_starts)))
        if pattern.night[weekday] is not None:
            shifts.append(Shift(unit_id=pattern.unit_id, person_id=pattern.night[weekday], kind="night",
                                starts_at=at(day, pattern.night_starts), ends_at=at(following, pattern.day_starts)))
    session.add_all(shifts)
    session.flush()
    return shifts


def week(session: Session, unit_id: int, monday: date, tz: str) -> tuple[list[Shift], dict[date, Holiday]]:
    """What the roster page shows for a unit's week: its shifts by start, and the week's calendar days
    (statutory holidays and make-up working days) by date."""
    zone = ZoneInfo(tz)
    first, last = datetime.combine(monday, time(0), zone), datetime.combine(monday + timedelta(days=7), time(0), zone)
    shifts = list(session.scalars(select(Shift).where(Shift.unit_id == unit_id, Shift.starts_at >= first,
                                                      Shift.starts_at < last).order_by(Shift.starts_at, Shift.id)))
    days = {h.day: h for h in session.scalars(select(Holiday).where(Holiday.day >= monday,
                                                                   Holiday.day <= monday + timedelta(days=6)))}
    return shifts, days


def on_duty(session: Session, unit_id: int, at: datetime) -> list[Shift]:
    """The shifts of the unit covering the instant `at` (usually one)."""
    return list(session.scalars(select(Shift).where(Shift.unit_id == unit_id, Shift.starts_at <= at,
                                                    Shift.ends_at > at).order_by(Shift.starts_at, Shift.id)))


def tonight(now: datetime, tz: str) -> tuple[datetime, datetime]:
    """Tonight's night in the campaign's zone: from the evening of the local day of `now` to next morning
    (after midnight and before the morning, the night that is under way)."""
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    day = local.date() if local.time() >= DAY_STARTS else local.date() - timedelta(days=1)
    return (datetime.combine(day, NIGHT_STARTS, zone).astimezone(timezone.utc),
            datetime.combine(day + timedelta(days=1), DAY_STARTS, zone).astimezone(timezone.utc))


def gaps(session: Session, unit_ids: list[int], start: datetime, end: datetime) -> dict[int, list[tuple[datetime, datetime]]]:
    """Per unit, the spans of [start, end) that no shift covers (units fully covered are left out)."""
    covering: dict[int, list[tuple[datetime, datetime]]] = {uid: [] for uid in unit_ids}
    for uid, s, e in session.execute(select(Shift.unit_id, Shift.starts_at, Shift.ends_at).where(
            Shift.unit_id.in_(unit_ids), Shift.starts_at < end, Shift.ends_at > start)):
        covering[uid].append((s, e))
    result = {}
    for uid, spans in covering.items():
        cursor, missing = start, []
        for s, e in sorted(spans):
            if s > cursor:
                missing.append((cursor, s))
            cursor = max(cursor, e)
        if cursor < end:
            missing.append((cursor, end))
        if missing:
            result[uid] = missing
    return result


def units_on_call(session: Session) -> list[Unit]:
    """Units that keep a roster: every unit with active staff."""
    ids = set(session.scalars(select(Person.unit_id).where(Person.active.is_(True))))
    return list(session.scalars(select(Unit).where(Unit.id.in_(ids)).order_by(Unit.code))) if ids else []
