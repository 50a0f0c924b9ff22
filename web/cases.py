"""The cases API (DESIGN 12, 13): a case with its stage history, reports and tasks, the dispatcher routing
a case nobody owns (待派遣), the revisit (回访: by staff, or by the hotline platform's own intake token) and the
reopening of a case whose reporter was not satisfied. Bearer tokens only, like the rest of /api/v1; thin handlers
over engine/cases."""
from __future__ import annotations

from typing import Any

from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, g, jsonify, request

from engine.cases.by_hand import link_report, unlink_report
from engine.cases.revisits import RATINGS, REVISITORS, Answer, record_revisit
from engine.cases.clocks import clocks
from engine.cases.closing import CLOSERS, close_case
from engine.cases.stages import load_case
from engine.cases.verification import FINDINGS, Photo, verify

from engine.core.models import DEFAULT_TIMEZONE, Campaign, Case, Event
from engine.evaluation.filing import FILERS, file_case, refuse_case
from engine.core import clock
from engine.core.states import CaseStage
from engine.evaluation.hand_routing import route_case
from engine.evaluation.handover import Handover, hand_over
from engine.evaluation.reopening import REOPENERS, reopen_case
from engine.intake.reporter import REPORTER_PHONE_ROLES, reveal_phone
from rules.problems import InputError, Problem
from web.auth import STAFF_ROLES, request_actor, require_token, task_scope, token_user
from web.common.extensions import csrf, db
from web.common.i18n import short_lang
from web.common.problems import problem, refused
from web.openapi import BEARER, id_parameter, json_response, problem_responses, ref
from web.serialize import case_json
from web.workflow import DISPATCHERS

bp = Blueprint("cases_api", __name__, url_prefix="/api/v1")
VERIFIERS = ("collector", "shift_leader", "admin")
csrf.exempt(bp)  # bearer tokens only, never a session cookie


@bp.get("/cases/<int:case_id>")
@require_token()
def get_case(case_id: int):
    """Staff see every case, a field unit the cases of its tasks, an intake token the cases of its reports."""
    case = load_case(db.session, case_id)
    user = token_user()
    scope = task_scope(user)
    visible = case is not None and (
        (g.token.kind == "intake" and any(e.source == g.token.source for e in case.reports))
        or (user is not None and user.role in STAFF_ROLES)
        or (user is not None and scope.units is not None and any(scope.sees(t) for t in case.tasks)))
    if not visible:
        return problem(404, "not-found", detail_key="not_found")
    role = user.role if user is not None else None
    return jsonify(case_body(case_id, role, None if scope.units is None else scope.sees))


def case_body(case_id: int, role: str | None, sees=None) -> dict[str, Any]:
    """The case as the API shows it, with its stage clocks against the campaign's minutes."""
    case = load_case(db.session, case_id)
    campaign = db.session.get(Campaign, case.campaign_id) if case.campaign_id else None
    received = case.reports[0].received_at if case.reports else None
    lang = short_lang()
    return case_json(case, lang, sees, role) | {
        "clocks": [c.as_json(clock.now(), lang) for c in clocks(case, campaign, received)]}


def _case_action(case_id: int, act) -> Any:
    """Run one engine step on a case for the signed-in user; a refusal is a 422 with nothing written."""
    if db.session.get(Case, case_id) is None:
        return problem(404, "not-found", detail_key="not_found")
    try:
        extra = act() or {}
    except InputError as err:
        db.session.rollback()
        return refused(err.problems)
    db.session.commit()
    return jsonify(case_body(case_id, token_user().role) | extra)


@bp.post("/cases/<int:case_id>/verify")
@require_token(kinds=("user",), roles=VERIFIERS)
def post_verify(case_id: int):
    """核实 (multipart): `finding` confirmed|not_found|resolved, `note`, optional `filing_condition`, `photo` files."""
    settings = current_app.extensions["civicrules.settings"]
    photos = [Photo(f.filename or "photo", f.read()) for f in request.files.getlist("photo")]

    def act():
        case = db.session.get(Case, case_id)
        campaign = db.session.get(Campaign, case.campaign_id) if case.campaign_id else None
        verify(db.session, case, token_user(), request.form.get("finding", ""), request.form.get("note", ""),
               request.form.get("filing_condition"), photos, settings.evidence.dir, settings.evidence.max_bytes,
               ZoneInfo(campaign.timezone if campaign else DEFAULT_TIMEZONE), clock.now())
    return _case_action(case_id, act)


