"""Master-data screens with real widgets: campaigns (office hours as rows, date and time pickers),
two-level categories, units with their duty list (职责清单) and frontage holders (门前三包); supervision
tiers and timelines are in admin/ladders.py.
"""
from __future__ import annotations

import json
import math
from datetime import datetime

from flask import request, url_for
from flask_admin.form import BaseForm, DatePickerWidget
from flask_admin.model.form import InlineFormAdmin
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import select
from wtforms import fields, validators
from wtforms.validators import ValidationError

from admin.base import MasterDataView, named, named_choices, shown_label
from admin.people import RecordPicker, person_cell, person_picker, place_problems
from engine.core.models import (Campaign, Category, DutyItem, FilingCondition, FrontageHolder, Grid, IntakePolicy,
                                SupervisionTier, Timeline, Unit)
from engine.cases.routing import check_duty
from engine.core.worktime import describe_limit
from engine.people.responsibility import check_liaison
from engine.authoring.catalogue_import import is_category_code
from engine.authoring.vocabulary import LIMIT_MAX
from engine.space.holders import DUTIES, touch
from engine.space.letters import LetterInput, check_letter, check_reach, frontage
from web.common.extensions import db
from admin.fields import (After, CAMPAIGN_STATUSES, LIMIT_UNITS, LocalDateTimeField, OfficeHoursField,
                          POSITION_FIELD_ARGS, RowsView, UNIT_TYPES, Within, choice_label, clock_time,
                          in_chinese, renumber, valid_zone, zone_named)
from admin.ladders import SupervisionTierView, TimelineView


# --- campaigns -----------------------------------------------------------------------------------------
class IntakePolicyView(MasterDataView):
    """Per source type, whether its reports are verified (核实) before filing or filed at once (DESIGN 12)."""

    can_create = True
    can_delete = True
    column_list = ("source_type", "verify", "trusted_confidence")
    column_formatters = {"source_type": named("source_type")}
    form_columns = ("source_type", "verify", "trusted_confidence")
    form_overrides = {"source_type": fields.SelectField}
    form_args = {"source_type": {"choices": named_choices("source_type")},
                 "trusted_confidence": {"validators": [validators.Optional(), validators.NumberRange(0, 1)]}}
    column_labels = {"source_type": _l("Source type"), "verify": _l("Verified by the grid's collector first (核实)"),
                     "trusted_confidence": _l("Filed at once from this confidence (cameras, 0–1)")}
    column_descriptions = {"verify": _l("Off: reports of this type are filed and dispatched at once, like patrols. "
                                        "Zero-tolerance items are always filed at once."),
                           "trusted_confidence": _l("Empty: confidence never files a report at once.")}



#: The stage clocks' minutes when an administrator leaves them empty (DESIGN 12).
STAGE_CLOCK_DEFAULTS = {"accept_minutes": 15, "verify_minutes": 30, "dispatch_minutes": 15, "check_minutes": 30}
#: The day of the week the weekly bulletin (周通报) is published on, 0 = Monday as the model stores it.
WEEKDAYS = [(0, _l("Monday")), (1, _l("Tuesday")), (2, _l("Wednesday")), (3, _l("Thursday")), (4, _l("Friday")),
            (5, _l("Saturday")), (6, _l("Sunday"))]


