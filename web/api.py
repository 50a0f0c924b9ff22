"""The JSON API (v1): thin handlers over engine/; errors are problem details naming the field."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from sqlalchemy import Engine, select
from sqlalchemy.orm import selectinload

from engine.accounts.lockout import attempt
from engine.accounts.users import issue_user_token
from engine.audit.security_log import record
from engine.cases.clocks import running_checks
from engine.core.models import Case, Category, Event, Grid, Task, Unit
from engine.core.states import CaseStage, EventStatus
from engine.handling.evidence import submission_problems
from engine.handling.tasks import SEND_BACK_GROUNDS, TransitionError, VersionConflict
from engine.handling.tasks import apply as apply_transition
from engine.intake.events import IntakeSource, accept_event, accept_events
from rules.problems import InputError, Problem
from web.auth import STAFF_ROLES, request_actor, require_token, stranger, task_scope, token_user
from web.common.explain import cards
from web.common.extensions import db
from web.common.i18n import short_lang
from web.common.problems import problem, refused
from web.common.taskforms import validate_data
from web.openapi import BEARER, id_parameter, json_response, problem_responses, ref
from web.ratelimit import account_waits, intake_limit, login_limit, note_sign_in
from web.security import SIGN_IN_FAILED, credentials
from web.serialize import TASK_SCHEMA, event_json, person_json, task_json
from workers.queues import enqueue_drain

bp = Blueprint("api", __name__, url_prefix="/api/v1")
MAX_BATCH = 1000
CASE_STAGES = [stage.value for stage in CaseStage]


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
    return refused(err.problems)


def _source() -> IntakeSource:
    return IntakeSource(g.token.source, g.token.source_type or "hotline", g.token.crs or "wgs84")


def _queue_evaluation() -> None:
    """Queue a drain after commit; if Redis is down the sweep picks the events up from SQL later."""
    try:
        enqueue_drain(current_app.extensions["civicrules.settings"])
    except Exception:
        current_app.logger.warning("could not queue evaluation; the sweep will", exc_info=True)


def _outside_a_transaction() -> None:
    """A single intake is one statement (a repeat reads its original in one more), atomic by itself: on PostgreSQL
    it runs without BEGIN and COMMIT, two of its three round trips; unless the request has a transaction open (an
    intake token read from the database) or the session no connection of its own (a test's outer transaction)."""
    session = db.session()
    if not session.in_transaction() and isinstance(session.bind or db.engine, Engine) \
            and db.engine.dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


@bp.post("/events")
@intake_limit
@require_token(kinds=("intake",))
def post_event():
    body, source = _json_body(), _source()
    _outside_a_transaction()
    event, created = accept_event(db.session, body, source)
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
        raise InputError([Problem("events", f"a list of 1–{MAX_BATCH} events",
                                       f"由 1–{MAX_BATCH} 个事件组成的列表")])
    results, created_any, lang = [], False, short_lang()
    for index, outcome in enumerate(accept_events(db.session, items, _source())):
        if isinstance(outcome, InputError):
            results.append({"index": index, "status": "refused", "errors": [p.as_dict(lang) for p in outcome.problems]})
            continue
        event, created = outcome
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
        selectinload(Event.firings), selectinload(Event.tasks), selectinload(Event.case)))
    user = token_user()
    scope = task_scope(user)
    visible = event is not None and (
        (g.token.kind == "intake" and event.source == g.token.source)
        or (user is not None and user.role in STAFF_ROLES)
        or (user is not None and scope.units is not None
            and any(scope.sees(t) for t in [*event.tasks, *(event.case.tasks if event.case else [])])))
    if not visible:  # a field unit also reads the reports linked to the cases of its tasks
        return problem(404, "not-found", detail_key="not_found")
    role = user.role if user is not None else None  # an intake token reads the reporter's phone masked
    return jsonify(event_json(event, short_lang(), None if scope.units is None else scope.sees, role))


MAX_ID = 2**63 - 1


