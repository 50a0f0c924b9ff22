"""Admin: rule scenarios — each campaign's scenarios listed, created and edited with every fault next to its
field, and checked against the draft on demand; the simulator's "Save as scenario" opens the form filled in
with its outcome, to edit before saving. Readers see everything; only editors save or delete."""
from __future__ import annotations

import json
from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import Optional

from admin import base
from admin.base import Guarded, named_choices
from engine.authoring import scenario_files, scenarios
from engine.authoring.campaigns import campaign_for
from engine.authoring.scenario_coverage import coverage, from_event
from engine.core.models import Campaign, Category, Event, Grid, Scenario
from rules.problems import InputError
from web.common.extensions import db
from web.common.i18n import short_lang

#: clean()'s field paths -> the form field they are shown next to.
FIELD_OF = {"title": "title", "tags": "tags", "event.category": "category", "event.grid": "grid", "event": "category",
            "event.local_time": "local_time", "event.source_type": "source_type", "event.filing_condition": "filing_condition", "event.facts": "facts",
            "history": "history", "expected.tasks": "tasks", "expected.fire": "fire", "expected.not_fire": "not_fire",
            "expected.stage": "stage", "expected.nothing": "nothing", "expected": "tasks"}


class ScenarioForm(FlaskForm):
    campaign = SelectField(_l("Campaign"), coerce=int)
    title = StringField(_l("Title"))
    tags = StringField(_l("Tags (list items, units; separated by commas)"), validators=[Optional()])
    category = SelectField(_l("Category"))
    grid = SelectField(_l("Grid"))
    local_time = StringField(_l("Occurred at (local time, e.g. 2026-05-12 09:30)"))
    source_type = SelectField(_l("Source type"), choices=named_choices("source_type"), default="hotline")
    filing_condition = StringField(_l("Filing condition (optional)"), validators=[Optional()])
    facts = TextAreaField(_l("Place facts (JSON, e.g. {\"in_zone\": [\"strict_street\"]})"), validators=[Optional()])
    history = TextAreaField(_l("Stated history (JSON, e.g. {\"repeats_7d\": 2}; empty: no history)"),
                            validators=[Optional()])
    tasks = TextAreaField(_l("Expected tasks, one per line: unit | list | limit | points"), validators=[Optional()])
    fire = StringField(_l("Rules that must fire (keys, separated by commas)"), validators=[Optional()])
    not_fire = StringField(_l("Rules that must not fire"), validators=[Optional()])
    stage = SelectField(_l("How the report enters its case"), choices=[("", "—")] + [(s, s) for s in scenarios.STAGES],
                        validators=[Optional()])
    nothing = BooleanField(_l("Nothing from the lists"))


def _choices(form: ScenarioForm, lang: str) -> None:
    form.campaign.choices = [(c.id, c.name_zh if lang == "zh" else c.name_en)
                             for c in db.session.scalars(select(Campaign).order_by(Campaign.id))]
    form.category.choices = [(c.code, f"{c.code} {c.name_zh if lang == 'zh' else c.name_en}")
                             for c in db.session.scalars(select(Category).order_by(Category.code))]
    form.grid.choices = [(g.code, f"{g.code} {g.name_zh if lang == 'zh' else g.name_en}")
                         for g in db.session.scalars(select(Grid).order_by(Grid.code))]


def _fill(form: ScenarioForm, data: dict[str, Any]) -> None:
    event, expected = data.get("event") or {}, data.get("expected") or {}
    form.title.data = data.get("title", "")
    form.tags.data = ", ".join(data.get("tags") or [])
    form.category.data, form.grid.data = event.get("category"), event.get("grid")
    form.local_time.data, form.source_type.data = event.get("local_time"), event.get("source_type", "hotline")
    form.filing_condition.data = event.get("filing_condition") or ""
    form.facts.data = json.dumps(event["facts"], ensure_ascii=False) if event.get("facts") else ""
    form.history.data = json.dumps(data["history"], ensure_ascii=False) if data.get("history") else ""
    form.tasks.data = "\n".join(scenario_files.task_text(t) for t in expected.get("tasks") or [])
    form.fire.data, form.not_fire.data = ", ".join(expected.get("fire") or []), ", ".join(expected.get("not_fire") or [])
    form.stage.data, form.nothing.data = expected.get("stage") or "", bool(expected.get("nothing"))


def _json(form_field, errors: dict[str, list[str]], name: str) -> dict[str, Any]:
    if not (form_field.data or "").strip():
        return {}
    try:
        value = json.loads(form_field.data)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        errors.setdefault(name, []).append(_("Not a JSON object."))
        return {}
    return value


def _data(form: ScenarioForm, errors: dict[str, list[str]]) -> dict[str, Any]:
    """The form as `scenarios.save` takes it; unreadable text becomes an error next to its field."""
    event: dict[str, Any] = {"category": form.category.data, "grid": form.grid.data,
                             "local_time": (form.local_time.data or "").strip(), "source_type": form.source_type.data,
                             "facts": _json(form.facts, errors, "facts")}
    if (form.filing_condition.data or "").strip():
        event["filing_condition"] = form.filing_condition.data.strip()
    expected: dict[str, Any] = {"fire": scenario_files.keys_of(form.fire.data or ""),
                                "not_fire": scenario_files.keys_of(form.not_fire.data or ""),
                                "stage": form.stage.data or None, "nothing": bool(form.nothing.data)}
    if (form.tasks.data or "").strip():
        try:
            expected["tasks"] = [scenario_files.parse_task(t) for t in scenario_files.split_lines(form.tasks.data)]
        except ValueError:
            errors.setdefault("tasks", []).append(_("Write each task as: unit | list | 2 urgent_hours | 3"))
    return {"title": form.title.data or "", "tags": scenario_files.keys_of(form.tags.data or ""), "event": event,
            "history": _json(form.history, errors, "history"), "expected": expected}


