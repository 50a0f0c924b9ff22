"""The task breakdown table (创建任务分解表): the units' page (their items, progress with photos), the monthly
progress report for the 推进会, and the same as JSON. Thin views over engine/readiness/plan.py."""
from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from engine.authoring.campaigns import campaign_for
from engine.core import clock
from engine.core.models import Campaign, Evidence, PlanItem, Unit, User
from engine.people.staff import unit_and_below
from engine.readiness import plan
from engine.supervision.inspection import squad_scope
from engine.supervision.inspection import Photo
from rules.problems import InputError, Problem
from web.auth import require_roles, require_token
from web.common.campaigns import requested_campaign
from web.common.extensions import csrf, db
from web.common.i18n import short_lang
from web.common.problems import problem, refused
from web.openapi import BEARER, id_parameter, json_response, problem_responses
from web.uploads import send_upload

bp = Blueprint("plan", __name__, url_prefix="/plan")
api = Blueprint("plan_api", __name__, url_prefix="/api/v1")
csrf.exempt(api)  # bearer tokens only
READERS = ("admin", "supervisor", "assessor", "auditor", "dispatcher", "field_unit")
REPORT_READERS = ("admin", "supervisor", "assessor", "auditor")


def unit_scope(user: User) -> set[int] | None:
    """The units whose items the user reads: a unit's account and a squad's inspector their unit's and below;
    None for the other staff, who read the whole table."""
    if user.role == "field_unit":
        return unit_and_below(db.session, user.unit_id)
    return squad_scope(db.session, user)


def visible_items(user: User, campaign: Campaign) -> list[PlanItem]:
    """Staff see the whole table; a unit's account and a squad's inspector the items their unit leads or
    cooperates on."""
    items = db.session.scalars(select(PlanItem).where(PlanItem.campaign_id == campaign.id)
                               .options(selectinload(PlanItem.lead_unit), selectinload(PlanItem.milestones),
                                        selectinload(PlanItem.progress)).order_by(PlanItem.code)).all()
    units = unit_scope(user)
    if units is None:
        return list(items)
    return [i for i in items if i.lead_unit_id in units or units & set(i.cooperating or [])]


def visible_lines(user: User, lines: list[plan.UnitProgress]) -> list[plan.UnitProgress]:
    """The monthly report's lines the user reads: a squad's inspector its own units' only."""
    units = unit_scope(user)
    return lines if units is None else [line for line in lines if line.unit.id in units]


def item_json(item: PlanItem, lang: str, zone: ZoneInfo, today: date) -> dict[str, Any]:
    """An item as people read it: unit names, local dates and times, overdue or not."""
    units = {u.id: u for u in db.session.scalars(select(Unit).where(Unit.id.in_(item.cooperating or [])))}

    def name(unit: Unit) -> str:
        return unit.name_zh if lang == "zh" else unit.name_en
    return {"id": item.id, "code": item.code, "title": item.title,
            "lead_unit": {"code": item.lead_unit.code, "name": name(item.lead_unit)},
            "cooperating": [{"code": units[i].code, "name": name(units[i])} for i in item.cooperating or []
                            if i in units],
            "person": item.person.name if item.person else None, "due_on": item.due_on.isoformat(),
            "percent": item.percent, "done_on": item.done_on.isoformat() if item.done_on else None,
            "overdue": item.done_on is None and item.due_on < today,
            "expected_percent": plan.expected_percent(item, today, zone),
            "milestones": [{"title": m.title, "due_on": m.due_on.isoformat(),
                            "done_on": m.done_on.isoformat() if m.done_on else None} for m in item.milestones],
            "progress": [{"id": p.id, "percent": p.percent, "text": p.text, "unit": name(p.unit),
                          "reported_at": p.reported_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                          "photos": p.photos} for p in item.progress]}


