"""Admin: the zero-tolerance (零容忍), strict-management (严管理) and custom lists as decision tables —
one row per item with real widgets, a live analysis of overlapping and never-matching rows, and a save
that validates every row, the whole draft bundle and the durable_rules compile check before storing
anything. Saving edits the draft; publishing is the versions page's job."""
from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from flask import abort, flash, jsonify, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.routing import BuildError

from admin.base import READERS, Guarded, may_edit, require_editor
from engine.core import clock
from engine.durable import compile_check
from engine.authoring.drafts import catalog_for, draft_bundle, validate_bundle
from engine.core.models import Campaign, Category, Grid, ListItem, RuleList, TaskTemplate, Timeline, Unit
from rules.analysis import analyse
from rules.document import LIMIT_UNITS, LIST_KINDS
from rules.problems import InputError
from rules.facts import SOURCE_TYPES
from rules.list_rows import check_rows, to_editor
from rules.problems import Problem
from rules.lists import expand_row, row_rule_key
from web.common.extensions import db
from web.common.i18n import short_lang

#: Words for the page's widgets, by language (the rule language's own codes stay as they are).
LIMIT_UNIT_NAMES = {"urgent_hours": ("小时（连续计时）", "hours (continuous)"),
                    "working_hours": ("工作小时", "working hours"),
                    "working_days": ("工作日", "working days"),
                    "urgent_days": ("天（连续计时）", "days (continuous)")}
SOURCE_TYPE_NAMES = {"hotline": ("热线", "hotline"), "patrol": ("巡查", "patrol"), "camera": ("视频监控", "camera"),
                     "inspection": ("测评检查", "inspection"), "media": ("媒体", "media"),
                     "leader": ("领导交办", "leader"), "citizen": ("市民上报", "citizen")}


def campaign_today(campaign: Campaign) -> date:
    """The campaign's local date: the day effective windows are judged against."""
    return clock.now().astimezone(ZoneInfo(campaign.timezone or "Asia/Shanghai")).date()


def _name(obj: Any, lang: str) -> str:
    return obj.name_zh if lang == "zh" else obj.name_en


def reference(session: Session, campaign: Campaign, lang: str) -> dict[str, Any]:
    """What the widgets offer: the category catalogue (two levels), units, unit types, grids, templates,
    the campaign's timelines, limit units and source types, named in the user's language."""
    categories = list(session.scalars(select(Category).order_by(Category.code)))
    units = list(session.scalars(select(Unit).order_by(Unit.code)))
    latest = (select(TaskTemplate.code, func.max(TaskTemplate.version).label("version"))
              .group_by(TaskTemplate.code).subquery())
    templates = session.scalars(select(TaskTemplate).join(
        latest, (TaskTemplate.code == latest.c.code) & (TaskTemplate.version == latest.c.version))
        .order_by(TaskTemplate.code))
    pick = 0 if lang == "zh" else 1
    return {
        "categories": [{"code": c.code, "name": _name(c, lang), "parent": c.parent.code if c.parent else None}
                       for c in categories],
        "units": [{"code": u.code, "name": _name(u, lang), "type": u.type} for u in units],
        "unit_types": sorted({u.type for u in units}),
        "grids": [{"code": g.code, "name": _name(g, lang)} for g in session.scalars(select(Grid).order_by(Grid.code))],
        "templates": [{"code": t.code, "name": _name(t, lang)} for t in templates],
        "timelines": [{"code": t.code, "name": _name(t, lang)} for t in session.scalars(
            select(Timeline).where(Timeline.campaign_id == campaign.id).order_by(Timeline.code))],
        "limit_units": [{"code": u, "name": LIMIT_UNIT_NAMES.get(u, (u, u))[pick]} for u in LIMIT_UNITS],
        "source_types": [{"code": s, "name": SOURCE_TYPE_NAMES.get(s, (s, s))[pick]} for s in SOURCE_TYPES],
    }


def findings_of(kind: str, editor_rows: list[Any], catalog, today: date, lang: str) -> dict[str, Any]:
    """The live analysis of the rows being edited: overlaps and never-matching rows, and each row's
    problems by field, so the page marks them before anything is saved."""
    rows, problems = check_rows(kind, editor_rows, catalog, today)
    return {"rows": [{"index": a.index, "findings": [f.as_dict(lang) for f in a.findings]}
                     for a in analyse(rows, today)],
            "problems": [p.as_dict(lang) for p in problems]}


