"""Admin: the simulator page — one event through the draft and the active ruleset, side by side, with
every condition's fact value and the tasks the hit policy would create. Nothing is written."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import flash
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateTimeLocalField, IntegerField, SelectField, StringField
from wtforms.validators import Optional

from admin.base import Guarded, named_choices
from engine.authoring.campaigns import campaign_for, campaign_zone
from engine.authoring.scenarios import TIME_FORMAT
from engine.core.models import Category, Grid
from rules.facts import FACTS
from rules.wording import describe_condition
from web.common.explain import namer
from web.common.extensions import db
from web.common.i18n import short_lang
from web.simulate import run
from workers.engine_call import EngineUnavailable

class SimulationForm(FlaskForm):
    event_id = IntegerField(_l("Stored event id (instead of the fields below)"), validators=[Optional()])
    category = SelectField(_l("Category"), validators=[Optional()])
    grid = SelectField(_l("Grid"), validators=[Optional()])
    occurred_at = DateTimeLocalField(_l("Occurred at (local time)"), format="%Y-%m-%dT%H:%M",
                                     validators=[Optional()])
    source_type = SelectField(_l("Source type"), choices=named_choices("source_type"), default="hotline")
    filing_condition = StringField(_l("Filing condition (optional)"), validators=[Optional()])


class SimulatorView(Guarded, BaseView):
    roles = ("admin", "auditor", "assessor")

    @expose("/", methods=("GET", "POST"))
    def index(self):
        lang = short_lang()
        form = SimulationForm()
        form.category.choices = [(c.code, f"{c.code} {c.name_zh if lang == 'zh' else c.name_en}") for c in
                                 db.session.scalars(select(Category).order_by(Category.code)) if c.conditions]
        form.grid.choices = [(g.code, f"{g.code} {g.name_zh if lang == 'zh' else g.name_en}")
                             for g in db.session.scalars(select(Grid).order_by(Grid.code))]
        results = {}
        zone = campaign_zone(campaign_for(db.session, None))
        if form.validate_on_submit():
            if form.event_id.data:
                body = {"event_id": form.event_id.data}
            else:
                moment = (form.occurred_at.data or datetime.now(zone).replace(tzinfo=None)).replace(tzinfo=zone)
                body = {"event": {k: v for k, v in {
                    "category": form.category.data, "grid": form.grid.data, "occurred_at": moment.isoformat(),
                    "source_type": form.source_type.data,
                    "filing_condition": form.filing_condition.data or None}.items() if v is not None}}
            try:
                for label in ("draft", "active"):
                    status, answer = run({**body, "ruleset": label})
                    if status == 200:
                        results[label] = answer
                    else:
                        for p in answer:
                            flash(f"{label}: {p.where}: {p.as_dict(lang)['message']}", "danger")
            except EngineUnavailable:
                flash(_("No engine worker answered in time; start one with 'civicrules worker' and try again."),
                      "danger")
        saved_as = {label: json.dumps(as_scenario(body.get("event"), answer, zone), ensure_ascii=False)
                    for label, answer in results.items() if "event" in body}
        return self.render("admin/simulator.html", form=form, results={k: readable(v, lang) for k, v in results.items()},
                           lang=lang, saved_as=saved_as)


def readable(answer: dict[str, Any], lang: str) -> dict[str, Any]:
    """The answer as the page shows it: units and rules by name, each condition in words with category, grid
    and unit names (`类别 属于 早(夜)市（09013）`), never `category in ['09013']`."""
    name_of = namer()
    i = 0 if lang == "zh" else 1
    for campaign in answer.get("campaigns") or []:
        titles = {r["key"]: r["title"] for r in campaign.get("rules") or []}
        for task in campaign.get("tasks") or []:
            task["unit_name"] = name_of(i, task["unit"])
            task["rule_title"] = titles.get(task["rule"], task["rule"])
        for rule in campaign.get("rules") or []:
            for cond in rule.get("conditions") or []:
                cond["text"] = describe_condition(cond, lang, name_of) if cond.get("fact") in FACTS else \
                    f"{cond.get('fact')} {cond.get('op')} {cond.get('value')}"
    return answer


def as_scenario(event: dict[str, Any], answer: dict[str, Any], zone: ZoneInfo) -> dict[str, Any]:
    """The simulator's outcome as a scenario's expectation, for the admin to edit before saving; its local time
    is in the campaign's zone, as scenarios are read."""
    local = datetime.fromisoformat(event["occurred_at"]).astimezone(zone).strftime(TIME_FORMAT)
    first = (answer.get("campaigns") or [{}])[0]
    tasks = [{"unit": t["unit"], "list": t["list"], "limit": t["limit"]} for t in first.get("tasks") or []]
    return {"title": "", "tags": sorted({t["unit"] for t in tasks}),
            "event": {"category": event.get("category"), "grid": event.get("grid"), "local_time": local,
                      "source_type": event.get("source_type", "hotline")},
            "expected": {"tasks": tasks, "fire": list(first.get("fired") or []), "stage": answer.get("admission")}}
