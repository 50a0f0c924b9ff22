"""Admin: the guided rule editor for a campaign's hand-written rules — condition rows with the right widget
for each fact, nested all/any/none groups, action rows with pickers, and a raw JSON view of the same
document. Saving edits the draft only, and only after the schema, the whole draft bundle and the
durable_rules compile check all accept it; otherwise nothing is stored and each problem names its path."""
from __future__ import annotations

from typing import Any

from flask import flash, jsonify, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.routing import BuildError
from wtforms import HiddenField

from admin.base import READERS, Guarded, may_edit, require_editor
from engine.authoring import rules as authored
from engine.authoring import scenarios
from engine.authoring.campaigns import campaign_for, campaign_zone
from engine.authoring.stamps import StaleEdit, rule_stamp
from engine.authoring.vocabulary import (CHANNELS, FACTS, OPERATORS_BY_TYPE, InputError, Problem,
                                         limit_units_for_editor, operators_for_editor)
from engine.core.models import Campaign, Category, FilingCondition, Grid, SupervisionTier, TaskTemplate, Timeline, Unit
from web.common.extensions import db
from web.common.i18n import short_lang

WEEKDAYS = (_l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"), _l("Saturday"),
            _l("Sunday"))


class RuleForm(FlaskForm):
    document = HiddenField()
    base = HiddenField()  # rule_stamp of the rule as the page showed it


def _name(row, lang: str) -> str:
    return row.name_zh if lang == "zh" else row.name_en


def picker_data(session: Session, campaign: Campaign, lang: str) -> dict[str, Any]:
    """Everything the guided form offers, labelled in the user's language."""
    categories = session.scalars(select(Category).order_by(Category.code)).all()
    templates: dict[str, str] = {}
    for t in session.scalars(select(TaskTemplate).order_by(TaskTemplate.code, TaskTemplate.version)):
        templates[t.code] = _name(t, lang)
    return {
        "facts": [{"name": f.name, "type": f.type, "label": f.zh if lang == "zh" else f.en,
                   "ops": list(OPERATORS_BY_TYPE[f.type]), "choices": list(f.choices)} for f in FACTS.values()],
        "operators": operators_for_editor(lang),
        "categories": [{"code": c.code, "label": _name(c, lang), "parent": c.parent.code if c.parent else None}
                       for c in categories],
        "units": [{"code": u.code, "label": _name(u, lang), "type": u.type}
                  for u in session.scalars(select(Unit).order_by(Unit.code))],
        "unit_types": sorted(set(session.scalars(select(Unit.type)))),
        "filing_conditions": sorted(set(session.scalars(select(FilingCondition.code)))),
        "grids": [{"code": g.code, "label": _name(g, lang)} for g in session.scalars(select(Grid).order_by(Grid.code))],
        "templates": [{"code": code, "label": label} for code, label in templates.items()],
        "timelines": [{"code": t.code, "label": _name(t, lang)} for t in session.scalars(
            select(Timeline).where(Timeline.campaign_id == campaign.id).order_by(Timeline.code))],
        "tiers": [{"level": t.level, "label": _name(t, lang)} for t in session.scalars(
            select(SupervisionTier).where(SupervisionTier.campaign_id == campaign.id).order_by(SupervisionTier.level))]
        or [{"level": n, "label": ""} for n in (1, 2, 3)],
        "limit_units": limit_units_for_editor(lang),
        "channels": list(CHANNELS),
        "weekdays": [str(d) for d in WEEKDAYS],
    }


def problem_rows(problems: list[Problem], lang: str) -> list[dict[str, str]]:
    return [{"path": p.where, "message": p.message(lang)} for p in problems]


