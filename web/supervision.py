"""Supervision board pages and API: thin views over engine/supervision.py."""
from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from engine.supervision import board as supervision
from engine.supervision.inspection import body_name
from rules.problems import InputError
from engine.core.models import Supervision, Task, User
from web.auth import require_roles, require_token, task_scope, token_user
from web.common.extensions import db
from web.forms import ReplyForm, SupervisionForm
from web.common.i18n import short_lang
from web.common.problems import problem, refused
from web.serialize import task_json
from web.openapi import BEARER, id_parameter, json_response, problem_responses

bp = Blueprint("supervision", __name__)
api = Blueprint("supervision_api", __name__, url_prefix="/api/v1")
SUPERVISORS = ("supervisor", "admin")


def _tier_of(user: User) -> int:
    """A supervisor sees the tier they are a member of; an administrator may pick any (?tier=)."""
    if user.role == "admin":
        tier = request.args.get("tier", default=1, type=int)
        return tier if tier in supervision.LEVELS else 1
    tier = supervision.tier_for(db.session, user)
    if not tier:
        abort(403)
    return tier


def _visible_task(user: User, task_id: int) -> Task:
    task = db.session.get(Task, task_id)
    if task is None or not task_scope(user).sees(task):
        abort(404)
    return task


@bp.get("/supervision")
@require_roles(*SUPERVISORS)
def board():
    tier = _tier_of(current_user)
    lang = short_lang()
    names = {level: body_name(db.session, level) for level in supervision.LEVELS}
    bodies = {level: (name[0] if lang == "zh" else name[1]) if name else _("Tier %(n)s", n=level)
              for level, name in names.items()}
    return render_template("supervision.html", tier=tier, rows=supervision.board(db.session, tier),
                           form=SupervisionForm(), lang=lang, bodies=bodies)


@bp.post("/supervision/tasks/<int:task_id>")
@require_roles(*SUPERVISORS)
def act(task_id: int):
    tier = _tier_of(current_user)
    form = SupervisionForm()
    task = _visible_task(current_user, task_id)
    if form.validate_on_submit():
        try:
            supervision.act(db.session, task, current_user, tier, form.kind.data, form.message.data,
                            form.reply_within_hours.data)
            db.session.commit()
            flash(_("Recorded and sent to the unit."), "success")
        except InputError as err:
            db.session.rollback()
            for p in err.problems:
                flash(p.as_dict(short_lang())["message"], "danger")
    else:
        for field, errors in form.errors.items():
            flash(f"{getattr(form, field).label.text if hasattr(form, field) else field}: {'; '.join(errors)}", "danger")
    return redirect(url_for("supervision.board", tier=tier))


@bp.post("/tasks/<int:task_id>/supervisions/<int:supervision_id>/reply")
@require_roles("field_unit", "admin")
def reply(task_id: int, supervision_id: int):
    task = _visible_task(current_user, task_id)
    row = db.session.get(Supervision, supervision_id)
    if row is None or row.task_id != task.id:
        abort(404)
    form = ReplyForm()
    if form.validate_on_submit():
        try:
            supervision.reply(db.session, row, current_user, form.reply.data)
            db.session.commit()
            flash(_("Reply sent."), "success")
        except InputError as err:
            db.session.rollback()
            for p in err.problems:
                flash(p.as_dict(short_lang())["message"], "danger")
    return redirect(url_for("pages.task", task_id=task.id))


def supervision_json(row: Supervision) -> dict:
    return {"id": row.id, "task": row.task_id, "tier": row.tier_level, "kind": row.kind, "message": row.message,
            "by": row.creator.username if row.creator else None, "at": row.created_at.isoformat(),
            "reply_due_at": row.reply_due_at.isoformat() if row.reply_due_at else None,
            "reply": row.reply_text, "replied_at": row.replied_at.isoformat() if row.replied_at else None}


@api.get("/supervision")
@require_token(kinds=("user",), roles=SUPERVISORS)
def api_board():
    tier = _tier_of(token_user())
    lang = short_lang()
    return jsonify({"tier": tier, "tasks": [{
        **task_json(r.task, lang), "since": r.since.isoformat(), "reached_by": r.reached_by,
        "overdue_seconds": int(r.overdue.total_seconds()) if r.overdue else 0,
        "listed_publicly": r.listed_publicly, "open_orders": r.open_orders,
    } for r in supervision.board(db.session, tier)]})


