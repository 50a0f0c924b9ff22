"""Master-data screens with real widgets: campaigns (office hours as rows, date and time pickers),
two-level categories, units with their duty list (职责清单), frontage holders (门前三包), supervision
tiers with member users and units, timelines with ordered steps.

Inline rows carry a hidden position that web/static/admin-rows.js rewrites when rows move; the
views renumber positions on save, so the order holds without the script too.
"""
from __future__ import annotations

import math

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import flash, request, url_for
from flask_admin.contrib.sqla.form import InlineModelConverter
from flask_admin.form import BaseForm, DatePickerWidget, DateTimePickerWidget
from flask_admin.model.form import InlineFormAdmin
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy import select
from wtforms import fields, validators
from wtforms.utils import unset_value
from wtforms.validators import StopValidation, ValidationError
from wtforms.widgets import HiddenInput

from admin import MasterDataView, shown_label
from engine.core.models import (Campaign, Category, DutyItem, FilingCondition, FrontageHolder, Grid, SupervisionTier, TierMember, Timeline, TimelineStep, Unit)
from engine.handling.tasks import STATES
from engine.core.worktime import describe_limit
from rules.document import LIMIT_MAX

CAMPAIGN_STATUSES = (("draft", _l("Draft")), ("active", _l("Active")), ("ended", _l("Ended")))
UNIT_TYPES = (("bureau", _l("Bureau")), ("department", _l("Department")),
              ("inspection_squad", _l("Inspection squad")), ("subdistrict", _l("Sub-district office")),
              ("squad", _l("Enforcement squad")), ("community", _l("Community")), ("enterprise", _l("Enterprise")))
TIER_LEVELS = ((1, _l("Tier 1")), (2, _l("Tier 2")), (3, _l("Tier 3")))
STEP_ACTIONS = (("remind", _l("Remind the unit")), ("order", _l("Order handling")),
                ("escalate", _l("Escalate to a tier")), ("list_publicly", _l("List publicly (挂牌督办)")))
TIERED_ACTIONS = ("escalate", "list_publicly")
TIME_MODES = (("working", _l("Working time")), ("continuous", _l("Continuous time")))
DURATION_UNITS = (("minutes", _l("minutes")), ("hours", _l("hours")), ("days", _l("days")))
MINUTES_PER = {"minutes": 1, "hours": 60, "days": 1440}
LIMIT_UNITS = (("working_hours", _l("working hours")), ("working_days", _l("working days")),
               ("urgent_hours", _l("hours, continuous")), ("urgent_days", _l("days, continuous")))
_CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _label(choices: tuple[tuple[Any, Any], ...], value: Any) -> str:
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
            f'<td class="text-nowrap">{_remove_button()}</td></tr>' for s, e in rows)
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
            if not _CLOCK.match(start) or not _CLOCK.match(end):
                raise StopValidation(_("Enter both times of each period as HH:MM."))
            if end <= start:
                raise StopValidation(_("A period must end after it starts (%(start)s–%(end)s).", start=start, end=end))
            if previous_end and start < previous_end:
                raise StopValidation(_("Periods overlap at %(time)s.", time=start))
            previous_end = end


MAX_STEP_MINUTES = 366 * 24 * 60  # the working-time calendar counts at most three years ahead


class DurationField(fields.Field):
    """"After how long": a number and a unit (minutes, hours, days) in the form, minutes in the column."""

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
            raise StopValidation(_("Say after how long this step happens."))
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
        zone = _zone(getattr(obj, "timezone", None))
        setattr(obj, name, self.data.replace(tzinfo=zone) if self.data else None)


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "Asia/Shanghai")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Asia/Shanghai")


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


def _valid_zone(form, field) -> None:
    try:
        ZoneInfo(field.data or "")
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(_("Unknown time zone; use a name such as Asia/Shanghai.")) from None


def _clock_time(form, field) -> None:
    if field.data and not _CLOCK.match(field.data):
        raise ValidationError(_("Enter a time as HH:MM."))


def _tier_for_action(form, field) -> None:
    if form.action.data in TIERED_ACTIONS and not field.data:
        raise StopValidation(_("Escalating and listing publicly need a tier level."))


def _exactly_one_member(form, field) -> None:
    """Stops the chain: the Optional() Flask-Admin appends would otherwise clear the error of an empty row."""
    if (form.user.data is None) == (form.unit.data is None):
        raise StopValidation(_("Choose either a user or a unit for each member row, not both."))


