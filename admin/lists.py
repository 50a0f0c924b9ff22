"""Admin: the zero-tolerance (零容忍), strict-management (严管理) and custom lists as decision tables —
one row per item with real widgets, a live analysis of overlapping and never-matching rows, and a save
that validates every row, the whole draft bundle and the durable_rules compile check before storing
anything. Saving edits the draft; publishing is the versions page's job."""
from __future__ import annotations

from typing import Any

from flask import abort, flash, jsonify, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.routing import BuildError

from admin.base import READERS, Guarded, may_edit, require_editor
from engine.authoring import lists as authored
from engine.authoring.templates import latest_of_each
from engine.authoring.stamps import StaleEdit, list_stamp
from engine.authoring.vocabulary import LIMIT_UNIT_TABLE, LIST_KINDS, SOURCE_TYPES, InputError
from engine.core.models import Campaign, Category, Grid, RuleList, Timeline, Unit
from web.common.display import NAMES, name_of
from web.common.extensions import db
from web.common.i18n import short_lang

#: Words for the page's widgets, by language (the rule language's own codes stay as they are).
SOURCE_TYPE_NAMES = NAMES["source_type"]


def _name(obj: Any, lang: str) -> str:
    return obj.name_zh if lang == "zh" else obj.name_en


def reference(session: Session, campaign: Campaign, lang: str) -> dict[str, Any]:
    """What the widgets offer: the category catalogue (two levels), units, unit types, grids, templates,
    the campaign's timelines, limit units and source types, named in the user's language."""
    categories = list(session.scalars(select(Category).order_by(Category.code)))
    units = list(session.scalars(select(Unit).order_by(Unit.code)))
    templates = latest_of_each(session)
    pick = 0 if lang == "zh" else 1
    return {
        "categories": [{"code": c.code, "name": _name(c, lang), "parent": c.parent.code if c.parent else None}
                       for c in categories],
        "units": [{"code": u.code, "name": _name(u, lang), "type": u.type} for u in units],
        "unit_types": [{"code": t, "name": name_of("unit_type", t, lang)} for t in sorted({u.type for u in units})],
        "grids": [{"code": g.code, "name": _name(g, lang)} for g in session.scalars(select(Grid).order_by(Grid.code))],
        "templates": [{"code": t.code, "name": _name(t, lang)} for t in templates],
        "timelines": [{"code": t.code, "name": _name(t, lang)} for t in session.scalars(
            select(Timeline).where(Timeline.campaign_id == campaign.id).order_by(Timeline.code))],
        "limit_units": [{"code": code, "name": unit.label_in(lang)} for code, unit in LIMIT_UNIT_TABLE.items()],
        "source_types": [{"code": s, "name": SOURCE_TYPE_NAMES.get(s, (s, s))[pick]} for s in SOURCE_TYPES],
    }


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
            "scenario": _("This change breaks the scenario"), "checking": _("Checking…"), "checked": _("Checked."), "saving": _("Saving…"),
            "unsaved": _("Unsaved changes."), "failed": _("The server did not answer; nothing was saved."),
            "clean": _("No overlaps, every row can match."), "row": _("Row"),
            "key": _("Key"), "title": _("Title"), "categories": _("Categories covered"),
            "conditions": _("Conditions"), "assign": _("Responsible unit"), "task": _("Task"),
            "points": _("Points lost"), "legal_basis": _("Legal basis"), "effective": _("Effective"),
            "analysis": _("Analysis"), "key_auto": _("(made for you)"),
            "title_en_optional": _("optional: the Chinese title is shown")}


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
        campaigns, lists, counts = authored.overview(db.session)
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
        if campaign is None:
            abort(404)
        try:
            rule_list, started = authored.start_list(db.session, campaign, request.form.get("kind", ""))
        except InputError:
            abort(404)
        if started:
            db.session.commit()
            flash(_("List created. Add its rows, save, then publish."), "success")
        return redirect(url_for(".edit", list_id=rule_list.id))

    @expose("/<int:list_id>/")
    def edit(self, list_id: int):
        rule_list = self._list(list_id)
        campaign = db.session.get(Campaign, rule_list.campaign_id)
        lang = short_lang()
        rows = authored.editor_rows(rule_list)
        analysis = authored.findings(db.session, rule_list, rows, lang)
        ref = reference(db.session, campaign, lang)
        return self.render("admin/lists/edit.html", rule_list=rule_list, campaign=campaign, rows=rows, ref=ref,
                           stamp=list_stamp(rule_list),
                           analysis=analysis, lang=lang, editable=may_edit(), form=RowsForm(),
                           kinds=kind_names(), messages=messages(), versions_url=versions_url(),
                           describe=lambda row: describe(row, lang), assignee=assignee,
                           limit_names={u["code"]: u["name"] for u in ref["limit_units"]})

    @expose("/<int:list_id>/analyse", methods=("POST",))
    def analyse(self, list_id: int):
        require_editor()
        return jsonify(authored.findings(db.session, self._list(list_id), self._rows(), short_lang()))

    @expose("/<int:list_id>/save", methods=("POST",))
    def save(self, list_id: int):
        require_editor()
        lang = short_lang()
        rows = self._rows()
        try:
            rule_list = authored.save_list(db.session, list_id, request.get_json(silent=True).get("stamp"), rows)
        except StaleEdit as err:
            db.session.rollback()
            if err.unstamped:
                return jsonify({"ok": False, "problems": [], "stale": True,
                                "message": _("Nothing was saved: the save did not say which rows it was based on. "
                                             "Reload the page, then make your change again.")}), 400
            return jsonify({"ok": False, "problems": [], "stale": True,
                            "message": _("Someone saved this list after you opened it. Nothing was saved: reload "
                                         "the page to see their rows, then make your change again.")}), 409
        except InputError as err:
            db.session.rollback()
            return jsonify({"ok": False, "problems": [p.as_dict(lang) for p in err.problems],
                            "message": _("Nothing was saved: correct the marked fields.")}), 422
        if rule_list is None:
            abort(404)
        db.session.commit()
        rows = authored.editor_rows(rule_list)
        return jsonify({"ok": True, "rows": rows, "stamp": list_stamp(rule_list),
                        "message": _("Saved %(count)s rows to the draft. Publish them on the versions page.",
                                     count=len(rows))})
