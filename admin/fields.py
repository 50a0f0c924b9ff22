"""Widgets and checks the master-data screens share: office hours as rows, durations, local date-times in
the campaign's zone, row tables that keep their order (admin-rows.js), and the choices they offer.

Inline rows carry a hidden position that web/static/admin-rows.js rewrites when rows move; the views
renumber positions on save, so the order holds without the script too.
"""
from __future__ import annotations

import math
import re
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import flash, request, url_for
from flask_admin.contrib.sqla.form import InlineModelConverter
from flask_admin.form import DateTimePickerWidget
from flask_babel import gettext as _
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy import select
from wtforms import fields, validators
from wtforms.utils import unset_value
from wtforms.validators import StopValidation, ValidationError
from wtforms.widgets import HiddenInput

from admin.base import MasterDataView
from engine.authoring.vocabulary import LIMIT_UNIT_TABLE
from engine.core.models import DEFAULT_TIMEZONE, Campaign
from engine.handling.ladder import TIERED
from web.common.display import name_of
from web.common.extensions import db
from web.common.i18n import short_lang


CAMPAIGN_STATUSES = tuple((code, LazyString(lambda code=code: name_of("campaign_status", code)))
                          for code in ("draft", "active", "ended"))
UNIT_TYPES = tuple((code, LazyString(lambda code=code: name_of("unit_type", code)))
                   for code in ("bureau", "committee", "department", "inspection_squad", "subdistrict", "squad",
                                "community", "enterprise"))
TIER_LEVELS = ((1, _l("Tier 1")), (2, _l("Tier 2")), (3, _l("Tier 3")))
#: A supervising body's level (its board): the bureau's three tiers and the committee's bodies above them.
BODY_LEVELS = TIER_LEVELS + ((4, _l("Level 4")), (5, _l("Level 5")), (6, _l("Level 6")))
#: When a ladder step falls due, relative to the task's deadline (engine/handling/ladder.py ANCHORS).
ANCHORS = (("share", _l("At a share of the limit")), ("before", _l("Before the deadline")),
           ("at", _l("At the deadline")), ("after", _l("Overdue by")))
#: What a supervising body supervises: unit types, a department of the bureau counting as the bureau's own.
SUPERVISED_KINDS = tuple((code, LazyString(lambda code=code: name_of("unit_type", code)))
                         for code in ("squad", "inspection_squad", "bureau_department", "subdistrict", "department",
                                      "community", "enterprise"))
STEP_ACTIONS = (("remind", _l("Remind the unit")), ("order", _l("Order handling")),
                ("escalate", _l("Escalate to a tier")), ("list_publicly", _l("List publicly (挂牌督办)")))
DURATION_UNITS = (("minutes", _l("minutes")), ("hours", _l("hours")), ("days", _l("days")))
MINUTES_PER = {"minutes": 1, "hours": 60, "days": 1440}
LIMIT_UNITS = tuple((code, LazyString(lambda unit=unit: unit.label_in(short_lang())))
                    for code, unit in LIMIT_UNIT_TABLE.items())
CLOCK_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def choice_label(choices: tuple[tuple[Any, Any], ...], value: Any) -> str:
    return str(dict(choices).get(value, value if value is not None else ""))


# --- fields and validators -------------------------------------------------------------------------------

class OfficeHoursField(fields.Field):
    """Periods of a working day as rows of two time inputs, stored as [["08:30", "12:00"], ...]."""

    def __call__(self, **kwargs: Any) -> Markup:
        invalid = "is-invalid" if "is-invalid" in kwargs.get("class", "") else ""
        rows = [tuple(p) for p in (self._rows if self._rows is not None else self.data or [])] + [("", "")]
        start, end, add = escape(_("From")), escape(_("To")), escape(_("Add a period"))
        body = "".join(
            f'<tr><td><input type="time" class="form-control" name="{self.name}-start" value="{escape(s)}" '
            f'aria-label="{start}"></td>'
            f'<td><input type="time" class="form-control" name="{self.name}-end" value="{escape(e)}" '
            f'aria-label="{end}"></td>'
            f'<td class="text-nowrap">{remove_button()}</td></tr>' for s, e in rows)
        return Markup(
            f'<div class="{invalid}" id="{self.id}"><input type="hidden" name="{self.name}" value="rows">'
            f'<table class="table table-sm mb-1" data-admin-rows="{self.name}"><thead><tr>'
            f'<th>{start}</th><th>{end}</th><th></th></tr></thead><tbody>{body}</tbody>'
            f'</table><button type="button" class="btn btn-sm btn-outline-primary" data-admin-rows-add="{self.name}">'
            f'{add}</button></div>')

    def process(self, formdata, data=unset_value, extra_filters=None) -> None:
        self._rows: list[tuple[str, str]] | None = None
        super().process(formdata, data, extra_filters)
        if formdata is not None and self.name in formdata:
            pairs = zip(formdata.getlist(f"{self.name}-start"), formdata.getlist(f"{self.name}-end"))
            self._rows = [(s.strip(), e.strip()) for s, e in pairs if s.strip() or e.strip()]
            self.data = [list(p) for p in sorted(self._rows)]

    def process_formdata(self, valuelist: list[str]) -> None:
        """The marker input only says the rows were sent; process() reads them."""

    def pre_validate(self, form) -> None:
        if not self._rows and self._rows is not None:
            raise StopValidation(_("Enter at least one period of the working day."))
        previous_end = None
        for start, end in sorted(self._rows or []):
            if not CLOCK_TIME.match(start) or not CLOCK_TIME.match(end):
                raise StopValidation(_("Enter both times of each period as HH:MM."))
            if end <= start:
                raise StopValidation(_("A period must end after it starts (%(start)s–%(end)s).", start=start, end=end))
            if previous_end and start < previous_end:
                raise StopValidation(_("Periods overlap at %(time)s.", time=start))
            previous_end = end