class CampaignView(RowsView):
    column_list = ("code", "name_zh", "name_en", "status", "timezone", "starts_on", "ends_on",
                   "inspection_starts_at", "inspection_ends_at")
    column_searchable_list = ("code", "name_zh", "name_en")
    column_filters = ("status",)
    form_columns = ("code", "name_zh", "name_en", "status", "timezone", "starts_on", "ends_on",
                    "inspection_starts_at", "inspection_ends_at", "office_hours", "continuous_time", "digest_time",
                    "readiness_time", "accept_minutes", "verify_minutes", "dispatch_minutes", "check_minutes",
                    "bulletin_weekday", "bulletin_time",
                    "bulletin_office_zh", "bulletin_office_en")
    form_overrides = {"status": fields.SelectField, "office_hours": OfficeHoursField,
                      "bulletin_weekday": fields.SelectField}
    form_extra_fields = {
        "inspection_starts_at": LocalDateTimeField(_l("Inspection window (测评期) starts"),
                                                   validators=[validators.Optional()]),
        "inspection_ends_at": LocalDateTimeField(_l("Inspection window (测评期) ends"),
                                                 validators=[validators.Optional(), After("inspection_starts_at")]),
    }
    form_args = {"status": {"choices": CAMPAIGN_STATUSES},
                 "timezone": {"validators": [valid_zone]},
                 "starts_on": {"widget": DatePickerWidget()},
                 "ends_on": {"widget": DatePickerWidget(), "validators": [After("starts_on", equal=True)]},
                 "digest_time": {"validators": [clock_time]},
                 "readiness_time": {"validators": [clock_time], "default": "06:40"},
                 "bulletin_weekday": {"choices": WEEKDAYS, "coerce": int, "default": 0},
                 "bulletin_time": {"validators": [clock_time], "default": "08:00"},
                 **{name: {"default": minutes, "validators": [validators.Optional(), validators.NumberRange(1, 10080)]}
                    for name, minutes in STAGE_CLOCK_DEFAULTS.items()}}
    form_widget_args = {"digest_time": {"type": "time"}, "readiness_time": {"type": "time"},
                        "bulletin_time": {"type": "time"}}
    column_formatters = {"status": lambda v, c, m, n: choice_label(CAMPAIGN_STATUSES, m.status),
                         "inspection_starts_at": lambda v, c, m, n: _local(m, m.inspection_starts_at),
                         "inspection_ends_at": lambda v, c, m, n: _local(m, m.inspection_ends_at)}
    column_formatters_detail = {**column_formatters,
                                "office_hours": lambda v, c, m, n: ", ".join(f"{a}–{b}" for a, b in m.office_hours or []),
                                "bulletin_weekday": lambda v, c, m, n: dict(WEEKDAYS).get(m.bulletin_weekday, "")}
    column_labels = {"code": _l("Code"), "name_zh": _l("Name (Chinese)"), "name_en": _l("Name (English)"),
                     "status": _l("Status"), "timezone": _l("Time zone"), "starts_on": _l("Starts on"),
                     "ends_on": _l("Ends on"), "office_hours": _l("Office hours"),
                     "continuous_time": _l("Count all limits in continuous time"),
                     "digest_time": _l("Daily digest time (local)"),
                     "readiness_time": _l("Inspection points checked daily by (每日自查, local)"),
                     "inspection_starts_at": _l("Inspection window (测评期) starts"),
                     "inspection_ends_at": _l("Inspection window (测评期) ends"),
                     "published_version": _l("Published version"),
                     "accept_minutes": _l("Acceptance clock (minutes)"),
                     "verify_minutes": _l("Verification clock (minutes)"),
                     "dispatch_minutes": _l("Dispatch clock (minutes)"),
                     "check_minutes": _l("Check clock (minutes)"),
                     "bulletin_weekday": _l("Weekly bulletin (周通报) published on"),
                     "bulletin_time": _l("Weekly bulletin time (local)"),
                     "bulletin_office_zh": _l("Issuing office of the bulletin (Chinese)"),
                     "bulletin_office_en": _l("Issuing office of the bulletin (English)")}
    column_descriptions = {"accept_minutes": _l("From a report's receipt to its case (受理)."),
                           "verify_minutes": _l("For the grid's collector to verify a report on the spot (核实)."),
                           "dispatch_minutes": _l("From verification to dispatch, through filing (立案) or the "
                                                  "dispatcher's queue (派遣)."),
                           "check_minutes": _l("From the unit's submission to the checker's pass or fail (核查), "
                                               "each time it is submitted."),
                           "office_hours": _l("Periods of a working day; working-time limits count only inside them."),
                           "continuous_time": _l("Switch on during an inspection window: working-time limits then "
                                                 "count clock time."),
                           "inspection_starts_at": _l("In the campaign's time zone."),
                           "bulletin_weekday": _l("The issue for the week just ended is published on this day at "
                                                  "the time below, numbered and sent to every unit."),
                           "bulletin_office_zh": _l("Printed at the head of the bulletin; empty: the bureau "
                                                    "unit's name.")}

    def on_model_change(self, form, model: Campaign, is_created: bool) -> None:
        """An emptied stage clock is its default again (受理 15, 核实 30, 派遣 15, 核查 30 minutes), as is an emptied
        bulletin time (08:00)."""
        for name, minutes in STAGE_CLOCK_DEFAULTS.items():
            if getattr(model, name) is None:
                setattr(model, name, minutes)
        model.bulletin_time = model.bulletin_time or "08:00"
        super().on_model_change(form, model, is_created)

    def on_form_prefill(self, form, id) -> None:
        model = self.get_one(id)
        for name in ("inspection_starts_at", "inspection_ends_at"):
            value = getattr(model, name)
            if form[name].raw_data is None and value is not None:
                form[name].data = value.astimezone(zone_named(model.timezone)).replace(tzinfo=None)


