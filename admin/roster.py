"""Admin: the on-call roster (值班表) of a unit by week, entered as a weekly pattern or one shift at a time, and
tonight's uncovered hours for the admin home. Every time on these pages is in the campaign's time zone."""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms import DateTimeLocalField, IntegerField, SelectField, TimeField
from wtforms.validators import Optional as OptionalValue

from admin.base import READERS, Guarded, require_editor, shown_label
from admin.people import people, person_label, place_problems
from engine.authoring.campaigns import campaign_for
from engine.core import clock
from engine.core.models import DEFAULT_TIMEZONE, Holiday, Person, Shift, Unit
from engine.people.roster import week as roster_week
from engine.people.roster import (DAY_STARTS, KINDS, NIGHT_STARTS, WeekPattern, add_shift, gaps, save_week, tonight,
                                  units_on_call)
from engine.people.staff import shown_phone, unit_and_below
from rules.problems import InputError
from web.common.extensions import db
from web.common.i18n import short_lang

WEEKDAYS = (_l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"), _l("Saturday"),
            _l("Sunday"))
#: A problem of save_week names its cell as day.3 / night.6; the form's fields are day_3 / night_6.
WEEK_FIELDS = {f"{kind}.{i}": f"{kind}_{i}" for kind in ("day", "night") for i in range(7)}
LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]


def zone_name(session: Session) -> str:
    """The campaign's time zone, in which the roster is entered and shown (Asia/Shanghai by default)."""
    campaign = campaign_for(session, None)
    return campaign.timezone if campaign is not None and campaign.timezone else DEFAULT_TIMEZONE


def span(starts: datetime, ends: datetime, zone: ZoneInfo) -> str:
    """18:00–08:00 in local time; a span ending on a later day says so (+1)."""
    a, b = starts.astimezone(zone), ends.astimezone(zone)
    later = (b.date() - a.date()).days
    return f"{a:%H:%M}–{b:%H:%M}" + (f" (+{later})" if later and b.time() != time(0) else "")


def tonight_gaps(session: Session, now: datetime) -> list[tuple[Unit, list[str]]]:
    """Each unit that keeps a roster and has hours of tonight nobody covers, with those hours in local time."""
    tz = zone_name(session)
    units = units_on_call(session)
    start, end = tonight(now, tz)
    missing = gaps(session, [u.id for u in units], start, end)
    zone = ZoneInfo(tz)
    return [(u, [span(a, b, zone) for a, b in missing[u.id]]) for u in units if u.id in missing]


def _person_id(value: Any) -> int | None:
    if value in (None, "", "None", "__None"):
        return None
    return value if isinstance(value, int) else int(value)


def _kind_choices() -> list[tuple[str, str]]:
    lang = short_lang()
    return [(code, zh if lang == "zh" else en) for code, (zh, en) in KINDS.items()]


def _person_select(label, choices: list[tuple[str, str]]) -> SelectField:
    """Persons of the unit and below; any other id is still sent to the engine, which names the fault."""
    return SelectField(label, choices=choices, coerce=_person_id, validate_choice=False)


def week_form(choices: list[tuple[str, str]], data: dict[str, Any], submitted: bool) -> FlaskForm:
    class WeekForm(FlaskForm):
        holiday = _person_select(_l("On statutory holidays (all day)"), choices)
        day_starts = TimeField(_l("Day shift starts"), default=DAY_STARTS)
        night_starts = TimeField(_l("Night shift starts"), default=NIGHT_STARTS)
        weeks = IntegerField(_l("Repeat for weeks"), default=1,
                             description=_l("1–26: the same pattern for this week and the following ones."))

    for i in range(7):
        setattr(WeekForm, f"day_{i}", _person_select(_l("Day shift"), choices))
        setattr(WeekForm, f"night_{i}", _person_select(_l("Night shift"), choices))
    return WeekForm(formdata=None, data=data) if not submitted else WeekForm(data=data)


def shift_form(choices: list[tuple[str, str]], submitted: bool) -> FlaskForm:
    class ShiftForm(FlaskForm):
        person = _person_select(_l("Person on duty"), choices)
        kind = SelectField(_l("Shift"), choices=_kind_choices, default="day", validate_choice=False)
        starts_at = DateTimeLocalField(_l("Starts (local time)"), format=LOCAL_FORMATS,
                                       validators=[OptionalValue()])
        ends_at = DateTimeLocalField(_l("Ends (local time)"), format=LOCAL_FORMATS, validators=[OptionalValue()])

    return ShiftForm() if submitted else ShiftForm(formdata=None)


def _utc(local: datetime | None, zone: ZoneInfo) -> datetime | None:
    return local.replace(tzinfo=zone).astimezone(UTC) if local is not None else None


