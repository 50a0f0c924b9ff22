"""Supervising bodies (tiers) with their member users and units and the unit types they supervise, and timelines
with ordered steps anchored to the deadline: both part of the campaign's versioned bundle, so a save changes the
draft only. A ladder out of order, or listing a task publicly before its deadline, is refused next to the step."""
from __future__ import annotations

from typing import Any

from flask_admin.form import BaseForm
from flask_admin.model.form import InlineFormAdmin
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from wtforms import fields, validators

from admin.base import shown_label
from engine.core.models import (SupervisionTier,
                                TierMember, Timeline, TimelineStep)
from engine.handling.ladder import FrozenStep, order_problems
from engine.handling.tasks import STATES
from admin.fields import (ANCHORS, BODY_LEVELS, DURATION_UNITS, DraftView, DurationField, ForwardOnlyConverter,
                          POSITION_FIELD_ARGS, STEP_ACTIONS, SUPERVISED_KINDS, TIER_LEVELS, campaign_choices,
                          campaign_name, choice_label, duration_parts, exactly_one_member, in_chinese, renumber,
                          tier_for_action, unique_in_campaign)
from web.common.i18n import short_lang


# --- supervision tiers ---------------------------------------------------------------------------------

class TierMemberInline(InlineFormAdmin):
    form_columns = ("id", "user", "unit")
    form_args = {"user": {"label": _l("User"), "validators": [exactly_one_member]},
                 "unit": {"label": _l("Unit")}}


def _members(view, context, model: SupervisionTier, name: str) -> str:
    return "; ".join(str(m.user) if m.user else shown_label(m.unit) for m in model.members)


def _kinds(view, context, model: SupervisionTier, name: str) -> str:
    return "、".join(choice_label(SUPERVISED_KINDS, k) for k in model.unit_types or []) or _("any other unit")


class SupervisionTierView(DraftView):
    """A supervising body: its level is its board; its rung is how high a ladder step must reach it, for the
    kinds of unit it supervises (the bureau's squads go 中队 → 督察中队 → 局领导, the others to the committee)."""

    column_list = ("campaign_id", "level", "name_zh", "name_en", "rung", "unit_types", "members")
    column_default_sort = [("campaign_id", False), ("level", False)]
    form_columns = ("campaign_id", "level", "name_zh", "name_en", "rung", "unit_types", "members")
    form_overrides = {"campaign_id": fields.SelectField, "level": fields.SelectField, "rung": fields.SelectField,
                      "unit_types": fields.SelectMultipleField}
    form_args = {"campaign_id": {"choices": campaign_choices, "coerce": int},
                 "level": {"choices": BODY_LEVELS, "coerce": int}, "members": {"label": _l("Member")},
                 "rung": {"choices": [("", "—"), *TIER_LEVELS],
                          "coerce": lambda v: int(v) if v not in (None, "", "None") else None},
                 "unit_types": {"choices": SUPERVISED_KINDS}}
    inline_models = (TierMemberInline(TierMember),)
    column_formatters = {"members": _members, "level": lambda v, c, m, n: choice_label(BODY_LEVELS, m.level),
                         "rung": lambda v, c, m, n: choice_label(TIER_LEVELS, m.rung or m.level),
                         "unit_types": _kinds, "campaign_id": campaign_name}
    column_formatters_detail = column_formatters
    column_labels = {"campaign_id": _l("Campaign"), "level": _l("Level"), "name_zh": _l("Name (Chinese)"),
                     "name_en": _l("Name (English)"), "members": _l("Members (users and units)"),
                     "rung": _l("Takes ladder steps of"), "unit_types": _l("Supervises")}
    column_descriptions = {"unit_types": _l("The kinds of unit whose late tasks come to this body; none: any unit "
                                            "no other body names.")}

    def validate_form(self, form) -> bool:
        valid = super().validate_form(form)
        if not valid or "level" not in form:
            return valid
        return unique_in_campaign(form, SupervisionTier, "level",
                                   _("This campaign already has a tier at this level."))


# --- timelines -----------------------------------------------------------------------------------------

def _state_choices() -> list[tuple[str, str]]:
    zh = in_chinese()
    return [("", _("— none —"))] + [(k, zh_name if zh else en_name) for k, (zh_name, en_name) in STATES.items()]