def _local(campaign: Campaign, instant: datetime | None) -> str:
    return instant.astimezone(zone_named(campaign.timezone)).strftime("%Y-%m-%d %H:%M") if instant else ""


# --- categories and units ------------------------------------------------------------------------------

def _top_level_categories() -> list[Category]:
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
    limit_unit = fields.SelectField(_l("Counted in"), choices=LIMIT_UNITS, default="working_hours")


class ConditionInline(InlineFormAdmin):
    def get_form(self) -> type[BaseForm]:
        return ConditionForm


def _conditions(view, context, model: Category, name: str) -> Markup:
    lang = "zh" if in_chinese() else "en"
    return Markup("<ul class='mb-0'>{}</ul>").format(Markup("").join(
        Markup("<li>{} {}: {}</li>").format(c.code, c.name_zh if lang == "zh" else c.name_en,
                                            describe_limit(c.limit_value, c.limit_unit, lang)) for c in model.conditions))


def _timeline_choices() -> list[tuple[str, str]]:
    """The timeline codes the campaigns have (a category names its ladder by code, in every campaign)."""
    codes = db.session.scalars(select(Timeline.code).distinct().order_by(Timeline.code))
    return [("", _("— the campaign's default —"))] + [(code, code) for code in codes]


class CategoryView(RowsView):
    """Two levels: a top-level category, or a sub-category whose parent is top-level; each with its filing
    conditions (立案条件) and their time limits, one of them the default."""

    column_list = ("code", "name_zh", "name_en", "parent", "default_condition", "timeline_code")
    column_details_list = ("code", "name_zh", "name_en", "parent", "conditions", "default_condition", "timeline_code")
    column_searchable_list = ("code", "name_zh", "name_en")
    form_columns = ("code", "name_zh", "name_en", "parent", "conditions", "default_condition", "timeline_code")
    form_overrides = {"default_condition": fields.SelectField, "timeline_code": fields.SelectField}
    form_args = {"parent": {"query_factory": _top_level_categories},
                 "conditions": {"label": _l("Filing condition")},
                 "default_condition": {"choices": [("", "—")], "coerce": lambda v: v or None},
                 "timeline_code": {"choices": _timeline_choices, "coerce": lambda v: v or None}}
    inline_models = (ConditionInline(FilingCondition),)
    column_formatters_detail = {"conditions": _conditions}
    column_labels = {"code": _l("Code"), "name_zh": _l("Name (Chinese)"), "name_en": _l("Name (English)"),
                     "parent": _l("Parent"), "default_condition": _l("Default filing condition"),
                     "conditions": _l("Filing conditions (立案条件)"), "timeline_code": _l("Escalation ladder")}
    column_descriptions = {"parent": _l("Empty for a top-level category; only top-level categories can be parents."),
                           "default_condition": _l("Used when an event names no condition; a new condition can be "
                                                   "chosen here once saved."),
                           "timeline_code": _l("The timeline of this category's tasks when their list row names none; "
                                               "empty: the campaign's default ladder.")}

    def edit_form(self, obj=None):
        form = super().edit_form(obj)
        if obj is not None and "default_condition" in form:
            form.default_condition.choices = [("", "—")] + [(c.code, f"{c.code} {c.name_zh}") for c in obj.conditions]
        return form

    def validate_form(self, form) -> bool:
        valid = super().validate_form(form)
        if "code" in form and form.code.data and not is_category_code(form.code.data):
            form.code.errors.append(_("A category code is digits (06, 0601, 06029) or starts with a letter followed "
                                      "by letters, digits or hyphens (L0001), 16 characters at most."))
            valid = False
        if "parent" in form and form.parent.data is None and (form.parent.raw_data or [""])[0] not in ("", "__None"):
            form.parent.errors.append(_("No top-level category has this number; choose the parent from the list."))
            valid = False
        if not valid or "parent" not in form:
            return valid
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