def _bundle_problems(session: Session, rule_list: RuleList, rows: list[dict[str, Any]],
                     today: date) -> list[Problem]:
    """The draft bundle with this list's rows replaced: validated whole, compiled, and registered with
    durable_rules in a child process. Problems of another list or rule are reported for the list."""
    campaign = session.get(Campaign, rule_list.campaign_id)
    mine = {row_rule_key(rule_list.kind, r["key"]): i for i, r in enumerate(rows)}
    docs = [d for d in draft_bundle(session, campaign) if (d.get("origin") or {}).get("list") != rule_list.kind]
    docs += [expand_row(rule_list.kind, r, today) for r in rows]
    try:
        compiled = validate_bundle(docs, catalog_for(session, campaign))
    except InputError as err:
        out = []
        for p in err.problems:
            key = p.where.split(":", 1)[0]
            if key in mine:
                out.append(Problem("row", p.en, p.zh, row=mine[key]))
            else:
                out.append(Problem("row", f"elsewhere in the draft: {p.where}: {p.en}",
                                      f"草稿的其他部分有误：{p.where}：{p.zh}"))
        return out
    return [Problem("row", f"durable_rules refused the draft: {message.en}",
                       f"durable_rules 无法注册草稿：{message.zh}") for message in compile_check.check(compiled.as_dict())]


def save_rows(session: Session, rule_list: RuleList, editor_rows: list[Any]) -> list[Problem]:
    """Replace the list's rows with the edited ones in the caller's transaction, or change nothing and
    return every problem. A row keeps its stored item (and its per-happening points) by id, else by key."""
    campaign = session.get(Campaign, rule_list.campaign_id)
    today = campaign_today(campaign)
    rows, problems = check_rows(rule_list.kind, editor_rows, catalog_for(session, campaign), today)
    if problems:
        return problems
    problems = _bundle_problems(session, rule_list, rows, today)
    if problems:
        return problems
    by_id = {item.id: item for item in rule_list.items}
    by_key = {item.key: item for item in rule_list.items}
    kept: list[ListItem | None] = [None] * len(rows)
    for index, editor in enumerate(editor_rows):  # ids first, so a renamed row keeps its item ...
        item = by_id.get(editor.get("id")) if type(editor.get("id")) is int else None
        if item is not None and item not in kept:
            kept[index] = item
    for index, row in enumerate(rows):  # ... then keys, for rows sent without an id
        item = by_key.get(row["key"])
        if kept[index] is None and item is not None and item not in kept:
            kept[index] = item
    for item in list(rule_list.items):
        if item not in kept:
            rule_list.items.remove(item)  # delete-orphan: gone at the flush below, before any row takes its key
    held = {item.key: item for item in kept if item is not None}
    for item, row in zip(kept, rows):  # a key passed between stored rows (a swap, a chain) must not meet the
        if item is not None and held.get(row["key"], item) is not item:  # (list, key) constraint half-way
            item.key = f"~{item.id}"
    session.flush()
    items = []
    for position, (item, row) in enumerate(zip(kept, rows)):
        if item is None:
            item = ListItem()
        item.position, item.key = position, row["key"]
        item.title_zh, item.title_en = row["title"]["zh"], row["title"]["en"]
        item.categories, item.conditions, item.assign = row["categories"], row["conditions"], row["assign"]
        item.template_code, item.timeline_code, item.limit = row["template"], row["timeline"], row["limit"]
        item.points, item.legal_basis, item.enabled = row["points"], row["legal_basis"], row["enabled"]
        item.effective_from = date.fromisoformat(row["effective_from"]) if row["effective_from"] else None
        item.effective_to = date.fromisoformat(row["effective_to"]) if row["effective_to"] else None
        items.append(item)
    rule_list.items = items
    session.flush()
    return []


def kind_names() -> dict[str, str]:
    return {"zero_tolerance": _("Zero tolerance (零容忍)"), "strict_management": _("Strict management (严管理)"),
            "custom": _("Custom list")}


