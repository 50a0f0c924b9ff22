"""Admin views of the assessment configuration: composite-score weights and peer groups per campaign and whose
tasks carry a case's points when units cooperate on it (主办/协办: the lead only, or shared), points per happening on
list rows, bottom-N sanction rules; the sanctions lists kept, read-only.

Weights and points are one number box per known key, peer groups are rows (name + unit types) added and
removed by web/static/assessment-admin.js; each stores the same JSON the engine reads (engine.assessment.ranking,
engine.assessment.indicators.points_for). Problems are shown next to the box that caused them.
"""
from __future__ import annotations

import math
import re
from typing import Any, Callable, Optional

from flask import url_for
from flask_admin import Admin
from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy import select
from wtforms import fields
from wtforms.utils import unset_value
from wtforms.validators import InputRequired
from wtforms.validators import Optional as Blank
from wtforms.widgets import NumberInput

from admin.base import MasterDataView, ReadOnlyView
from admin.list_rows import ROW_FORMATTERS
from engine.assessment.case_rates import DEFAULT_BASIC_WEIGHT, DEFAULT_RESPONSE_HOURS
from engine.assessment.indicators import HAPPENINGS
from engine.core.models import AssessmentConfig, Campaign, ListItem, SanctionDue, SanctionRule, Unit
from engine.assessment.ranking import (DEFAULT_CAPS, DEFAULT_NO_CASES, DEFAULT_PEER_GROUPS, DEFAULT_WEIGHTS,
                                      NO_CASE_PLACEMENTS, config_for)
from engine.assessment.sanctions import KINDS, SANCTIONS, describe
from engine.cases.cooperation import COOPERATION_POINTS
from web.assessment import group_label, rate_labels
from admin.masterdata import UNIT_TYPES
from web.common.extensions import db
from web.common.i18n import short_lang

_ROW = re.compile(r"^peer_groups-(\d+)-name$")


def weight_labels() -> dict[str, str]:
    """Each composite-score weight by its name in the user's language, in DEFAULT_WEIGHTS order."""
    names = {**rate_labels(), "points_lost": _("Points lost (per point)"), "rebounds": _("Rebounds (per rebound)")}
    return {key: names.get(key, key) for key in DEFAULT_WEIGHTS}


def cap_labels() -> dict[str, str]:
    """The deductions that are capped (扣完为止), by name in the user's language."""
    return {"points_lost": _("Points lost: at most"), "rebounds": _("Rebounds: at most")}


def happening_labels() -> dict[str, str]:
    names = {"overdue": _("Task overdue"), "failed_check": _("Failed check"), "rebound": _("Rebound"),
             "inspection": _("Inspection finding")}
    return {key: names.get(key, key) for key in HAPPENINGS}


def unit_type_labels() -> dict[str, str]:
    """Unit types an administrator may group: the unit editor's list plus any type units already have."""
    labels = {key: str(label) for key, label in UNIT_TYPES}
    for (kind,) in db.session.execute(select(Unit.type).distinct()):
        if kind:
            labels.setdefault(kind, kind)
    return labels


def _group_label(group: str) -> str:
    return group_label(group)


def _in_language(table: dict[str, tuple[str, str]], code: Optional[str]) -> str:
    """A code of KINDS / SANCTIONS by its name in the user's language; an unknown code as it is."""
    names = table.get(code or "")
    return (names[0] if short_lang() == "zh" else names[1]) if names else (code or "")


def _choices(table: dict[str, tuple[str, str]]) -> list[tuple[str, LazyString]]:
    return [(code, LazyString(_in_language, table, code)) for code in table]


def _number_text(value: Any) -> str:
    if value is None or value == "":
        return ""
    number = float(value)
    return str(int(number)) if number.is_integer() else str(number)


def _feedback(message: Optional[str]) -> str:
    return f'<div class="invalid-feedback d-block">{escape(message)}</div>' if message else ""


