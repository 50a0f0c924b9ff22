"""Frontage holders (门前三包): their history of violations and notices, the repeat offenders (屡犯), and the notice
(告知书) a task's unit issues to the holder of the task's frontage. Pages for signed-in staff and the same as JSON
under /api/v1; thin over engine/handling/holder_history.py and holder_notice.py."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, jsonify, render_template, request
from flask_login import current_user

from engine.authoring.campaigns import campaign_for, campaign_zone
from engine.cases.stages import stage_name
from engine.core import clock
from engine.core.models import FrontageHolder, Task, User
from engine.handling.holder_history import HolderHistory, Standing, holder_history, may_see, standings, visible_units
from engine.handling.holder_notice import NoticeRefused, duty_name, issue_notice
from engine.space.holders import DUTIES, REPEAT_DAYS, REPEAT_VIOLATIONS
from engine.space.letters import in_force
from rules.problems import InputError
from web.auth import require_roles, require_token, task_scope, token_user
from web.common.extensions import csrf, db
from web.common.i18n import short_lang
from web.common.problems import problem, refused
from web.openapi import BEARER, id_parameter, json_response, problem_responses
from web.workflow import zone_of

bp = Blueprint("holders", __name__)
api = Blueprint("holders_api", __name__, url_prefix="/api/v1")
csrf.exempt(api)  # bearer tokens only, never a session cookie
#: Who reads holders: administrators, supervisors and the assessment office every holder, a sub-district its own.
READERS = ("admin", "supervisor", "assessor", "auditor", "field_unit")
#: Who issues a notice; engine.handling.holder_notice.may_notify decides per task.
NOTIFIERS = ("field_unit", "admin")
MAX_ID = 2**31 - 1


def _zone() -> ZoneInfo:
    return campaign_zone(campaign_for(db.session, None))


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _local(moment: datetime | None, zone: ZoneInfo) -> str | None:
    return moment.astimezone(zone).isoformat() if moment else None


def letter_in_force(holder: FrontageHolder, today: date) -> bool:
    return in_force(holder.letter_signed_on, holder.letter_valid_from, holder.letter_valid_until, today)


def _holder_json(standing: Standing, zone: ZoneInfo, lang: str) -> dict[str, Any]:
    h = standing.holder
    return {"id": h.id, "code": h.code, "name": h.name, "address": h.address, "grid": h.grid.code,
            "unit": h.unit.code if h.unit else None, "contact": h.contact,
            "letter": {"number": h.letter_number, "signed_on": _day(h.letter_signed_on), "signer": h.letter_signer,
                       "duties": [{"key": d, "name": duty_name(d, lang)} for d in h.letter_duties or []],
                       "valid_from": _day(h.letter_valid_from), "valid_until": _day(h.letter_valid_until),
                       "in_force": letter_in_force(h, clock.now().astimezone(zone).date())},
            "violations": standing.violations, "recent_violations": standing.recent, "notices": standing.notices,
            "repeat_offender": standing.repeat}


def _history_json(history: HolderHistory, zone: ZoneInfo, lang: str) -> dict[str, Any]:
    body = _holder_json(history.standing, zone, lang)
    body["violation_history"] = [
        {"case": v.case_id, "reported_at": _local(v.reported_at, zone), "category": v.category.code,
         "category_name": v.category.name_zh if lang == "zh" else v.category.name_en, "stage": v.stage,
         "stage_name": stage_name(v.stage, lang),
         "within_repeat_window": v.recent} for v in history.violations]
    body["notice_history"] = [
        {"task": n.task_id, "number": n.number, "issued_at": _local(n.at, zone), "issued_by": n.issued_by,
         "duties": [{"key": d, "name": duty_name(d, lang)} for d in n.duties],
         "rectify_by": _local(n.rectify_by, zone), "text": n.text} for n in history.notices]
    return body


def repeat_rule(lang: str) -> str:
    """What makes a repeat offender, in the reader's language."""
    if lang == "zh":
        return f"屡犯：{REPEAT_DAYS}日内违规{REPEAT_VIOLATIONS}次及以上（不含不予立案、作废的案件）"
    return (f"Repeat offender: {REPEAT_VIOLATIONS} or more violations within {REPEAT_DAYS} days "
            "(cases not filed or void do not count)")