@bp.get("")
@require_roles(*READERS)
def index():
    campaign = requested_campaign()
    zone = ZoneInfo(campaign.timezone)
    today = clock.now().astimezone(zone).date()
    items = [item_json(i, short_lang(), zone, today) for i in visible_items(current_user, campaign)]
    return render_template("plan.html", items=items, campaign=campaign, errors={}, form={}, failed_item=None)


def _photos() -> list[Photo]:
    return [Photo(f.filename or "photo", f.read()) for f in request.files.getlist("photos") if f and f.filename]


def _visible(item_id: int) -> PlanItem:
    item = db.session.get(PlanItem, item_id)
    if item is None or (unit_scope(current_user) is not None
                        and item not in visible_items(current_user, db.session.get(Campaign, item.campaign_id))):
        abort(404)
    return item


@bp.post("/<int(max=2147483647):item_id>/progress")
@require_roles(*READERS)
def progress(item_id: int):
    item = _visible(item_id)
    settings = current_app.extensions["civicrules.settings"]
    try:
        plan.report_progress(db.session, item, current_user, request.form.get("percent"), request.form.get("text", ""),
                             _photos(), settings.evidence.dir, settings.evidence.max_bytes)
    except InputError as err:
        db.session.rollback()
        campaign = db.session.get(Campaign, item.campaign_id)
        zone = ZoneInfo(campaign.timezone)
        today = clock.now().astimezone(zone).date()
        items = [item_json(i, short_lang(), zone, today) for i in visible_items(current_user, campaign)]
        return render_template("plan.html", items=items, campaign=campaign, errors=err.by_field(short_lang()),
                               form=request.form, failed_item=item.id), 422
    db.session.commit()
    flash(_("Progress reported."), "success")
    return redirect(url_for("plan.index", _anchor=f"item-{item.id}"))


@bp.get("/<int(max=2147483647):item_id>/photos/<int(max=2147483647):evidence_id>")
@require_roles(*READERS)
def photo(item_id: int, evidence_id: int):
    item = _visible(item_id)
    if not any(evidence_id in (p.photos or []) for p in item.progress):
        abort(404)
    row = db.session.get(Evidence, evidence_id)
    return send_upload(current_app.extensions["civicrules.settings"].evidence.dir / row.stored_name,
                       row.original_name)


@bp.get("/report")
@require_roles(*REPORT_READERS)
def report():
    campaign = requested_campaign()
    month = request.args.get("month") or clock.now().astimezone(ZoneInfo(campaign.timezone)).strftime("%Y-%m")
    try:
        lines = visible_lines(current_user, plan.monthly_report(db.session, campaign, month))
    except InputError as err:
        return render_template("plan_report.html", lines=[], month=month, campaign=campaign, lang=short_lang(),
                               errors=err.by_field(short_lang())), 422
    return render_template("plan_report.html", lines=lines, month=month, campaign=campaign, lang=short_lang(),
                           errors={})


@api.get("/plan-items")
@require_token(kinds=("user",), roles=READERS)
def list_items():
    campaign = campaign_for(db.session, None)
    if campaign is None:
        return jsonify({"items": []})
    zone = ZoneInfo(campaign.timezone)
    today = clock.now().astimezone(zone).date()
    return jsonify({"items": [item_json(i, short_lang(), zone, today) for i in visible_items(g.user, campaign)]})


@api.post("/plan-items/<int(max=2147483647):item_id>/progress")
@require_token(kinds=("user",), roles=READERS)
def report_progress(item_id: int):
    """Progress as JSON {percent, text}; photos go through the page."""
    item = db.session.get(PlanItem, item_id)
    if item is None:
        return problem(404, "not-found", detail_key="not_found")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return refused([Problem("body", "a JSON object {percent, text}", "须为 JSON 对象 {percent, text}")])
    try:
        row = plan.report_progress(db.session, item, g.user, body.get("percent"), str(body.get("text") or ""))
    except InputError as err:
        db.session.rollback()
        if any(p.where == "item" for p in err.problems):
            return problem(403, "forbidden", detail_key="forbidden", errors=err.problems)
        return refused(err.problems)
    db.session.commit()
    return jsonify({"id": row.id, "percent": item.percent, "done_on": item.done_on.isoformat() if item.done_on
                    else None}), 201