def messages() -> dict[str, str]:
    """The page script's words in the user's language."""
    return {"any": _("any"), "yes": _("yes"), "no": _("no"), "hours": _("Hours"), "to": _("to"),
            "weekend": _("Weekend"), "inspection": _("Inspection window"), "source_types": _("Source types"),
            "zone": _("Zone"), "zone_any": _("anywhere"), "zone_grid": _("grids"), "zone_unit_type": _("unit types"),
            "grid_unit": _("the grid's responsible unit"), "unit": _("a fixed unit"),
            "unit_type": _("nearest unit of a type"), "template": _("Template"), "timeline": _("Timeline"),
            "no_timeline": _("(no timeline)"), "choose": _("(choose)"), "limit": _("Limit"),
            "category_limit": _("(the category's limit)"), "from": _("From"), "until": _("Until"),
            "enabled": _("Enabled"), "title_zh": _("Chinese"), "title_en": _("English"),
            "choose_categories": _("Choose categories"), "filter": _("Filter by code or name"),
            "no_category": _("no category chosen"), "unknown_category": _("not in the catalogue"),
            "kept_conditions": _("Other conditions (kept as written)"), "remove": _("Remove"),
            "move_up": _("Move up"), "move_down": _("Move down"), "remove_row": _("Remove the row"),
            "checking": _("Checking…"), "checked": _("Checked."), "saving": _("Saving…"),
            "unsaved": _("Unsaved changes."), "failed": _("The server did not answer; nothing was saved."),
            "clean": _("No overlaps, every row can match."), "row": _("Row"),
            "key": _("Key"), "title": _("Title"), "categories": _("Categories covered"),
            "conditions": _("Conditions"), "assign": _("Responsible unit"), "task": _("Task"),
            "points": _("Points lost"), "legal_basis": _("Legal basis"), "effective": _("Effective"),
            "analysis": _("Analysis")}


def describe(row: dict[str, Any], lang: str) -> list[str]:
    """An editor row's conditions in words, for the read-only page."""
    out = []
    if row.get("hour_from") is not None:
        out.append(_("Hours %(start)s:00 to %(end)s:59", start=row["hour_from"], end=row["hour_to"]))
    for name, label in (("weekend", _("Weekend")), ("inspection", _("Inspection window"))):
        if row.get(name) in ("yes", "no"):
            out.append(f"{label}: {_('yes') if row[name] == 'yes' else _('no')}")
    if row.get("source_types"):
        pick = 0 if lang == "zh" else 1
        names = [SOURCE_TYPE_NAMES.get(s, (s, s))[pick] for s in row["source_types"]]
        out.append(f"{_('Source types')}: {', '.join(names)}")
    if row.get("zone_kind") in ("grid", "unit_type"):
        label = _("grids") if row["zone_kind"] == "grid" else _("unit types")
        out.append(f"{_('Zone')} ({label}): {', '.join(row['zone_values'])}")
    out += [f"{c.get('fact')} {c.get('op')} {c.get('value')}" for c in row.get("conditions") or []
            if isinstance(c, dict)]
    return out


def assignee(row: dict[str, Any]) -> str:
    if row.get("assign_kind") == "unit":
        return f"{_('a fixed unit')}: {row['assign_value']}"
    if row.get("assign_kind") == "unit_type":
        return f"{_('nearest unit of a type')}: {row['assign_value']}"
    return _("the grid's responsible unit")


def versions_url() -> str:
    """The versions page (diff and publish) of helper V, wherever it is registered."""
    try:
        return url_for("versions.index")
    except BuildError:
        return "/admin/versions/"


