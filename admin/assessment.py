"""Admin views of the assessment configuration: composite-score weights and peer groups per campaign,
points per happening on list rows, bottom-N sanction rules; the sanctions lists kept, read-only."""
from __future__ import annotations

from typing import Any

from flask_admin import Admin
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms.validators import ValidationError

from admin import MasterDataView, ReadOnlyView
from engine.indicators import HAPPENINGS
from engine.models import AssessmentConfig, ListItem, SanctionDue, SanctionRule
from engine.ranking import DEFAULT_PEER_GROUPS, DEFAULT_WEIGHTS
from engine.sanctions import KINDS, SANCTIONS


def _numbers(value: Any, allowed: tuple[str, ...], field: str, minimum: float | None = None) -> None:
    """A JSON object whose keys are among `allowed` and whose values are numbers (≥ minimum)."""
    if value is None:
        return
    if not isinstance(value, dict):
        raise ValidationError(_("%(field)s must be a JSON object.", field=field))
    for key, number in value.items():
        if key not in allowed:
            raise ValidationError(_("%(field)s: unknown key %(key)s; allowed: %(allowed)s.", field=field, key=key,
                                    allowed=", ".join(allowed)))
        numeric = isinstance(number, (int, float)) and not isinstance(number, bool)
        if not numeric or (minimum is not None and number < minimum):
            raise ValidationError(_("%(field)s: %(key)s must be a number of at least 0.", field=field, key=key))


class AssessmentConfigView(MasterDataView):
    column_list = ("campaign", "weights", "peer_groups")
    form_columns = ("campaign", "weights", "peer_groups")
    column_labels = {"campaign": _l("Campaign"), "weights": _l("Composite-score weights"),
                     "peer_groups": _l("Peer groups (unit type → group)")}
    column_descriptions = {
        "weights": _l("Points per indicator; rework, overdue-unhandled and extension rates count as (1 − rate); "
                      "points_lost and rebounds are deducted per point or rebound. Keys: %(keys)s",
                      keys=", ".join(DEFAULT_WEIGHTS)),
        "peer_groups": _l("Units are ranked only against units of the same group, e.g. %(example)s",
                          example=str(DEFAULT_PEER_GROUPS))}

    def on_model_change(self, form, model, is_created):
        _numbers(model.weights, tuple(DEFAULT_WEIGHTS), str(_("Composite-score weights")), minimum=0)
        groups = model.peer_groups or {}
        if not isinstance(groups, dict) or not all(isinstance(k, str) and isinstance(v, str) and v
                                                   for k, v in groups.items()):
            raise ValidationError(_("Peer groups must map unit types to group names, e.g. %(example)s",
                                    example=str(DEFAULT_PEER_GROUPS)))


class PointRulesView(MasterDataView):
    """Only the points column of list rows: the rest of a row is edited with its list."""

    can_create = False
    column_list = ("rule_list", "key", "title_zh", "points", "point_rules")
    form_columns = ("points", "point_rules")
    column_labels = {"rule_list": _l("List"), "key": _l("Row"), "title_zh": _l("Title"),
                     "points": _l("Default points"), "point_rules": _l("Points per happening")}
    column_descriptions = {"point_rules": _l('Points the responsible unit loses for each happening, e.g. '
                                             '{"overdue": 2, "failed_check": 1, "rebound": 3, "inspection": 5}; '
                                             'a happening left out costs the default points.')}

    def on_model_change(self, form, model, is_created):
        _numbers(model.point_rules, HAPPENINGS, str(_("Points per happening")), minimum=0)


class SanctionRuleView(MasterDataView):
    column_list = ("campaign", "code", "kind", "bottom_n", "periods", "peer_group", "sanction", "enabled")
    form_columns = column_list
    form_choices = {"kind": [(k, f"{zh} / {en}") for k, (zh, en) in KINDS.items()],
                    "sanction": [(k, f"{zh} / {en}") for k, (zh, en) in SANCTIONS.items()]}
    column_labels = {"campaign": _l("Campaign"), "code": _l("Code"), "kind": _l("Rule"), "bottom_n": _l("Bottom N"),
                     "periods": _l("K (periods)"), "peer_group": _l("Peer group (empty: all)"),
                     "sanction": _l("Sanction"), "enabled": _l("Enabled")}

    def on_model_change(self, form, model, is_created):
        if not model.bottom_n or model.bottom_n < 1 or not model.periods or model.periods < 1:
            raise ValidationError(_("Bottom N and K must be at least 1."))


class SanctionDueView(ReadOnlyView):
    column_list = ("run.period", "rule", "unit", "sanction", "ranks")
    column_labels = {"run.period": _l("Period"), "rule": _l("Rule"), "unit": _l("Unit"), "sanction": _l("Sanction"),
                     "ranks": _l("Ranks that caused it")}


def add_assessment_views(admin: Admin) -> None:
    from web.extensions import db

    category = _l("Assessment")
    admin.add_view(AssessmentConfigView(AssessmentConfig, db, name=_l("Weights and peer groups"), category=category))
    admin.add_view(PointRulesView(ListItem, db, name=_l("Points per list row"), category=category,
                                  endpoint="assessment_points"))
    admin.add_view(SanctionRuleView(SanctionRule, db, name=_l("Sanction rules"), category=category))
    admin.add_view(SanctionDueView(SanctionDue, db, name=_l("Sanctions due"), category=category))