def _remove_button() -> str:
    remove = escape(_("Remove"))
    return (f'<button type="button" class="btn btn-sm btn-outline-danger" data-admin-row-remove title="{remove}" '
            f'aria-label="{remove}">×</button>')


#: The hidden position of an inline row; admin-rows.js titles its ↑/↓ buttons from these attributes.
POSITION_FIELD_ARGS = {"widget": HiddenInput(), "validators": [validators.Optional()],
                       "render_kw": {"data-move-up": _l("Move up"), "data-move-down": _l("Move down")}}


def _renumber(rows: list[Any]) -> None:
    """Positions 0..n-1 in the order the form gave (rows without a position go last, as added); rows the
    form deleted are still in the collection until the flush, and are skipped."""
    from web.common.extensions import db

    kept = [r for r in rows if r not in db.session.deleted]
    for position, row in enumerate(sorted(kept, key=lambda r: (r.position is None, r.position or 0))):
        row.position = position


class _ForwardOnlyConverter(InlineModelConverter):
    """Timeline.steps has no back-reference on TimelineStep: map the one-to-many relationship alone."""

    def _calculate_mapping_key_pair(self, model, info) -> dict[str, str]:
        try:
            return super()._calculate_mapping_key_pair(model, info)
        except Exception:
            for prop in model._sa_class_manager.mapper.iterate_properties:
                if getattr(prop, "direction", None) is not None and prop.mapper.class_ is info.model:
                    return {prop.key: next(iter(prop.remote_side)).key}
            raise


class _RowsView(MasterDataView):
    """A model view whose forms use admin-rows.js (↑/↓ on inline rows, add/remove on row tables)."""

    @property
    def extra_js(self) -> list[str]:
        return [url_for("static", filename="admin-rows.js")]

    @property
    def extra_css(self) -> list[str]:
        return [url_for("static", filename="admin-rows.css")]


class _DraftView(_RowsView):
    """Tiers and timelines belong to the campaign's versioned bundle: a save changes the draft only."""

    def after_model_change(self, form, model, is_created: bool) -> None:
        flash(_("Saved to the draft. Publish it under Ruleset versions to put it in force."), "info")


# --- campaigns -----------------------------------------------------------------------------------------

class CampaignView(_RowsView):
    column_list = ("code", "name_zh", "name_en", "status", "timezone", "starts_on", "ends_on",
                   "inspection_starts_at", "inspection_ends_at")
    column_searchable_list = ("code", "name_zh", "name_en")
    column_filters = ("status",)
    form_columns = ("code", "name_zh", "name_en", "status", "timezone", "starts_on", "ends_on",
                    "inspection_starts_at", "inspection_ends_at", "office_hours", "continuous_time", "digest_time")
    form_overrides = {"status": fields.SelectField, "office_hours": OfficeHoursField}
    form_extra_fields = {
        "inspection_starts_at": LocalDateTimeField(_l("Inspection window (测评期) starts"),
                                                   validators=[validators.Optional()]),
        "inspection_ends_at": LocalDateTimeField(_l("Inspection window (测评期) ends"),
                                                 validators=[validators.Optional(), After("inspection_starts_at")]),
    }
    form_args = {"status": {"choices": CAMPAIGN_STATUSES},
                 "timezone": {"validators": [_valid_zone]},
                 "starts_on": {"widget": DatePickerWidget()},
                 "ends_on": {"widget": DatePickerWidget(), "validators": [After("starts_on", equal=True)]},
                 "digest_time": {"validators": [_clock_time]}}
    form_widget_args = {"digest_time": {"type": "time"}}
    column_formatters = {"status": lambda v, c, m, n: _label(CAMPAIGN_STATUSES, m.status),
                         "inspection_starts_at": lambda v, c, m, n: _local(m, m.inspection_starts_at),
                         "inspection_ends_at": lambda v, c, m, n: _local(m, m.inspection_ends_at)}
    column_formatters_detail = {**column_formatters,
                                "office_hours": lambda v, c, m, n: ", ".join(f"{a}–{b}" for a, b in m.office_hours or [])}
    column_labels = {"code": _l("Code"), "name_zh": _l("Name (Chinese)"), "name_en": _l("Name (English)"),
                     "status": _l("Status"), "timezone": _l("Time zone"), "starts_on": _l("Starts on"),
                     "ends_on": _l("Ends on"), "office_hours": _l("Office hours"),
                     "continuous_time": _l("Count all limits in continuous time"),
                     "digest_time": _l("Daily digest time (local)"),
                     "inspection_starts_at": _l("Inspection window (测评期) starts"),
                     "inspection_ends_at": _l("Inspection window (测评期) ends"),
                     "published_version": _l("Published version")}
    column_descriptions = {"office_hours": _l("Periods of a working day; working-time limits count only inside them."),
                           "continuous_time": _l("Switch on during an inspection window: working-time limits then "
                                                 "count clock time."),
                           "inspection_starts_at": _l("In the campaign's time zone.")}

    def on_form_prefill(self, form, id) -> None:
        model = self.get_one(id)
        for name in ("inspection_starts_at", "inspection_ends_at"):
            value = getattr(model, name)
            if form[name].raw_data is None and value is not None:
                form[name].data = value.astimezone(_zone(model.timezone)).replace(tzinfo=None)


