"""POST /api/v1/scenarios/run: a campaign's rule scenarios against the draft, the active or a numbered
ruleset, as `civicrules scenarios run` does, so a bureau's CI can check a change before publishing.

Rules fire in durable_rules in a child process of this one (engine.durable.firing_check), as on publish.
"""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from engine.authoring import scenarios
from engine.authoring.campaigns import campaign_for
from rules.problems import InputError, Problem
from web.auth import require_token
from web.common.extensions import db
from web.common.i18n import short_lang
from web.common.problems import problem, refused
from web.openapi import BEARER, json_response, problem_responses

bp = Blueprint("scenarios_api", __name__, url_prefix="/api/v1")
ROLES = ("admin", "auditor")


@bp.post("/scenarios/run")
@require_token(kinds=("user",), roles=ROLES)
def run():
    data = request.get_json(silent=True) if request.is_json else None
    if not isinstance(data, dict):
        return problem(400, "malformed-json", detail_key="malformed_json")
    ruleset = data.get("ruleset", "draft")
    if not (ruleset in ("draft", "active") or (isinstance(ruleset, int) and not isinstance(ruleset, bool)
                                               and 0 < ruleset < 2**31)):
        return refused([Problem("ruleset", '"draft", "active" or a version number', '须为 "draft"、"active" 或版本号')])
    code = data.get("campaign")
    campaign = campaign_for(db.session, code) if code is None or isinstance(code, str) else None
    if campaign is None:
        return refused([Problem("campaign", f"no campaign {code!r}", f"无此专项行动 {code!r}")])
    try:
        outcomes = scenarios.run(db.session, campaign, ruleset)
    except InputError as err:
        return refused(list(err.problems))
    finally:
        db.session.rollback()
    lang = short_lang()
    return jsonify({"campaign": campaign.code, "ruleset": ruleset, "passed": all(o.passed for o in outcomes),
                    "scenarios": [o.as_dict(lang) for o in outcomes]})


def _openapi() -> dict:
    scenario = {"type": "object", "required": ["title", "passed"], "properties": {
        "id": {"type": "integer"}, "title": {"type": "string"}, "passed": {"type": "boolean"},
        "actual": {"type": "object"}, "differences": {"type": "array", "items": {"type": "object"}}}}
    return {"/api/v1/scenarios/run": {"post": {
        "summary": "Check a campaign's rule scenarios against the draft, the active or a numbered ruleset",
        "description": "Per scenario: passed, or expected against actual with the rule and condition that made "
                       "the difference; a disagreement between durable_rules and the twin is a failure. Nothing "
                       "is written.",
        "security": BEARER, "tags": ["rules"],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "properties": {
                "campaign": {"type": "string", "description": "campaign code (default: the first active one)"},
                "ruleset": {"oneOf": [{"type": "string", "enum": ["draft", "active"]},
                                      {"type": "integer", "minimum": 1}]}}}}}},
        "responses": {"200": json_response("Every scenario's result", {
            "type": "object", "required": ["passed", "scenarios"], "properties": {
                "campaign": {"type": "string"}, "ruleset": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
                "passed": {"type": "boolean"}, "scenarios": {"type": "array", "items": scenario}}}),
            **problem_responses(400, 401, 403, 413, 415, 422)}}}}


OPENAPI_PATHS = _openapi()