@api.get("/plan/report")
@require_token(kinds=("user",), roles=REPORT_READERS)
def report_json():
    campaign = campaign_for(db.session, None)
    if campaign is None:
        return jsonify({"units": []})
    month = request.args.get("month") or clock.now().astimezone(ZoneInfo(campaign.timezone)).strftime("%Y-%m")
    try:
        lines = visible_lines(g.user, plan.monthly_report(db.session, campaign, month))
    except InputError as err:
        return refused(err.problems)
    lang = short_lang()
    return jsonify({"month": month, "units": [{
        "unit": {"code": line.unit.code, "name": line.unit.name_zh if lang == "zh" else line.unit.name_en},
        "due": line.due, "done": line.done, "behind": [i.code for i in line.behind],
        "lagging": [i.code for i in line.lagging], "shares_experience": line.shares_experience,
        "makes_pledge": line.makes_pledge} for line in lines]})


def _openapi() -> dict[str, Any]:
    named = {"type": "object", "properties": {"code": {"type": "string"}, "name": {"type": "string"}}}
    item = {"type": "object", "required": ["id", "code", "title", "lead_unit", "due_on", "percent", "overdue"],
            "properties": {"id": {"type": "integer"}, "code": {"type": "string"}, "title": {"type": "string"},
                           "lead_unit": named, "cooperating": {"type": "array", "items": named},
                           "person": {"type": "string", "nullable": True},
                           "due_on": {"type": "string", "format": "date"}, "percent": {"type": "integer"},
                           "done_on": {"type": "string", "format": "date", "nullable": True},
                           "overdue": {"type": "boolean"}, "expected_percent": {"type": "integer"},
                           "milestones": {"type": "array", "items": {"type": "object"}},
                           "progress": {"type": "array", "items": {"type": "object"}}}}
    return {
        "/api/v1/plan-items": {"get": {
            "summary": "The task breakdown table (创建任务分解表): a unit's or a squad inspector's items, or all for "
                       "other staff",
            "tags": ["plan"], "security": BEARER,
            "responses": {"200": json_response("The items", {"type": "object", "required": ["items"], "properties": {
                "items": {"type": "array", "items": item}}}), **problem_responses(401, 403)}}},
        "/api/v1/plan-items/{item_id}/progress": {"post": {
            "summary": "Report progress on an item (its lead or cooperating unit)", "tags": ["plan"],
            "security": BEARER, "parameters": [id_parameter("item_id", "The plan item")],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["percent", "text"], "properties": {
                    "percent": {"type": "integer", "minimum": 0, "maximum": 100},
                    "text": {"type": "string", "maxLength": plan.MAX_TEXT}}}}}},
            "responses": {"201": json_response("Recorded", {"type": "object", "properties": {
                "id": {"type": "integer"}, "percent": {"type": "integer"},
                "done_on": {"type": "string", "format": "date", "nullable": True}}}),
                **problem_responses(400, 401, 403, 404, 422)}}},
        "/api/v1/plan/report": {"get": {
            "summary": "The monthly progress report for the 推进会: per lead unit, items due, done, behind, and "
                       "whether it shares experience (经验交流) or makes a statement (表态发言)",
            "tags": ["plan"], "security": BEARER,
            "parameters": [{"name": "month", "in": "query", "schema": {"type": "string", "example": "2026-11"}}],
            "responses": {"200": json_response("Per unit, most behind first", {"type": "object", "properties": {
                "month": {"type": "string"}, "units": {"type": "array", "items": {"type": "object"}}}}),
                **problem_responses(401, 403, 422)}}},
    }


OPENAPI_PATHS = _openapi()