def _query_int(name: str, default: int | None) -> int | None:
    """A whole-number query parameter within the database's id range, else a 422 naming it."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if not 0 <= value <= MAX_ID:
        raise InputError([Problem(name, "a whole number from 0", "须为不小于 0 的整数")])
    return value


@bp.get("/tasks")
@require_token(kinds=("user",))
def list_tasks():
    user = token_user()
    query = select(Task).options(selectinload(Task.unit), selectinload(Task.template), selectinload(Task.event),
                                 selectinload(Task.assignee), selectinload(Task.case).selectinload(Case.tasks)
                                 ).order_by(Task.id)
    condition = task_scope(user).condition()
    if condition is not None:
        query = query.where(condition)
    if request.args.get("status"):
        query = query.where(Task.status == request.args["status"])
    event_id = _query_int("event", None)
    if event_id is not None:
        query = query.where(Task.event_id == event_id)
    after = _query_int("after", 0)
    limit = max(1, min(_query_int("limit", 50), 200))
    tasks = list(db.session.scalars(query.where(Task.id > after).limit(limit)))
    lang = short_lang()
    checks = running_checks(db.session, tasks)
    return jsonify({"tasks": [task_json(t, lang, checks=checks) for t in tasks],
                    "next": tasks[-1].id if len(tasks) == limit else None})


@bp.get("/tasks/<int:task_id>")
@require_token(kinds=("user",))
def get_task(task_id: int):
    task = db.session.get(Task, task_id)
    if task is None or not task_scope(token_user()).sees(task):
        return problem(404, "not-found", detail_key="not_found")

    lang = short_lang()
    return jsonify({**task_json(task, lang, detail=True, checks=running_checks(db.session, [task])),
                    "explanation": cards(task.firings, lang, task.timeline_id)})


# A refused transition: the role may not act (403), or the state or a rule forbids it now (409).
TRANSITION_HTTP = {"role": (403, "forbidden"), "state": (409, "transition-not-allowed"),
                   "rule": (409, "transition-refused"), "conflict": (409, "version-conflict")}


def _transition_body() -> tuple[str, str, dict[str, Any] | None, Any]:
    data = _json_body()
    if not isinstance(data, dict):
        raise InputError([Problem("(body)", "a JSON object with action and version",
                                       "须为含 action 与 version 的 JSON 对象")])
    problems = []
    if not isinstance(data.get("action"), str) or not data["action"]:
        problems.append(Problem("action", "the name of a transition, e.g. sign", "须为操作名称，例如 sign"))
    if not isinstance(data.get("comment", ""), str):
        problems.append(Problem("comment", "text", "须为文本"))
    if data.get("data") is not None and not isinstance(data["data"], dict):
        problems.append(Problem("data", "a JSON object", "须为 JSON 对象"))
    if problems:
        raise InputError(problems)
    moved = data.get("data")
    if "grounds" in data:  # a send-back's grounds (退单依据), checked against the list by the engine
        moved = {**(moved or {}), "grounds": data["grounds"]}
    return data["action"], data.get("comment", ""), moved, data.get("version")


@bp.post("/tasks/<int:task_id>/transitions")
@require_token(kinds=("user",))
def post_transition(task_id: int):
    """Move a task through its lifecycle; the caller sends the version it read (optimistic locking)."""
    user = token_user()
    task = db.session.get(Task, task_id)
    if task is None or not task_scope(user).sees(task):
        return problem(404, "not-found", detail_key="not_found")
    action, comment, data, version = _transition_body()
    lang = short_lang()
    prepare = (lambda t, d: _submission(t, d, lang)) if action == "submit" else None
    try:
        apply_transition(db.session, task, action, user, comment, data, expected_version=version, prepare=prepare)
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
    task = db.session.get(Task, task_id)
    return jsonify(task_json(task, lang, detail=True, checks=running_checks(db.session, [task])))


def _submission(task: Task, data: dict[str, Any] | None, lang: str) -> dict[str, Any]:
    """A submission carries the template's form (validated by its WTForms class) and its evidence."""
    clean, errors = validate_data(task.template, data, lang)
    problems = [Problem(name, "; ".join(messages), "；".join(messages)) for name, messages in errors.items()]
    problems += submission_problems(db.session, task)
    if problems:
        raise InputError(problems)
    return clean


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
    rows = db.session.scalars(select(Grid).options(selectinload(Grid.responsible), selectinload(Grid.collector))
                              .order_by(Grid.code))
    lang = short_lang()
    return jsonify({"grids": [{"code": r.code, "grid_code": r.grid_code, "name": {"zh": r.name_zh, "en": r.name_en},
                               "unit": r.unit.code,
                               "boundary": r.boundary, "responsible": person_json(r.responsible, lang),
                               "collector": person_json(r.collector, lang)} for r in rows]})