@bp.app_template_filter("isotime")
def isotime(value: str | None) -> datetime | None:
    """An ISO 8601 time kept in a transition's data, as a datetime for the `local` filter."""
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


def _visible(user: User | None, holder_id: int) -> FrontageHolder | None:
    holder = db.session.get(FrontageHolder, holder_id) if 0 < holder_id <= MAX_ID else None
    return holder if holder is not None and may_see(db.session, holder, user) else None


@bp.get("/holders")
@require_roles(*READERS)
def index():
    """门前三包: the holders the user answers for, repeat offenders first; ?repeat=1 lists only those."""
    repeat_only = request.args.get("repeat") in ("1", "true")
    rows = standings(db.session, clock.now(), visible_units(db.session, current_user), repeat_only)
    zone = _zone()
    return render_template("holders.html", rows=rows, repeat_only=repeat_only, zone=zone.key,
                           rule=repeat_rule(short_lang()), today=clock.now().astimezone(zone).date(),
                           in_force=letter_in_force, duty_name=duty_name, lang=short_lang(), days=REPEAT_DAYS,
                           stage_name=stage_name)


@bp.get("/holders/<int:holder_id>")
@require_roles(*READERS)
def detail(holder_id: int):
    """One holder: its letter, its violations and the notices it was given, times in the campaign's local time."""
    holder = _visible(current_user, holder_id)
    if holder is None:
        abort(404)
    zone = _zone()
    return render_template("holder.html", history=holder_history(db.session, holder, clock.now()), zone=zone.key,
                           rule=repeat_rule(short_lang()), today=clock.now().astimezone(zone).date(),
                           in_force=letter_in_force, duty_name=duty_name, lang=short_lang(), days=REPEAT_DAYS,
                           stage_name=stage_name)


@api.get("/frontage-holders")
@require_token(kinds=("user",), roles=READERS)
def list_holders():
    """The holders the caller answers for, with their letters and counts; ?repeat=1: the repeat offenders only."""
    repeat_only = request.args.get("repeat") in ("1", "true")
    zone, lang = _zone(), short_lang()
    rows = standings(db.session, clock.now(), visible_units(db.session, token_user()), repeat_only)
    return jsonify({"repeat_rule": {"violations": REPEAT_VIOLATIONS, "days": REPEAT_DAYS, "text": repeat_rule(lang)},
                    "holders": [_holder_json(s, zone, lang) for s in rows]})


@api.get("/frontage-holders/<int:holder_id>")
@require_token(kinds=("user",), roles=READERS)
def get_holder(holder_id: int):
    holder = _visible(token_user(), holder_id)
    if holder is None:
        return problem(404, "not-found", detail_key="not_found")
    return jsonify(_history_json(holder_history(db.session, holder, clock.now()), _zone(), short_lang()))


@api.post("/tasks/<int:task_id>/holder-notice")
@require_token(kinds=("user",), roles=NOTIFIERS)
def post_notice(task_id: int):
    """告知书: {duties: [...], rectify_by: ISO time (local time of the campaign without an offset), text}."""
    user, lang = token_user(), short_lang()
    task = db.session.get(Task, task_id) if 0 < task_id <= MAX_ID else None
    if task is None or not task_scope(user).sees(task):
        return problem(404, "not-found", detail_key="not_found")
    if not request.is_json:
        return problem(415, "json-required", detail_key="json_required")
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return problem(400, "malformed-json", detail_key="malformed_json")
    try:
        row = issue_notice(db.session, task, user, data, clock.now(), zone_of(task))
    except NoticeRefused as err:
        db.session.rollback()
        return problem(403, "notice-refused", detail=err.message(lang))
    except InputError as err:
        db.session.rollback()
        return refused(err.problems)
    db.session.commit()
    zone = zone_of(task)
    return jsonify({"task": task.id, "holder": row.data["holder"], "number": row.data["number"],
                    "issued_at": _local(row.at, zone), "duties": row.data["duties"],
                    "rectify_by": _local(datetime.fromisoformat(row.data["rectify_by"]), zone),
                    "text": row.comment}), 201