@api.post("/tasks/<int:task_id>/supervisions")
@require_token(kinds=("user",), roles=SUPERVISORS)
def api_act(task_id: int):
    user = token_user()
    tier = _tier_of(user)
    task = db.session.get(Task, task_id)
    if task is None:
        return problem(404, "not-found", detail_key="not_found")
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return problem(400, "malformed-json", detail_key="malformed_json")
    try:
        row = supervision.act(db.session, task, user, tier, str(data.get("kind", "")), str(data.get("message", "")),
                              data.get("reply_within_hours"))
    except InputError as err:
        db.session.rollback()
        return refused(err.problems)
    db.session.commit()
    return jsonify(supervision_json(row)), 201


@api.get("/tasks/<int:task_id>/supervisions")
@require_token(kinds=("user",))
def api_list(task_id: int):
    task = db.session.get(Task, task_id)
    if task is None or not task_scope(token_user()).sees(task):
        return problem(404, "not-found", detail_key="not_found")
    return jsonify({"supervisions": [supervision_json(r) for r in supervision.for_task(db.session, task.id)]})


@api.post("/supervisions/<int:supervision_id>/reply")
@require_token(kinds=("user",), roles=("field_unit", "admin"))
def api_reply(supervision_id: int):
    user = token_user()
    row = db.session.get(Supervision, supervision_id)
    if row is None or not task_scope(user).sees(db.session.get(Task, row.task_id)):
        return problem(404, "not-found", detail_key="not_found")
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return problem(400, "malformed-json", detail_key="malformed_json")
    try:
        supervision.reply(db.session, row, user, str(data.get("reply", "")))
    except InputError as err:
        db.session.rollback()
        return refused(err.problems)
    db.session.commit()
    return jsonify(supervision_json(row))


def _openapi() -> dict:
    supervision_row = {"type": "object", "required": ["id", "task", "tier", "kind"], "properties": {
        "id": {"type": "integer"}, "task": {"type": "integer"}, "tier": {"type": "integer"},
        "kind": {"type": "string"}, "message": {"type": "string"}, "by": {"type": "string", "nullable": True},
        "at": {"type": "string", "format": "date-time"},
        "reply_due_at": {"type": "string", "format": "date-time", "nullable": True},
        "reply": {"type": "string", "nullable": True},
        "replied_at": {"type": "string", "format": "date-time", "nullable": True}}}
    body = {"type": "object", "properties": {"kind": {"type": "string", "example": "urge"},
                                             "message": {"type": "string"},
                                             "reply_within_hours": {"type": "number", "nullable": True}}}
    return {
        "/api/v1/supervision": {"get": {
            "summary": "The caller's supervision board: tasks escalated to their tier", "security": BEARER,
            "tags": ["supervision"], "responses": {
                "200": json_response("The board", {"type": "object", "required": ["tier", "tasks"], "properties": {
                    "tier": {"type": "integer", "nullable": True}, "tasks": {"type": "array", "items": {"type": "object"}}}}),
                **problem_responses(401, 403)}}},
        "/api/v1/tasks/{task_id}/supervisions": {
            "get": {"summary": "Supervision acts on a task", "security": BEARER, "tags": ["supervision"],
                    "parameters": [id_parameter("task_id", "Task id")], "responses": {
                        "200": json_response("Acts", {"type": "object", "required": ["supervisions"], "properties": {
                            "supervisions": {"type": "array", "items": supervision_row}}}),
                        **problem_responses(401, 403, 404)}},
            "post": {"summary": "Urge, order handling or list publicly (挂牌督办)", "security": BEARER,
                     "tags": ["supervision"], "parameters": [id_parameter("task_id", "Task id")],
                     "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
                     "responses": {"201": json_response("Recorded", supervision_row),
                                   **problem_responses(400, 401, 403, 404, 413, 415, 422)}}},
        "/api/v1/supervisions/{supervision_id}/reply": {"post": {
            "summary": "The unit's reply to a supervision act", "security": BEARER, "tags": ["supervision"],
            "parameters": [id_parameter("supervision_id", "Supervision act id")],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["reply"], "properties": {"reply": {"type": "string"}}}}}},
            "responses": {"200": json_response("Recorded", supervision_row),
                          **problem_responses(400, 401, 403, 404, 413, 415, 422)}}},
    }


OPENAPI_PATHS = _openapi()