class NumbersField(fields.Field):
    """One number box per known key, stored as {key: number}; an empty box leaves its key out, so the
    engine's default applies (shown greyed in the box)."""

    def __init__(self, label=None, validators=None, labels: Callable[[], dict[str, str]] = dict,
                 defaults: Optional[dict[str, Any]] = None, **kwargs: Any) -> None:
        super().__init__(label, validators, **kwargs)
        self.labels, self.defaults = labels, dict(defaults or {})
        self.problems: dict[str, str] = {}
        self._texts: Optional[dict[str, str]] = None

    def __call__(self, **kwargs: Any) -> Markup:
        data = self.data if isinstance(self.data, dict) else {}
        cells = []
        for key, label in self.labels().items():
            text = self._texts[key] if self._texts is not None else _number_text(data.get(key))
            invalid = " is-invalid" if key in self.problems else ""
            placeholder = _number_text(self.defaults.get(key))
            cells.append(
                f'<div class="form-group col-sm-6 col-lg-4 mb-2" data-key="{key}">'
                f'<label class="small mb-0" for="{self.name}-{key}">{escape(label)}</label>'
                f'<input type="number" min="0" step="any" class="form-control{invalid}" id="{self.name}-{key}" '
                f'name="{self.name}-{key}" value="{escape(text)}" placeholder="{escape(placeholder)}">'
                f'{_feedback(self.problems.get(key))}</div>')
        return Markup(f'<div class="form-row" id="{self.id}"><input type="hidden" name="{self.name}" value="boxes">'
                      f'{"".join(cells)}</div>')

    def process(self, formdata, data=unset_value, extra_filters=None) -> None:
        self.problems, self._texts = {}, None
        super().process(formdata, data, extra_filters)
        if formdata is None or self.name not in formdata:
            return
        self._texts = {key: (formdata.get(f"{self.name}-{key}") or "").strip() for key in self.labels()}
        self.data = {}
        for key, text in self._texts.items():
            if not text:
                continue
            try:
                number = float(text)
            except ValueError:
                number = math.nan
            if not math.isfinite(number):
                self.problems[key] = _("Enter a number.")
            elif number < 0:
                self.problems[key] = _("Enter a number of at least 0.")
            else:
                self.data[key] = int(number) if number.is_integer() else number

    def process_formdata(self, valuelist: list[str]) -> None:
        """The marker input only says the boxes were sent; process() reads them."""

    def pre_validate(self, form) -> None:
        labels = self.labels()
        for key, message in self.problems.items():
            self.errors.append(f"{labels.get(key, key)}: {message}")