class RuleEditorView(Guarded, BaseView):
    roles = READERS

    @expose("/")
    def index(self):
        campaign = campaign_for(db.session, request.args.get("campaign"))
        rules = authored.campaign_rules(db.session, campaign) if campaign else []
        campaigns = db.session.scalars(select(Campaign).order_by(Campaign.id)).all()
        return self.render("admin/rules_editor/index.html", campaign=campaign, campaigns=campaigns, rules=rules,
                           lang=short_lang(), editable=may_edit(), versions_url=_versions_url(),
                           tz=campaign_zone(campaign),
                           published=authored.published_rules(db.session, campaign) if campaign else {})

    @expose("/edit/", methods=("GET", "POST"))
    def edit(self):
        if request.method == "POST":
            require_editor()
        campaign = campaign_for(db.session, request.args.get("campaign"))
        if campaign is None:
            flash(_("No such campaign."), "danger")
            return redirect(url_for(".index"))
        key = request.args.get("key") or None
        rule = authored.find_rule(db.session, campaign, key) if key else None
        if key and rule is None:
            flash(_("This campaign has no rule %(key)s.", key=key), "danger")
            return redirect(url_for(".index", campaign=campaign.code))
        lang = short_lang()
        form = RuleForm()
        doc: Any = authored.document_of(rule)
        if not key and request.args.get("copy"):
            doc = authored.copy_of(db.session, campaign, request.args["copy"]) or doc
        problems: list[dict[str, str]] = []
        raw = None
        if request.method == "GET":
            form.base.data = rule_stamp(rule) if rule else ""
        if form.validate_on_submit():
            try:
                saved = authored.save_rule(db.session, campaign, form.document.data, key, form.base.data)
                db.session.commit()
            except StaleEdit as err:
                db.session.rollback()
                problems = [{"path": "(stale)", "message": _(
                    "Nothing was saved: the save did not say which version of the rule it was based on. Reload the "
                    "page, then make your change again.") if err.unstamped else _(
                    "Someone else changed this rule since you opened it. Nothing was saved: reload the page to see "
                    "their version, then make your change again.")}]
                return self.render("admin/rules_editor/edit.html", form=form, campaign=campaign, rule=rule, doc=doc,
                                   raw=form.document.data, problems=problems,
                                   picker=picker_data(db.session, campaign, lang), lang=lang, editable=may_edit(),
                                   versions_url=_versions_url()), 409
            except InputError as err:
                db.session.rollback()
                problems = problem_rows(err.problems, lang)
                if any(p["path"] == "(json)" for p in problems):
                    raw = form.document.data
                else:
                    doc = authored.parse_document(form.document.data)
            except IntegrityError:  # a new rule whose key someone else saved between our check and our commit
                db.session.rollback()
                doc = authored.parse_document(form.document.data)
                problems = [{"path": "key", "message": _(
                    "Someone else saved a rule with this key meanwhile. Nothing was saved: choose another key.")}]
            else:
                flash(_("Rule %(key)s saved to the draft as version %(version)s. Publish the draft to put it in "
                        "force.", key=saved.key, version=saved.version), "success")
                return redirect(url_for(".edit", campaign=campaign.code, key=saved.key))
        elif request.method == "POST":
            problems = [{"path": "(form)", "message": _("The form expired; reload the page and try again.")}]
        return self.render("admin/rules_editor/edit.html", form=form, campaign=campaign, rule=rule, doc=doc, raw=raw,
                           problems=problems, picker=picker_data(db.session, campaign, lang), lang=lang,
                           editable=may_edit(), versions_url=_versions_url())

    @expose("/check", methods=("POST",))
    def check(self):
        """Live validation while editing: everything saving checks but the durable_rules registration."""
        campaign = campaign_for(db.session, request.args.get("campaign"))
        body = request.get_json(silent=True)
        if campaign is None or not isinstance(body, dict):
            return jsonify({"problems": [{"path": "(document)", "message": _("Nothing to check.")}]}), 400
        try:
            checked = authored.check_rule(db.session, campaign, body.get("document"), request.args.get("key") or None)
        except InputError as err:
            return jsonify({"problems": problem_rows(err.problems, short_lang())})
        return jsonify({"problems": [], "scenarios": scenarios.warnings_for(db.session, campaign, checked.compiled,
                                                                            short_lang())})


def _versions_url() -> str | None:
    try:
        return url_for("versions.index")
    except BuildError:  # the versions page is registered by its own view; link only once it exists
        return None
