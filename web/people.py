"""The people API: the staff register, who is on duty (值班表), and handing a task to a person (我的任务).

Thin handlers over engine/people and engine/handling/assignment; bearer tokens only, like the rest of
/api/v1. Phone numbers are shown in full only to the roles that call people (staff.PHONE_ROLES).
"""
from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, jsonify, request
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from engine.authoring.campaigns import campaign_for, campaign_zone
from engine.core import clock
from engine.core.models import Person, Task, Unit, User
from engine.handling.arrival import SOURCES, ArrivalRefused, record_arrival
from engine.handling.assignment import AssignmentRefused, assign
from engine.people.roster import KINDS, on_duty
from engine.people.staff import POSITIONS, position_name, shown_phone, unit_and_below
from rules.problems import InputError, Problem
from web.auth import require_token, task_scope, token_user, unit_scope
from web.common.extensions import csrf, db
from web.common.i18n import short_lang
from web.common.problems import problem, refused
from web.openapi import BEARER, id_parameter, json_response, problem_responses, ref
from web.serialize import task_json

bp = Blueprint("people_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # bearer tokens only, never a session cookie
#: Who may hand a task to a person; engine.handling.assignment.may_assign decides per task.
ASSIGNERS = ("field_unit", "admin")
#: The instants a roster may be asked about: wide, but clear of the calendar's ends in every time zone.
EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(9000, 1, 1, tzinfo=UTC)
MAX_PERSON_ID = 2**31 - 1  # staff.id is a 32-bit integer column
#: A query string's "+08:00" arrives as " 08:00" when the client did not encode it.
_UNENCODED_OFFSET = re.compile(r"(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:?\d{2})$")


def _name(obj: Any, lang: str) -> str:
    return obj.name_zh if lang == "zh" else obj.name_en


def _role(user: User | None) -> str | None:
    return user.role if user is not None else None


def _visible_unit(code: str, user: User | None) -> Unit | None:
    """The unit with this code, if the caller may see it (a field unit: its own and those under it)."""
    if not code or "\x00" in code:  # PostgreSQL refuses NUL in text: such a code names no unit
        return None
    unit = db.session.scalar(select(Unit).where(Unit.code == code))
    scope = unit_scope(user) if user is not None else None
    return unit if unit is not None and (scope is None or unit.id in scope) else None


def _unit_problem() -> Problem:
    return Problem("unit", "the code of a unit you may see, e.g. JD-DC", "须为你可查看的单位代码，例如 JD-DC")


@bp.get("/staff")
@require_token(kinds=("user",))
def list_staff():
    """Each person with position, unit and account; ?unit= (with the units under it) and ?position=."""
    user, lang = token_user(), short_lang()
    query = select(Person).options(selectinload(Person.unit), selectinload(Person.user)).order_by(Person.code)
    scope = unit_scope(user) if user is not None else None
    if scope is not None:
        query = query.where(Person.unit_id.in_(scope))
    problems = []
    if request.args.get("unit"):
        unit = _visible_unit(request.args["unit"], user)
        if unit is None:
            problems.append(_unit_problem())
        else:
            query = query.where(Person.unit_id.in_(unit_and_below(db.session, unit.id)))
    position = request.args.get("position")
    if position:
        if position not in POSITIONS:
            problems.append(Problem("position", f"one of {', '.join(POSITIONS)}", f"须为 {'、'.join(POSITIONS)} 之一"))
        query = query.where(Person.position == position)
    if problems:
        return refused(problems)
    role = _role(user)
    return jsonify({"staff": [{
        "id": p.id, "code": p.code, "name": p.name, "position": p.position,
        "position_name": position_name(p.position, lang), "unit": {"code": p.unit.code, "name": _name(p.unit, lang)},
        "phone": shown_phone(p.phone, role), "account": p.user.username if p.user is not None else None,
        "active": p.active} for p in db.session.scalars(query)]})


def _instant(raw: str | None) -> datetime:
    """`at` as an aware instant (an ISO 8601 time with its offset); the injected clock's now if absent."""
    if not raw:
        return clock.now()
    try:
        moment = datetime.fromisoformat(_UNENCODED_OFFSET.sub(r"\1+\2", raw.strip()))
        if moment.tzinfo is None or not EARLIEST <= moment.astimezone(UTC) <= LATEST:
            moment = None
    except (ValueError, OverflowError):  # not ISO 8601, or beyond the calendar's ends in UTC
        moment = None
    if moment is None:
        raise InputError([Problem("at", "an ISO 8601 time with its offset, e.g. 2026-10-01T02:00:00+08:00",
                                  "须为带时区偏移的 ISO 8601 时间，例如 2026-10-01T02:00:00+08:00")])
    return moment


@bp.get("/roster")
@require_token(kinds=("user",))
def roster():
    """Who is on duty for a unit at an instant (default now): the person, their phone and the shift."""
    user, lang = token_user(), short_lang()
    code = request.args.get("unit") or (user.unit.code if user is not None and user.unit is not None else "")
    unit = _visible_unit(code, user)
    problems = [] if unit is not None else [_unit_problem()]
    try:
        at = _instant(request.args.get("at"))
    except InputError as err:
        problems += err.problems
    if problems:
        return refused(problems)
    zone = campaign_zone(campaign_for(db.session, None))
    role = _role(user)
    shifts = on_duty(db.session, unit.id, at)
    return jsonify({
        "unit": {"code": unit.code, "name": _name(unit, lang)}, "at": at.astimezone(UTC).isoformat(),
        "at_local": at.astimezone(zone).isoformat(), "timezone": str(zone), "gap": not shifts,
        "on_duty": [{
            "name": s.person.name, "position": s.person.position,
            "position_name": position_name(s.person.position, lang), "phone": shown_phone(s.person.phone, role),
            "shift": {"kind": s.kind, "kind_name": KINDS[s.kind][0 if lang == "zh" else 1],
                      "starts_at": s.starts_at.astimezone(zone).isoformat(),
                      "ends_at": s.ends_at.astimezone(zone).isoformat()}} for s in shifts]})


def _assignment_body(data: Any) -> tuple[Any, str]:
    problems = []
    if not isinstance(data, dict):
        raise InputError([Problem("(body)", "a JSON object with person and comment",
                                  "须为含 person 与 comment 的 JSON 对象")])
    person = data.get("person")
    if not isinstance(person, int) or isinstance(person, bool) or not 0 < person <= MAX_PERSON_ID:
        problems.append(Problem("person", "the id of an active person of the task's unit",
                                "须为任务所属单位在岗人员的编号"))
    if not isinstance(data.get("comment", ""), str):
        problems.append(Problem("comment", "text", "须为文本"))
    if problems:
        raise InputError(problems)
    return person, data.get("comment", "")


def _task_and_body(user: User, task_id: int) -> tuple[Task | None, Any, Any]:
    """The task the caller sees and the request's JSON body, else the problem answer (404, 415 or 400)."""
    task = db.session.get(Task, task_id)
    if task is None or not task_scope(user).sees(task):
        return None, None, problem(404, "not-found", detail_key="not_found")
    if not request.is_json:
        return task, None, problem(415, "json-required", detail_key="json_required")
    data = request.get_json(silent=True)
    if data is None:
        return task, None, problem(400, "malformed-json", detail_key="malformed_json")
    return task, data, None


@bp.post("/tasks/<int:task_id>/assign")
@require_token(kinds=("user",), roles=ASSIGNERS)
def assign_task(task_id: int):
    """Hand the task to a person of its unit (a unit's leader, or an administrator)."""
    user, lang = token_user(), short_lang()
    task, data, refusal = _task_and_body(user, task_id)
    if refusal is not None:
        return refusal
    try:
        person_id, comment = _assignment_body(data)
        assign(db.session, task, db.session.get(Person, person_id), user, clock.now(), comment.strip())
    except AssignmentRefused as err:
        db.session.rollback()
        return problem(403, "assignment-refused", detail=err.message(lang))
    except InputError as err:
        db.session.rollback()
        return refused(err.problems)
    db.session.commit()
    return jsonify(task_json(db.session.get(Task, task_id), lang, detail=True))


@bp.post("/tasks/<int:task_id>/arrival")
@require_token(kinds=("user",), roles=("field_unit",))
def task_arrival(task_id: int):
    """The unit reached the task's place (到达现场): now, with its position; only the task's own unit."""
    user, lang = token_user(), short_lang()
    task, data, refusal = _task_and_body(user, task_id)
    if refusal is not None:
        return refusal
    if not isinstance(data, dict) or not isinstance(data.get("comment", ""), str):
        return refused([Problem("(body)", "a JSON object with lat, lon, accuracy, source and comment",
                                "须为含 lat、lon、accuracy、source 与 comment 的 JSON 对象")])
    try:
        record_arrival(db.session, task, user, data, clock.now(), data.get("comment", "").strip())
    except ArrivalRefused as err:
        db.session.rollback()
        return problem(403, "arrival-refused", detail=err.message(lang))
    except InputError as err:
        db.session.rollback()
        return refused(err.problems)
    db.session.commit()
    return jsonify(task_json(db.session.get(Task, task_id), lang, detail=True)), 201


def _openapi() -> tuple[dict[str, Any], dict[str, Any]]:
    unit = {"type": "object", "required": ["code", "name"],
            "properties": {"code": {"type": "string"}, "name": {"type": "string"}}}
    phone = {"type": "string", "description": "In full for admin, dispatcher, shift_leader and supervisor; "
                                              "masked (138****5678) for every other caller."}
    person = {"type": "object", "required": ["id", "code", "name", "position", "unit"], "properties": {
        "id": {"type": "integer"}, "code": {"type": "string", "description": "Staff number (工号)"},
        "name": {"type": "string"}, "position": {"type": "string", "enum": list(POSITIONS)},
        "position_name": {"type": "string", "description": "In the caller's language"}, "unit": unit,
        "phone": phone, "account": {"type": "string", "nullable": True}, "active": {"type": "boolean"}}}
    on_duty = {"type": "object", "required": ["unit", "at", "at_local", "gap", "on_duty"], "properties": {
        "unit": unit, "at": {"type": "string", "format": "date-time"},
        "at_local": {"type": "string", "format": "date-time", "description": "`at` in the campaign's time zone"},
        "timezone": {"type": "string"}, "gap": {"type": "boolean", "description": "Nobody is on duty"},
        "on_duty": {"type": "array", "items": {"type": "object", "properties": {
            "name": {"type": "string"}, "position": {"type": "string"}, "position_name": {"type": "string"},
            "phone": phone, "shift": {"type": "object", "properties": {
                "kind": {"type": "string", "enum": list(KINDS)}, "kind_name": {"type": "string"},
                "starts_at": {"type": "string", "format": "date-time"},
                "ends_at": {"type": "string", "format": "date-time"}}}}}}}}
    query = [{"name": "unit", "in": "query", "schema": {"type": "string"}}]
    paths = {
        "/api/v1/staff": {"get": {
            "summary": "The staff register: name, position, unit, phone (masked by role) and account",
            "description": "A field unit sees the people of its own unit and the units under it.",
            "tags": ["people"], "security": BEARER,
            "parameters": [{**query[0], "description": "A unit's code: its people and those of the units under it"},
                           {"name": "position", "in": "query", "schema": {"type": "string", "enum": list(POSITIONS)}}],
            "responses": {"200": json_response("Staff", {"type": "object", "required": ["staff"], "properties": {
                "staff": {"type": "array", "items": ref("Person")}}}), **problem_responses(401, 403, 422)}}},
        "/api/v1/roster": {"get": {
            "summary": "Who is on duty for a unit at an instant (值班表)",
            "description": "`gap` is true, with an empty list, when nobody is on duty.", "tags": ["people"],
            "security": BEARER,
            "parameters": [{**query[0], "description": "A unit's code (default: the caller's unit)"},
                           {"name": "at", "in": "query", "description": "ISO 8601 with offset (default: now)",
                            "schema": {"type": "string", "format": "date-time",
                                       "example": "2026-10-01T02:00:00+08:00"}}],
            "responses": {"200": json_response("On duty", ref("OnDuty")), **problem_responses(401, 403, 422)}}},
        "/api/v1/tasks/{task_id}/assign": {"post": {
            "summary": "Hand a task to a person of its unit (我的任务)",
            "description": "A unit's leader (分管领导, 大队长, 中队长), its shared account, or an administrator.",
            "tags": ["tasks"], "security": BEARER, "parameters": [id_parameter("task_id", "Task id")],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["person"], "properties": {
                    "person": {"type": "integer"}, "comment": {"type": "string"}}}}}},
            "responses": {"200": json_response("The task, with its assignee and chain", ref("Task")),
                          **problem_responses(400, 401, 403, 404, 413, 415, 422)}}},
        "/api/v1/tasks/{task_id}/arrival": {"post": {
            "summary": "Record arriving on site (到达现场), with the position",
            "description": "Only the task's own unit, while the task is open. `source`: `device` (the phone's "
                           "geolocation; browsers give it only on HTTPS or localhost), `manual` (typed or pinned), "
                           "or `exif` (the newest photo of the task with an EXIF position; lat and lon are then "
                           "taken from it). The arrival counts in the first-response indicator.",
            "tags": ["tasks"], "security": BEARER, "parameters": [id_parameter("task_id", "Task id")],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "properties": {
                    "lat": {"type": "number", "minimum": -90, "maximum": 90},
                    "lon": {"type": "number", "minimum": -180, "maximum": 180},
                    "accuracy": {"type": "number", "minimum": 0, "description": "Metres"},
                    "source": {"type": "string", "enum": list(SOURCES), "default": "device"},
                    "comment": {"type": "string"}}}}}},
            "responses": {"201": json_response("The task, its history carrying the arrival", ref("Task")),
                          **problem_responses(400, 401, 403, 404, 413, 415, 422)}}},
    }
    return paths, {"Person": person, "OnDuty": on_duty}


OPENAPI_PATHS, OPENAPI_SCHEMAS = _openapi()