#: A duty row's part in dispatch (DESIGN 12): empty routes nothing.
DUTY_ROLES = (("", _l("Not dispatched (不派遣)")), ("lead", _l("Lead (主办)")), ("cooperate", _l("Cooperating (协办)")))


class AreaField(fields.SelectMultipleField):
    """Grids by code; none chosen is stored as None (wherever the unit answers), never as an empty area."""

    def process_data(self, value) -> None:
        self.data = list(value or [])

    def populate_obj(self, obj, name: str) -> None:
        setattr(obj, name, list(self.data or []) or None)


def _categories_by_code() -> list[Category]:
    return list(db.session.scalars(select(Category).order_by(Category.code)))


def _grid_choices() -> list[tuple[str, str]]:
    return [(g.code, shown_label(g)) for g in db.session.scalars(select(Grid).order_by(Grid.code))]


class DutyItemInline(InlineFormAdmin):
    form_columns = ("id", "position", "category", "role", "area", "text_zh", "text_en")
    form_overrides = {"role": fields.SelectField, "area": AreaField}
    form_args = {"position": POSITION_FIELD_ARGS,
                 "text_zh": {"label": _l("Duty (Chinese)"), "validators": [validators.InputRequired()]},
                 "text_en": {"label": _l("Duty (English)")},
                 "category": {"label": _l("Matter or group (optional)"), "query_factory": _categories_by_code},
                 "role": {"label": _l("Dispatch role"), "choices": DUTY_ROLES, "coerce": lambda v: v or None},
                 "area": {"label": _l("Area (grids)"), "choices": _grid_choices,
                          "description": _l("None chosen: wherever the unit answers (its grids, or the whole "
                                            "district for a unit without grids).")}}
    form_widget_args = {"text_zh": {"rows": 2}, "text_en": {"rows": 2}, "category": {"data-role": "select2"},
                        "area": {"data-role": "select2"}}


def _duty_list(unit: Unit) -> Markup:
    """The unit's duties as its page lists them: each text, then its role, matter and area when it routes."""
    grids = {g.code: g for g in db.session.scalars(select(Grid))}
    lines = []
    for duty in unit.duty_items:
        if duty.role is None:
            lines.append(Markup("<li>{}</li>").format(shown_label(duty)))
            continue
        area = (", ".join(shown_label(grids[c]) if c in grids else c for c in duty.area) if duty.area is not None
                else _("wherever the unit answers"))
        lines.append(Markup('<li>{} <span class="badge badge-info duty-role">{}</span> <small class="text-muted">'
                            "{} · {}</small></li>").format(shown_label(duty), choice_label(DUTY_ROLES, duty.role),
                                                          shown_label(duty.category), area))
    return Markup("<ol class='mb-0'>{}</ol>").format(Markup("").join(lines))


def _unit_type_choices() -> list[tuple[str, str]]:
    """The known types, then any other type units already have (rules name types as unit_type:TYPE)."""
    known = dict(UNIT_TYPES)
    others = sorted(t for t in db.session.scalars(select(Unit.type).distinct()) if t and t not in known)
    return [(k, str(v)) for k, v in UNIT_TYPES] + [(t, t) for t in others]


def _grids_of(unit: Unit) -> list[Grid]:
    return list(db.session.scalars(select(Grid).where(Grid.unit_id == unit.id).order_by(Grid.code)))


