"""三级督查 over the JSON API: a tier's plans, rounds (start, track, findings, end) and the weekly coverage.
Bearer user tokens only; the tier and the inspector always come from the token's account."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy import select

from engine.core.models import InspectionPlan, InspectionRound
from engine.supervision import inspection
from rules.problems import InputError, Problem
from web.auth import require_token, token_user
from web.common.extensions import csrf, db
from web.common.i18n import short_lang
from web.common.problems import problem, refused
from web.inspection_pages import COVERAGE_READERS, INSPECTORS, photos_from, position_from, week_coverage
from web.openapi import BEARER, id_parameter, json_response, problem_responses

api = Blueprint("inspection_api", __name__, url_prefix="/api/v1/inspection")
csrf.exempt(api)  # bearer tokens only, never a session cookie


@api.errorhandler(InputError)
def _input_error(err: InputError):
    db.session.rollback()
    return refused(err.problems)


def plan_json(plan: InspectionPlan, lang: str) -> dict:
    return {"id": plan.id, "code": plan.code, "tier": plan.tier_level,
            "name": plan.name_zh if lang == "zh" else plan.name_en or plan.name_zh, "frequency": plan.frequency,
            "scope": {kind: (plan.scope or {}).get(kind) or [] for kind in inspection.SCOPE_KINDS},
            "requires_location": plan.requires_location}


def _own_round(round_id: int) -> InspectionRound | None:
    user = token_user()
    round_ = db.session.get(InspectionRound, round_id)
    if round_ is None or (user.role != "admin" and round_.inspector_id != user.id):
        return None
    return round_


def _json_position(body: dict, problems: list[Problem]) -> inspection.Position | None:
    location = body.get("location") or {}
    if not isinstance(location, dict):
        problems.append(Problem("location", "location is {lat, lon, source}", "位置格式为 {lat, lon, source}"))
        return None
    return inspection.parse_position(location.get("lat"), location.get("lon"), location.get("source") or "gps",
                                     problems)


@api.get("/plans")
@require_token(kinds=("user",), roles=INSPECTORS)
def list_plans():
    user = token_user()
    tier = inspection.inspector_tier(db.session, user)
    plans = (inspection.plans_for(db.session, tier, user) if user.role != "admin" or tier
             else list(db.session.scalars(select(InspectionPlan).order_by(InspectionPlan.code))))
    return jsonify({"tier": tier, "plans": [plan_json(p, short_lang()) for p in plans]})


@api.post("/rounds")
@require_token(kinds=("user",), roles=INSPECTORS)
def post_round():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return problem(400, "malformed-json", detail_key="malformed_json")
    problems: list[Problem] = []
    position = _json_position(body, problems)
    if problems:
        raise InputError(problems)
    plan_id = body.get("plan")
    plan = db.session.get(InspectionPlan, plan_id) if isinstance(plan_id, int) else None
    round_ = inspection.start_round(db.session, token_user(), plan, position)
    db.session.commit()
    return jsonify(inspection.round_json(round_, short_lang())), 201


@api.get("/rounds/<int:round_id>")
@require_token(kinds=("user",), roles=INSPECTORS)
def get_round(round_id: int):
    round_ = _own_round(round_id)
    if round_ is None:
        return problem(404, "not-found", detail_key="not_found")
    return jsonify(inspection.round_json(round_, short_lang()))


@api.post("/rounds/<int:round_id>/track")
@require_token(kinds=("user",), roles=INSPECTORS)
def post_track(round_id: int):
    round_ = _own_round(round_id)
    if round_ is None:
        return problem(404, "not-found", detail_key="not_found")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return problem(400, "malformed-json", detail_key="malformed_json")
    problems: list[Problem] = []
    position = _json_position(body, problems)
    if position is None and not problems:
        problems.append(Problem("location", "required: {lat, lon, source}", "必填：{lat, lon, source}"))
    if problems:
        raise InputError(problems)
    point = inspection.add_position(db.session, round_, token_user(), position)
    db.session.commit()
    return jsonify(point), 201


@api.post("/rounds/<int:round_id>/findings")
@require_token(kinds=("user",), roles=INSPECTORS)
def post_finding(round_id: int):
    """Multipart: category, description, street, address, lat, lon, location_source (gps|pin), photos."""
    round_ = _own_round(round_id)
    if round_ is None:
        return problem(404, "not-found", detail_key="not_found")
    settings = current_app.extensions["civicrules.settings"]
    problems: list[Problem] = []
    position = position_from(request.form, problems)
    if problems:
        raise InputError(problems)
    finding = inspection.record_finding(db.session, round_, token_user(), request.form.get("category", ""),
                                        request.form.get("description", ""), photos_from(request.files), position,
                                        settings.evidence.dir, settings.evidence.max_bytes,
                                        street=request.form.get("street") or None,
                                        address=request.form.get("address", ""))
    db.session.commit()
    return jsonify(inspection.finding_json(finding, short_lang())), 201


@api.post("/rounds/<int:round_id>/end")
@require_token(kinds=("user",), roles=INSPECTORS)
def post_end(round_id: int):
    round_ = _own_round(round_id)
    if round_ is None:
        return problem(404, "not-found", detail_key="not_found")
    body = request.get_json(silent=True) or {}
    problems: list[Problem] = []
    position = _json_position(body, problems) if isinstance(body, dict) else None
    if problems:
        raise InputError(problems)
    inspection.end_round(db.session, round_, token_user(), position)
    db.session.commit()
    return jsonify(inspection.round_json(round_, short_lang()))


@api.get("/coverage")
@require_token(kinds=("user",), roles=COVERAGE_READERS)
def get_coverage():
    campaign, period, found, by_unit = week_coverage(request.args.get("campaign"), request.args.get("week"),
                                                     token_user())
    return jsonify({"campaign": campaign.code, "week": period.label, "timezone": campaign.timezone,
                    "start": period.start.isoformat(), "end": period.end.isoformat(),
                    "rounds": {str(t): n for t, n in found.rounds.items()},
                    "findings": {str(t): n for t, n in found.findings.items()},
                    "findings_by_unit": [{"unit": uid, "by_tier": {str(t): n for t, n in tiers.items()}}
                                         for uid, tiers in sorted(by_unit.items())],
                    "plans": [p.as_json() for p in found.plans],
                    "grids": [g.as_json() for g in found.grids], "streets": [s.as_json() for s in found.streets]})


def _openapi() -> dict:
    location = {"type": "object", "properties": {"lat": {"type": "number"}, "lon": {"type": "number"},
                                                 "source": {"type": "string", "enum": ["gps", "pin"]}}}
    round_row = {"type": "object", "required": ["id", "plan", "tier", "inspector", "started_at"], "properties": {
        "id": {"type": "integer"}, "plan": {"type": "string"}, "tier": {"type": "integer"},
        "inspector": {"type": "integer"}, "unit": {"type": "integer", "nullable": True},
        "started_at": {"type": "string", "format": "date-time"},
        "ended_at": {"type": "string", "format": "date-time", "nullable": True},
        "track": {"type": "array", "items": {"type": "object"}}, "findings": {"type": "array", "items": {
            "type": "object"}}}}
    finding_row = {"type": "object", "required": ["id", "event", "tier", "inspector", "location_source"],
                   "properties": {"id": {"type": "integer"}, "event": {"type": "integer"},
                                  "case": {"type": "integer", "nullable": True}, "tier": {"type": "integer"},
                                  "inspector": {"type": "integer"}, "category": {"type": "string"},
                                  "grid": {"type": "string", "nullable": True},
                                  "location_source": {"type": "string", "nullable": True,
                                                      "description": "gps, exif or pin"},
                                  "photos": {"type": "array", "items": {"type": "integer"}}}}
    round_id = [id_parameter("round_id", "Inspection round id")]
    tag = ["inspection"]
    multipart = {"type": "object", "required": ["category"], "properties": {
        "category": {"type": "string"}, "description": {"type": "string"}, "street": {"type": "string"},
        "address": {"type": "string"}, "lat": {"type": "number"}, "lon": {"type": "number"},
        "location_source": {"type": "string", "enum": ["gps", "pin"]},
        "photos": {"type": "array", "items": {"type": "string", "format": "binary"}}}}
    return {
        "/api/v1/inspection/plans": {"get": {
            "summary": "The inspection plans of the caller's tier (三级督查); a squad's inspector: its own squad's",
            "security": BEARER, "tags": tag,
            "responses": {"200": json_response("Plans", {"type": "object", "properties": {
                "tier": {"type": "integer", "nullable": True}, "plans": {"type": "array", "items": {"type": "object"}}}}),
                **problem_responses(401, 403)}}},
        "/api/v1/inspection/rounds": {"post": {
            "summary": "Start a round under a plan of the caller's tier", "security": BEARER, "tags": tag,
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["plan"], "properties": {"plan": {"type": "integer"},
                                                                       "location": location}}}}},
            "responses": {"201": json_response("Started", round_row), **problem_responses(400, 401, 403, 422)}}},
        "/api/v1/inspection/rounds/{round_id}": {"get": {
            "summary": "One of the caller's rounds with its track and findings", "security": BEARER, "tags": tag,
            "parameters": round_id,
            "responses": {"200": json_response("The round", round_row), **problem_responses(401, 403, 404)}}},
        "/api/v1/inspection/rounds/{round_id}/track": {"post": {
            "summary": "One more position of an open round", "security": BEARER, "tags": tag,
            "parameters": round_id, "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["location"], "properties": {"location": location}}}}},
            "responses": {"201": json_response("Recorded", {"type": "object"}),
                          **problem_responses(400, 401, 403, 404, 422)}}},
        "/api/v1/inspection/rounds/{round_id}/findings": {"post": {
            "summary": "Record a finding: filed as a case with the caller's tier and account", "security": BEARER,
            "tags": tag, "parameters": round_id,
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": multipart}}},
            "responses": {"201": json_response("Recorded", finding_row),
                          **problem_responses(401, 403, 404, 413, 422)}}},
        "/api/v1/inspection/rounds/{round_id}/end": {"post": {
            "summary": "End an open round", "security": BEARER, "tags": tag, "parameters": round_id,
            "requestBody": {"required": False, "content": {"application/json": {"schema": {
                "type": "object", "properties": {"location": location}}}}},
            "responses": {"200": json_response("Ended", round_row), **problem_responses(401, 403, 404, 422)}}},
        "/api/v1/inspection/coverage": {"get": {
            "summary": "Grids and streets inspected in a week, by tier, with findings per unit and tier, and each "
                       "plan's rounds against its frequency (a plan that held none included)",
            "security": BEARER, "tags": tag, "parameters": [
                {"name": "week", "in": "query", "required": False, "schema": {"type": "string", "example": "2026-W49"}},
                {"name": "campaign", "in": "query", "required": False, "schema": {"type": "string"}}],
            "responses": {"200": json_response("Coverage", {"type": "object"}), **problem_responses(401, 403, 404)}}},
    }


OPENAPI_PATHS = _openapi()