def _places() -> dict[str, str]:
    """Category and grid codes with their names, as the scenario list shows them."""
    zh = short_lang() == "zh"
    named = {c.code: f"{c.name_zh if zh else c.name_en}（{c.code}）" for c in db.session.scalars(select(Category))}
    return named | {g.code: f"{g.name_zh if zh else g.name_en}（{g.code}）" for g in db.session.scalars(select(Grid))}


class ScenariosView(Guarded, BaseView):
    roles = base.READERS

    @expose("/")
    def index(self):
        found = list(db.session.scalars(select(Scenario).order_by(Scenario.campaign_id, Scenario.title)))
        names = {c.id: c for c in db.session.scalars(select(Campaign))}
        return self.render("admin/scenarios/index.html", scenarios=found, campaigns=names, lang=short_lang(),
                           may_edit=base.may_edit(), results=None, places=_places())

    @expose("/run/<int:campaign_id>", methods=("POST",))
    def run(self, campaign_id: int):
        """The campaign's scenarios against its draft, here and now (rules fire in a child process)."""
        campaign = db.session.get(Campaign, campaign_id)
        if campaign is None or not FlaskForm().validate_on_submit():
            abort(404)
        lang = short_lang()
        try:
            results = [o.as_dict(lang) for o in scenarios.run(db.session, campaign, "draft")]
        except InputError as err:
            results = []
            for p in err.problems:
                flash(f"{p.where}: {p.message(lang)}", "danger")
        db.session.rollback()
        found = list(db.session.scalars(select(Scenario).order_by(Scenario.campaign_id, Scenario.title)))
        names = {c.id: c for c in db.session.scalars(select(Campaign))}
        return self.render("admin/scenarios/index.html", scenarios=found, campaigns=names, lang=lang,
                           may_edit=base.may_edit(), results=results, places=_places())

    @expose("/coverage/<int:campaign_id>")
    def coverage(self, campaign_id: int):
        """The list rows, rules and duty-list routes no scenario guards."""
        campaign = db.session.get(Campaign, campaign_id)
        if campaign is None:
            abort(404)
        lang = short_lang()
        return self.render("admin/scenarios/coverage.html", campaign=campaign, found=coverage(db.session, campaign, lang),
                           lang=lang)

    @expose("/from-event/<int:event_id>")
    def from_event(self, event_id: int):
        """A past event's page's "Save as scenario": its outcome opens the form, to edit before saving."""
        event = db.session.get(Event, event_id)
        campaign = campaign_for(db.session, None)
        if event is None or campaign is None:
            abort(404)
        return redirect(url_for(".edit", **{"from": json.dumps(from_event(db.session, event, campaign),
                                                               ensure_ascii=False)}))

    @expose("/new", methods=("GET", "POST"))
    @expose("/<int:scenario_id>", methods=("GET", "POST"))
    def edit(self, scenario_id: int | None = None):
        lang = short_lang()
        scenario = db.session.get(Scenario, scenario_id) if scenario_id is not None else None
        if scenario_id is not None and scenario is None:
            abort(404)
        form = ScenarioForm()
        _choices(form, lang)
        errors: dict[str, list[str]] = {}
        if request.method == "POST":
            base.require_editor()
            if form.validate_on_submit():
                campaign = db.session.get(Campaign, form.campaign.data)
                data = _data(form, errors)
                if campaign is not None and not errors:
                    try:
                        saved = scenarios.save(db.session, campaign, data, scenario)
                    except InputError as err:
                        db.session.rollback()
                        for p in err.problems:
                            name = FIELD_OF.get(p.where) or FIELD_OF.get(p.where.split("[")[0]) or \
                                FIELD_OF.get(".".join(p.where.split(".")[:2]), "title")
                            errors.setdefault(name, []).append(p.message(lang))
                    else:
                        db.session.commit()
                        flash(_("Scenario saved: it is checked on every publish."), "success")
                        return redirect(url_for(".edit", scenario_id=saved.id))
        elif scenario is not None:
            form.campaign.data = scenario.campaign_id
            _fill(form, scenarios.as_data(scenario))
        elif request.args.get("from"):  # the simulator's "Save as scenario": its outcome, to edit before saving
            try:
                _fill(form, json.loads(request.args["from"]))
            except (ValueError, TypeError, AttributeError):
                flash(_("The simulator's outcome could not be read; fill in the form."), "warning")
        return self.render("admin/scenarios/edit.html", form=form, errors=errors, scenario=scenario,
                           may_edit=base.may_edit(), lang=lang)

    @expose("/<int:scenario_id>/delete", methods=("POST",))
    def delete(self, scenario_id: int):
        base.require_editor()
        scenario = db.session.get(Scenario, scenario_id)
        if scenario is None or not FlaskForm().validate_on_submit():
            abort(404)
        db.session.delete(scenario)
        db.session.commit()
        flash(_("Scenario deleted."), "success")
        return redirect(url_for(".index"))