def _local(campaign: Campaign, instant: datetime | None) -> str:
    return instant.astimezone(_zone(campaign.timezone)).strftime("%Y-%m-%d %H:%M") if instant else ""


# --- categories and units ------------------------------------------------------------------------------

def _top_level_categories() -> list[Category]:
    from web.common.extensions import db

    return list(db.session.scalars(select(Category).where(Category.parent_id.is_(None)).order_by(Category.code)))


def _more_than_zero(form, field) -> None:
    if field.data is not None and (not math.isfinite(field.data) or field.data <= 0):
        raise ValidationError(_("The time must be more than zero."))
    most = LIMIT_MAX.get(getattr(form, "limit_unit", None) and form.limit_unit.data)
    if field.data is not None and most is not None and field.data > most:
        raise ValidationError(_("At most a year."))


class ConditionForm(BaseForm):
    """A filing condition (立案条件) of a category and its time limit."""

    id = fields.HiddenField()
    code = fields.StringField(_l("Code"), validators=[validators.InputRequired(), validators.Length(max=32)])
    name_zh = fields.StringField(_l("Name (Chinese)"), validators=[validators.InputRequired(), validators.Length(max=200)])
    name_en = fields.StringField(_l("Name (English)"), validators=[validators.InputRequired(), validators.Length(max=200)])
    limit_value = fields.FloatField(_l("Time limit"), validators=[validators.InputRequired(), _more_than_zero])
    limit_unit = fields.SelectField(_l("Counted in"), choices=LIMIT_UNITS)


class ConditionInline(InlineFormAdmin):
    def get_form(self) -> type[BaseForm]:
        return ConditionForm


def _conditions(view, context, model: Category, name: str) -> Markup:
    lang = "zh" if _zh() else "en"
    return Markup("<ul class='mb-0'>{}</ul>").format(Markup("").join(
        Markup("<li>{} {}: {}</li>").format(c.code, c.name_zh if lang == "zh" else c.name_en,
                                            describe_limit(c.limit_value, c.limit_unit, lang)) for c in model.conditions))


class CategoryView(_RowsView):
    """Two levels: a top-level category, or a sub-category whose parent is top-level; each with its filing
    conditions (立案条件) and their time limits, one of them the default."""

    column_list = ("code", "name_zh", "name_en", "parent", "default_condition")
    column_details_list = ("code", "name_zh", "name_en", "parent", "conditions", "default_condition")
    column_searchable_list = ("code", "name_zh", "name_en")
    form_columns = ("code", "name_zh", "name_en", "parent", "conditions", "default_condition")
    form_overrides = {"default_condition": fields.SelectField}
    form_args = {"parent": {"query_factory": _top_level_categories},
                 "conditions": {"label": _l("Filing condition")},
                 "default_condition": {"choices": [("", "—")], "coerce": lambda v: v or None}}
    inline_models = (ConditionInline(FilingCondition),)
    column_formatters_detail = {"conditions": _conditions}
    column_labels = {"code": _l("Code"), "name_zh": _l("Name (Chinese)"), "name_en": _l("Name (English)"),
                     "parent": _l("Parent"), "default_condition": _l("Default filing condition"),
                     "conditions": _l("Filing conditions (立案条件)")}
    column_descriptions = {"parent": _l("Empty for a top-level category; only top-level categories can be parents."),
                           "default_condition": _l("Used when an event names no condition; a new condition can be "
                                                   "chosen here once saved.")}

    def edit_form(self, obj=None):
        form = super().edit_form(obj)
        if obj is not None and "default_condition" in form:
            form.default_condition.choices = [("", "—")] + [(c.code, f"{c.code} {c.name_zh}") for c in obj.conditions]
        return form

    def validate_form(self, form) -> bool:
        valid = super().validate_form(form)
        if not valid or "parent" not in form:
            return valid
        from web.common.extensions import db

        seen: set[str] = set()
        for entry in form.conditions.entries:
            if getattr(entry, "_should_delete", False):
                continue
            if entry.form.code.data in seen:
                entry.form.code.errors.append(_("Another condition of this category has this code."))
                valid = False
            seen.add(entry.form.code.data)
        current = request.args.get("id", type=int)
        parent = form.parent.data
        if parent is not None and current is not None:
            if parent.id == current:
                form.parent.errors.append(_("A category cannot be its own parent."))
                return False
            if db.session.scalar(select(Category.id).where(Category.parent_id == current).limit(1)):
                form.parent.errors.append(_("This category has sub-categories, so it must stay top-level."))
                return False
        return valid