MAX_STEP_MINUTES = 366 * 24 * 60  # the working-time calendar counts at most three years ahead


class DurationField(fields.Field):
    """"How long": a number and a unit (minutes, hours, days) in the form, minutes in the column; empty is none
    (a step at a share of the limit or at the deadline needs no duration; the ladder check asks for the others)."""

    def __call__(self, **kwargs: Any) -> Markup:
        number, unit = self._shown()
        invalid = " is-invalid" if "is-invalid" in kwargs.get("class", "") else ""
        options = "".join(f'<option value="{k}"{" selected" if k == unit else ""}>{escape(str(v))}</option>'
                          for k, v in DURATION_UNITS)
        unit_label = escape(_("Unit of time"))
        return Markup(
            f'<div class="d-flex{invalid}"><input type="number" min="0" step="any" class="form-control mr-2" '
            f'style="max-width:10em" id="{self.id}" name="{self.name}" value="{escape(number)}">'
            f'<select class="form-control" style="max-width:10em" name="{self.name}-unit" '
            f'aria-label="{unit_label}">{options}</select></div>')

    def _shown(self) -> tuple[str, str]:
        if self.raw_data is not None:
            return (self.raw_data[0] if self.raw_data else "", self._unit or "minutes")
        return duration_parts(self.data)

    def process(self, formdata, data=unset_value, extra_filters=None) -> None:
        self._unit = formdata.get(f"{self.name}-unit") if formdata is not None else None
        super().process(formdata, data, extra_filters)

    def process_formdata(self, valuelist: list[str]) -> None:
        self.data = None
        if not valuelist or not valuelist[0].strip():
            return
        try:
            number = float(valuelist[0])
        except ValueError:
            raise ValueError(_("Enter a number.")) from None
        self.data = number * MINUTES_PER.get(self._unit or "minutes", 1)

    def pre_validate(self, form) -> None:
        if self.process_errors:
            raise StopValidation()  # "Enter a number." is already shown
        if self.data is None:
            self.data = 0.0
            raise StopValidation()
        if not math.isfinite(self.data) or self.data <= 0:
            raise StopValidation(_("The time must be more than zero."))
        if self.data > MAX_STEP_MINUTES:
            raise StopValidation(_("At most a year."))


def duration_parts(minutes: float | None) -> tuple[str, str]:
    """Minutes as the largest whole unit: 1440 -> ("1", "days"), 90 -> ("90", "minutes")."""
    if minutes is None:
        return "", "hours"
    for unit in ("days", "hours"):
        if minutes and minutes % MINUTES_PER[unit] == 0:
            return f"{minutes / MINUTES_PER[unit]:g}", unit
    return f"{minutes:g}", "minutes"


class LocalDateTimeField(fields.DateTimeField):
    """A date-time picker in the campaign's own time zone; stored as an aware UTC instant."""

    widget = DateTimePickerWidget()

    def __init__(self, label=None, validators=None, **kwargs: Any) -> None:
        super().__init__(label, validators, format=["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"], **kwargs)

    def populate_obj(self, obj: Any, name: str) -> None:
        zone = zone_named(getattr(obj, "timezone", None))
        setattr(obj, name, self.data.replace(tzinfo=zone) if self.data else None)