class RosterView(Guarded, BaseView):
    """A unit's week: holidays marked, who is on duty by day and by night, and (for editors) the week's
    pattern and a single shift. Readers see phone numbers masked."""

    roles = READERS

    @expose("/", methods=("GET", "POST"))
    def index(self):
        tz = zone_name(db.session)
        zone = ZoneInfo(tz)
        unit = self._unit()
        monday = self._monday(zone)
        if unit is None:
            return self.render("admin/people/roster.html", unit=None, units=[], monday=monday)
        shifts, calendar_days = roster_week(db.session, unit.id, monday, tz)
        choices = [("", "—")] + [(str(p.id), person_label(p)) for p in people(
            unit_ids=unit_and_below(db.session, unit.id))]
        action = request.form.get("action") if request.method == "POST" else None
        if action is not None:
            require_editor()
        week = week_form(choices, self._pattern_of(shifts, zone), action == "week")
        single = shift_form(choices, action == "shift")
        here = url_for(".index", unit=unit.id, week=monday.isoformat())
        if action == "week" and week.validate_on_submit() and self._save_week(week, unit, monday, tz):
            return redirect(here)
        if action == "shift" and single.validate_on_submit() and self._add_shift(single, unit, zone):
            return redirect(here)
        return self.render("admin/people/roster.html", unit=unit, units=self._units(), monday=monday,
                           days=self._days(monday, shifts, calendar_days, zone), week=week, single=single, weekdays=WEEKDAYS,
                           previous=monday - timedelta(days=7), following=monday + timedelta(days=7), zone=tz,
                           label=shown_label)

    def _units(self) -> list[Unit]:
        return list(db.session.scalars(select(Unit).order_by(Unit.code)))

    def _unit(self) -> Unit | None:
        chosen = request.args.get("unit", type=int)
        unit = db.session.get(Unit, chosen) if chosen else None
        if unit is None:
            on_call = units_on_call(db.session)
            unit = on_call[0] if on_call else db.session.scalar(select(Unit).order_by(Unit.code).limit(1))
        return unit

    def _monday(self, zone: ZoneInfo) -> date:
        try:
            day = date.fromisoformat(request.args.get("week", ""))
        except ValueError:
            day = clock.now().astimezone(zone).date()
        return day - timedelta(days=day.weekday())

    def _pattern_of(self, shifts: list[Shift], zone: ZoneInfo) -> dict[str, Any]:
        """The week form as the stored shifts fill it: the first day and night person of each weekday."""
        data: dict[str, Any] = {"day_starts": DAY_STARTS, "night_starts": NIGHT_STARTS, "weeks": 1}
        for shift in shifts:
            local = shift.starts_at.astimezone(zone)
            if shift.kind == "holiday":
                data.setdefault("holiday", shift.person_id)
            elif shift.kind in ("day", "night") and f"{shift.kind}_{local.weekday()}" not in data:
                data[f"{shift.kind}_{local.weekday()}"] = shift.person_id
                data[f"{shift.kind}_starts"] = local.time().replace(second=0, microsecond=0)
        return data

    def _days(self, monday: date, shifts: list[Shift], holidays: dict[date, Holiday], zone: ZoneInfo
              ) -> list[dict[str, Any]]:
        role = getattr(current_user, "role", None)
        kinds = dict(_kind_choices())
        days = []
        for offset in range(7):
            day = monday + timedelta(days=offset)
            on_day = [s for s in shifts if s.starts_at.astimezone(zone).date() == day]
            days.append({"date": day, "weekday": WEEKDAYS[offset], "holiday": holidays.get(day), "shifts": [
                {"kind": s.kind, "kind_label": kinds.get(s.kind, s.kind), "span": span(s.starts_at, s.ends_at, zone),
                 "person": person_label(s.person), "phone": shown_phone(s.person.phone, role)} for s in on_day]})
        return days

    def _save_week(self, form: FlaskForm, unit: Unit, monday: date, tz: str) -> bool:
        pattern = WeekPattern(unit_id=unit.id, monday=monday, day=[form[f"day_{i}"].data for i in range(7)],
                              night=[form[f"night_{i}"].data for i in range(7)], holiday=form.holiday.data,
                              weeks=form.weeks.data, day_starts=form.day_starts.data,
                              night_starts=form.night_starts.data)
        try:
            saved = save_week(db.session, pattern, tz)
        except InputError as err:
            db.session.rollback()
            place_problems(form, err.problems, WEEK_FIELDS)
            return False
        db.session.commit()
        flash(_("The roster of %(unit)s is saved: %(count)s shifts over %(weeks)s weeks.", unit=shown_label(unit),
                count=len(saved), weeks=pattern.weeks), "success")
        return True

    def _add_shift(self, form: FlaskForm, unit: Unit, zone: ZoneInfo) -> bool:
        person = db.session.get(Person, form.person.data) if form.person.data is not None else None
        try:
            add_shift(db.session, unit.id, person, _utc(form.starts_at.data, zone), _utc(form.ends_at.data, zone),
                      form.kind.data or "day")
        except InputError as err:
            db.session.rollback()
            place_problems(form, err.problems)
            return False
        db.session.commit()
        flash(_("The shift is added."), "success")
        return True