class DutyItemInline(InlineFormAdmin):
    form_columns = ("id", "position", "category", "text_zh", "text_en")
    form_args = {"position": POSITION_FIELD_ARGS,
                 "text_zh": {"label": _l("Duty (Chinese)"), "validators": [validators.InputRequired()]},
                 "text_en": {"label": _l("Duty (English)")},
                 "category": {"label": _l("Category (optional)")}}
    form_widget_args = {"text_zh": {"rows": 2}, "text_en": {"rows": 2}}


def _unit_type_choices() -> list[tuple[str, str]]:
    """The known types, then any other type units already have (rules name types as unit_type:TYPE)."""
    from web.common.extensions import db

    known = dict(UNIT_TYPES)
    others = sorted(t for t in db.session.scalars(select(Unit.type).distinct()) if t and t not in known)
    return [(k, str(v)) for k, v in UNIT_TYPES] + [(t, t) for t in others]


def _grids_of(unit: Unit) -> list[Grid]:
    from web.common.extensions import db

    return list(db.session.scalars(select(Grid).where(Grid.unit_id == unit.id).order_by(Grid.code)))


def _grid_links(view, context, model: Unit, name: str) -> Markup:
    return Markup(", ").join(Markup('<a href="{}">{}</a>').format(url_for("grid.details_view", id=g.id), str(g))
                             for g in _grids_of(model))


class UnitView(_RowsView):
    edit_template = "admin/masterdata/unit_edit.html"
    column_list = ("code", "name_zh", "name_en", "type", "parent", "contact", "grids")
    column_details_list = ("code", "name_zh", "name_en", "type", "parent", "contact", "duty_items", "grids")
    column_searchable_list = ("code", "name_zh", "name_en")
    column_filters = ("type",)
    form_columns = ("code", "name_zh", "name_en", "type", "parent", "contact", "duty_items")
    form_overrides = {"type": fields.SelectField}
    form_args = {"type": {"choices": _unit_type_choices}, "duty_items": {"label": _l("Duty item")}}
    inline_models = (DutyItemInline(DutyItem),)
    column_formatters = {"type": lambda v, c, m, n: _label(UNIT_TYPES, m.type), "grids": _grid_links,
                         "duty_items": lambda v, c, m, n: Markup("<ol class='mb-0'>{}</ol>").format(
                             Markup("").join(Markup("<li>{}</li>").format(shown_label(d)) for d in m.duty_items))}
    column_labels = {"code": _l("Code"), "name_zh": _l("Name (Chinese)"), "name_en": _l("Name (English)"),
                     "type": _l("Type"), "parent": _l("Parent"), "contact": _l("Contacts"),
                     "duty_items": _l("Duty list (职责清单)"), "grids": _l("Grids")}

    def validate_form(self, form) -> bool:
        """Refuse a parent that is the unit itself or one of its descendants: the hierarchy stays a tree."""
        valid = super().validate_form(form)
        if not valid or "parent" not in form or form.parent.data is None:
            return valid
        current = request.args.get("id", type=int)
        if current is None:
            return True
        ancestor, seen = form.parent.data, set()
        while ancestor is not None and ancestor.id not in seen:
            if ancestor.id == current:
                form.parent.errors.append(_("A unit cannot be placed under itself or one of its own sub-units."))
                return False
            seen.add(ancestor.id)
            ancestor = ancestor.parent
        return True

    def on_model_change(self, form, model: Unit, is_created: bool) -> None:
        _renumber(model.duty_items)

    def grids_of(self, unit: Unit) -> list[Grid]:
        """For the edit page: grids are edited in their own view, listed here."""
        return _grids_of(unit)