class PeerGroupsField(fields.Field):
    """Peer groups as rows (a group's name and its unit types), stored as {unit type: group name}."""

    def __init__(self, label=None, validators=None, **kwargs: Any) -> None:
        super().__init__(label, validators, **kwargs)
        self.problems: dict[int, dict[str, str]] = {}
        self._rows: Optional[list[tuple[str, list[str]]]] = None

    def rows(self) -> list[tuple[str, list[str]]]:
        if self._rows is not None:
            return self._rows
        grouped: dict[str, list[str]] = {}
        for kind, group in (self.data or {}).items():
            grouped.setdefault(str(group), []).append(str(kind))
        return list(grouped.items())

    def __call__(self, **kwargs: Any) -> Markup:
        labels = unit_type_labels()
        rows = self.rows() + [("", [])]
        for _name, kinds in rows:
            for kind in kinds:
                labels.setdefault(kind, kind)
        html = "".join(self._row(index, name, kinds, labels) for index, (name, kinds) in enumerate(rows))
        add = escape(_("Add a peer group"))
        return Markup(
            f'<div id="{self.id}" data-peer-groups="{self.name}"><input type="hidden" name="{self.name}" value="rows">'
            f'{html}</div><button type="button" class="btn btn-sm btn-outline-primary" '
            f'data-peer-group-add="{self.name}">{add}</button>')

    def _row(self, index: int, name: str, kinds: list[str], labels: dict[str, str]) -> str:
        problems = self.problems.get(index, {})
        prefix = f"{self.name}-{index}"
        boxes = "".join(
            f'<div class="form-check form-check-inline"><input class="form-check-input" type="checkbox" '
            f'id="{prefix}-types-{kind}" name="{prefix}-types" value="{escape(kind)}"'
            f'{" checked" if kind in kinds else ""}><label class="form-check-label" for="{prefix}-types-{kind}">'
            f'{escape(label)}</label></div>' for kind, label in labels.items())
        invalid = " is-invalid" if "name" in problems else ""
        title, remove, types = escape(_("Group name")), escape(_("Remove this group")), escape(_("Unit types"))
        return (
            f'<fieldset class="border rounded p-2 mb-2" data-peer-row="{index}">'
            f'<div class="d-flex align-items-start"><div class="flex-grow-1 mr-2">'
            f'<label class="small mb-0" for="{prefix}-name">{title}</label>'
            f'<input type="text" class="form-control{invalid}" id="{prefix}-name" name="{prefix}-name" '
            f'value="{escape(name)}" maxlength="64">{_feedback(problems.get("name"))}</div>'
            f'<button type="button" class="btn btn-sm btn-outline-danger mt-3" data-peer-group-remove '
            f'title="{remove}" aria-label="{remove}">×</button></div>'
            f'<div class="small mt-1">{types}</div><div>{boxes}</div>'
            f'{_feedback(problems.get("types"))}</fieldset>')

    def process(self, formdata, data=unset_value, extra_filters=None) -> None:
        self.problems, self._rows = {}, None
        super().process(formdata, data, extra_filters)
        if formdata is None or self.name not in formdata:
            return
        indexes = sorted(int(m.group(1)) for key in formdata if (m := _ROW.match(key)))
        sent = [((formdata.get(f"{self.name}-{i}-name") or "").strip(), formdata.getlist(f"{self.name}-{i}-types"))
                for i in indexes]
        self._rows = [(name, kinds) for name, kinds in sent if name or kinds]
        self.data = {kind: name for name, kinds in self._rows for kind in kinds if name}

    def process_formdata(self, valuelist: list[str]) -> None:
        """The marker input only says the rows were sent; process() reads them."""

    def pre_validate(self, form) -> None:
        if self._rows is None:
            return
        known = unit_type_labels()
        taken: dict[str, str] = {}
        names: set[str] = set()
        for index, (name, kinds) in enumerate(self._rows):
            problems: dict[str, str] = {}
            if not name:
                problems["name"] = _("Enter the group's name.")
            elif name in names:
                problems["name"] = _("Group %(name)s is already a row above; put all its unit types in one row.",
                                     name=name)
            names.add(name)
            unknown = [k for k in kinds if k not in known]
            twice = [k for k in kinds if k in taken]
            if not kinds:
                problems["types"] = _("Choose at least one unit type.")
            elif unknown:
                problems["types"] = _("Unknown unit type: %(types)s.", types=", ".join(unknown))
            elif twice:
                problems["types"] = _("%(type)s is already in group %(group)s; a unit type belongs to one group.",
                                      type=known[twice[0]], group=taken[twice[0]])
            for kind in kinds:
                taken.setdefault(kind, name)
            if problems:
                self.problems[index] = problems
                self.errors.extend(problems.values())


def _weights_shown(view, context, model, name) -> str:
    labels, values = weight_labels(), getattr(model, name) or {}
    return " · ".join(f"{labels.get(k, k)} {_number_text(v)}" for k, v in values.items())


def _peer_groups_shown(view, context, model, name) -> str:
    kinds, grouped = unit_type_labels(), {}
    for kind, group in (model.peer_groups or {}).items():
        grouped.setdefault(group, []).append(kinds.get(kind, kind))
    return "; ".join(f"{_group_label(g)}: {', '.join(members)}" for g, members in grouped.items())


