"""Admin: the guided rule editor for a campaign's hand-written rules — condition rows with the right widget
for each fact, nested all/any/none groups, action rows with pickers, and a raw JSON view of the same
document. Saving edits the draft only, and only after the schema, the whole draft bundle and the
durable_rules compile check all accept it; otherwise nothing is stored and each problem names its path."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from flask import flash, jsonify, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import case, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.routing import BuildError
from wtforms import HiddenField

from admin.base import READERS, Guarded, may_edit, require_editor
from engine.core import clock
from engine.durable import compile_check
from engine.authoring.drafts import catalog_for, draft_bundle, validate_bundle
from engine.core.models import (Campaign, Category, FilingCondition, Grid, Rule, RulesetVersion, SupervisionTier, TaskTemplate, Timeline, Unit)
from rules.compiler import CompiledRuleset
from rules.document import CHANNELS, LIMIT_UNITS, OPERATORS_BY_TYPE, Catalog, validate_rule
from rules.problems import InputError, Problem
from rules.facts import FACTS
from web.common.extensions import db
from web.common.i18n import short_lang

OPERATOR_LABELS = {
    "eq": _l("is"), "ne": _l("is not"), "in": _l("is one of"), "not_in": _l("is none of"),
    "gt": _l("is more than"), "gte": _l("is at least"), "lt": _l("is less than"), "lte": _l("is at most"),
    "between": _l("is between"), "not_between": _l("is outside"), "exists": _l("has a value"),
}
LIMIT_UNIT_LABELS = {"urgent_hours": _l("hours (around the clock)"), "working_hours": _l("working hours"),
                     "working_days": _l("working days"), "urgent_days": _l("days (around the clock)")}
WEEKDAYS = (_l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"), _l("Saturday"),
            _l("Sunday"))
BLANK = {"key": "", "title": {"zh": "", "en": ""}, "enabled": True,
         "when": {"all": [{"fact": "category", "op": "in", "value": []}]},
         "then": [{"do": "create_task", "template": "", "assign": "grid_unit"}]}


class RuleForm(FlaskForm):
    document = HiddenField()
    base = HiddenField()  # rule_stamp of the rule as the page showed it


def rule_stamp(rule: Rule) -> str:
    """A digest of the stored rule: a save based on an older one would overwrite someone else's edit."""
    stored = [rule.version, rule.enabled, rule.document]
    return hashlib.sha256(json.dumps(stored, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


def campaign_for(session: Session, code: str | None) -> Campaign | None:
    """The campaign asked for, else the active one (then the newest draft)."""
    if code:
        return session.scalar(select(Campaign).where(Campaign.code == code))
    return session.scalar(select(Campaign).order_by(case((Campaign.status == "active", 0), else_=1),
                                                    Campaign.id.desc()).limit(1))


@dataclass
class CheckedRule:
    """A rule document that passed every check short of durable_rules, with what saving it needs."""

    doc: dict[str, Any]
    enabled: bool
    version: int
    existing: Rule | None
    compiled: CompiledRuleset


def check_rule(session: Session, campaign: Campaign, doc: Any, original_key: str | None) -> CheckedRule:
    """The schema, the key and the whole draft with this rule in it; raise InputError (paths relative to
    the rule) on any problem. Reads only: the live check calls it on every edit."""
    catalog = catalog_for(session, campaign)
    validate_rule(doc, catalog)
    doc = {k: v for k, v in doc.items() if k not in ("version",)}
    enabled = doc.pop("enabled", True)
    existing = session.scalar(select(Rule).where(Rule.campaign_id == campaign.id,
                                                 Rule.key == (original_key or doc["key"])))
    if original_key and doc["key"] != original_key:
        raise InputError([Problem("key", "a saved rule keeps its key (firings name it); make a new rule "
                                         "for a new key", "已保存规则的键不能更改（触发记录引用它）；如需新键请新建规则")])
    if not original_key and existing is not None:
        raise InputError([Problem("key", f"this campaign already has a rule {doc['key']!r}",
                                         f"本专项行动已有键为 {doc['key']!r} 的规则")])
    version = (existing.version + (existing.document != doc)) if existing else 1
    docs = draft_bundle(session, campaign)
    if existing is not None:
        at = max(i for i, d in enumerate(docs) if d.get("key") == existing.key)
        del docs[at]
    if any(d.get("key") == doc["key"] for d in docs):  # a list row's rule, switched on or off
        raise InputError([Problem("key", f"a list row of this campaign already has the key {doc['key']!r}",
                                         f"本专项行动的清单行已使用键 {doc['key']!r}")])
    docs.append({**doc, "enabled": enabled, "version": version})
    return CheckedRule(doc, enabled, version, existing, _bundle_check(docs, catalog, doc["key"]))


def save_rule(session: Session, campaign: Campaign, doc: Any, original_key: str | None) -> Rule:
    """Store `doc` as the campaign's draft rule once check_rule and durable_rules accept it; raise
    InputError and leave the session untouched otherwise."""
    checked = check_rule(session, campaign, doc, original_key)
    refused = compile_check.check(checked.compiled.as_dict())
    if refused:
        raise InputError([Problem("(compile)", f"durable_rules refused the ruleset: {p.en}",
                                         f"durable_rules 无法注册规则集：{p.zh}") for p in refused])
    rule = checked.existing or Rule(campaign_id=campaign.id, key=checked.doc["key"])
    rule.document, rule.enabled, rule.version, rule.updated_at = (checked.doc, checked.enabled, checked.version,
                                                                   clock.now())
    session.add(rule)
    session.flush()
    return rule


def _bundle_check(docs: list[dict[str, Any]], catalog: Catalog, key: str) -> CompiledRuleset:
    try:
        return validate_bundle(docs, catalog)
    except InputError as err:
        own = f"{key}: "
        problems = []
        for p in err.problems:
            if p.where.startswith(own):
                problems.append(Problem(p.where[len(own):], p.en, p.zh))
            else:
                problems.append(Problem(f"(draft) {p.where}", f"elsewhere in the draft: {p.en}",
                                        f"草稿中其他位置：{p.zh}"))
        raise InputError(problems) from err


def published_rules(session: Session, campaign: Campaign) -> dict[str, int]:
    """Rule key -> the rule version in force (enabled rules of the published version), to flag pending edits."""
    version = session.get(RulesetVersion, campaign.published_version_id) if campaign.published_version_id else None
    return {key: int(doc.get("version", 1)) for key, doc in ((version.rules or {}) if version else {}).items()}


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
        "operators": {op: str(label) for op, label in OPERATOR_LABELS.items()},
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
        "limit_units": [{"code": u, "label": str(LIMIT_UNIT_LABELS[u])} for u in LIMIT_UNITS],
        "channels": list(CHANNELS),
        "weekdays": [str(d) for d in WEEKDAYS],
    }


def problem_rows(problems: list[Problem], lang: str) -> list[dict[str, str]]:
    return [{"path": p.where, "message": p.message(lang)} for p in problems]


def _parse(text: str) -> Any:
    """The submitted document, or InputError saying where the JSON breaks."""
    try:
        return json.loads(text or "")
    except json.JSONDecodeError as err:
        raise InputError([Problem("(json)", f"the JSON is malformed at line {err.lineno}, column {err.colno}: "
                                         f"{err.msg}", f"JSON 格式错误：第 {err.lineno} 行第 {err.colno} 列，{err.msg}")])


class RuleEditorView(Guarded, BaseView):
    roles = READERS

    @expose("/")
    def index(self):
        campaign = campaign_for(db.session, request.args.get("campaign"))
        rules = db.session.scalars(select(Rule).where(Rule.campaign_id == campaign.id).order_by(Rule.key)).all() \
            if campaign else []
        campaigns = db.session.scalars(select(Campaign).order_by(Campaign.id)).all()
        tz = ZoneInfo(campaign.timezone if campaign else "Asia/Shanghai")
        return self.render("admin/rules_editor/index.html", campaign=campaign, campaigns=campaigns, rules=rules,
                           lang=short_lang(), editable=may_edit(), versions_url=_versions_url(), tz=tz,
                           published=published_rules(db.session, campaign) if campaign else {})

    @expose("/edit/", methods=("GET", "POST"))
    def edit(self):
        if request.method == "POST":
            require_editor()
        campaign = campaign_for(db.session, request.args.get("campaign"))
        if campaign is None:
            flash(_("No such campaign."), "danger")
            return redirect(url_for(".index"))
        key = request.args.get("key") or None
        # A save locks the rule until it commits, so a concurrent save waits and then sees this one's stamp.
        query = select(Rule).where(Rule.campaign_id == campaign.id, Rule.key == key)
        if request.method == "POST":
            query = query.with_for_update().execution_options(populate_existing=True)
        rule = db.session.scalar(query) if key else None
        if key and rule is None:
            flash(_("This campaign has no rule %(key)s.", key=key), "danger")
            return redirect(url_for(".index", campaign=campaign.code))
        lang = short_lang()
        form = RuleForm()
        doc: Any = {**rule.document, "enabled": rule.enabled} if rule else json.loads(json.dumps(BLANK))
        source = db.session.scalar(select(Rule).where(Rule.campaign_id == campaign.id,
                                                      Rule.key == request.args["copy"])) \
            if not key and request.args.get("copy") else None
        if source is not None:  # a copy starts switched off, so it never fires twice alongside its original
            doc = {**source.document, "key": f"{source.key}-copy", "enabled": False}
        problems: list[dict[str, str]] = []
        raw = None
        if request.method == "GET":
            form.base.data = rule_stamp(rule) if rule else ""
        if form.validate_on_submit() and rule is not None and form.base.data != rule_stamp(rule):
            db.session.rollback()
            problems = [{"path": "(stale)", "message": _(
                "Someone else changed this rule since you opened it. Nothing was saved: reload the page to see "
                "their version, then make your change again.") if form.base.data else _(
                "Nothing was saved: the save did not say which version of the rule it was based on. Reload the "
                "page, then make your change again.")}]
            raw = form.document.data
            return self.render("admin/rules_editor/edit.html", form=form, campaign=campaign, rule=rule, doc=doc,
                               raw=raw, problems=problems, picker=picker_data(db.session, campaign, lang), lang=lang,
                               editable=may_edit(), versions_url=_versions_url()), 409
        if form.validate_on_submit():
            try:
                doc = _parse(form.document.data)
                saved = save_rule(db.session, campaign, doc, key)
                db.session.commit()
            except InputError as err:
                db.session.rollback()
                problems = problem_rows(err.problems, lang)
                if any(p["path"] == "(json)" for p in problems):
                    raw = form.document.data
            except IntegrityError:  # a new rule whose key someone else saved between our check and our commit
                db.session.rollback()
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
            check_rule(db.session, campaign, body.get("document"), request.args.get("key") or None)
        except InputError as err:
            return jsonify({"problems": problem_rows(err.problems, short_lang())})
        return jsonify({"problems": []})


def _versions_url() -> str | None:
    try:
        return url_for("versions.index")
    except BuildError:  # the versions page is registered by its own view; link only once it exists
        return None