def stamp_of(rule_list: RuleList) -> str:
    """A digest of the stored rows: a save based on an older one would overwrite someone else's edit."""
    rows = [[item.id, item.as_row()] for item in rule_list.items]
    return hashlib.sha256(json.dumps(rows, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


#: A new list's names, by kind.
DEFAULT_NAMES = {"zero_tolerance": ("零容忍清单", "Zero-tolerance list"),
                 "strict_management": ("严管理清单", "Strict-management list"),
                 "custom": ("自定义清单", "Custom list")}


class RowsForm(FlaskForm):
    """Only carries the CSRF token the page's JSON requests send back as X-CSRFToken."""


class ListEditorView(Guarded, BaseView):
    roles = READERS

    def _list(self, list_id: int) -> RuleList:
        rule_list = db.session.get(RuleList, list_id)
        if rule_list is None:
            abort(404)
        return rule_list

    def _rows(self) -> list[Any]:
        body = request.get_json(silent=True)
        rows = body.get("rows") if isinstance(body, dict) else None
        if not isinstance(rows, list):
            abort(400, _("Send the rows as a JSON object with a list of rows."))
        return rows

    @expose("/")
    def index(self):
        campaigns = list(db.session.scalars(select(Campaign).order_by(Campaign.id.desc())))
        counts = dict(db.session.execute(select(ListItem.list_id, func.count()).group_by(ListItem.list_id)).all())
        lists = {c.id: list(db.session.scalars(select(RuleList).where(RuleList.campaign_id == c.id)
                                               .order_by(RuleList.id))) for c in campaigns}
        return self.render("admin/lists/index.html", campaigns=campaigns, lists=lists, counts=counts,
                           lang=short_lang(), kinds=kind_names(), editable=may_edit(), list_kinds=LIST_KINDS)

    @expose("/create", methods=("POST",))
    def create(self):
        """Start a campaign's missing list (each kind at most once per campaign), then open its table."""
        require_editor()
        form = RowsForm()
        if not form.validate_on_submit():
            abort(400)
        campaign = db.session.get(Campaign, request.form.get("campaign_id", type=int) or 0)
        kind = request.form.get("kind", "")
        if campaign is None or kind not in LIST_KINDS:
            abort(404)
        rule_list = db.session.scalar(select(RuleList).where(RuleList.campaign_id == campaign.id,
                                                             RuleList.kind == kind))
        if rule_list is None:
            name_zh, name_en = DEFAULT_NAMES[kind]
            rule_list = RuleList(campaign_id=campaign.id, kind=kind, name_zh=name_zh, name_en=name_en)
            db.session.add(rule_list)
            db.session.commit()
            flash(_("List created. Add its rows, save, then publish."), "success")
        return redirect(url_for(".edit", list_id=rule_list.id))

    @expose("/<int:list_id>/")
    def edit(self, list_id: int):
        rule_list = self._list(list_id)
        campaign = db.session.get(Campaign, rule_list.campaign_id)
        lang = short_lang()
        rows = [to_editor(item.as_row(), item.id) for item in rule_list.items]
        today = campaign_today(campaign)
        analysis = findings_of(rule_list.kind, rows, catalog_for(db.session, campaign), today, lang)
        ref = reference(db.session, campaign, lang)
        return self.render("admin/lists/edit.html", rule_list=rule_list, campaign=campaign, rows=rows, ref=ref,
                           stamp=stamp_of(rule_list),
                           analysis=analysis, lang=lang, editable=may_edit(), form=RowsForm(),
                           kinds=kind_names(), messages=messages(), versions_url=versions_url(),
                           describe=lambda row: describe(row, lang), assignee=assignee,
                           limit_names={u["code"]: u["name"] for u in ref["limit_units"]})

    @expose("/<int:list_id>/analyse", methods=("POST",))
    def analyse(self, list_id: int):
        require_editor()
        rule_list = self._list(list_id)
        campaign = db.session.get(Campaign, rule_list.campaign_id)
        return jsonify(findings_of(rule_list.kind, self._rows(), catalog_for(db.session, campaign),
                                   campaign_today(campaign), short_lang()))

    @expose("/<int:list_id>/save", methods=("POST",))
    def save(self, list_id: int):
        require_editor()
        lang = short_lang()
        rows = self._rows()
        stamp = request.get_json(silent=True).get("stamp")
        if not isinstance(stamp, str) or not stamp:
            return jsonify({"ok": False, "problems": [], "stale": True,
                            "message": _("Nothing was saved: the save did not say which rows it was based on. "
                                         "Reload the page, then make your change again.")}), 400
        # Locked until this transaction ends, so a concurrent save waits here and then sees this one's stamp.
        rule_list = db.session.scalar(select(RuleList).where(RuleList.id == list_id).with_for_update()
                                      .execution_options(populate_existing=True))
        if rule_list is None:
            abort(404)
        db.session.expire(rule_list, ["items"])
        if stamp != stamp_of(rule_list):
            db.session.rollback()
            return jsonify({"ok": False, "problems": [], "stale": True,
                            "message": _("Someone saved this list after you opened it. Nothing was saved: reload "
                                         "the page to see their rows, then make your change again.")}), 409
        problems = save_rows(db.session, rule_list, rows)
        if problems:
            db.session.rollback()
            return jsonify({"ok": False, "problems": [p.as_dict(lang) for p in problems],
                            "message": _("Nothing was saved: correct the marked fields.")}), 422
        db.session.commit()
        rows = [to_editor(item.as_row(), item.id) for item in rule_list.items]
        return jsonify({"ok": True, "rows": rows, "stamp": stamp_of(rule_list),
                        "message": _("Saved %(count)s rows to the draft. Publish them on the versions page.",
                                     count=len(rows))})
