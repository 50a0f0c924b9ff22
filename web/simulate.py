"""POST /api/v1/simulate: one event through the draft, the active or a numbered ruleset, explained.

The evaluation runs in an engine worker (workers/simulate.py); this handler only waits for it.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, request

from rules.problems import Problem
from web.auth import require_token
from web.common.i18n import short_lang
from web.common.problems import problem, refused
from workers import simulate as simulate_job
from workers.engine_call import EngineUnavailable
from web.openapi import BEARER, json_response, problem_responses

bp = Blueprint("simulate_api", __name__, url_prefix="/api/v1")
ROLES = ("admin", "auditor", "assessor")
DEFAULT_TIMEOUT = simulate_job.DEFAULT_TIMEOUT


def run(body: dict[str, Any]) -> tuple[int, dict[str, Any] | list[Problem]]:
    """Ask an engine worker (workers/simulate.py); (200, result) or (422, problems). Raises EngineUnavailable."""
    timeout = float(current_app.config.get("CIVICRULES_SIMULATE_TIMEOUT", DEFAULT_TIMEOUT))
    return simulate_job.run(current_app.extensions["civicrules.settings"], body, short_lang(), timeout)


@bp.post("/simulate")
@require_token(kinds=("user",), roles=ROLES)
def simulate():
    data = request.get_json(silent=True) if request.is_json else None
    if not isinstance(data, dict):
        return problem(400, "malformed-json", detail_key="malformed_json")
    problems = []
    if not isinstance(data.get("event"), dict) and not (isinstance(data.get("event_id"), int)
                                                        and not isinstance(data.get("event_id"), bool)):
        problems.append(Problem("event", "an event object, or event_id of a stored event",
                                     "须提供事件对象，或已存事件的 event_id"))
    ruleset = data.get("ruleset", "active")
    if not (ruleset in ("draft", "active") or (isinstance(ruleset, int) and not isinstance(ruleset, bool)
                                               and 0 < ruleset < 2**31)):
        problems.append(Problem("ruleset", '"draft", "active" or a version number',
                                     '须为 "draft"、"active" 或版本号'))
    if problems:
        return refused(problems)
    body = {"event": data.get("event") if isinstance(data.get("event"), dict) else None,
            "event_id": data.get("event_id") if not isinstance(data.get("event"), dict) else None, "ruleset": ruleset}
    try:
        status, result = run(body)
    except EngineUnavailable:
        response = problem(503, "engine-unavailable", detail_key="unavailable")
        response.headers["Retry-After"] = "5"
        return response
    if status != 200:
        return refused(result)
    return jsonify(result)


def _openapi() -> dict:
    return {"/api/v1/simulate": {"post": {
        "summary": "Simulate one event against the draft, the active or a numbered ruleset (no side effects)",
        "description": "Every rule with each condition's fact value and truth, the rules that fire, and the "
                       "tasks and deadlines the hit policy would create. Runs in an engine worker.",
        "security": BEARER, "tags": ["rules"],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "properties": {
                "event": {"$ref": "#/components/schemas/EventIn"},
                "event_id": {"type": "integer", "format": "int64", "minimum": 1,
                             "description": "a stored event instead of 'event'"},
                "ruleset": {"oneOf": [{"type": "string", "enum": ["draft", "active"]},
                                      {"type": "integer", "minimum": 1}]}}}}}},
        "responses": {"200": json_response("What the ruleset would do", {"type": "object", "required": ["campaigns"],
                                                                          "properties": {"campaigns": {
                                                                              "type": "array", "items": {"type": "object"}},
                                                                              "admission": {"type": "string", "enum": [
                                                                                  "file", "verify", "unplaced"],
                                                                                  "description": "How the report would "
                                                                                  "enter its case"},
                                                                              "admission_name": {"type": "string"}}}),
                      **problem_responses(400, 401, 403, 413, 415, 422, 503)}}}}


OPENAPI_PATHS = _openapi()