def _caps_shown(view, context, model, name) -> str:
    labels = cap_labels()
    return " · ".join(f"{labels.get(k, k)} {_number_text(v)}" for k, v in (model.deduction_caps or {}).items())


def _points_shown(view, context, model, name) -> str:
    labels = happening_labels()
    return " · ".join(f"{labels.get(k, k)} {_number_text(v)}" for k, v in (model.point_rules or {}).items())


class _AssessmentView(MasterDataView):
    @property
    def extra_js(self) -> list[str]:
        return [url_for("static", filename="assessment-admin.js")]


class AssessmentConfigView(_AssessmentView):
    column_list = ("campaign", "weights", "deduction_caps", "no_case_placement", "peer_groups", "cooperation_points",
                   "response_hours", "basic_satisfaction_weight")
    form_columns = column_list
    # SQLAlchemy 2.1's Float is no Numeric: Flask-Admin finds no converter for it and would drop the column.
    form_overrides = {"weights": NumbersField, "deduction_caps": NumbersField, "no_case_placement": fields.SelectField,
                      "peer_groups": PeerGroupsField, "cooperation_points": fields.SelectField,
                      "response_hours": fields.FloatField, "basic_satisfaction_weight": fields.FloatField}
    form_args = {"weights": {"labels": weight_labels, "defaults": DEFAULT_WEIGHTS},
                 "deduction_caps": {"labels": cap_labels, "defaults": DEFAULT_CAPS},
                 "no_case_placement": {"choices": _choices(NO_CASE_PLACEMENTS), "default": DEFAULT_NO_CASES},
                 "cooperation_points": {"choices": _choices(COOPERATION_POINTS), "default": "lead"},
                 "response_hours": {"widget": NumberInput(step="any", min=0), "default": 2.0,
                                    "validators": [Blank()]},
                 "basic_satisfaction_weight": {"widget": NumberInput(step="any", min=0, max=1), "default": 1.0,
                                               "validators": [Blank()]}}
    column_formatters = {"weights": _weights_shown, "peer_groups": _peer_groups_shown,
                         "deduction_caps": _caps_shown,
                         "no_case_placement": lambda view, context, model, name: _in_language(
                             NO_CASE_PLACEMENTS, model.no_case_placement),
                         "cooperation_points": lambda view, context, model, name: _in_language(
                             COOPERATION_POINTS, model.cooperation_points)}
    column_formatters_detail = column_formatters
    column_labels = {"campaign": _l("Campaign"), "weights": _l("Composite-score weights"),
                     "deduction_caps": _l("Deduction caps (扣完为止)"),
                     "no_case_placement": _l("Units with no cases"),
                     "peer_groups": _l("Peer groups"), "cooperation_points": _l("Points of a case with cooperating units"),
                     "response_hours": _l("Response limit (working hours)"),
                     "basic_satisfaction_weight": _l("Weight of 'basically satisfied'")}
    column_descriptions = {
        "cooperation_points": _l("Lead only: the case's points go to the lead unit's task. Shared: they are split "
                                 "equally among the lead's and the cooperating units' tasks, in hundredths, the lead "
                                 "taking what is left. Applies to cases dispatched from then on."),
        "weights": _l("Points per indicator; rework, overdue-unhandled and extension rates count as (1 − rate); "
                      "points lost and rebounds are deducted per point or rebound. An empty box uses the default "
                      "shown in grey."),
        "deduction_caps": _l("The most points lost and rebounds may take off the score; an empty box uses the default "
                             "shown in grey. The score never falls below zero."),
        "no_case_placement": _l("Where a unit goes when nothing was dispatched to it in the period (无案件): not "
                                "ranked, after every unit with cases without counting in the bottom, or last and "
                                "counting in the bottom."),
        "peer_groups": _l("Units are ranked only against units of the same group; a unit type belongs to one "
                          "group. Unit types in no group are not ranked; no group at all means the default groups."),
        "response_hours": _l("Response rate: the lead unit signs its task within this many working hours of "
                             "dispatch, on the campaign's working calendar."),
        "basic_satisfaction_weight": _l("Satisfaction rate: one 'basically satisfied' counts this much of one "
                                        "'satisfied' (0 to 1).")}

    def on_model_change(self, form, model, is_created):
        """An empty response limit or weight is the default (2 working hours; 基本满意 counts as 满意)."""
        if model.response_hours is None:
            model.response_hours = DEFAULT_RESPONSE_HOURS
        if model.basic_satisfaction_weight is None:
            model.basic_satisfaction_weight = DEFAULT_BASIC_WEIGHT
        model.deduction_caps = model.deduction_caps or None
        model.no_case_placement = model.no_case_placement or DEFAULT_NO_CASES

    def create_form(self, obj=None):
        """A new configuration starts from the engine's defaults (the model's column default is an empty dict)."""
        form = super().create_form(obj)
        if form.weights._texts is None and not form.weights.data:
            form.weights.data = dict(DEFAULT_WEIGHTS)
        if form.peer_groups._rows is None and not form.peer_groups.data:
            form.peer_groups.data = dict(DEFAULT_PEER_GROUPS)
        if form.deduction_caps._texts is None and not form.deduction_caps.data:
            form.deduction_caps.data = dict(DEFAULT_CAPS)
        return form

    def validate_form(self, form) -> bool:
        """One configuration per campaign: a second one is refused next to the campaign picker."""
        valid = super().validate_form(form)
        campaign: Optional[Campaign] = getattr(form, "campaign", None) and form.campaign.data
        if valid and campaign is not None:

            other = db.session.scalar(select(AssessmentConfig.id).where(AssessmentConfig.campaign_id == campaign.id))
            mine = getattr(getattr(form, "_obj", None), "id", None)
            if other is not None and other != mine:
                form.campaign.errors.append(_("This campaign already has its weights and peer groups; edit them."))
                valid = False
        hours = getattr(form, "response_hours", None)
        if hours is not None and hours.data is not None and not 0 < hours.data <= 1000:
            hours.errors.append(_("Enter a number of working hours above 0."))
            valid = False
        weight = getattr(form, "basic_satisfaction_weight", None)
        if weight is not None and weight.data is not None and not 0 <= weight.data <= 1:
            weight.errors.append(_("Enter a number from 0 to 1."))
            valid = False
        return valid