def _unique_in_campaign(form, model: type, column: str, message: str) -> bool:
    """One `column` value per campaign (tier levels, timeline codes), refused next to the field, not by the database."""
    from web.common.extensions import db

    taken = select(model.id).where(model.campaign_id == form.campaign_id.data,
                                   getattr(model, column) == getattr(form, column).data)
    current = request.args.get("id", type=int)
    if current is not None:
        taken = taken.where(model.id != current)
    if db.session.scalar(taken.limit(1)) is not None:
        getattr(form, column).errors.append(message)
        return False
    return True


def _zh() -> bool:
    from web.common.i18n import short_lang

    return short_lang() == "zh"


# --- frontage holders ----------------------------------------------------------------------------------

class _Within:
    """A finite number from `low` to `high` when given (NumberRange lets "nan" through)."""

    def __init__(self, low: float, high: float, message: Any) -> None:
        self.low, self.high, self.message = low, high, message

    def __call__(self, form, field) -> None:
        if field.data is not None and not (math.isfinite(field.data) and self.low <= field.data <= self.high):
            raise ValidationError(str(self.message))


class FrontageHolderView(MasterDataView):
    """Shops and sites under 门前三包, found by name, address or contact."""

    can_delete = True
    column_list = ("name", "address", "grid", "unit", "contact")
    column_searchable_list = ("name", "address", "contact", "grid.code", "grid.name_zh", "unit.name_zh")
    form_columns = ("name", "address", "grid", "unit", "contact", "lat", "lon")
    form_args = {"lat": {"validators": [_Within(-90, 90, _l("Latitude must be between -90 and 90."))]},
                 "lon": {"validators": [_Within(-180, 180, _l("Longitude must be between -180 and 180."))]}}
    column_labels = {"name": _l("Shop or site"), "address": _l("Address"), "grid": _l("Grid"),
                     "unit": _l("Responsible unit"), "contact": _l("Contact"), "lat": _l("Latitude"),
                     "lon": _l("Longitude"), "grid.code": _l("Grid code"), "grid.name_zh": _l("Grid name"),
                     "unit.name_zh": _l("Responsible unit")}
    column_descriptions = {"unit": _l("Empty: the grid's responsible unit answers for it.")}


def _campaign_choices() -> list[tuple[int, str]]:
    """Tiers and timelines name their campaign by id (the models have no relationship to it)."""
    from web.common.extensions import db

    zh = _zh()
    return [(c.id, c.name_zh if zh else c.name_en) for c in db.session.scalars(select(Campaign).order_by(Campaign.code))]


def _campaign_name(view, context, model: Any, name: str) -> str:
    return dict(_campaign_choices()).get(model.campaign_id, str(model.campaign_id))


# --- supervision tiers ---------------------------------------------------------------------------------

class TierMemberInline(InlineFormAdmin):
    form_columns = ("id", "user", "unit")
    form_args = {"user": {"label": _l("User"), "validators": [_exactly_one_member]},
                 "unit": {"label": _l("Unit")}}


def _members(view, context, model: SupervisionTier, name: str) -> str:
    return "; ".join(str(m.user) if m.user else shown_label(m.unit) for m in model.members)


class SupervisionTierView(_DraftView):
    column_list = ("campaign_id", "level", "name_zh", "name_en", "members")
    column_default_sort = [("campaign_id", False), ("level", False)]
    form_columns = ("campaign_id", "level", "name_zh", "name_en", "members")
    form_overrides = {"campaign_id": fields.SelectField, "level": fields.SelectField}
    form_args = {"campaign_id": {"choices": _campaign_choices, "coerce": int},
                 "level": {"choices": TIER_LEVELS, "coerce": int}, "members": {"label": _l("Member")}}
    inline_models = (TierMemberInline(TierMember),)
    column_formatters = {"members": _members, "level": lambda v, c, m, n: _label(TIER_LEVELS, m.level),
                         "campaign_id": _campaign_name}
    column_formatters_detail = column_formatters
    column_labels = {"campaign_id": _l("Campaign"), "level": _l("Level"), "name_zh": _l("Name (Chinese)"),
                     "name_en": _l("Name (English)"), "members": _l("Members (users and units)")}

    def validate_form(self, form) -> bool:
        valid = super().validate_form(form)
        if not valid or "level" not in form:
            return valid
        return _unique_in_campaign(form, SupervisionTier, "level",
                                   _("This campaign already has a tier at this level."))