_DUTY_ENUM = {"type": "string", "enum": list(DUTIES)}
_HOLDER = {"type": "object", "required": ["id", "name", "letter", "violations", "repeat_offender"], "properties": {
    "id": {"type": "integer"}, "code": {"type": "string", "nullable": True}, "name": {"type": "string"},
    "address": {"type": "string"}, "grid": {"type": "string"}, "unit": {"type": "string", "nullable": True},
    "contact": {"type": "string", "nullable": True},
    "letter": {"type": "object", "properties": {
        "number": {"type": "string", "nullable": True}, "signed_on": {"type": "string", "nullable": True},
        "signer": {"type": "string", "nullable": True},
        "duties": {"type": "array", "items": {"type": "object", "properties": {"key": _DUTY_ENUM,
                                                                             "name": {"type": "string"}}}},
        "valid_from": {"type": "string", "nullable": True}, "valid_until": {"type": "string", "nullable": True},
        "in_force": {"type": "boolean"}}},
    "violations": {"type": "integer"}, "recent_violations": {"type": "integer"}, "notices": {"type": "integer"},
    "repeat_offender": {"type": "boolean"}}}

OPENAPI_PATHS = {
    "/api/v1/frontage-holders": {"get": {
        "summary": "Frontage holders (门前三包) with their responsibility letters and violation counts",
        "description": "Every holder for administrators, supervisors and the assessment office; a sub-district's "
                       "own for its field unit. `repeat=1`: only the repeat offenders (屡犯), "
                       f"{REPEAT_VIOLATIONS} or more violations within {REPEAT_DAYS} days.",
        "tags": ["reference"], "security": BEARER,
        "parameters": [{"name": "repeat", "in": "query", "description": "1: repeat offenders only",
                        "schema": {"type": "string", "enum": ["0", "1"]}}],
        "responses": {"200": json_response("Holders", {"type": "object", "properties": {
            "repeat_rule": {"type": "object"}, "holders": {"type": "array", "items": _HOLDER}}}),
            **problem_responses(401, 403)}}},
    "/api/v1/frontage-holders/{holder_id}": {"get": {
        "summary": "One frontage holder's history: the violations at its frontage and the notices it was given",
        "tags": ["reference"], "security": BEARER,
        "parameters": [id_parameter("holder_id", "the holder's id")],
        "responses": {"200": json_response("The holder and its history", {"allOf": [_HOLDER, {
            "type": "object", "properties": {"violation_history": {"type": "array", "items": {"type": "object"}},
                                             "notice_history": {"type": "array", "items": {"type": "object"}}}}]}),
            **problem_responses(401, 403, 404)}}},
    "/api/v1/tasks/{task_id}/holder-notice": {"post": {
        "summary": "Issue a notice (告知书) to the frontage holder of the task's report",
        "description": "The task's own unit, while the task is open; times without an offset are the campaign's "
                       "local time. Recorded in the task's history and in the holder's.",
        "tags": ["tasks"], "security": BEARER,
        "parameters": [id_parameter("task_id", "the task's id")],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["duties", "rectify_by", "text"], "properties": {
                "duties": {"type": "array", "items": _DUTY_ENUM, "minItems": 1},
                "rectify_by": {"type": "string", "format": "date-time"}, "text": {"type": "string"}}}}}},
        "responses": {"201": json_response("The notice issued", {"type": "object"}),
                      **problem_responses(400, 401, 403, 404, 415, 422)}}},
}