class PointRulesView(_AssessmentView):
    """Only the points column of list rows: the rest of a row is edited with its list."""

    can_create = False
    column_list = ("rule_list", "key", "title_zh", "points", "point_rules")
    form_columns = ("points", "point_rules")
    # SQLAlchemy 2.1's Float is no Numeric: Flask-Admin finds no converter for it and would drop the column.
    form_overrides = {"points": fields.FloatField, "point_rules": NumbersField}
    form_args = {"points": {"widget": NumberInput(step="any", min=0), "validators": [InputRequired()]},
                 "point_rules": {"labels": happening_labels}}
    column_formatters = {"point_rules": _points_shown}
    column_formatters_detail = {**column_formatters, **ROW_FORMATTERS}
    column_labels = {"rule_list": _l("List"), "position": _l("Number"), "key": _l("Row"), "title_zh": _l("Title"),
                     "points": _l("Default points"), "point_rules": _l("Points per happening")}
    column_descriptions = {"point_rules": _l("Points the responsible unit loses for each happening; an empty box "
                                             "costs the default points.")}

    def edit_form(self, obj=None):
        form = super().edit_form(obj)
        if obj is not None and obj.points is not None:
            form.point_rules.defaults = {kind: obj.points for kind in HAPPENINGS}
        return form

    def validate_form(self, form) -> bool:
        valid = super().validate_form(form)
        if valid and hasattr(form, "points") and form.points.data is not None and form.points.data < 0:
            form.points.errors.append(_("Enter a number of at least 0."))
            valid = False
        return valid

    def on_model_change(self, form, model, is_created):
        model.point_rules = model.point_rules or None