# --- timelines -----------------------------------------------------------------------------------------

def _state_choices() -> list[tuple[str, str]]:
    zh = _zh()
    return [("", _("— none —"))] + [(k, zh_name if zh else en_name) for k, (zh_name, en_name) in STATES.items()]


class StepForm(BaseForm):
    """One timeline step; after_minutes is shown as a number and a unit."""

    id = fields.HiddenField()
    position = fields.IntegerField(**POSITION_FIELD_ARGS)
    after_minutes = DurationField(_l("After how long"))
    time_mode = fields.SelectField(_l("Counted in"), choices=TIME_MODES, default="working")
    unless_state = fields.SelectField(_l("Unless the task is"), choices=_state_choices, coerce=lambda v: v or None)
    action = fields.SelectField(_l("Then"), choices=STEP_ACTIONS)
    tier_level = fields.SelectField(_l("Tier"), choices=[("", "—"), *TIER_LEVELS],
                                    coerce=lambda v: int(v) if v not in (None, "", "None") else None,
                                    validators=[_tier_for_action])


class StepInline(InlineFormAdmin):
    def get_form(self) -> type[BaseForm]:
        return StepForm


def _steps(view, context, model: Timeline, name: str) -> Markup:
    items = []
    for step in model.steps:
        number, unit = duration_parts(step.after_minutes)
        text = _("after %(number)s %(unit)s (%(mode)s): %(action)s", number=number, unit=_label(DURATION_UNITS, unit),
                 mode=_label(TIME_MODES, step.time_mode), action=_label(STEP_ACTIONS, step.action))
        if step.tier_level:
            text += " → " + _label(TIER_LEVELS, step.tier_level)
        if step.unless_state:
            text += " " + _("unless %(state)s", state=dict(_state_choices()).get(step.unless_state, step.unless_state))
        items.append(Markup("<li>{}</li>").format(text))
    return Markup("<ol class='mb-0'>{}</ol>").format(Markup("").join(items))


class TimelineView(_DraftView):
    """Ordered steps: after how long, counted in working or continuous time, unless the task is in a state."""

    inline_model_form_converter = _ForwardOnlyConverter
    column_list = ("campaign_id", "code", "name_zh", "name_en", "steps")
    column_searchable_list = ("code", "name_zh", "name_en")
    form_columns = ("campaign_id", "code", "name_zh", "name_en", "steps")
    form_overrides = {"campaign_id": fields.SelectField}
    inline_models = (StepInline(TimelineStep),)
    form_args = {"campaign_id": {"choices": _campaign_choices, "coerce": int}, "steps": {"label": _l("Step")}}
    column_formatters = {"steps": _steps, "campaign_id": _campaign_name}
    column_formatters_detail = column_formatters
    column_labels = {"campaign_id": _l("Campaign"), "code": _l("Code"), "name_zh": _l("Name (Chinese)"),
                     "name_en": _l("Name (English)"), "steps": _l("Steps")}

    def validate_form(self, form) -> bool:
        valid = super().validate_form(form)
        if not valid or "code" not in form:
            return valid
        return _unique_in_campaign(form, Timeline, "code", _("This campaign already has a timeline with this code."))

    def on_model_change(self, form, model: Timeline, is_created: bool) -> None:
        _renumber(model.steps)


def add_master_data_views(admin, category) -> None:
    from web.common.extensions import db

    admin.add_view(CampaignView(Campaign, db, name=_l("Campaigns"), category=category))
    admin.add_view(CategoryView(Category, db, name=_l("Categories"), category=category))
    admin.add_view(UnitView(Unit, db, name=_l("Units"), category=category))
    admin.add_view(FrontageHolderView(FrontageHolder, db, name=_l("Frontage holders (门前三包)"), category=category))
    admin.add_view(SupervisionTierView(SupervisionTier, db, name=_l("Supervision tiers"), category=category))
    admin.add_view(TimelineView(Timeline, db, name=_l("Timelines"), category=category))