@bp.post("/cases/<int:case_id>/file")
@require_token(kinds=("user",), roles=FILERS)
def post_file(case_id: int):
    """立案: {"filing_condition": CODE, "category": CODE (a correction, optional), "comment": ...}."""
    data = _body()
    if not isinstance(data, dict):
        return data
    texts = {k: data.get(k) if isinstance(data.get(k), str) else "" for k in ("filing_condition", "category", "comment")}
    return _case_action(case_id, lambda: {"task_ids": file_case(
        db.session, case_id, texts["filing_condition"], texts["category"] or None, token_user(), clock.now(),
        texts["comment"][:2000])})


@bp.post("/cases/<int:case_id>/refuse")
@require_token(kinds=("user",), roles=FILERS)
def post_refuse(case_id: int):
    """不予立案: {"reason": TEXT}, sent back to the source."""
    data = _body()
    if not isinstance(data, dict):
        return data
    reason = data.get("reason") if isinstance(data.get("reason"), str) else ""
    return _case_action(case_id, lambda: refuse_case(db.session, case_id, reason, token_user(), clock.now()))


@bp.post("/cases/<int:case_id>/close")
@require_token(kinds=("user",), roles=CLOSERS)
def post_close(case_id: int):
    """结案: {"closing_condition": CODE (default: the filing condition's), "comment": ...}."""
    data = _body()
    if not isinstance(data, dict):
        return data
    texts = {k: data.get(k) if isinstance(data.get(k), str) else "" for k in ("closing_condition", "comment")}
    return _case_action(case_id, lambda: close_case(db.session, case_id, texts["closing_condition"], token_user(),
                                                    clock.now(), texts["comment"]))


@bp.post("/cases/<int:case_id>/route")
@require_token(kinds=("user",), roles=DISPATCHERS)
def post_route(case_id: int):
    """The dispatcher gives a case awaiting dispatch to a unit ({"unit": CODE}); its task is created at once."""
    if load_case(db.session, case_id) is None:
        return problem(404, "not-found", detail_key="not_found")
    if not request.is_json:
        return problem(415, "json-required", detail_key="json_required")
    data: Any = request.get_json(silent=True)
    if data is None:
        return problem(400, "malformed-json", detail_key="malformed_json")
    unit = data.get("unit") if isinstance(data, dict) else None
    try:
        if not isinstance(unit, str) or not unit.strip():
            raise InputError([Problem("unit", "the code of the unit to dispatch to", "请填写派遣单位的代码")])
        task_id = route_case(db.session, case_id, unit, token_user(), clock.now(), str(data.get("comment") or "")[:2000])
    except InputError as err:
        db.session.rollback()
        return refused(err.problems)
    db.session.commit()
    return jsonify(case_json(load_case(db.session, case_id), short_lang(), None, token_user().role) | {"task": task_id})


@bp.post("/cases/<int:case_id>/revisit")
@require_token(kinds=("user", "intake"), roles=REVISITORS)
def post_revisit(case_id: int):
    """回访: {"reached": bool, "rating": satisfied|basically_satisfied|not_satisfied, "resolved": bool, "comment"}.
    A hotline platform sends its own result with its intake token, for the cases of its own reports only."""
    case = load_case(db.session, case_id)
    source = g.token.source if g.token.kind == "intake" else None
    if case is None or (source is not None and not any(e.source == source for e in case.reports)):
        return problem(404, "not-found", detail_key="not_found")
    data = _body()
    if not isinstance(data, dict):
        return data
    answer = Answer(data.get("reached"), data.get("rating"), data.get("resolved"), data.get("comment", ""))
    try:
        record_revisit(db.session, case_id, answer, clock.now(), token_user(), source)
    except InputError as err:
        db.session.rollback()
        return refused(err.problems)
    db.session.commit()
    user = token_user()
    return jsonify(case_json(load_case(db.session, case_id), short_lang(), None, user.role if user else None))


