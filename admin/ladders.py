"""Supervision tiers with their member users and units, and timelines with ordered steps: both part of the
campaign's versioned bundle, so a save changes the draft only."""
from __future__ import annotations


from flask_admin.form import BaseForm
from flask_admin.model.form import InlineFormAdmin
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from wtforms import fields

from admin.base import shown_label
from engine.core.models import (SupervisionTier,
                                TierMember, Timeline, TimelineStep)
from engine.handling.tasks import STATES
from admin.fields import (DURATION_UNITS, DraftView, DurationField, ForwardOnlyConverter, POSITION_FIELD_ARGS,
                          STEP_ACTIONS, TIER_LEVELS, TIME_MODES, campaign_choices, campaign_name,
                          choice_label, duration_parts, exactly_one_member, in_chinese, renumber,
                          tier_for_action, unique_in_campaign)


# --- supervision tiers ---------------------------------------------------------------------------------

class TierMemberInline(InlineFormAdmin):
    form_columns = ("id", "user", "unit")
    form_args = {"user": {"label": _l("User"), "validators": [exactly_one_member]},
                 "unit": {"label": _l("Unit")}}


def _members(view, context, model: SupervisionTier, name: str) -> str:
    return "; ".join(str(m.user) if m.user else shown_label(m.unit) for m in model.members)


class SupervisionTierView(DraftView):
    column_list = ("campaign_id", "level", "name_zh", "name_en", "members")
    column_default_sort = [("campaign_id", False), ("level", False)]
    form_columns = ("campaign_id", "level", "name_zh", "name_en", "members")
    form_overrides = {"campaign_id": fields.SelectField, "level": fields.SelectField}
    form_args = {"campaign_id": {"choices": campaign_choices, "coerce": int},
                 "level": {"choices": TIER_LEVELS, "coerce": int}, "members": {"label": _l("Member")}}
    inline_models = (TierMemberInline(TierMember),)
    column_formatters = {"members": _members, "level": lambda v, c, m, n: choice_label(TIER_LEVELS, m.level),
                         "campaign_id": campaign_name}
    column_formatters_detail = column_formatters
    column_labels = {"campaign_id": _l("Campaign"), "level": _l("Level"), "name_zh": _l("Name (Chinese)"),
                     "name_en": _l("Name (English)"), "members": _l("Members (users and units)")}

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
    after_minutes = DurationField(_l("After how long"))
    time_mode = fields.SelectField(_l("Counted in"), choices=TIME_MODES, default="working")
    unless_state = fields.SelectField(_l("Unless the task is"), choices=_state_choices, coerce=lambda v: v or None)
    action = fields.SelectField(_l("Then"), choices=STEP_ACTIONS)
    tier_level = fields.SelectField(_l("Tier"), choices=[("", "—"), *TIER_LEVELS],
                                    coerce=lambda v: int(v) if v not in (None, "", "None") else None,
                                    validators=[tier_for_action])


class StepInline(InlineFormAdmin):
    def get_form(self) -> type[BaseForm]:
        return StepForm


def _steps(view, context, model: Timeline, name: str) -> Markup:
    items = []
    for step in model.steps:
        number, unit = duration_parts(step.after_minutes)
        text = _("after %(number)s %(unit)s (%(mode)s): %(action)s", number=number, unit=choice_label(DURATION_UNITS, unit),
                 mode=choice_label(TIME_MODES, step.time_mode), action=choice_label(STEP_ACTIONS, step.action))
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
        return unique_in_campaign(form, Timeline, "code", _("This campaign already has a timeline with this code."))

    def on_model_change(self, form, model: Timeline, is_created: bool) -> None:
        renumber(model.steps)