def _grid_links(view, context, model: Unit, name: str) -> Markup:
    return Markup(", ").join(Markup('<a href="{}">{}</a>').format(url_for("grid.details_view", id=g.id), str(g))
                             for g in _grids_of(model))


class UnitView(RowsView):
    edit_template = "admin/masterdata/unit_edit.html"
    column_list = ("code", "name_zh", "name_en", "type", "parent", "liaison", "contact", "grids")
    column_details_list = ("code", "name_zh", "name_en", "type", "parent", "liaison", "contact", "duty_items",
                           "grids")
    column_searchable_list = ("code", "name_zh", "name_en")
    column_filters = ("type",)
    form_columns = ("code", "name_zh", "name_en", "type", "parent", "liaison", "contact", "duty_items")
    form_overrides = {"type": fields.SelectField, "liaison": RecordPicker}
    form_args = {"type": {"choices": _unit_type_choices}, "duty_items": {"label": _l("Duty item")},
                 "liaison": person_picker(_l("Paired leader (包联)"), "leader_in_charge")}
    inline_models = (DutyItemInline(DutyItem),)
    column_formatters = {"type": lambda v, c, m, n: choice_label(UNIT_TYPES, m.type), "grids": _grid_links,
                         "liaison": person_cell(_l("No paired leader")),
                         "duty_items": lambda v, c, m, n: _duty_list(m)}
    column_labels = {"code": _l("Code"), "name_zh": _l("Name (Chinese)"), "name_en": _l("Name (English)"),
                     "type": _l("Type"), "parent": _l("Parent"), "contact": _l("Contacts"),
                     "duty_items": _l("Duty list (职责清单)"), "grids": _l("Grids"),
                     "liaison": _l("Paired leader (包联)")}
    column_descriptions = {"liaison": _l("A leader in charge (分管领导) where the unit's escalations and lost points end.")}

    def validate_form(self, form) -> bool:
        """Refuse a parent that is the unit itself or one of its descendants (the hierarchy stays a tree), and
        a paired leader who is not a leader in charge."""
        valid = super().validate_form(form)
        if valid and "liaison" in form:
            problems = check_liaison(form.liaison.data)
            place_problems(form, problems)
            valid = not problems
        if valid and "duty_items" in form:
            valid = self._duties_valid(form)
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

    def _duties_valid(self, form) -> bool:
        """A routing row names its matter; the engine's problems go under the row's own fields."""
        grid_codes = set(db.session.scalars(select(Grid.code)))
        valid = True
        for entry in form.duty_items.entries:
            if getattr(entry, "_should_delete", False):
                continue
            row = entry.form
            problems = check_duty(row.category.data, row.role.data, row.area.data or None, grid_codes)
            place_problems(row, problems)
            valid = valid and not problems
        return valid

    def on_model_change(self, form, model: Unit, is_created: bool) -> None:
        renumber(model.duty_items)

    def grids_of(self, unit: Unit) -> list[Grid]:
        """For the edit page: grids are edited in their own view, listed here."""
        return _grids_of(unit)


# --- frontage holders ----------------------------------------------------------------------------------

def _duty_choices() -> list[tuple[str, str]]:
    zh = in_chinese()
    return [(key, f"{zh_name}（{key}）" if zh else f"{en_name} ({zh_name})") for key, (zh_name, en_name) in DUTIES.items()]


def _duties_cell(view, context, model: FrontageHolder, name: str) -> str:
    zh = in_chinese()
    return ("、" if zh else ", ").join(DUTIES.get(d, (d, d))[0 if zh else 1] for d in model.letter_duties or [])