@bp.post("/cases/<int:case_id>/reopen")
@require_token(kinds=("user",), roles=REOPENERS)
def post_reopen(case_id: int):
    """Reopen a case whose reporter was not satisfied ({"reason": TEXT}): a new task for its lead unit."""
    data = _body()
    if not isinstance(data, dict):
        return data
    reason = data.get("reason") if isinstance(data.get("reason"), str) else ""
    return _case_action(case_id, lambda: {"task": reopen_case(db.session, case_id, reason, token_user(),
                                                                  clock.now())})


def _body() -> Any:
    if not request.is_json:
        return problem(415, "json-required", detail_key="json_required")
    data = request.get_json(silent=True)
    if data is None:
        return problem(400, "malformed-json", detail_key="malformed_json")
    return data if isinstance(data, dict) else {}


@bp.post("/cases/<int:case_id>/reports")
@require_token(kinds=("user",), roles=DISPATCHERS)
def post_link(case_id: int):
    """The dispatcher joins a report to this case by hand ({"event": ID}): one problem, one case."""
    data = _body()
    if not isinstance(data, dict):
        return data
    event_id = data.get("event")
    try:
        if not isinstance(event_id, int) or isinstance(event_id, bool) or not 0 < event_id < 2**63:
            raise InputError([Problem("event", "the id of the report to link", "请填写要关联的上报编号")])
        link_report(db.session, case_id, event_id, token_user(), clock.now(), str(data.get("comment") or "")[:2000])
    except InputError as err:
        db.session.rollback()
        return refused(err.problems)
    db.session.commit()
    return jsonify(case_json(load_case(db.session, case_id), short_lang(), None, token_user().role))


@bp.delete("/cases/<int:case_id>/reports/<int:event_id>")
@require_token(kinds=("user",), roles=DISPATCHERS)
def delete_link(case_id: int, event_id: int):
    """The dispatcher takes a linked report out into a case of its own, which waits for dispatch."""
    try:
        new = unlink_report(db.session, case_id, event_id, token_user(), clock.now())
    except InputError as err:
        db.session.rollback()
        return refused(err.problems)
    db.session.commit()
    return jsonify(case_json(load_case(db.session, new.id), short_lang(), None, token_user().role))


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


@bp.post("/handovers")
@require_token(kinds=("user",), roles=DISPATCHERS)
def post_handover():
    """The committee's item handed over by hand (交办): one event, one dispatched case, a task per unit."""
    data = _body()
    if not isinstance(data, dict):
        return data
    place = data.get("location") if isinstance(data.get("location"), dict) else {}
    limit = data.get("limit") if isinstance(data.get("limit"), dict) else {}
    cooperating = data.get("cooperating") or []
    try:
        if not isinstance(cooperating, list) or not all(isinstance(c, str) for c in cooperating):
            raise InputError([Problem("cooperating", "a list of unit codes", "协办单位须为单位代码列表")])
        texts = {key: data.get(key) if isinstance(data.get(key), str) else "" for key in
                 ("title", "description", "grid", "lead", "address")}
        done = hand_over(db.session, Handover(
            **texts, cooperating=cooperating, limit_value=limit.get("value"),
            limit_unit=limit.get("unit") if isinstance(limit.get("unit"), str) else None,
            lat=_number(place.get("lat")), lon=_number(place.get("lon"))), token_user(), clock.now())
    except InputError as err:
        db.session.rollback()
        return refused(err.problems)
    db.session.commit()
    body = case_json(load_case(db.session, done.case_id), short_lang(), None, token_user().role)
    return jsonify(body | {"event": done.event_id, "task_ids": done.task_ids}), 201


RATING_CODES = list(RATINGS)


@bp.post("/events/<int:event_id>/reporter-phone")
@require_token(kinds=("user",), roles=REPORTER_PHONE_ROLES)
def reveal_reporter_phone(event_id: int):
    """The reporter's whole number for a role that contacts reporters; every call is in the security audit log."""
    event = db.session.get(Event, event_id)
    if event is None:
        return problem(404, "not-found", detail_key="not_found")
    try:
        phone = reveal_phone(db.session, event, request_actor())
    except InputError as err:
        db.session.rollback()
        return refused(err.problems)
    db.session.commit()
    response = jsonify({"event": event.id, "phone": phone})
    response.headers["Cache-Control"] = "no-store"
    return response


