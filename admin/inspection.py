"""Inspection plans of 三级督查 in the admin: per campaign and tier, a scope (grids, streets, topics, work lists)
and a frequency. The scope is one JSON column; the form edits each kind as a multiple choice."""
from __future__ import annotations

from flask import g
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import SelectField, SelectMultipleField

from admin.base import ReadableModelView
from engine.core.models import Category, FilingCondition, Grid, InspectionPlan, Street
from engine.supervision.inspection import FREQUENCIES, SCOPE_KINDS, TIERS, WORKLISTS
from web.common.extensions import db
from web.common.i18n import short_lang


def _named(pairs: dict) -> list[tuple]:
    zh = short_lang() == "zh"
    return [(key, zh_en[0] if zh else zh_en[1]) for key, zh_en in pairs.items()]


def _in_language(pairs: dict, key) -> str:
    """A tier's or frequency's name in the reader's language; an unknown key as it is."""
    names = pairs.get(key)
    return str(key) if names is None else names[0 if short_lang() == "zh" else 1]


def _tier(level: int) -> str:
    return f"{level} {_in_language(TIERS, level)}" if level in TIERS else str(level)


#: What each kind of scope is called, as the form labels its field.
SCOPE_LABELS = {"grids": _l("Grids"), "streets": _l("Streets"), "categories": _l("Topics (categories)"),
                "worklists": _l("Work lists")}


def _choices(kind: str) -> list[tuple[str, str]]:
    zh = short_lang() == "zh"
    if kind == "worklists":
        return _named(WORKLISTS)
    if kind == "categories":
        rows = db.session.scalars(select(Category).where(Category.id.in_(select(FilingCondition.category_id)))
                                  .order_by(Category.code))
    else:
        rows = db.session.scalars(select(Grid if kind == "grids" else Street).order_by(Grid.code if kind == "grids"
                                                                                      else Street.code))
    return [(r.code, f"{r.code} {r.name_zh if zh else (r.name_en or r.name_zh)}") for r in rows]


def _scope_cell(view, context, model: InspectionPlan, name: str) -> str:
    """The scope as the form offers it: each kind by its label, each grid, street, topic or list by its name."""
    scope, zh = model.scope or {}, short_lang() == "zh"
    names = g.setdefault("inspection_scope_names", {})  # one query per kind per list page, not per row
    parts = []
    for kind in SCOPE_KINDS:
        if scope.get(kind):
            shown = names.setdefault(kind, dict(_choices(kind)))
            items = ("、" if zh else ", ").join(shown.get(code, code) for code in scope[kind])
            parts.append(f"{SCOPE_LABELS[kind]}{'：' if zh else ': '}{items}")
    return "; ".join(parts)


class InspectionPlanView(ReadableModelView):
    """A tier's inspection plan: 中队 its own grids daily, 督察中队 from the hotspot and overdue lists, 局领导 by
    special topic (categories)."""

    column_list = ("campaign", "code", "tier_level", "name_zh", "name_en", "frequency", "scope", "requires_location",
                   "active")
    column_default_sort = "code"
    column_searchable_list = ("code", "name_zh", "name_en")
    form_columns = ("campaign", "code", "tier_level", "name_zh", "name_en", "frequency", "grids", "streets",
                    "categories", "worklists", "requires_location", "active")
    form_overrides = {"tier_level": SelectField, "frequency": SelectField}
    form_args = {"tier_level": {"coerce": int, "choices": [(level, LazyString(_tier, level)) for level in TIERS],
                                "label": _l("Tier")},
                 "frequency": {"choices": [(key, LazyString(_in_language, FREQUENCIES, key)) for key in FREQUENCIES],
                               "label": _l("Frequency")}}
    form_extra_fields = {
        "grids": SelectMultipleField(SCOPE_LABELS["grids"], choices=[],
                                     description=_l("中队: all the grids it covers (全面督查).")),
        "streets": SelectMultipleField(SCOPE_LABELS["streets"], choices=[]),
        "categories": SelectMultipleField(SCOPE_LABELS["categories"], choices=[],
                                          description=_l("局领导 special topics; empty: every category.")),
        "worklists": SelectMultipleField(SCOPE_LABELS["worklists"], choices=[],
                                         description=_l("督察中队: work from the hotspot and overdue lists.")),
    }
    column_formatters = {"scope": _scope_cell, "tier_level": lambda v, c, m, n: _tier(m.tier_level),
                         "frequency": lambda v, c, m, n: _in_language(FREQUENCIES, m.frequency)}
    column_formatters_detail = column_formatters
    column_labels = {"campaign": _l("Campaign"), "code": _l("Code"), "tier_level": _l("Tier"),
                     "name_zh": _l("Name (Chinese)"), "name_en": _l("Name (English)"), "frequency": _l("Frequency"),
                     "scope": _l("Scope"), "requires_location": _l("Requires the finding's location"),
                     "active": _l("Active")}

    def _with_choices(self, form, obj: InspectionPlan | None):
        for kind in SCOPE_KINDS:
            field = getattr(form, kind)
            field.choices = _choices(kind)
            if obj is not None and not field.data:
                field.data = list((obj.scope or {}).get(kind) or [])
        return form

    def create_form(self, obj=None):
        return self._with_choices(super().create_form(obj), None)

    def edit_form(self, obj=None):
        return self._with_choices(super().edit_form(obj), obj)

    def on_model_change(self, form, model: InspectionPlan, is_created: bool) -> None:
        model.scope = {kind: list(getattr(form, kind).data or []) for kind in SCOPE_KINDS}
        super().on_model_change(form, model, is_created)


def add_inspection_views(admin, category) -> None:
    admin.add_view(InspectionPlanView(InspectionPlan, db, name=_l("Inspection plans (三级督查)"), category=category))