def _known_groups() -> list[str]:
    names = dict.fromkeys(DEFAULT_PEER_GROUPS.values())
    for (groups,) in db.session.execute(select(AssessmentConfig.peer_groups)):
        names.update(dict.fromkeys(str(g) for g in (groups or {}).values()))
    return list(names)


class SanctionRuleView(_AssessmentView):
    column_list = ("campaign", "code", "kind", "bottom_n", "periods", "peer_group", "sanction", "enabled")
    form_columns = column_list
    form_overrides = {"kind": fields.SelectField, "sanction": fields.SelectField, "peer_group": fields.SelectField}
    form_args = {"kind": {"choices": _choices(KINDS)}, "sanction": {"choices": _choices(SANCTIONS)},
                 "peer_group": {"choices": []}}
    column_formatters = {
        "kind": lambda view, context, model, name: describe(model.kind, model.bottom_n, model.periods, short_lang()),
        "sanction": lambda view, context, model, name: _in_language(SANCTIONS, model.sanction),
        "peer_group": lambda view, context, model, name: _group_label(model.peer_group) if model.peer_group
        else _("All groups")}
    column_formatters_detail = column_formatters
    column_labels = {"campaign": _l("Campaign"), "code": _l("Code"), "kind": _l("Rule"), "bottom_n": _l("Bottom N"),
                     "periods": _l("K (periods)"), "peer_group": _l("Peer group"),
                     "sanction": _l("Sanction"), "enabled": _l("Enabled")}

    def _with_groups(self, form):
        groups = _known_groups()
        if form.peer_group.data and form.peer_group.data not in groups:
            groups.append(form.peer_group.data)
        form.peer_group.choices = [("", _("All groups"))] + [(g, _group_label(g)) for g in groups]
        return form

    def create_form(self, obj=None):
        return self._with_groups(super().create_form(obj))

    def edit_form(self, obj=None):
        return self._with_groups(super().edit_form(obj))

    def validate_form(self, form) -> bool:
        """Besides the fields themselves: N and K at least 1, and the peer group one the campaign ranks by."""
        valid = super().validate_form(form)
        if not valid or not hasattr(form, "bottom_n"):
            return valid
        for field in (form.bottom_n, form.periods):
            if field.data is None or field.data < 1:
                field.errors.append(_("Enter a whole number of at least 1."))
                valid = False
        campaign: Optional[Campaign] = form.campaign.data
        if form.peer_group.data and campaign is not None:

            _weights, groups = config_for(db.session, campaign)
            if form.peer_group.data not in set(groups.values()):
                form.peer_group.errors.append(_("Campaign %(campaign)s has no peer group %(group)s.",
                                                campaign=campaign.code, group=_group_label(form.peer_group.data)))
                valid = False
        return valid

    def on_model_change(self, form, model, is_created):
        model.peer_group = model.peer_group or None


class SanctionDueView(ReadOnlyView):
    column_list = ("run.period", "rule", "unit", "sanction", "ranks")
    column_formatters = {"sanction": lambda view, context, model, name: _in_language(SANCTIONS, model.sanction)}
    column_formatters_detail = column_formatters
    column_labels = {"run.period": _l("Period"), "rule": _l("Rule"), "unit": _l("Unit"), "sanction": _l("Sanction"),
                     "ranks": _l("Ranks that caused it")}


def add_assessment_views(admin: Admin) -> None:
    category = _l("Assessment")
    admin.add_view(AssessmentConfigView(AssessmentConfig, db, name=_l("Weights and peer groups"), category=category))
    admin.add_view(PointRulesView(ListItem, db, name=_l("Points per list row"), category=category,
                                  endpoint="assessment_points"))
    admin.add_view(SanctionRuleView(SanctionRule, db, name=_l("Sanction rules"), category=category))
    admin.add_view(SanctionDueView(SanctionDue, db, name=_l("Sanctions due"), category=category))