def _openapi() -> tuple[dict[str, Any], dict[str, Any]]:
    stages = [stage.value for stage in CaseStage]
    case = {"type": "object", "required": ["id", "stage", "stage_name", "category", "report_count", "stages",
                                            "reports", "tasks"], "properties": {
        "id": {"type": "integer"},
        "stage": {"type": "string", "enum": stages, "description": "English code; `stage_name` is localized"},
        "stage_name": {"type": "string"},
        "category": {"type": "object", "properties": {"code": {"type": "string"}, "name": {"type": "string"}}},
        "filing_condition": {"type": "string", "nullable": True}, "grid": {"type": "string"},
        "place": {"type": "object", "nullable": True, "properties": {"lat": {"type": "number"},
                                                                      "lon": {"type": "number"}}},
        "lead_unit": {"type": "object", "nullable": True, "description": "主办: by the duty lists or the dispatcher",
                      "properties": {"code": {"type": "string"}, "name": {"type": "string"}}},
        "report_count": {"type": "integer", "description": "Reports of this problem (one problem, one case)"},
        "frontage_holder": {"type": "object", "nullable": True,
                            "description": "门前三包: the holder whose frontage the report lies at (GET /api/v1/frontage-holders/{id})",
                            "properties": {"id": {"type": "integer"}, "code": {"type": "string", "nullable": True},
                                           "name": {"type": "string"}, "address": {"type": "string"}}},
        "campaign": {"type": "integer", "nullable": True},
        "reported_at": {"type": "string", "format": "date-time"},
        "opened_at": {"type": "string", "format": "date-time"},
        "closed_at": {"type": "string", "format": "date-time", "nullable": True},
        "stages": {"type": "array", "description": "Stage history, oldest first", "items": {
            "type": "object", "properties": {"from": {"type": "string", "nullable": True},
                                             "to": {"type": "string", "enum": stages}, "to_name": {"type": "string"},
                                             "at": {"type": "string", "format": "date-time"},
                                             "actor": {"type": "integer", "nullable": True},
                                             "comment": {"type": "string"}}}},
        "reports": {"type": "array", "items": {"type": "object"}, "description": "The linked events"},
        "revisits": {"type": "array", "description": "回访, oldest first", "items": {
            "type": "object", "properties": {"reached": {"type": "boolean"},
                                             "rating": {"type": "string", "nullable": True, "enum": RATING_CODES},
                                             "rating_name": {"type": "string"},
                                             "resolved": {"type": "boolean", "nullable": True},
                                             "comment": {"type": "string"},
                                             "actor": {"type": "integer", "nullable": True},
                                             "source": {"type": "string", "nullable": True},
                                             "at": {"type": "string", "format": "date-time"}}}},
        "tasks": {"type": "array", "items": ref("Task"), "description": "A field unit sees only its own"},
        "stage_due_at": {"type": "string", "format": "date-time", "nullable": True,
                         "description": "When the current stage's clock runs out"},
        "verifier": {"type": "object", "nullable": True, "description": "The grid's collector who verifies (核实)",
                     "properties": {"code": {"type": "string"}, "name": {"type": "string"}}},
        "verification": {"type": "object", "nullable": True, "properties": {
            "finding": {"type": "string", "enum": list(FINDINGS)}, "finding_name": {"type": "string"},
            "note": {"type": "string"}, "filing_condition": {"type": "string", "nullable": True},
            "photos": {"type": "array", "items": {"type": "integer"}}, "at": {"type": "string"}}},
        "closing_condition": {"type": "string", "nullable": True},
        "clocks": {"type": "array", "description": "Stage clocks: 受理 (accept), 核实 (verify), 派遣 (dispatch), "
                   "then 核查 (check) once per submission of the lead task",
                   "items": ref("StageClock")},
        "cooperating": {"type": "array", "description": "协办: each cooperating unit's task and its answer to the "
                        "lead (its latest submission's comment and form answers). The case closes once the lead's "
                        "task passed its check and every cooperating task is submitted, closed or voided", "items": {
            "type": "object", "required": ["unit", "task", "status", "answered", "answer", "answered_at"],
            "properties": {
                "unit": {"type": "object", "properties": {"code": {"type": "string"}, "name": {"type": "string"}}},
                "task": {"type": "integer"},
                "status": {"type": "string", "description": "The task's status (voided: no answer owed)"},
                "answered": {"type": "boolean", "description": "Its submission stands: the task is submitted or "
                                                               "closed"},
                "answer": {"type": "string", "nullable": True, "description": "Null until it first submits"},
                "answered_at": {"type": "string", "format": "date-time", "nullable": True}}}}}}
    paths = {
        "/api/v1/events/{event_id}/reporter-phone": {"post": {
            "summary": "The reporter's whole phone number (dispatchers, shift leaders, collectors); each call is "
                       "written to the security audit log",
            "description": "Events and cases show the reporter's phone masked (138****5678) to every role.",
            "security": BEARER, "tags": ["intake"],
            "parameters": [id_parameter("event_id", "The event id")],
            "responses": {"200": json_response("The number", {"type": "object", "required": ["event", "phone"],
                                                               "properties": {"event": {"type": "integer"},
                                                                              "phone": {"type": "string"}}}),
                          **problem_responses(401, 403, 404, 422)}}},
        "/api/v1/cases/{case_id}": {"get": {
            "summary": "A case: matter, place, stage, lead unit, report count, stage history, reports and tasks",
            "security": BEARER, "tags": ["cases"], "parameters": [id_parameter("case_id", "Case id")],
            "responses": {"200": json_response("The case", ref("Case")), **problem_responses(401, 403, 404)}}},
        "/api/v1/cases/{case_id}/verify": {"post": {
            "summary": "核实: the grid's collector (or a shift leader for them) records what was found on the spot, "
                       "with at least one photo; the case then waits for filing (待立案)",
            "security": BEARER, "tags": ["cases"], "parameters": [id_parameter("case_id", "Case id")],
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "required": ["finding", "photo"], "properties": {
                    "finding": {"type": "string", "enum": list(FINDINGS)},
                    "note": {"type": "string"}, "filing_condition": {"type": "string"},
                    "photo": {"type": "array", "items": {"type": "string", "format": "binary"}}}}}}},
            "responses": {"200": json_response("The case, awaiting filing", ref("Case")),
                          **problem_responses(400, 401, 403, 404, 413, 422)}}},
        "/api/v1/cases/{case_id}/file": {"post": {
            "summary": "立案: the shift leader files a verified case against a filing condition of its category "
                       "(optionally correcting the category); the case is evaluated again and dispatched",
            "security": BEARER, "tags": ["cases"], "parameters": [id_parameter("case_id", "Case id")],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["filing_condition"], "properties": {
                    "filing_condition": {"type": "string", "example": "default"},
                    "category": {"type": "string", "description": "A corrected category code"},
                    "comment": {"type": "string"}}}}}},
            "responses": {"200": json_response("The case, with `task_ids` of the tasks it made", ref("Case")),
                          **problem_responses(400, 401, 403, 404, 415, 422)}}},
        "/api/v1/cases/{case_id}/refuse": {"post": {
            "summary": "不予立案: the shift leader refuses a verified case with a reason for the source",
            "security": BEARER, "tags": ["cases"], "parameters": [id_parameter("case_id", "Case id")],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["reason"], "properties": {"reason": {"type": "string"}}}}}},
            "responses": {"200": json_response("The case, not filed", ref("Case")),
                          **problem_responses(400, 401, 403, 404, 415, 422)}}},
        "/api/v1/cases/{case_id}/close": {"post": {
            "summary": "结案: the shift leader closes a dispatched case against a closing condition once its lead "
                       "unit's task has passed the check and every cooperating unit (协办) has answered (its task "
                       "submitted, closed or voided); a refusal names the units still owing their answer",
            "security": BEARER, "tags": ["cases"], "parameters": [id_parameter("case_id", "Case id")],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "properties": {
                    "closing_condition": {"type": "string", "description": "Default: the filing condition's"},
                    "comment": {"type": "string"}}}}}},
            "responses": {"200": json_response("The case, closed", ref("Case")),
                          **problem_responses(400, 401, 403, 404, 415, 422)}}},
        "/api/v1/cases/{case_id}/route": {"post": {
            "summary": "Route a case awaiting dispatch (待派遣) to a unit: dispatcher, shift leader or admin",
            "security": BEARER, "tags": ["cases"], "parameters": [id_parameter("case_id", "Case id")],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["unit"], "properties": {
                    "unit": {"type": "string", "example": "JD-DC"}, "comment": {"type": "string"}}}}}},
            "responses": {"200": json_response("The case, dispatched, with `task` the new task's id", ref("Case")),
                          **problem_responses(400, 401, 403, 404, 415, 422)}}},
        "/api/v1/cases/{case_id}/revisit": {"post": {
            "summary": "Record the revisit (回访) of a closed case: dispatcher, shift leader or admin, or the hotline "
                       "platform's intake token for the cases of its own reports (another source's: 404). The case "
                       "becomes revisited",
            "security": BEARER, "tags": ["cases"], "parameters": [id_parameter("case_id", "Case id")],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["reached"], "properties": {
                    "reached": {"type": "boolean", "description": "false: 未联系上 (then no rating, no resolved)"},
                    "rating": {"type": "string", "enum": RATING_CODES},
                    "resolved": {"type": "boolean", "description": "The reporter calls the problem resolved"},
                    "comment": {"type": "string", "maxLength": 2000}}}}}},
            "responses": {"200": json_response("The case, revisited", ref("Case")),
                          **problem_responses(400, 401, 403, 404, 415, 422)}}},
        "/api/v1/cases/{case_id}/reopen": {"post": {
            "summary": "Reopen a case whose reporter was not satisfied at the revisit: revisited → reopened → "
                       "dispatched with a new routine task for its lead unit; the source is told. Dispatcher, "
                       "shift leader or admin",
            "security": BEARER, "tags": ["cases"], "parameters": [id_parameter("case_id", "Case id")],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["reason"], "properties": {
                    "reason": {"type": "string", "maxLength": 2000}}}}}},
            "responses": {"200": json_response("The case, dispatched again, with `task` the new task's id",
                                               ref("Case")),
                          **problem_responses(400, 401, 403, 404, 415, 422)}}},
        "/api/v1/cases/{case_id}/reports": {"post": {
            "summary": "Link a report to this open case by hand (same matter; not a report whose tasks are in "
                       "progress): dispatcher, shift leader or admin",
            "security": BEARER, "tags": ["cases"], "parameters": [id_parameter("case_id", "Case id")],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["event"], "properties": {
                    "event": {"type": "integer"}, "comment": {"type": "string"}}}}}},
            "responses": {"200": json_response("The case with the report", ref("Case")),
                          **problem_responses(400, 401, 403, 415, 422)}}},
        "/api/v1/cases/{case_id}/reports/{event_id}": {"delete": {
            "summary": "Unlink a report: it becomes a case of its own, awaiting dispatch",
            "security": BEARER, "tags": ["cases"], "parameters": [id_parameter("case_id", "Case id"),
                                                                  id_parameter("event_id", "The report's event id")],
            "responses": {"200": json_response("The report's new case", ref("Case")),
                          **problem_responses(401, 403, 422)}}},
        "/api/v1/handovers": {"post": {
            "summary": "Hand an item over (交办, from the committee) to a lead unit and cooperating units with a "
                       "limit: one event (source `committee`, type `leader`, matter L0008), one dispatched case and "
                       "a task per unit, no points. Dispatcher, shift leader or admin",
            "security": BEARER, "tags": ["cases"],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["title", "grid", "lead", "limit"], "properties": {
                    "title": {"type": "string", "maxLength": 200},
                    "description": {"type": "string"},
                    "grid": {"type": "string", "example": "DC-01", "description": "Any known grid, also one "
                                                                                 "outside the lead unit's area"},
                    "location": {"type": "object", "properties": {"lat": {"type": "number"},
                                                                  "lon": {"type": "number"}}},
                    "address": {"type": "string", "maxLength": 300},
                    "lead": {"type": "string", "example": "JD-DC", "description": "主办 unit code"},
                    "cooperating": {"type": "array", "items": {"type": "string"},
                                    "description": "协办 unit codes, not the lead"},
                    "limit": {"type": "object", "required": ["value", "unit"], "properties": {
                        "value": {"type": "number", "example": 3},
                        "unit": {"type": "string", "example": "working_days",
                                 "description": "urgent_hours, working_hours, working_days, urgent_days, or as "
                                                "standards write it: 工作日, 小时, 紧急工作时, 天 …"}}}}}}}},
            "responses": {"201": json_response("The new case, with `event` and `task_ids` (lead first)",
                                               ref("Case")),
                          **problem_responses(400, 401, 403, 415, 422)}}},
    }
    return paths, {"Case": case}


OPENAPI_PATHS, OPENAPI_SCHEMAS = _openapi()