class FrontageHolderView(MasterDataView):
    """Shops and sites under 门前三包, found by name, address or contact, with their frontage (where a report names
    them) and responsibility letter (责任书); a bad letter or frontage is refused next to its field."""

    can_delete = True
    column_list = ("code", "name", "address", "grid", "unit", "contact", "letter_signed_on", "letter_duties")
    column_searchable_list = ("code", "name", "address", "contact", "grid.code", "grid.name_zh", "unit.name_zh")
    form_columns = ("code", "name", "address", "grid", "unit", "contact", "lat", "lon", "frontage", "reach_metres",
                    "letter_number", "letter_signed_on", "letter_signer", "letter_duties", "letter_valid_from",
                    "letter_valid_until")
    form_overrides = {"frontage": fields.TextAreaField, "letter_duties": fields.SelectMultipleField}
    form_args = {"lat": {"validators": [Within(-90, 90, _l("Latitude must be between -90 and 90."))]},
                 "lon": {"validators": [Within(-180, 180, _l("Longitude must be between -180 and 180."))]},
                 "letter_duties": {"choices": _duty_choices, "validate_choice": False},
                 "reach_metres": {"default": 15.0, "validators": [validators.Optional()]}}
    column_formatters = {"letter_duties": _duties_cell}
    column_formatters_detail = column_formatters
    column_labels = {"code": _l("Register number"), "name": _l("Shop or site"), "address": _l("Address"),
                     "grid": _l("Grid"), "unit": _l("Responsible unit"), "contact": _l("Contact"),
                     "lat": _l("Latitude"), "lon": _l("Longitude"), "grid.code": _l("Grid code"),
                     "grid.name_zh": _l("Grid name"), "unit.name_zh": _l("Responsible unit"),
                     "frontage": _l("Frontage (GeoJSON)"), "reach_metres": _l("Reach beyond the frontage (metres)"),
                     "letter_number": _l("Responsibility letter number"),
                     "letter_signed_on": _l("Letter signed on"), "letter_signer": _l("Letter signed by"),
                     "letter_duties": _l("Duties the letter covers"), "letter_valid_from": _l("Letter valid from"),
                     "letter_valid_until": _l("Letter valid until")}
    column_descriptions = {"unit": _l("Empty: the grid's responsible unit answers for it."),
                           "frontage": _l("A GeoJSON line, polygon or point in WGS-84. Empty: the point above. A "
                                          "report within the reach names this holder."),
                           "letter_duties": _l("门前三包: appearance, sanitation, greenery; some cities add order "
                                               "and facilities (门前四包/五包).")}

    def on_form_prefill(self, form, id) -> None:
        holder = db.session.get(FrontageHolder, id)
        if holder is not None and holder.frontage:
            form.frontage.data = json.dumps(holder.frontage, ensure_ascii=False)

    def validate_form(self, form) -> bool:
        valid = super().validate_form(form)
        if "letter_duties" not in form:
            return valid
        if form.reach_metres.data is None:
            form.reach_metres.data = 15.0
        shaped, problems = frontage(form.frontage.data)
        problems += check_reach(form.reach_metres.data)
        problems += check_letter(LetterInput(
            form.letter_number.data, form.letter_signed_on.data, form.letter_signer.data,
            list(form.letter_duties.data or []), form.letter_valid_from.data, form.letter_valid_until.data))
        place_problems(form, problems)
        form.checked_frontage = shaped  # on the form, not the view: the view is shared by every request
        return valid and not problems

    def on_model_change(self, form, model: FrontageHolder, is_created: bool) -> None:
        model.frontage = getattr(form, "checked_frontage", None)
        model.letter_duties = list(model.letter_duties or []) or None
        for name in ("code", "letter_number", "letter_signer"):
            setattr(model, name, (getattr(model, name) or "").strip() or None)
        touch(model)  # every process rebuilds its holder index


def add_master_data_views(admin, category) -> None:
    admin.add_view(CampaignView(Campaign, db, name=_l("Campaigns"), category=category))
    admin.add_view(IntakePolicyView(IntakePolicy, db, name=_l("Intake by source type"), category=category))
    admin.add_view(CategoryView(Category, db, name=_l("Categories"), category=category))
    admin.add_view(UnitView(Unit, db, name=_l("Units"), category=category))
    admin.add_view(FrontageHolderView(FrontageHolder, db, name=_l("Frontage holders (门前三包)"), category=category))
    admin.add_view(SupervisionTierView(SupervisionTier, db, name=_l("Supervision tiers"), category=category))
    admin.add_view(TimelineView(Timeline, db, name=_l("Timelines"), category=category))