class StepForm(BaseForm):
    """One timeline step; after_minutes is shown as a number and a unit."""

    id = fields.HiddenField()
    position = fields.IntegerField(**POSITION_FIELD_ARGS)
    anchor = fields.SelectField(_l("When"), choices=ANCHORS, default="at")
    share = fields.FloatField(_l("Share of the limit"), default=None, validators=[validators.Optional()],
                              description=_l("For a share of the limit: e.g. 0.8 for 80 %."))
    after_minutes = DurationField(_l("How long before or after the deadline"))
    unless_state = fields.SelectField(_l("Unless the task is"), choices=_state_choices, coerce=lambda v: v or None)
    action = fields.SelectField(_l("Then"), choices=STEP_ACTIONS)
    tier_level = fields.SelectField(_l("Up to"), choices=[("", "—"), *TIER_LEVELS],
                                    coerce=lambda v: int(v) if v not in (None, "", "None") else None,
                                    validators=[tier_for_action])


class StepInline(InlineFormAdmin):
    def get_form(self) -> type[BaseForm]:
        return StepForm


def anchor_text(anchor: str, share: float | None, minutes: float) -> str:
    """When a step falls due, as a person reads it: at 80 % of the limit, 2 hours before the deadline …"""
    if anchor == "share":
        return _("at %(percent)s %% of the limit", percent=f"{(share or 0) * 100:g}")
    if anchor == "at":
        return _("at the deadline")
    number, unit = duration_parts(minutes)
    values = {"number": number, "unit": choice_label(DURATION_UNITS, unit)}
    if anchor == "before":
        return _("%(number)s %(unit)s before the deadline", **values)
    return _("%(number)s %(unit)s overdue", **values)


def _steps(view, context, model: Timeline, name: str) -> Markup:
    items = []
    for step in model.steps:
        text = anchor_text(step.anchor, step.share, step.after_minutes) + ": " + choice_label(STEP_ACTIONS, step.action)
        if step.tier_level:
            text += " → " + choice_label(TIER_LEVELS, step.tier_level)
        if step.unless_state:
            text += " " + _("unless %(state)s", state=dict(_state_choices()).get(step.unless_state, step.unless_state))
        items.append(Markup("<li>{}</li>").format(text))
    return Markup("<ol class='mb-0'>{}</ol>").format(Markup("").join(items))


class TimelineView(DraftView):
    """Ordered steps: after how long, counted in working or continuous time, unless the task is in a state."""

    inline_model_form_converter = ForwardOnlyConverter
    column_list = ("campaign_id", "code", "name_zh", "name_en", "steps")
    column_searchable_list = ("code", "name_zh", "name_en")
    form_columns = ("campaign_id", "code", "name_zh", "name_en", "steps")
    form_overrides = {"campaign_id": fields.SelectField}
    inline_models = (StepInline(TimelineStep),)
    form_args = {"campaign_id": {"choices": campaign_choices, "coerce": int}, "steps": {"label": _l("Step")}}
    column_formatters = {"steps": _steps, "campaign_id": campaign_name}
    column_formatters_detail = column_formatters
    column_labels = {"campaign_id": _l("Campaign"), "code": _l("Code"), "name_zh": _l("Name (Chinese)"),
                     "name_en": _l("Name (English)"), "steps": _l("Steps")}

    def validate_form(self, form) -> bool:
        valid = super().validate_form(form)
        if not valid or "code" not in form:
            return valid
        return (unique_in_campaign(form, Timeline, "code", _("This campaign already has a timeline with this code."))
                and _in_order(form))

    def on_model_change(self, form, model: Timeline, is_created: bool) -> None:
        renumber(model.steps)


def _in_order(form) -> bool:
    """The ladder as the form orders it, checked by the engine; each problem shown next to its step's field."""
    entries = [e for e in form.steps.entries if not form.steps.should_delete(e)]
    entries.sort(key=lambda e: (e.form.position.data is None, e.form.position.data or 0))
    steps = [FrozenStep(i, e.form.anchor.data, e.form.share.data, float(e.form.after_minutes.data or 0),
                        e.form.action.data, e.form.tier_level.data, e.form.unless_state.data)
             for i, e in enumerate(entries)]
    problems = order_problems(steps)
    for problem in problems:
        index, _dot, name = problem.where.partition("].")
        entry: Any = entries[int(index[len("steps["):])]
        getattr(entry.form, name).errors.append(problem.message(short_lang()))
    return not problems
