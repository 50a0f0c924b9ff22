"""The JSON API (v1): thin handlers over engine/; errors are problem details naming the field."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from engine.accounts import issue_user_token
from engine.lockout import sign_in
from engine.errors import FieldProblem, InputError
from engine.intake import IntakeSource, accept_event
from engine.models import Category, Event, Grid, Task, Unit
from engine.tasks import TransitionError, VersionConflict, apply as apply_transition
from web.auth import STAFF_ROLES, require_token, token_user, unit_scope
from web.extensions import db
from web.i18n import short_lang
from web.problems import problem
from web.ratelimit import intake_limit, login_limit
from web.security import SIGN_IN_FAILED
from web.serialize import event_json, task_json

bp = Blueprint("api", __name__, url_prefix="/api/v1")
MAX_BATCH = 1000


def _json_body() -> Any:
    if not request.is_json:
        raise _BodyError("json_required", 415)
    data = request.get_json(silent=True)
    if data is None:
        raise _BodyError("malformed_json", 400)
    return data


class _BodyError(Exception):
    def __init__(self, key: str, status: int):
        self.key, self.status = key, status


@bp.errorhandler(_BodyError)
def _body_error(err: _BodyError):
    return problem(err.status, err.key.replace("_", "-"), detail_key=err.key)


@bp.errorhandler(InputError)
def _input_error(err: InputError):
    db.session.rollback()
    return problem(422, "invalid-input", detail_key="invalid_input", errors=err.problems)


def _source() -> IntakeSource:
    return IntakeSource(g.token.source, g.token.source_type or "hotline")


def _queue_evaluation() -> None:
    """Queue a drain after commit; if Redis is down the sweep picks the events up from SQL later."""
    from workers.queues import enqueue_drain

    try:
        enqueue_drain(current_app.extensions["civicrules.settings"])
    except Exception:
        current_app.logger.warning("could not queue evaluation; the sweep will", exc_info=True)


@bp.post("/events")
@intake_limit
@require_token(kinds=("intake",))
def post_event():
    event, created = accept_event(db.session, _json_body(), _source())
    db.session.commit()
    g.event_id = event.id  # for the request log line
    if created:
        _queue_evaluation()
    body = {"id": event.id, "status": event.status, "duplicate": not created}
    return jsonify(body), 202 if created else 200


@bp.post("/events/batch")
@intake_limit
@require_token(kinds=("intake",))
def post_events_batch():
    data = _json_body()
    items = data.get("events") if isinstance(data, dict) else None
    if not isinstance(items, list) or not items or len(items) > MAX_BATCH:
        raise InputError([FieldProblem("events", f"a list of 1–{MAX_BATCH} events",
                                       f"由 1–{MAX_BATCH} 个事件组成的列表")])
    results, created_any, lang = [], False, short_lang()
    for index, item in enumerate(items):
        try:
            with db.session.begin_nested():
                event, created = accept_event(db.session, item, _source())
        except InputError as err:
            results.append({"index": index, "status": "refused", "errors": [p.as_dict(lang) for p in err.problems]})
            continue
        created_any |= created
        results.append({"index": index, "id": event.id, "status": event.status, "duplicate": not created})
    db.session.commit()
    if created_any:
        _queue_evaluation()
    accepted = sum(1 for r in results if "id" in r)
    return jsonify({"accepted": accepted, "refused": len(results) - accepted, "results": results}), 207


@bp.get("/events/<int:event_id>")
@require_token()
def get_event(event_id: int):
    event = db.session.scalar(select(Event).where(Event.id == event_id).options(
        selectinload(Event.firings), selectinload(Event.tasks)))
    user = token_user()
    scope = unit_scope(user) if user else None
    visible = event is not None and (
        (g.token.kind == "intake" and event.source == g.token.source)
        or (user is not None and user.role in STAFF_ROLES)
        or (user is not None and scope is not None and any(t.unit_id in scope for t in event.tasks)))
    if not visible:
        return problem(404, "not-found", detail_key="not_found")
    return jsonify(event_json(event, short_lang(), scope))


@bp.get("/tasks")
@require_token(kinds=("user",))
def list_tasks():
    user = token_user()
    query = select(Task).options(selectinload(Task.unit), selectinload(Task.template)).order_by(Task.id)
    scope = unit_scope(user)
    if scope is not None:
        query = query.where(Task.unit_id.in_(scope))
    if request.args.get("status"):
        query = query.where(Task.status == request.args["status"])
    if request.args.get("event"):
        query = query.where(Task.event_id == request.args.get("event", type=int))
    after = request.args.get("after", default=0, type=int)
    limit = max(1, min(request.args.get("limit", default=50, type=int), 200))
    tasks = list(db.session.scalars(query.where(Task.id > after).limit(limit)))
    lang = short_lang()
    return jsonify({"tasks": [task_json(t, lang) for t in tasks],
                    "next": tasks[-1].id if len(tasks) == limit else None})


@bp.get("/tasks/<int:task_id>")
@require_token(kinds=("user",))
def get_task(task_id: int):
    task = db.session.get(Task, task_id)
    scope = unit_scope(token_user())
    if task is None or (scope is not None and task.unit_id not in scope):
        return problem(404, "not-found", detail_key="not_found")
    from web.explain import cards

    lang = short_lang()
    return jsonify({**task_json(task, lang, detail=True), "explanation": cards(task.firings, lang, task.timeline_id)})


# A refused transition: the role may not act (403), or the state or a rule forbids it now (409).
TRANSITION_HTTP = {"role": (403, "forbidden"), "state": (409, "transition-not-allowed"),
                   "rule": (409, "transition-refused"), "conflict": (409, "version-conflict")}


def _transition_body() -> tuple[str, str, dict[str, Any] | None, Any]:
    data = _json_body()
    if not isinstance(data, dict):
        raise InputError([FieldProblem("(body)", "a JSON object with action and version",
                                       "须为含 action 与 version 的 JSON 对象")])
    problems = []
    if not isinstance(data.get("action"), str) or not data["action"]:
        problems.append(FieldProblem("action", "the name of a transition, e.g. sign", "须为操作名称，例如 sign"))
    if not isinstance(data.get("comment", ""), str):
        problems.append(FieldProblem("comment", "text", "须为文本"))
    if data.get("data") is not None and not isinstance(data["data"], dict):
        problems.append(FieldProblem("data", "a JSON object", "须为 JSON 对象"))
    if problems:
        raise InputError(problems)
    return data["action"], data.get("comment", ""), data.get("data"), data.get("version")


@bp.post("/tasks/<int:task_id>/transitions")
@require_token(kinds=("user",))
def post_transition(task_id: int):
    """Move a task through its lifecycle; the caller sends the version it read (optimistic locking)."""
    user = token_user()
    task = db.session.get(Task, task_id)
    scope = unit_scope(user)
    if task is None or (scope is not None and task.unit_id not in scope):
        return problem(404, "not-found", detail_key="not_found")
    action, comment, data, version = _transition_body()
    lang = short_lang()
    try:
        apply_transition(db.session, task, action, user, comment, data, expected_version=version)
    except TransitionError as err:
        db.session.rollback()
        if err.kind == "scope":
            return problem(404, "not-found", detail_key="not_found")
        if isinstance(err, VersionConflict):
            state = {"id": task_id, "status": err.status, "version": err.version}
        else:
            current = db.session.get(Task, task_id)
            state = {"id": task_id, "status": current.status, "version": current.version}
        status, slug = TRANSITION_HTTP[err.kind]
        return problem(status, slug, detail=err.message(lang), action=err.action, task=state)
    db.session.commit()
    return jsonify(task_json(db.session.get(Task, task_id), lang, detail=True))


@bp.get("/categories")
@require_token()
def list_categories():
    rows = db.session.scalars(select(Category).options(selectinload(Category.conditions)).order_by(Category.code))
    return jsonify({"categories": [{
        "code": c.code, "name": {"zh": c.name_zh, "en": c.name_en},
        "parent": c.parent.code if c.parent else None, "default_condition": c.default_condition,
        "filing_conditions": [{"code": f.code, "name": {"zh": f.name_zh, "en": f.name_en},
                               "limit": {"value": f.limit_value, "unit": f.limit_unit}} for f in c.conditions],
    } for c in rows]})


@bp.get("/units")
@require_token()
def list_units():
    rows = db.session.scalars(select(Unit).order_by(Unit.code))
    return jsonify({"units": [{"code": u.code, "name": {"zh": u.name_zh, "en": u.name_en}, "type": u.type,
                               "parent": u.parent.code if u.parent else None} for u in rows]})


@bp.get("/grids")
@require_token()
def list_grids():
    rows = db.session.scalars(select(Grid).order_by(Grid.code))
    return jsonify({"grids": [{"code": r.code, "name": {"zh": r.name_zh, "en": r.name_en}, "unit": r.unit.code,
                               "boundary": r.boundary} for r in rows]})


@bp.post("/auth/token")
@login_limit
def create_token():
    data = _json_body()
    if not isinstance(data, dict):
        raise InputError([FieldProblem("(body)", "a JSON object with username and password",
                                       "须为含 username 与 password 的 JSON 对象")])
    user = sign_in(db.session, str(data.get("username", "")), str(data.get("password", "")))
    db.session.commit()  # a failure is counted towards the lockout
    if user is None:
        return problem(401, "bad-credentials", detail=str(SIGN_IN_FAILED))
    token, row = issue_user_token(db.session, user)
    db.session.commit()
    return jsonify({"token": token, "token_type": "Bearer", "expires_at": row.expires_at.isoformat(),
                    "role": user.role, "unit": user.unit.code if user.unit else None}), 201
