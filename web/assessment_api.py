"""The assessment through the API: a period's ranking (each unit with its score, rank and 无案件 marker) and the
records of sanctions. Administrators, auditors and assessors read; assessors and administrators write records.
Bearer user tokens only, so CSRF does not apply."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, g, jsonify, request, url_for

from engine.assessment import sanction_records
from engine.assessment.periods import PeriodError, parse_period
from engine.assessment.sanctions import ranking_cache
from engine.authoring.campaigns import campaign_for
from engine.core import clock
from engine.core.models import Campaign, SanctionRecord, Unit
from rules.problems import InputError, Problem
from web.auth import record_export, require_token
from web.common.extensions import csrf, db
from web.common.problems import problem, refused
from web.openapi import BEARER, id_parameter, json_response, problem_responses, ref

api = Blueprint("assessment_api", __name__, url_prefix="/api/v1/assessment")
csrf.exempt(api)
READERS = ("admin", "auditor", "assessor")
WRITERS = ("admin", "assessor")


def _campaign() -> Campaign | None:
    return campaign_for(db.session, request.args.get("campaign"))


@api.get("/rankings")
@require_token(kinds=("user",), roles=READERS)
def rankings():
    campaign = _campaign()
    if campaign is None:
        return problem(404, "not-found", detail_key="not_found")
    label = request.args.get("period", "")
    try:
        period = parse_period(label, campaign.timezone)
    except PeriodError:
        return refused([Problem("period", "Write the period as 2026-11 (month), 2026-Q4 (quarter) or 2026-W47 (week).",
                                "期间请写作 2026-11（月）、2026-Q4（季度）或 2026-W47（周）。")])
    now = clock.now()
    ranked = ranking_cache(db.session, campaign, now)(period)
    record_export(f"导出排名 / rankings {campaign.code} {period.label}")
    units = {u.id: u for u in db.session.query(Unit).filter(Unit.id.in_([r.unit_id for r in ranked]))}
    return jsonify({"campaign": campaign.code, "period": period.label, "kind": period.kind,
                    "counted_until": min(period.end, now).isoformat(), "running": now < period.end,
                    "units": [{"unit": units[r.unit_id].code, "name": {"zh": units[r.unit_id].name_zh,
                                                                       "en": units[r.unit_id].name_en},
                               "group": r.group, "score": r.score, "rank": r.rank, "size": r.size,
                               "no_cases": r.no_cases, "due": r.indicators.due,
                               "dispatched": r.indicators.dispatched,
                               "not_yet_due": r.indicators.not_yet_due} for r in ranked]})


def _record_json(record: SanctionRecord) -> dict[str, Any]:
    return {**sanction_records.as_json(record), "page": url_for("sanction_records.edit", record_id=record.id)}


@api.get("/sanction-records")
@require_token(kinds=("user",), roles=READERS)
def list_records():
    campaign = _campaign()
    if campaign is None:
        return problem(404, "not-found", detail_key="not_found")
    found = sanction_records.records_of(db.session, campaign, request.args.get("period") or None)
    return jsonify({"records": [_record_json(r) for r in found]})


@api.get("/sanction-records/<int(max=2147483647):record_id>")
@require_token(kinds=("user",), roles=READERS)
def get_record(record_id: int):
    record = db.session.get(SanctionRecord, record_id)
    if record is None:
        return problem(404, "not-found", detail_key="not_found")
    return jsonify(_record_json(record))


@api.post("/sanction-records")
@require_token(kinds=("user",), roles=WRITERS)
def post_record():
    campaign = _campaign()
    if campaign is None:
        return problem(404, "not-found", detail_key="not_found")
    body = request.get_json(silent=True) if request.is_json else None
    if not isinstance(body, dict):
        return problem(400, "malformed-json", detail_key="malformed_json")
    try:
        record = sanction_records.save(db.session, campaign, body, clock.now(), g.user.id)
    except InputError as err:
        db.session.rollback()
        return refused(err.problems)
    db.session.commit()
    return jsonify(_record_json(record)), 201


def _openapi() -> dict[str, Any]:
    campaign = {"name": "campaign", "in": "query", "required": False, "schema": {"type": "string"},
                "description": "Campaign code; the first active campaign when left out"}
    unit = {"type": "object", "required": ["unit", "score", "rank", "no_cases"], "properties": {
        "unit": {"type": "string"}, "name": ref("Name"), "group": {"type": "string"},
        "score": {"type": "number", "minimum": 0, "description": "Composite score; deductions capped (扣完为止)"},
        "rank": {"type": "integer", "nullable": True, "description": "Competition rank in the peer group; null for "
                                                                     "a unit with no cases left unranked"},
        "size": {"type": "integer"}, "no_cases": {"type": "boolean", "description": "无案件: nothing was "
                                                                                   "dispatched to it in the period"},
        "due": {"type": "integer"}, "dispatched": {"type": "integer"}, "not_yet_due": {"type": "integer"}}}
    person = {"type": "object", "nullable": True, "properties": {
        "code": {"type": "string"}, "name": {"type": "string"}, "position": {"type": "string"}}}
    record = {"type": "object", "required": ["id", "unit", "period", "sanction", "held_on"], "properties": {
        "id": {"type": "integer"}, "campaign": {"type": "string"}, "period": {"type": "string"},
        "unit": {"type": "object"}, "sanction": {"type": "string"}, "sanction_name": ref("Name"),
        "due": {"type": "integer", "nullable": True}, "held_on": {"type": "string", "format": "date"},
        "principal": person, "in_charge": person, "attendees": {"type": "string"}, "minutes": {"type": "string"},
        "commitments": {"type": "string"}, "follow_up": {"type": "string"},
        "follow_up_result": {"type": "string", "enum": list(sanction_records.RESULTS)},
        "recorded_at": {"type": "string", "format": "date-time"}, "page": {"type": "string"}}}
    new = {"type": "object", "required": ["unit", "period", "sanction", "held_on", "attendees", "minutes"],
           "properties": {"unit": {"type": "string", "description": "Unit code"},
                          "period": {"type": "string", "example": "2026-11"},
                          "sanction": {"type": "string", "example": "interview"},
                          "held_on": {"type": "string", "format": "date"},
                          "principal": {"type": "string", "description": "Staff number of the 主要负责人"},
                          "in_charge": {"type": "string", "description": "Staff number of the 分管负责人"},
                          "attendees": {"type": "string"}, "minutes": {"type": "string"},
                          "commitments": {"type": "string"}, "follow_up": {"type": "string"},
                          "follow_up_result": {"type": "string", "enum": list(sanction_records.RESULTS)},
                          "due": {"type": "integer", "description": "The sanctions list entry it answers"}}}
    return {
        "/api/v1/assessment/rankings": {"get": {
            "summary": "A period's ranking: each unit with its score, rank and no_cases (无案件)", "security": BEARER,
            "tags": ["assessment"], "parameters": [
                {"name": "period", "in": "query", "required": True, "schema": {"type": "string", "example": "2026-11"},
                 "description": "YYYY-MM, YYYY-Qn or YYYY-Www in the campaign's time zone; a task counts in the "
                                "period in which it was dispatched"}, campaign],
            "responses": {"200": json_response("The ranking", {"type": "object", "required": ["period", "units"],
                                                               "properties": {
                "campaign": {"type": "string"}, "period": {"type": "string"}, "kind": {"type": "string"},
                "counted_until": {"type": "string", "format": "date-time"}, "running": {"type": "boolean"},
                "units": {"type": "array", "items": unit}}}), **problem_responses(401, 403, 404, 422)}}},
        "/api/v1/assessment/sanction-records": {
            "get": {"summary": "Records of sanctions (约谈纪要…), newest first", "security": BEARER,
                    "tags": ["assessment"], "parameters": [
                        campaign, {"name": "period", "in": "query", "required": False, "schema": {"type": "string"}}],
                    "responses": {"200": json_response("Records", {"type": "object", "properties": {
                        "records": {"type": "array", "items": record}}}), **problem_responses(401, 403, 404)}},
            "post": {"summary": "Record a sanction (assessors and administrators)", "security": BEARER,
                     "tags": ["assessment"], "parameters": [campaign],
                     "requestBody": {"required": True, "content": {"application/json": {"schema": new}}},
                     "responses": {"201": json_response("The record", record),
                                   **problem_responses(400, 401, 403, 404, 422)}}},
        "/api/v1/assessment/sanction-records/{record_id}": {"get": {
            "summary": "One record of a sanction", "security": BEARER, "tags": ["assessment"],
            "parameters": [id_parameter("record_id", "Record id")],
            "responses": {"200": json_response("The record", record), **problem_responses(401, 403, 404)}}},
    }


OPENAPI_PATHS = _openapi()