@bp.post("/auth/token")
@login_limit
def create_token():
    data = _json_body()
    if not isinstance(data, dict):
        raise InputError([Problem("(body)", "a JSON object with username and password",
                                       "须为含 username 与 password 的 JSON 对象")])
    username, password = credentials(data)
    outcome = attempt(db.session, username, password, address=request.remote_addr or "")
    note_sign_in(outcome.failed)
    if outcome.user is not None:
        record(db.session, request_actor(outcome.user), "sign_in", "申请 API 令牌 / API token requested")
    else:
        record(db.session, stranger(username), "sign_in_failed", "API 令牌被拒绝 / API token refused")
    db.session.commit()  # a failure is counted towards the account's wait
    if outcome.wait_seconds:
        return account_waits(username, outcome.wait_seconds)
    user = outcome.user
    if user is None:
        return problem(401, "bad-credentials", detail=str(SIGN_IN_FAILED))
    if user.must_change_password:
        return problem(403, "password-change-required", detail_key="password_change_required")
    token, row = issue_user_token(db.session, user)
    db.session.commit()
    return jsonify({"token": token, "token_type": "Bearer", "expires_at": row.expires_at.isoformat(),
                    "role": user.role, "unit": user.unit.code if user.unit else None}), 201


def _openapi() -> tuple[dict[str, Any], dict[str, Any]]:
    event_in = {
        "type": "object", "additionalProperties": False, "required": ["source_event_id", "category", "occurred_at"],
        "description": "One event. Give a grid code, a location, or an address registered to a frontage holder.",
        "properties": {
            "source_event_id": {"type": "string", "minLength": 1, "maxLength": 128,
                                "description": "The event's id in the sending system (idempotency key)."},
            "category": {"type": "string", "example": "06029"},
            "filing_condition": {"type": "string"},
            "grid": {"type": "string", "example": "NC-04",
                     "description": "The grid's short code, or its standard 15-digit code (网格编码)"},
            "location": {"type": "object", "required": ["lat", "lon"], "properties": {
                "lat": {"type": "number", "minimum": -90, "maximum": 90},
                "lon": {"type": "number", "minimum": -180, "maximum": 180}}},
            "occurred_at": {"type": "string", "format": "date-time", "example": "2025-06-01T23:00:00+08:00"},
            "description": {"type": "string", "maxLength": 4000},
            "address": {"type": "string", "maxLength": 300},
            "source_type": {"type": "string", "enum": ["hotline", "patrol", "camera", "inspection", "media",
                                                      "leader", "citizen"],
                            "description": "Optional: the source type is the intake token's (civicrules token "
                                           "create --source-type). Another one is refused with 422."},
            "media_url": {"type": "string", "maxLength": 500},
            "reporter_name": {"type": "string", "maxLength": 64, "description": "来电人/反映人"},
            "reporter_phone": {"type": "string", "example": "13800000001",
                               "description": "6–30 digits, an optional leading +; spaces and dashes are "
                                              "dropped. Read back masked; see POST /api/v1/events/{id}/reporter-phone."},
            "anonymous": {"type": "boolean", "default": False,
                          "description": "The reporter asked to stay anonymous: name and phone are not stored."},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1,
                           "description": "The detection's confidence; accepted from camera tokens only."},
        }}
    accepted = {"type": "object", "required": ["id", "status", "duplicate"], "properties": {
        "id": {"type": "integer"}, "status": {"type": "string"}, "duplicate": {"type": "boolean"}}}
    event_out = {"type": "object", "required": ["id", "status", "source", "source_event_id", "tasks"], "properties": {
        "id": {"type": "integer"},
        "status": {"type": "string", "enum": [status.value for status in EventStatus],
                   "description": "failed: evaluation was given up after repeated errors; `error` says why"},
        "source": {"type": "string"}, "source_event_id": {"type": "string"}, "category": {"type": "object"},
        "grid": {"type": "string", "nullable": True, "description": "null: located outside every grid (its case "
                                                                    "waits for the dispatcher)"},
        "firings": {"type": "array", "items": {"type": "object"},
                    "description": "Each with `phase`: intake (on arrival), filing (its case filed later) or "
                                   "intake+filing (filed on arrival); only the last two make tasks"},
        "source_type": {"type": "string", "description": "The intake token's source type"},
        "anonymous": {"type": "boolean"},
        "reporter": {"type": "object", "nullable": True,
                     "description": "null for an anonymous report or when nobody was named; the phone is "
                                    "masked (138****5678) for every role; POST /api/v1/events/{id}/reporter-phone "
                                    "gives it whole to dispatchers, shift leaders and collectors, logged",
                     "properties": {"name": {"type": "string", "nullable": True},
                                    "phone": {"type": "string", "nullable": True}}},
        "confidence": {"type": "number", "nullable": True, "description": "Camera reports only (0–1)"},
        "tasks": {"type": "array", "items": ref("Task")},
        "case": {"type": "object", "nullable": True, "description": "The case the report opened or joined "
                 "(null until evaluated)", "required": ["id", "stage", "report_count"], "properties": {
                     "id": {"type": "integer"}, "stage": {"type": "string", "enum": CASE_STAGES},
                     "report_count": {"type": "integer"}}}}}
    listing = {"type": "object"}
    user_read = {"security": BEARER, "responses": {}}
    holder = {"type": "object", "nullable": True, "properties": {
        "id": {"type": "integer"}, "name": {"type": "string"}, "position": {"type": "string"},
        "position_name": {"type": "string"}, "unit": {"type": "object", "properties": {
            "code": {"type": "string"}, "name": {"type": "string"}}}}}
    grid = {"type": "object", "required": ["code", "boundary", "responsible", "collector"], "properties": {
        "code": {"type": "string"}, "name": ref("Name"), "unit": {"type": "string"},
        "grid_code": {"type": "string", "nullable": True, "pattern": "^[0-9]{15}$",
                      "description": "The standard 15-digit grid code (网格编码): 6 digits of the administrative "
                                     "division, 3 of the street, 3 of the community, 3 of the grid; null if none"},
        "boundary": {"type": "object", "nullable": True},
        "responsible": {**holder, "description": "The 责任人 who answers for the grid (包片), or null"},
        "collector": {**holder, "description": "The 监督员 who verifies reports and checks work there, or null"}}}
    schemas = {"EventIn": event_in, "Accepted": accepted, "Task": TASK_SCHEMA, "Event": event_out, "Grid": grid}
    paths = {
        "/api/v1/events": {"post": {
            "summary": "Hand over one event (idempotent on source + source_event_id)", "security": BEARER,
            "tags": ["intake"],
            "requestBody": {"required": True, "content": {"application/json": {"schema": ref("EventIn")}}},
            "responses": {"202": json_response("Accepted, to be evaluated", ref("Accepted")),
                          "200": json_response("A repeat: the original event", ref("Accepted")),
                          **problem_responses(400, 401, 403, 413, 415, 422, 429, 503)}}},
        "/api/v1/events/batch": {"post": {
            "summary": "Hand over up to 1,000 events; each is accepted or refused on its own", "security": BEARER,
            "tags": ["intake"],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["events"], "properties": {
                    "events": {"type": "array", "minItems": 1, "maxItems": 1000, "items": ref("EventIn")}}}}}},
            "responses": {"207": json_response("One result per event", {"type": "object", "required": [
                "accepted", "refused", "results"], "properties": {"accepted": {"type": "integer"},
                "refused": {"type": "integer"}, "results": {"type": "array", "items": {"type": "object"}}}}),
                **problem_responses(400, 401, 403, 413, 415, 422, 429, 503)}}},
        "/api/v1/events/{event_id}": {"get": {
            "summary": "An event with its firings (matched conditions and values) and tasks", "security": BEARER,
            "tags": ["intake"], "parameters": [id_parameter("event_id", "The event id intake answered")],
            "responses": {"200": json_response("The event", ref("Event")), **problem_responses(401, 403, 404)}}},
        "/api/v1/tasks": {"get": {
            "summary": "Tasks visible to the caller (a field unit sees its own unit's), by id, keyset-paged",
            "security": BEARER, "tags": ["tasks"], "parameters": [
                {"name": "status", "in": "query", "schema": {"type": "string"}},
                {"name": "event", "in": "query", "schema": {"type": "integer"}},
                {"name": "after", "in": "query", "schema": {"type": "integer"}, "description": "last id seen"},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}}],
            "responses": {"200": json_response("A page of tasks", {"type": "object", "required": ["tasks", "next"],
                                                                    "properties": {
                "tasks": {"type": "array", "items": ref("Task")}, "next": {"type": "integer", "nullable": True}}}),
                **problem_responses(401, 403, 422)}}},
        "/api/v1/tasks/{task_id}": {"get": {
            "summary": "A task with its history, firings and explanation cards", "security": BEARER,
            "tags": ["tasks"], "parameters": [id_parameter("task_id", "Task id")],
            "responses": {"200": json_response("The task", ref("Task")), **problem_responses(401, 403, 404)}}},
        "/api/v1/tasks/{task_id}/transitions": {"post": {
            "summary": "Move a task through its lifecycle (sign, start, submit, pass, fail, ...)",
            "description": "Send the version you read: a concurrent change answers 409 with the current state.",
            "security": BEARER, "tags": ["tasks"], "parameters": [id_parameter("task_id", "Task id")],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["action"], "properties": {
                    "action": {"type": "string", "example": "sign"}, "version": {"type": "integer"},
                    "comment": {"type": "string", "description": "the reason; required to fail a check, send back, "
                                "request parking or voiding, and to reject any request"}, "data": {"type": "object",
                    "description": "request_park: until; reroute: unit; request_extension and approve_extension: "
                                   "limit_value and limit_unit (default: the length asked, else the task's limit)"},
                    "grounds": {"type": "string", "enum": list(SEND_BACK_GROUNDS),
                                "description": "send_back only: why the unit sends the order back (退单依据)"}}}}}},
            "responses": {"200": json_response("The task after the transition", ref("Task")),
                          **problem_responses(400, 401, 403, 404, 409, 413, 415, 422)}}},
        "/api/v1/categories": {"get": {"summary": "Problem categories with filing conditions and time limits",
                                       "tags": ["reference"], **user_read, "responses": {
            "200": json_response("Categories", {"type": "object", "required": ["categories"], "properties": {
                "categories": {"type": "array", "items": listing}}}), **problem_responses(401, 403)}}},
        "/api/v1/units": {"get": {"summary": "Responsible units", "tags": ["reference"], **user_read, "responses": {
            "200": json_response("Units", {"type": "object", "required": ["units"], "properties": {
                "units": {"type": "array", "items": listing}}}), **problem_responses(401, 403)}}},
        "/api/v1/grids": {"get": {"summary": "Grids with their boundary, 责任人 and 监督员", "tags": ["reference"],
                                  **user_read, "responses": {
            "200": json_response("Grids", {"type": "object", "required": ["grids"], "properties": {
                "grids": {"type": "array", "items": ref("Grid")}}}),
            **problem_responses(401, 403)}}},
        "/api/v1/auth/token": {"post": {
            "summary": "Exchange a username and password for a user token", "tags": ["auth"], "security": [],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["username", "password"], "properties": {
                    "username": {"type": "string"}, "password": {"type": "string"}}}}}},
            "responses": {"201": json_response("A bearer token", {"type": "object", "required": ["token"],
                                                                   "properties": {
                "token": {"type": "string"}, "token_type": {"type": "string"},
                "expires_at": {"type": "string", "format": "date-time"}, "role": {"type": "string"},
                "unit": {"type": "string", "nullable": True}}}),
                **problem_responses(400, 401, 403, 413, 415, 422, 429)}}},
    }
    return paths, schemas


OPENAPI_PATHS, OPENAPI_SCHEMAS = _openapi()