def zone_named(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


class After:
    """This field, when given, must come after (or, with `equal`, not before) the field named `other`."""

    def __init__(self, other: str, equal: bool = False) -> None:
        self.other, self.equal = other, equal

    def __call__(self, form, field) -> None:
        first = form[self.other].data
        if field.data is None or first is None:
            return
        if field.data < first or (field.data == first and not self.equal):
            raise ValidationError(_("Must be after %(other)s.", other=form[self.other].label.text))


def valid_zone(form, field) -> None:
    try:
        ZoneInfo(field.data or "")
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(_("Unknown time zone; use a name such as Asia/Shanghai.")) from None


def clock_time(form, field) -> None:
    if field.data and not CLOCK_TIME.match(field.data):
        raise ValidationError(_("Enter a time as HH:MM."))


def tier_for_action(form, field) -> None:
    if form.action.data in TIERED and not field.data:
        raise StopValidation(_("Escalating and listing publicly need a tier level."))


def exactly_one_member(form, field) -> None:
    """Stops the chain: the Optional() Flask-Admin appends would otherwise clear the error of an empty row."""
    if (form.user.data is None) == (form.unit.data is None):
        raise StopValidation(_("Choose either a user or a unit for each member row, not both."))


def remove_button() -> str:
    remove = escape(_("Remove"))
    return (f'<button type="button" class="btn btn-sm btn-outline-danger" data-admin-row-remove title="{remove}" '
            f'aria-label="{remove}">×</button>')


#: The hidden position of an inline row; admin-rows.js titles its ↑/↓ buttons from these attributes.
POSITION_FIELD_ARGS = {"widget": HiddenInput(), "validators": [validators.Optional()],
                       "render_kw": {"data-move-up": _l("Move up"), "data-move-down": _l("Move down")}}


def renumber(rows: list[Any]) -> None:
    """Positions 0..n-1 in the order the form gave (rows without a position go last, as added); rows the
    form deleted are still in the collection until the flush, and are skipped."""
    kept = [r for r in rows if r not in db.session.deleted]
    for position, row in enumerate(sorted(kept, key=lambda r: (r.position is None, r.position or 0))):
        row.position = position


class ForwardOnlyConverter(InlineModelConverter):
    """Timeline.steps has no back-reference on TimelineStep: map the one-to-many relationship alone."""

    def _calculate_mapping_key_pair(self, model, info) -> dict[str, str]:
        try:
            return super()._calculate_mapping_key_pair(model, info)
        except Exception:
            for prop in model._sa_class_manager.mapper.iterate_properties:
                if getattr(prop, "direction", None) is not None and prop.mapper.class_ is info.model:
                    return {prop.key: next(iter(prop.remote_side)).key}
            raise


class RowsView(MasterDataView):
    """A model view whose forms use admin-rows.js (↑/↓ on inline rows, add/remove on row tables)."""

    @property
    def extra_js(self) -> list[str]:
        return [url_for("static", filename="admin-rows.js")]

    @property
    def extra_css(self) -> list[str]:
        return [url_for("static", filename="admin-rows.css")]


class DraftView(RowsView):
    """Tiers and timelines belong to the campaign's versioned bundle: a save changes the draft only."""

    def after_model_change(self, form, model, is_created: bool) -> None:
        flash(_("Saved to the draft. Publish it under Ruleset versions to put it in force."), "info")


def unique_in_campaign(form, model: type, column: str, message: str) -> bool:
    """One `column` value per campaign (tier levels, timeline codes), refused next to the field, not by the database."""
    taken = select(model.id).where(model.campaign_id == form.campaign_id.data,
                                   getattr(model, column) == getattr(form, column).data)
    current = request.args.get("id", type=int)
    if current is not None:
        taken = taken.where(model.id != current)
    if db.session.scalar(taken.limit(1)) is not None:
        getattr(form, column).errors.append(message)
        return False
    return True


def in_chinese() -> bool:
    return short_lang() == "zh"


class Within:
    """A finite number from `low` to `high` when given (NumberRange lets "nan" through)."""

    def __init__(self, low: float, high: float, message: Any) -> None:
        self.low, self.high, self.message = low, high, message

    def __call__(self, form, field) -> None:
        if field.data is not None and not (math.isfinite(field.data) and self.low <= field.data <= self.high):
            raise ValidationError(str(self.message))


def campaign_choices() -> list[tuple[int, str]]:
    """Tiers and timelines name their campaign by id (the models have no relationship to it)."""
    zh = in_chinese()
    return [(c.id, c.name_zh if zh else c.name_en) for c in db.session.scalars(select(Campaign).order_by(Campaign.code))]


def campaign_name(view, context, model: Any, name: str) -> str:
    return dict(campaign_choices()).get(model.campaign_id, str(model.campaign_id))
